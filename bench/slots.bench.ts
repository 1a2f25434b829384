/**
 * slots.churn: dynamic register → run → exit cycles per second with every slot cycling:
 * one loop per slot (8) registers a worker whose entry returns at once and waits for the
 * handle to report it stopped, again and again. Baseline: the same number of loops each
 * starting a bare `new Worker` that ends at once and waiting for its exit. Windows of the
 * two alternate after a warm-up window of each, with a pause between windows so threads
 * still being created or torn down do not spill into the next; medians of window rates.
 *
 * slots.churn.reuse: the same cycles with the worker registered `reusable` (thread reuse,
 * beyond PostgreSQL), beside the same bare-thread baseline; extra: p50/p99 of register →
 * the entry begins (handle.waitForReady(), readiness 'entry') over the cycles.
 *
 * Extra: the cost of one activity() read (pg_stat_activity for bgworkers) with every slot
 * held by an idle worker.
 */
import { Worker } from 'node:worker_threads';
import { type BackgroundWorkerHandle, Postmaster, silentLogger } from '../lib/index.js';
import { figure } from './catalogue.js';
import { alternate, exited, sleep, workerUrl } from './harness.js';
import { median, quantile } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const SLOTS = 8;
const PAUSE_MS = 300;

/** Run `cycle` in SLOTS concurrent loops for `ms`; completed cycles per second. */
async function churn(ms: number, cycle: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  let cycles = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() - t0 < ms) if (await cycle()) cycles++;
  };
  await Promise.all(Array.from({ length: SLOTS }, loop));
  const rate = cycles / ((performance.now() - t0) / 1000);
  await sleep(PAUSE_MS);
  return rate;
}

async function oursCycle(pm: Postmaster, reusable = false, starts?: number[]): Promise<boolean> {
  const t0 = performance.now();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'churn', module: workerUrl('exit-now'), reusable });
  if (!h) {
    await sleep(0); // every slot busy for a moment: try again
    return false;
  }
  if (starts) {
    await h.waitForReady();
    starts.push(performance.now() - t0);
  }
  await h.waitForShutdown();
  return true;
}

async function bareCycle(): Promise<boolean> {
  await exited(new Worker(workerUrl('bare-start')));
  return true;
}

/** µs per activity() call with every slot running an idle worker. */
async function activityCost(pm: Postmaster): Promise<number> {
  const handles: BackgroundWorkerHandle[] = [];
  for (let i = 0; i < SLOTS; i++) {
    const h = await pm.registerDynamicBackgroundWorker({ name: `idle ${i}`, module: workerUrl('idle') });
    if (!h) throw new Error('no free slot for an idle worker');
    handles.push(h);
  }
  await Promise.all(handles.map((h) => h.waitForStartup()));
  const n = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) pm.activity();
  const us = ((performance.now() - t0) * 1000) / n;
  await Promise.all(handles.map((h) => h.terminate()));
  await Promise.all(handles.map((h) => h.waitForShutdown()));
  return us;
}

async function measure(ctx: BenchContext, pm: Postmaster): Promise<Figure> {
  const ms = ctx.quick ? 600 : 1500;
  const rounds = ctx.quick ? 2 : 4;
  const ours: number[] = [];
  const bare: number[] = [];
  await alternate(
    rounds,
    1,
    async (rec) => {
      ctx.progress(`slots.churn: bgworkers, ${rec ? `window ${ours.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(ms, () => oursCycle(pm));
      if (rec) ours.push(r);
    },
    async (rec) => {
      ctx.progress(`slots.churn: bare threads, ${rec ? `window ${bare.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(ms, bareCycle);
      if (rec) bare.push(r);
    },
  );
  const activityUs = await activityCost(pm);
  return figure('slots.churn', { ours: median(ours), baseline: median(bare), samples: ours.length, extra: { slots: SLOTS, window_ms: ms, activity_read_us: activityUs } });
}

async function measureReuse(ctx: BenchContext, pm: Postmaster): Promise<Figure> {
  const ms = ctx.quick ? 600 : 1500;
  const rounds = ctx.quick ? 2 : 4;
  const ours: number[] = [];
  const bare: number[] = [];
  const starts: number[] = [];
  await alternate(
    rounds,
    1,
    async (rec) => {
      ctx.progress(`slots.churn.reuse: reusable bgworkers, ${rec ? `window ${ours.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(ms, () => oursCycle(pm, true, rec ? starts : undefined));
      if (rec) ours.push(r);
    },
    async (rec) => {
      ctx.progress(`slots.churn.reuse: bare threads, ${rec ? `window ${bare.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(ms, bareCycle);
      if (rec) bare.push(r);
    },
  );
  const start = { start_p50_ms: quantile(starts, 0.5), start_p99_ms: quantile(starts, 0.99), start_samples: starts.length };
  return figure('slots.churn.reuse', { ours: median(ours), baseline: median(bare), samples: ours.length, extra: { slots: SLOTS, window_ms: ms, ...start } });
}

const bench: Bench = {
  name: 'slots',
  figures: ['slots.churn', 'slots.churn.reuse'],
  async run(ctx) {
    const pm = new Postmaster({ logger: silentLogger, maxWorkerProcesses: SLOTS, terminateGraceMs: 1000 });
    await pm.start();
    try {
      return [await measure(ctx, pm), await measureReuse(ctx, pm)];
    } finally {
      await pm.shutdown('fast');
    }
  },
};
export default bench;
