/**
 * The host's side of the conversation with the echo worker (echo-worker.ts): a dynamic
 * shared-memory segment holding two shm_mq queues, the worker launched with the segment's
 * handle, and ask(), which sends one request and awaits its reply with the async queue
 * calls (the host thread never blocks).
 *
 * One conversation at a time: the queues carry one request and one reply in order, so
 * concurrent HTTP requests are chained, each ask() starting when the one before it has
 * its reply. Once the worker has stopped, waits end 'detached' (the handle is the
 * counterparty) and ask() rejects. close() detaches the host's ends, which ends the worker.
 */
import { fileURLToPath } from 'node:url';
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, ShmMq, ShmToc, ShmTocEstimator,
  type BackgroundWorkerHandle, type DsmSegment, type HostMqEndpoint, type Postmaster, type ShmMqHandle,
} from '../../lib/index.js';
import { ECHO_KEY_REPLIES, ECHO_KEY_REQUESTS, ECHO_QUEUE_BYTES, ECHO_TOC_MAGIC, type EchoArg } from './layout.js';

const workerModule = fileURLToPath(new URL(`./echo-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export interface EchoReply {
  seq: number;
  bytes: number;
  echo: string;
}

export class EchoChannel {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly seg: DsmSegment,
    private readonly endpoint: HostMqEndpoint,
    private readonly out: ShmMqHandle,
    private readonly inq: ShmMqHandle,
    readonly worker: BackgroundWorkerHandle,
  ) {}

  /** Make the segment, launch the echo worker and attach the host's ends. */
  static async open(pm: Postmaster): Promise<EchoChannel> {
    const seg = pm.dsmCreate(new ShmTocEstimator().chunk(ECHO_QUEUE_BYTES).chunk(ECHO_QUEUE_BYTES).addKeys(2).estimate());
    const toc = ShmToc.create(ECHO_TOC_MAGIC, seg.buffer, 0, seg.size);
    const queues = [ECHO_KEY_REQUESTS, ECHO_KEY_REPLIES].map((key) => {
      const at = toc.allocate(ECHO_QUEUE_BYTES);
      toc.insert(key, at);
      return ShmMq.create(seg.buffer, at, ECHO_QUEUE_BYTES);
    });
    const [requests, replies] = queues as [ShmMq, ShmMq];
    const arg: EchoArg = { dsm: seg.handle };
    const worker = await pm.registerDynamicBackgroundWorker({
      name: 'echo', type: 'echo', module: workerModule, flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART, mainArg: arg,
    });
    if (!worker) {
      seg.detach();
      throw new Error('no free background-worker slot for the echo worker');
    }
    const endpoint = pm.mqEndpoint();
    // Named for the dashboard and mqStats(); mqAttach would watch them as "mq <n>".
    pm.mqWatch(requests, 'echo requests');
    pm.mqWatch(replies, 'echo replies');
    requests.setSender(endpoint);
    replies.setReceiver(endpoint);
    const out = pm.mqAttach(requests, 'sender', endpoint, worker);
    const inq = pm.mqAttach(replies, 'receiver', endpoint, worker);
    return new EchoChannel(seg, endpoint, out, inq, worker);
  }

  /** Send `text` to the echo worker and resolve with its reply, after any ask() before it. */
  ask(text: string): Promise<EchoReply> {
    const turn = this.queue.then(() => this.roundTrip(text));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async roundTrip(text: string): Promise<EchoReply> {
    if (this.closed) throw new Error('the echo channel is closed');
    if ((await this.out.sendAsync(new TextEncoder().encode(text))) !== 'success') throw new Error('the echo worker is gone');
    const r = await this.inq.receiveAsync();
    if (r.result !== 'success') throw new Error('the echo worker is gone');
    return JSON.parse(new TextDecoder().decode(r.data!)) as EchoReply;
  }

  /** Detach the host's ends (the worker then ends by itself) and let go of the segment. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.detach();
    this.inq.detach();
    this.endpoint.release();
    this.seg.detach();
  }
}
