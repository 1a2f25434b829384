/**
 * latch.rtt.*: round trip between two bgworkers that wake each other through their process
 * latches, in three flavours: blocking waits (sync), waitAsync (async), and blocking waits
 * with the latch's bounded spin-before-sleep (spin). The baselines run the same ping-pong
 * between two plain worker_threads: a raw Atomics.wait/notify word (sync, spin) and a
 * MessageChannel (async).
 *
 * Fairness: every variant uses the same batch protocol and the same per-sample timer
 * (performance.now() around one round trip, in the pinging thread). Pairs of every kind are
 * started afresh several times (a pair's thread placement sticks, see `generation`); within
 * a generation the pairs stay up, parked between batches, and their batches alternate after
 * one warm-up batch each. p50 and p99 are over every recorded round trip.
 *
 * The async row also reports, from the same alternation, a raw pair that sleeps with bare
 * Atomics.waitAsync (the floor of an asynchronous wake-up through V8 and the event loop).
 * The spin row also reports, from the same alternation, the raw pair polling its word as
 * many times as our latch does before sleeping (the floor of spin-then-wait in JS), and what
 * spinning costs when nobody wakes the waiter: the process's
 * CPU time per second while one worker naps on its latch with a 10 ms timeout (so it spins
 * a hundred times a second), minus the same window with no napper; and the same without spin.
 */
import { MessageChannel, type Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS, type BackgroundWorkerHandle, Postmaster, silentLogger } from '../lib/index.js';
import { figure } from './catalogue.js';
import { alternate, exited, sleep, startWorker, waitChange, workerUrl } from './harness.js';
import { median, summarize } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';
import { CMD, DONE, N, PAIR_BYTES, SAMPLES_AT, STOP } from './workers/pair-layout.js';

type Mode = 'sync' | 'async' | 'spin';

/** Polls of the latch word before sleeping, in spin mode. */
const SPIN = 4096;
const NAP_MS = 10;
const NAP_REGION = 'bench.latch.nap';
const MODES: Array<{ id: string; mode: Mode }> = [
  { id: 'latch.rtt.sync', mode: 'sync' },
  { id: 'latch.rtt.async', mode: 'async' },
  { id: 'latch.rtt.spin', mode: 'spin' },
];

/** The host's side of a pair: post a batch, wait for it without blocking, copy the samples. */
class Pair {
  private batches = 0;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(buffer: SharedArrayBuffer, byteOffset: number, readonly close: () => Promise<void>) {
    this.i32 = new Int32Array(buffer, byteOffset, PAIR_BYTES >> 2);
    this.f64 = new Float64Array(buffer, byteOffset, PAIR_BYTES >> 3);
  }

  async run(n: number): Promise<Float64Array> {
    Atomics.store(this.i32, N, n);
    Atomics.add(this.i32, CMD, 1);
    Atomics.notify(this.i32, CMD);
    await waitChange(this.i32, DONE, this.batches++);
    return this.f64.slice(SAMPLES_AT, SAMPLES_AT + n);
  }

  stop(): void {
    Atomics.store(this.i32, STOP, 1);
    Atomics.add(this.i32, CMD, 1);
    Atomics.notify(this.i32, CMD);
  }
}

async function register(pm: Postmaster, fn: string, mainArg: unknown): Promise<BackgroundWorkerHandle> {
  const h = await pm.registerDynamicBackgroundWorker({ name: `latch ${fn}`, module: workerUrl('latch-pair'), function: fn, flags: BGWORKER_SHMEM_ACCESS, mainArg });
  if (!h) throw new Error(`latch ${fn}: no free slot`);
  return h;
}

async function oursPair(pm: Postmaster, mode: Mode): Promise<Pair> {
  const region = pm.shmem(`bench.latch.${mode}`);
  region.uint8.fill(0); // the previous generation's pair has exited: start from clean words
  const arg = { region: region.name, mode, spin: mode === 'spin' ? SPIN : 0 };
  const pong = await register(pm, 'pong', arg);
  const ping = await register(pm, 'ping', arg);
  const pair = new Pair(region.buffer, region.byteOffset, async () => {
    pair.stop();
    await Promise.all([ping.waitForShutdown(), pong.waitForShutdown()]);
  });
  return pair;
}

async function plainPair(mode: Mode, spin = 0, asyncWait = false): Promise<Pair> {
  const sab = new SharedArrayBuffer(PAIR_BYTES);
  let threads: Worker[];
  if (mode === 'async' && !asyncWait) {
    const { port1, port2 } = new MessageChannel();
    threads = await Promise.all([
      startWorker(workerUrl('message-pair'), { sab, role: 'ping', port: port1 }, [port1]),
      startWorker(workerUrl('message-pair'), { sab, role: 'pong', port: port2 }, [port2]),
    ]);
  } else {
    threads = await Promise.all(['ping', 'pong'].map((role) => startWorker(workerUrl('atomics-pair'), { sab, role, spin, asyncWait })));
  }
  const pair = new Pair(sab, 0, async () => {
    const gone = threads.map(exited);
    pair.stop();
    await Promise.all(gone);
  });
  return pair;
}

/** A batch runner that records into `into` on recorded turns. */
function batches(pair: Pair, n: number, into: number[]): (record: boolean) => Promise<void> {
  return async (record) => {
    const s = await pair.run(n);
    if (record) for (const ms of s) into.push(ms * 1000);
  };
}

/**
 * Where the scheduler puts a pair's two threads (one core or two) decides its round trip,
 * and it keeps them there: so each generation starts fresh pairs of every kind, and their
 * batches alternate. Every kind gets the same number of fresh placements.
 */
async function generation(pm: Postmaster, mode: Mode, rounds: number, batch: number, into: number[][]): Promise<void> {
  const pairs = [await oursPair(pm, mode), await plainPair(mode)];
  if (mode === 'spin') pairs.push(await plainPair(mode, SPIN));
  if (mode === 'async') pairs.push(await plainPair(mode, 0, true));
  try {
    await alternate(rounds, 1, ...pairs.map((p, i) => batches(p, batch, into[i]!)));
  } finally {
    await Promise.all(pairs.map((p) => p.close()));
  }
}

async function measureMode(ctx: BenchContext, pm: Postmaster, id: string, mode: Mode): Promise<Figure> {
  const generations = ctx.quick ? 2 : 20;
  const rounds = 2;
  const batch = ctx.quick ? 150 : 250;
  const ours: number[] = [];
  const base: number[] = [];
  const raw: number[] = [];
  for (let g = 0; g < generations; g++) {
    ctx.progress(`${id}: pairs ${g + 1}/${generations}`);
    await generation(pm, mode, rounds, batch, [ours, base, raw]);
  }
  const o = summarize(ours);
  const s = summarize(base);
  const extra: Record<string, number> = { p99_us: o.p99, baseline_p99_us: s.p99, pair_generations: generations };
  if (mode === 'spin') {
    Object.assign(extra, { spin_polls: SPIN, raw_spin_pair_p50_us: median(raw), raw_spin_pair_p99_us: summarize(raw).p99 });
    Object.assign(extra, await idleCpu(ctx, pm));
  }
  if (mode === 'async') Object.assign(extra, { raw_wait_async_pair_p50_us: median(raw), raw_wait_async_pair_p99_us: summarize(raw).p99 });
  return figure(id, { ours: o.p50, baseline: s.p50, samples: o.n, extra });
}

/** Process CPU time per second of wall time over a window, in ms/s. */
async function cpuWindow(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / ((performance.now() - t0) / 1000);
}

async function napperWindow(pm: Postmaster, spin: number, ms: number): Promise<number> {
  const stop = pm.shmem(NAP_REGION).int32;
  Atomics.store(stop, 0, 0);
  const h = await register(pm, 'napper', { region: NAP_REGION, napMs: NAP_MS, spin });
  await h.waitForStartup();
  await sleep(100);
  const cpu = await cpuWindow(ms);
  Atomics.store(stop, 0, 1);
  await h.waitForShutdown();
  return cpu;
}

/** CPU of an idle latch waiter, with and without spin, net of an idle window. */
async function idleCpu(ctx: BenchContext, pm: Postmaster): Promise<Record<string, number>> {
  const ms = ctx.quick ? 300 : 1000;
  const none: number[] = [];
  const spin: number[] = [];
  const still: number[] = [];
  for (let r = 0; r < (ctx.quick ? 1 : 3); r++) {
    ctx.progress(`latch.rtt.spin: idle waiter CPU, window ${r + 1}`);
    none.push(await cpuWindow(ms));
    spin.push(await napperWindow(pm, SPIN, ms));
    still.push(await napperWindow(pm, 0, ms));
  }
  return {
    idle_waiter_cpu_ms_per_s: median(spin) - median(none),
    idle_waiter_nospin_cpu_ms_per_s: median(still) - median(none),
    idle_nap_ms: NAP_MS,
  };
}

const bench: Bench = {
  name: 'latch',
  figures: MODES.map((m) => m.id),
  async run(ctx) {
    const shmem: Record<string, number> = { [NAP_REGION]: 64 };
    for (const { mode } of MODES) shmem[`bench.latch.${mode}`] = PAIR_BYTES;
    const pm = new Postmaster({ logger: silentLogger, shmem, terminateGraceMs: 1000 });
    await pm.start();
    const out: Figure[] = [];
    try {
      for (const { id, mode } of MODES) if (ctx.wants(id)) out.push(await measureMode(ctx, pm, id, mode));
    } finally {
      await pm.shutdown('fast');
    }
    return out;
  },
};
export default bench;
