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
 * held by an idle worker; and what bounds the cycle rate: the process's CPU time per
 * completed cycle (the window and the pause after it, so that threads still tearing down
 * count), ours beside bare, and how busy the cores were during the windows.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type BackgroundWorkerHandle, Postmaster, silentLogger } from '../lib/index.js';
import { figure } from './catalogue.js';
import { alternate, exited, sleep, workerUrl } from './harness.js';
import { median, quantile } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const SLOTS = 8;
/** A window's length, how many are recorded, and the rest after each, so that threads still being torn down do not spill into the next. */
interface Windows {
  ms: number;
  rounds: number;
  pauseMs: number;
}

const windowsFor = (ctx: BenchContext): Windows => (ctx.quick ? { ms: 300, rounds: 1, pauseMs: 150 } : { ms: 1500, rounds: 4, pauseMs: 300 });

interface Window {
  rate: number;
  cpuMsPerCycle: number;
  /** CPU time over the window / (wall time × cores). */
  busy: number;
}

const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

/** Run `cycle` in SLOTS concurrent loops for one window: completed cycles per second, and their CPU. */
async function churn({ ms, pauseMs }: Windows, cycle: () => Promise<boolean>): Promise<Window> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let cycles = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() - t0 < ms) if (await cycle()) cycles++;
  };
  await Promise.all(Array.from({ length: SLOTS }, loop));
  const wall = performance.now() - t0;
  const busy = cpuMs(process.cpuUsage(c0)) / (wall * availableParallelism());
  await sleep(pauseMs);
  return { rate: cycles / (wall / 1000), cpuMsPerCycle: cpuMs(process.cpuUsage(c0)) / cycles, busy };
}

/** The figure's extra: CPU per cycle and core use, ours beside bare (medians over the windows). */
function cpuExtra(ours: Window[], bare: Window[]): Record<string, number> {
  return {
    cpu_ms_per_cycle: median(ours.map((w) => w.cpuMsPerCycle)),
    baseline_cpu_ms_per_cycle: median(bare.map((w) => w.cpuMsPerCycle)),
    cores_busy: median(ours.map((w) => w.busy)),
    baseline_cores_busy: median(bare.map((w) => w.busy)),
  };
}

const rate = (ws: Window[]): number => median(ws.map((w) => w.rate));

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
  const win = windowsFor(ctx);
  const { ms, rounds } = win;
  const ours: Window[] = [];
  const bare: Window[] = [];
  await alternate(
    rounds,
    1,
    async (rec) => {
      ctx.progress(`slots.churn: bgworkers, ${rec ? `window ${ours.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(win, () => oursCycle(pm));
      if (rec) ours.push(r);
    },
    async (rec) => {
      ctx.progress(`slots.churn: bare threads, ${rec ? `window ${bare.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(win, bareCycle);
      if (rec) bare.push(r);
    },
  );
  const activityUs = await activityCost(pm);
  return figure('slots.churn', { ours: rate(ours), baseline: rate(bare), samples: ours.length, extra: { slots: SLOTS, window_ms: ms, activity_read_us: activityUs, ...cpuExtra(ours, bare) } });
}

async function measureReuse(ctx: BenchContext, pm: Postmaster): Promise<Figure> {
  const win = windowsFor(ctx);
  const { ms, rounds } = win;
  const ours: Window[] = [];
  const bare: Window[] = [];
  const starts: number[] = [];
  await alternate(
    rounds,
    1,
    async (rec) => {
      ctx.progress(`slots.churn.reuse: reusable bgworkers, ${rec ? `window ${ours.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(win, () => oursCycle(pm, true, rec ? starts : undefined));
      if (rec) ours.push(r);
    },
    async (rec) => {
      ctx.progress(`slots.churn.reuse: bare threads, ${rec ? `window ${bare.length + 1}/${rounds}` : 'warm-up'}`);
      const r = await churn(win, bareCycle);
      if (rec) bare.push(r);
    },
  );
  const start = { start_p50_ms: quantile(starts, 0.5), start_p99_ms: quantile(starts, 0.99), start_samples: starts.length };
  return figure('slots.churn.reuse', { ours: rate(ours), baseline: rate(bare), samples: ours.length, extra: { slots: SLOTS, window_ms: ms, ...start, ...cpuExtra(ours, bare) } });
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
