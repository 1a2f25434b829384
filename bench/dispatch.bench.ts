/**
 * dispatch.rtt: a request/reply from the host to a long-lived bgworker over shm_mq (the
 * host's async queue calls on its own latch, the worker's blocking ones), against the same
 * round trip through piscina's warm run() on a pool of one thread that is already up.
 *
 * Both carry an 8-byte sequence number that the other side sends back, checked on every
 * reply. Rounds alternate ours and piscina's after warm-up rounds; p50 and p99 over every
 * recorded round trip.
 */
import { Piscina } from 'piscina';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, Postmaster, ShmMq, silentLogger, type ShmMqHandle } from '../lib/index.js';
import { figure } from './catalogue.js';
import { alternate, workerUrl } from './harness.js';
import { summarize } from './stats.js';
import type { Bench } from './types.js';
import { DISPATCH_QUEUE_BYTES, DISPATCH_REGION, DISPATCH_REGION_BYTES, repliesAt, requestsAt } from './workers/dispatch-layout.js';

interface Conversation {
  out: ShmMqHandle;
  inq: ShmMqHandle;
  close(): Promise<void>;
}

/** A started host, its echo worker, and the host's ends of both queues. */
async function openConversation(): Promise<Conversation> {
  const pm = new Postmaster({ logger: silentLogger, maxWorkerProcesses: 1, shmem: { [DISPATCH_REGION]: DISPATCH_REGION_BYTES } });
  await pm.start();
  const region = pm.shmem(DISPATCH_REGION);
  const requests = ShmMq.create(region.buffer, requestsAt(region.byteOffset), DISPATCH_QUEUE_BYTES);
  const replies = ShmMq.create(region.buffer, repliesAt(region.byteOffset), DISPATCH_QUEUE_BYTES);
  const worker = await pm.registerDynamicBackgroundWorker({
    name: 'dispatch echo', module: workerUrl('dispatch-echo'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART,
  });
  if (!worker) throw new Error('no free slot for the echo worker');
  const endpoint = pm.mqEndpoint();
  requests.setSender(endpoint);
  replies.setReceiver(endpoint);
  const out = pm.mqAttach(requests, 'sender', endpoint, worker);
  const inq = pm.mqAttach(replies, 'receiver', endpoint, worker);
  return {
    out,
    inq,
    async close() {
      out.detach();
      inq.detach();
      await worker.waitForShutdown();
      endpoint.release();
      await pm.shutdown();
    },
  };
}

async function oursRound(c: Conversation, n: number, seq: Float64Array, rtts: number[] | null): Promise<void> {
  const bytes = new Uint8Array(seq.buffer);
  for (let i = 0; i < n; i++) {
    seq[0] = i;
    const t0 = performance.now();
    if ((await c.out.sendAsync(bytes)) !== 'success') throw new Error('the echo worker detached');
    const r = await c.inq.receiveAsync();
    const dt = performance.now() - t0;
    if (r.result !== 'success') throw new Error('the echo worker detached');
    const d = r.data!;
    if (d.byteLength !== 8 || new DataView(d.buffer, d.byteOffset, 8).getFloat64(0, true) !== i) throw new Error(`reply ${i} came back wrong`);
    rtts?.push(dt * 1000);
  }
}

async function piscinaRound(pool: Piscina, n: number, rtts: number[] | null): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = (await pool.run(i)) as number;
    const dt = performance.now() - t0;
    if (r !== i) throw new Error(`piscina reply ${i} came back as ${r}`);
    rtts?.push(dt * 1000);
  }
}

const bench: Bench = {
  name: 'dispatch',
  figures: ['dispatch.rtt'],
  async run(ctx) {
    const perRound = ctx.quick ? 300 : 500;
    const rounds = ctx.quick ? 4 : 10;
    const conv = await openConversation();
    const pool = new Piscina({ filename: workerUrl('piscina-echo').href, minThreads: 1, maxThreads: 1 });
    const ours: number[] = [];
    const theirs: number[] = [];
    const seq = new Float64Array(1);
    try {
      let r = 0;
      await alternate(rounds, 2,
        async (rec) => {
          ctx.progress(`round ${++r}: shm_mq request/reply`);
          await oursRound(conv, perRound, seq, rec ? ours : null);
        },
        (rec) => piscinaRound(pool, perRound, rec ? theirs : null),
      );
    } finally {
      await conv.close();
      await pool.destroy();
    }
    const a = summarize(ours);
    const b = summarize(theirs);
    return [figure('dispatch.rtt', { ours: a.p50, baseline: b.p50, samples: a.n, extra: { p99_us: a.p99, piscina_p99_us: b.p99 } })];
  },
};
export default bench;
