/**
 * schedule.lateness: how late a 100 ms interval schedule's runs start — from the tick's
 * scheduled time (the time the scheduler computed) to the launch of the run's worker (the
 * schedule's 'run' event, when the host hands the thread its entry) — p99 in ms, beside a
 * plain setInterval(100) in the same host process: how late each of its callbacks comes
 * after the time it was due (the previous callback + 100 ms, which is when Node re-arms
 * it). Rounds alternate, one of each (A B A B), so both see the same load.
 *
 * The launch is the scheduler's own lateness: timer, registration, the host's launch pass.
 * Extras add the tick → the first line of the run's entry (stamped into shared memory by
 * the worker, as start.dynamic does), which includes the thread's start; and p50s.
 *
 * Two clocks: a tick's time is on Date's (the wall clock that cron times are set in), the
 * samples on the performance clock (sub-millisecond, shared by every thread). The two
 * differ by an offset that moves as the wall clock is slewed — here by over a millisecond,
 * more than the target — so each round measures it afresh (dateToWall) and moves the tick
 * onto the performance clock before subtracting.
 */
import { BGWORKER_SHMEM_ACCESS, Postmaster, silentLogger, type RunRecord } from '../lib/index.js';
import { figure } from './catalogue.js';
import { alternate, wallMs, workerUrl } from './harness.js';
import { summarize } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const REGION = 'bench.start';
const EVERY_MS = 100;

interface Samples {
  launch: number[];
  entry: number[];
  interval: number[];
}

/**
 * performance-clock time − Date time, to within a few µs: spin until Date.now() steps to
 * the next millisecond and read the performance clock at the step.
 */
function dateToWall(): number {
  const d = Date.now();
  let next = d;
  while (next === d) next = Date.now();
  return wallMs() - next;
}

/** One round of the schedule: `ticks` runs, lateness of each launch and entry. */
async function scheduleRound(pm: Postmaster, ticks: number, out: Samples | null): Promise<void> {
  const stamp = pm.shmem(REGION).float64;
  const offset = dateToWall();
  const due = (r: RunRecord): number => r.scheduledAt.getTime() + offset;
  const w = await pm.schedule({ name: 'lateness', module: workerUrl('start-probe'), flags: BGWORKER_SHMEM_ACCESS, mainArg: { region: REGION }, every: EVERY_MS });
  let seen = 0;
  await new Promise<void>((resolve) => {
    w.on('run', (r: RunRecord) => {
      out?.launch.push(wallMs() - due(r));
    });
    w.on('finish', (r: RunRecord) => {
      if (r.status !== 'success') throw new Error(`a lateness run ended ${r.status}: ${r.error ?? ''}`);
      out?.entry.push(stamp[0]! - due(r));
      if (++seen >= ticks) resolve();
    });
  });
  w.remove();
}

/** One round of a plain setInterval: lateness of each callback after its due time. */
function intervalRound(ticks: number, out: Samples | null): Promise<void> {
  return new Promise((resolve) => {
    let due = wallMs() + EVERY_MS;
    let n = 0;
    const timer = setInterval(() => {
      const now = wallMs();
      out?.interval.push(now - due);
      due = now + EVERY_MS;
      if (++n >= ticks) {
        clearInterval(timer);
        resolve();
      }
    }, EVERY_MS);
  });
}

async function measure(ctx: BenchContext): Promise<Samples> {
  const pm = new Postmaster({ logger: silentLogger, shmem: { [REGION]: 64 }, terminateGraceMs: 1000 });
  await pm.start();
  const samples: Samples = { launch: [], entry: [], interval: [] };
  const rounds = ctx.quick ? 1 : 10;
  const ticks = ctx.quick ? 6 : 30;
  let round = 0;
  try {
    await alternate(
      rounds,
      1,
      (rec) => scheduleRound(pm, ticks, rec ? samples : null),
      async (rec) => {
        await intervalRound(ticks, rec ? samples : null);
        if (rec) ctx.progress(`schedule.lateness round ${++round}/${rounds}`);
      },
    );
  } finally {
    await pm.shutdown('fast');
  }
  return samples;
}

const bench: Bench = {
  name: 'schedule',
  figures: ['schedule.lateness'],
  async run(ctx): Promise<Figure[]> {
    const s = await measure(ctx);
    const launch = summarize(s.launch);
    const entry = summarize(s.entry);
    const base = summarize(s.interval);
    return [
      figure('schedule.lateness', {
        ours: launch.p99,
        baseline: base.p99,
        samples: launch.n,
        extra: { p50_ms: launch.p50, baseline_p50_ms: base.p50, entry_p50_ms: entry.p50, entry_p99_ms: entry.p99, interval_ms: EVERY_MS },
      }),
    ];
  },
};
export default bench;
