/**
 * rwlock.*: the LWLock of lib/shm/lwlock.ts, used directly on a SharedArrayBuffer by plain
 * worker_threads (bench/workers/rwlock-worker.ts), so only the lock is measured.
 *
 * rwlock.shared / rwlock.exclusive: uncontended acquire+release pairs per second in one
 *   thread, against a bare compareExchange + store pair in the same thread; batches of the
 *   three alternate after warm-up batches, and each figure is the median batch rate.
 * rwlock.contended: 4 threads, each doing 1 exclusive section (write 256 words) in 10 and 9
 *   shared ones (read them), total ops/s; the baseline runs the same sections under one
 *   exclusive-only futex mutex. Windows of the two alternate; medians. In extra: the same
 *   at 2 threads, and at 4 threads with read sections 16× longer (all DATA_WORDS), where
 *   the readers' parallelism outweighs the cost of moving the lock's cache line.
 * rwlock.writer.p99: a writer takes the lock exclusively every 0.3 ms while 2 readers hold it
 *   shared back to back for 100 µs each (a flood: the lock is never free of readers). The
 *   baseline is what a fair writer should wait at worst: one read hold × the readers.
 *
 * Each figure runs on fresh threads. Threads that are still asleep HANG_MS after they were
 * told to stop have lost a wake-up: the figure is then reported as not measured, with the
 * lock word that was left behind, and the threads are terminated.
 */
import type { Worker } from 'node:worker_threads';
import { L_SLEEPERS, L_STATE } from '../lib/shm/layout.js';
import { LW_SHARED_MASK, LW_VAL_EXCLUSIVE, LW_WRITER_ONE, LW_WRITERS_MASK } from '../lib/shm/lwlock.js';
import { figure, unavailable } from './catalogue.js';
import { alternate, exited, Hang, reply, sleep, startWorker, within, workerUrl } from './harness.js';
import { median, quantile } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';
import { DATA_WORDS, GO, LOCK, RWLOCK_BYTES, type RwOp, SECTION_WORDS, STOP } from './workers/rwlock-layout.js';

const THREADS = 4;
const READERS = 2;
const HOLD_US = 100;
const WRITER_GAP_MS = 0.3;
const WRITER_WARMUP = 50;
const HANG_MS = 3000;

interface Rig {
  workers: Worker[];
  i32: Int32Array;
}

function ask<T>(w: Worker, op: RwOp): Promise<T> {
  const r = reply<T>(w);
  w.postMessage(op);
  return r;
}

/** Release the threads waiting on GO, together. */
async function go(rig: Rig): Promise<void> {
  await sleep(5);
  Atomics.store(rig.i32, GO, 1);
  Atomics.notify(rig.i32, GO);
}

/** What the lock word says, for a hang report. */
function lockState(i32: Int32Array): string {
  const s = Atomics.load(i32, LOCK + L_STATE);
  const holder = s & LW_VAL_EXCLUSIVE ? 'held exclusively' : `${s & LW_SHARED_MASK} shared holders`;
  const writers = (s & LW_WRITERS_MASK) / LW_WRITER_ONE;
  return `LWLock threads still asleep ${HANG_MS / 1000} s after STOP (a lost wake-up): state 0x${s.toString(16)} = ${holder}, ${writers} writers queued; ${Atomics.load(i32, LOCK + L_SLEEPERS)} sleepers`;
}

/** Raise STOP, collect the replies, and rearm the flags. */
async function finish<T>(rig: Rig, asks: Array<Promise<T>>): Promise<T[]> {
  Atomics.store(rig.i32, STOP, 1);
  const out = await within(Promise.all(asks), HANG_MS, () => lockState(rig.i32));
  Atomics.store(rig.i32, GO, 0);
  Atomics.store(rig.i32, STOP, 0);
  return out;
}

async function uncontended(ctx: BenchContext, rig: Rig): Promise<Figure[]> {
  const n = ctx.quick ? 500_000 : 2_000_000;
  const rates = { shared: [] as number[], exclusive: [] as number[], bare: [] as number[] };
  const batch = (kind: keyof typeof rates) => async (rec: boolean) => {
    const { rate } = await ask<{ rate: number }>(rig.workers[0]!, { op: 'solo', kind, n });
    if (rec) rates[kind].push(rate);
  };
  ctx.progress('rwlock.shared / rwlock.exclusive');
  await alternate(ctx.quick ? 5 : 15, 3, batch('shared'), batch('exclusive'), batch('bare'));
  const bare = median(rates.bare);
  return (['shared', 'exclusive'] as const)
    .filter((k) => ctx.wants(`rwlock.${k}`))
    .map((k) => figure(`rwlock.${k}`, { ours: median(rates[k]), baseline: bare, samples: rates[k].length * n, extra: { batches: rates[k].length } }));
}

async function mixedWindow(rig: Rig, threads: number, kind: 'rwlock' | 'mutex', ms: number, readWords: number): Promise<number> {
  const asks = rig.workers.slice(0, threads).map((w) => ask<{ ops: number; ms: number }>(w, { op: 'mixed', kind, readWords }));
  await go(rig);
  await sleep(ms);
  const rs = await finish(rig, asks);
  return rs.reduce((sum, r) => sum + r.ops / (r.ms / 1000), 0);
}

async function contendedRates(ctx: BenchContext, rig: Rig, threads: number, rounds: number, readWords = SECTION_WORDS): Promise<{ rw: number[]; mutex: number[] }> {
  const ms = ctx.quick ? 150 : 400;
  const rw: number[] = [];
  const mutex: number[] = [];
  await alternate(
    rounds,
    1,
    async (rec) => {
      const r = await mixedWindow(rig, threads, 'rwlock', ms, readWords);
      if (rec) rw.push(r);
    },
    async (rec) => {
      const r = await mixedWindow(rig, threads, 'mutex', ms, readWords);
      if (!rec) return;
      mutex.push(r);
      ctx.progress(`rwlock.contended ${threads} threads, ${readWords}-word reads, window ${mutex.length}/${rounds}`);
    },
  );
  return { rw, mutex };
}

async function contended(ctx: BenchContext): Promise<Figure> {
  const four = await withRig((rig) => contendedRates(ctx, rig, THREADS, ctx.quick ? 2 : 8));
  const m = { ours: median(four.rw), baseline: median(four.mutex), samples: four.rw.length };
  const extra: Record<string, number> = { threads: THREADS };
  try {
    const two = await withRig((rig) => contendedRates(ctx, rig, 2, ctx.quick ? 1 : 4));
    Object.assign(extra, { two_threads_ops_per_s: median(two.rw), two_threads_mutex_ops_per_s: median(two.mutex), two_threads_ratio: median(two.rw) / median(two.mutex) });
    const long = await withRig((rig) => contendedRates(ctx, rig, THREADS, ctx.quick ? 1 : 4, DATA_WORDS));
    Object.assign(extra, { long_read_words: DATA_WORDS, long_read_ops_per_s: median(long.rw), long_read_mutex_ops_per_s: median(long.mutex), long_read_ratio: median(long.rw) / median(long.mutex) });
    return figure('rwlock.contended', { ...m, extra });
  } catch (err) {
    if (!(err instanceof Hang)) throw err;
    return figure('rwlock.contended', { ...m, extra, reason: `2-thread or long-read run not measured: ${err.message}` });
  }
}

async function writerP99(ctx: BenchContext, rig: Rig): Promise<Figure> {
  ctx.progress('rwlock.writer.p99');
  const samples = ctx.quick ? 300 : 2000;
  const readers = rig.workers.slice(0, READERS).map((w) => ask<{ holdUs: number }>(w, { op: 'reader', holdUs: HOLD_US }));
  const writer = ask<{ waitsUs: number[] }>(rig.workers[READERS]!, { op: 'writer', samples: samples + WRITER_WARMUP, gapMs: WRITER_GAP_MS });
  await go(rig);
  const { waitsUs } = await within(writer, HANG_MS + samples * 2, () => lockState(rig.i32));
  const holds = await finish(rig, readers);
  const w = waitsUs.slice(WRITER_WARMUP);
  const hold = median(holds.map((h) => h.holdUs));
  return figure('rwlock.writer.p99', {
    ours: quantile(w, 0.99),
    baseline: hold * READERS,
    samples: w.length,
    extra: { writer_wait_p50_us: median(w), read_hold_p50_us: hold, readers: READERS, writer_gap_ms: WRITER_GAP_MS },
  });
}

async function makeRig(): Promise<Rig> {
  const sab = new SharedArrayBuffer(RWLOCK_BYTES);
  const workers = await Promise.all(Array.from({ length: THREADS }, () => startWorker(workerUrl('rwlock-worker'), { sab })));
  return { i32: new Int32Array(sab), workers };
}

/** Run `fn` on fresh threads; threads left asleep by a hang are terminated. */
async function withRig<T>(fn: (rig: Rig) => Promise<T>): Promise<T> {
  const rig = await makeRig();
  let clean = false;
  try {
    const r = await fn(rig);
    clean = true;
    return r;
  } finally {
    const gone = rig.workers.map(exited);
    for (const w of rig.workers) {
      if (clean) w.postMessage('exit');
      else void w.terminate();
    }
    await Promise.all(gone);
  }
}

/** The figure, or a not-measured row if the lock hung. */
async function unlessHung(id: string, f: () => Promise<Figure>): Promise<Figure> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof Hang) return unavailable(id, err.message);
    throw err;
  }
}

const bench: Bench = {
  name: 'rwlock',
  figures: ['rwlock.shared', 'rwlock.exclusive', 'rwlock.contended', 'rwlock.writer.p99'],
  async run(ctx) {
    const out: Figure[] = [];
    if (ctx.wants('rwlock.shared') || ctx.wants('rwlock.exclusive')) out.push(...(await withRig((rig) => uncontended(ctx, rig))));
    if (ctx.wants('rwlock.contended')) out.push(await unlessHung('rwlock.contended', () => contended(ctx)));
    if (ctx.wants('rwlock.writer.p99')) out.push(await unlessHung('rwlock.writer.p99', () => withRig((rig) => writerP99(ctx, rig))));
    return out;
  },
};
export default bench;
