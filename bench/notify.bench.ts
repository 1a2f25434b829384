/**
 * notify.wake: NOTIFY → a worker's latch wait returns, µs p50, beside a bare pg LISTEN client
 * in the host thread (NOTIFY → its 'notification' event), measured in the same run,
 * interleaved one by one. Both clocks start just before the sending client's NOTIFY, so the
 * two figures carry the same server round trip; the difference is what the runtime adds:
 * the host's listener, the hop to the worker's port, and the latch wake-up.
 * Without a server the row says so.
 */
import pg from 'pg';
import { BGWORKER_SHMEM_ACCESS, Postmaster, silentLogger } from '../lib/index.js';
import { summarize } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const CHANNEL = 'bgw_bench_notify';
/** The PG* variables, else this environment's server. */
const DATABASE = {
  host: process.env['PGHOST'] ?? '127.0.0.1',
  port: Number(process.env['PGPORT'] ?? 5432),
  user: process.env['PGUSER'] ?? 'postgres',
  database: process.env['PGDATABASE'] ?? 'test',
};
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

async function waitChange(i32: Int32Array, index: number, seen: number): Promise<void> {
  while (Atomics.load(i32, index) === seen) {
    const r = Atomics.waitAsync(i32, index, seen, 5000);
    if (r.async && (await r.value) === 'timed-out') throw new Error('no wake-up within 5 s');
  }
}

async function run(ctx: BenchContext): Promise<Figure> {
  const rounds = ctx.quick ? 200 : 1000;
  const sender = new pg.Client(DATABASE);
  const bare = new pg.Client(DATABASE);
  await sender.connect();
  await bare.connect();
  await bare.query(`LISTEN ${CHANNEL}_bare`);
  let bareArrived: (() => void) | null = null;
  bare.on('notification', () => bareArrived?.());
  const pm = new Postmaster({ logger: silentLogger, shmem: { bench: 64 }, database: DATABASE });
  await pm.start();
  const region = pm.shmem('bench');
  await pm.registerDynamicBackgroundWorker({ name: 'notify probe', module: new URL('./workers/notify-probe.js', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg: { channel: CHANNEL } });
  await waitChange(region.int32, 2, 0);
  const ours: number[] = [];
  const base: number[] = [];
  try {
    for (let i = 0; i < rounds + 20; i++) {
      const seen = Atomics.load(region.int32, 0);
      const t0 = nowUs();
      await sender.query(`NOTIFY ${CHANNEL}`);
      await waitChange(region.int32, 0, seen);
      const a = region.float64[1]! - t0;
      const arrived = new Promise<void>((res) => (bareArrived = res));
      const t1 = nowUs();
      await sender.query(`NOTIFY ${CHANNEL}_bare`);
      await arrived;
      const b = nowUs() - t1;
      if (i >= 20) (ours.push(a), base.push(b));
      if (i % 100 === 0) ctx.progress(`notify.wake ${i}/${rounds}`);
    }
  } finally {
    await pm.shutdown('fast');
    await sender.end();
    await bare.end();
  }
  const o = summarize(ours);
  const b = summarize(base);
  return {
    id: 'notify.wake', unit: 'µs p50', ours: o.p50, baseline: b.p50, baselineName: 'bare pg LISTEN client in the host thread',
    ratio: o.p50 / b.p50, target: 'difference <= 60', met: o.p50 - b.p50 <= 60, samples: ours.length,
    extra: { oursP99: o.p99, baselineP99: b.p99, differenceP50: o.p50 - b.p50 },
  };
}

const bench: Bench = {
  name: 'notify',
  figures: ['notify.wake'],
  async run(ctx) {
    try {
      return [await run(ctx)];
    } catch (err) {
      return [{
        id: 'notify.wake', unit: 'µs p50', ours: null, baseline: null, baselineName: 'bare pg LISTEN client in the host thread',
        ratio: null, target: 'difference <= 60', met: null, samples: 0, reason: `PostgreSQL not available: ${(err as Error).message}`,
      }];
    }
  },
};
export default bench;
