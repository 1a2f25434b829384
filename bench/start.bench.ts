/**
 * start.dynamic: register a dynamic worker on the host → the first line of its entry runs.
 * The entry stamps the wall clock into a shared region, so no message sits between the
 * event and its timestamp. Baseline: a bare `new Worker` whose first line stamps the clock
 * and posts it (the same end point), measured in the same process, alternating one start of
 * each, with a pause after every start so a thread still being created or torn down in the
 * background (our spare refill, the bare worker's exit) never overlaps the next sample.
 * The worker module is used once before measuring, so the spares have preloaded it, as
 * they would in a service that launches the same worker again and again.
 *
 * start.dynamic.pg: the same number of ours against PostgreSQL's own dynamic bgworker
 * launch on the local server: the median time of a tiny query planned with one parallel
 * worker minus the median with none, the two alternating on two sessions.
 *
 * start.dynamic.bree: the same number of ours against bree's run(name) → the job's first
 * line, which stamps the same shared clock; bree starts a fresh thread per run. Measured in
 * the same alternation (ours, bare, bree, one start each) when the figure is asked for.
 *
 * Extras: register → the handle's 'started' event and → 'stopped' (launch and teardown as
 * the host sees them), the bare worker's first message as the host receives it, and
 * piscina's warm run() on an already-started thread, which starts no thread at all.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Bree from 'bree';
import pg from 'pg';
import { Piscina } from 'piscina';
import { BGWORKER_SHMEM_ACCESS, Postmaster, silentLogger } from '../lib/index.js';
import { figure, unavailable } from './catalogue.js';
import { alternate, exited, sleep, wallMs, workerUrl } from './harness.js';
import { median, summarize } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';

const REGION = 'bench.start';
const SETTLE_MS = 60;
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', connectionTimeoutMillis: 3000 };
const PG_TABLE = 'bgworker_bench_parallel';
const PG_QUERY = `SELECT count(*) FROM ${PG_TABLE}`;
const BREE_JOB = 'bree-job';

interface DynamicRun {
  entry: number[];
  started: number[];
  stopped: number[];
  bareEntry: number[];
  bareMessage: number[];
  bree: number[];
}

async function oursOnce(pm: Postmaster, stamp: Float64Array, run: DynamicRun | null): Promise<void> {
  stamp[0] = 0;
  const t0 = wallMs();
  const h = await pm.registerDynamicBackgroundWorker({
    name: 'start-probe',
    module: workerUrl('start-probe'),
    flags: BGWORKER_SHMEM_ACCESS,
    mainArg: { region: REGION },
  });
  if (!h) throw new Error('start-probe: no free slot');
  let started = NaN;
  h.once('started', () => (started = wallMs()));
  await h.waitForShutdown();
  const stopped = wallMs();
  if (stamp[0] === 0) throw new Error('start-probe ended without running its entry');
  run?.entry.push(stamp[0]! - t0);
  if (run && !Number.isNaN(started)) run.started.push(started - t0);
  run?.stopped.push(stopped - t0);
  await sleep(SETTLE_MS);
}

async function bareOnce(run: DynamicRun | null): Promise<void> {
  const t0 = wallMs();
  const w = new Worker(workerUrl('bare-start'));
  // Listen for the exit at once: a thread this short may exit, and deliver its message
  // while exiting, before an await on the message would return.
  const gone = exited(w);
  const stamp = await new Promise<number>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  run?.bareMessage.push(wallMs() - t0);
  run?.bareEntry.push(stamp - t0);
  await gone;
  await sleep(SETTLE_MS);
}

/** A bree instance with the one job (its first run, a warm-up, initializes it), and the Float64 the job stamps. */
function startBree(): { bree: Bree; stamp: Float64Array } {
  const stamp = new Float64Array(new SharedArrayBuffer(8));
  const bree = new Bree({
    root: false,
    logger: false,
    jobs: [{ name: BREE_JOB, path: fileURLToPath(workerUrl(BREE_JOB)) }],
    worker: { workerData: { stamp: stamp.buffer } },
  });
  return { bree, stamp };
}

async function breeOnce(bree: Bree, stamp: Float64Array, run: DynamicRun | null): Promise<void> {
  stamp[0] = 0;
  const gone = new Promise<void>((resolve) => {
    const onDeleted = (name: string): void => {
      if (name !== BREE_JOB) return;
      bree.off('worker deleted', onDeleted);
      resolve();
    };
    bree.on('worker deleted', onDeleted);
  });
  const t0 = wallMs();
  await bree.run(BREE_JOB);
  await gone;
  if (stamp[0] === 0) throw new Error('the bree job ended without running its first line');
  run?.bree.push(stamp[0]! - t0);
  await sleep(SETTLE_MS);
}

async function measureDynamic(ctx: BenchContext): Promise<DynamicRun> {
  const pm = new Postmaster({ logger: silentLogger, shmem: { [REGION]: 64 }, terminateGraceMs: 1000 });
  await pm.start();
  const stamp = pm.shmem(REGION).float64;
  const bree = ctx.wants('start.dynamic.bree') ? startBree() : null;
  const run: DynamicRun = { entry: [], started: [], stopped: [], bareEntry: [], bareMessage: [], bree: [] };
  const rounds = ctx.quick ? 12 : 200;
  let done = 0;
  const runs = [
    (rec: boolean) => oursOnce(pm, stamp, rec ? run : null),
    async (rec: boolean) => {
      await bareOnce(rec ? run : null);
      if (rec && ++done % 10 === 0) ctx.progress(`start.dynamic ${done}/${rounds}`);
    },
  ];
  if (bree) runs.push((rec) => breeOnce(bree.bree, bree.stamp, rec ? run : null));
  try {
    await alternate(rounds, 5, ...runs);
  } finally {
    await Promise.all([pm.shutdown('fast'), bree?.bree.stop()]);
  }
  return run;
}

/** piscina's warm run(): dispatch to a thread that is already up; round trip and → task start. */
async function measurePiscina(quick: boolean): Promise<{ runMs: number; firstLineMs: number }> {
  const pool = new Piscina({ filename: workerUrl('piscina-task').href, minThreads: 1, maxThreads: 1 });
  const round: number[] = [];
  const first: number[] = [];
  const n = quick ? 500 : 5000;
  try {
    for (let i = -500; i < n; i++) {
      const t0 = wallMs();
      const began = (await pool.run(null)) as number;
      const t1 = wallMs();
      if (i < 0) continue;
      round.push(t1 - t0);
      first.push(began - t0);
    }
  } finally {
    await pool.destroy();
  }
  return { runMs: median(round), firstLineMs: median(first) };
}

async function dynamicFigure(ctx: BenchContext, run: DynamicRun): Promise<Figure> {
  ctx.progress('start.dynamic: piscina warm run()');
  const pis = await measurePiscina(ctx.quick);
  const ours = summarize(run.entry);
  const base = summarize(run.bareEntry);
  return figure('start.dynamic', {
    ours: ours.p50,
    baseline: base.p50,
    samples: ours.n,
    extra: {
      p99_ms: ours.p99,
      baseline_p99_ms: base.p99,
      started_event_p50_ms: median(run.started),
      stopped_p50_ms: median(run.stopped),
      baseline_message_received_p50_ms: median(run.bareMessage),
      piscina_warm_run_p50_ms: pis.runMs,
      piscina_task_first_line_p50_ms: pis.firstLineMs,
    },
  });
}

function breeFigure(run: DynamicRun): Figure {
  const ours = summarize(run.entry);
  const base = summarize(run.bree);
  return figure('start.dynamic.bree', {
    ours: ours.p50,
    baseline: base.p50,
    samples: Math.min(ours.n, base.n),
    extra: { p99_ms: ours.p99, baseline_p99_ms: base.p99 },
  });
}

async function pgSession(workers: number): Promise<pg.Client> {
  const c = new pg.Client(PG);
  await c.connect();
  await c.query(
    'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; ' +
      `SET max_parallel_workers_per_gather = ${workers}`,
  );
  return c;
}

async function prepareTable(c: pg.Client): Promise<void> {
  await c.query(`CREATE TABLE IF NOT EXISTS ${PG_TABLE} (id int)`);
  await c.query(`INSERT INTO ${PG_TABLE} SELECT g FROM generate_series(1, 1000) g WHERE NOT EXISTS (SELECT 1 FROM ${PG_TABLE})`);
  await c.query(`ANALYZE ${PG_TABLE}`);
}

async function workersLaunched(c: pg.Client): Promise<number> {
  const r = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${PG_QUERY}`);
  const m = /"Workers Launched":\s*(\d+)/.exec(JSON.stringify(r.rows));
  return m ? Number(m[1]) : 0;
}

/** Median query time with one parallel worker and with none, alternating query by query. */
async function pgLaunch(ctx: BenchContext): Promise<{ parallel: number; serial: number; n: number; launched: number }> {
  const par = await pgSession(1);
  const serial = await pgSession(0);
  try {
    await prepareTable(par);
    const launched = await workersLaunched(par);
    const times: [number[], number[]] = [[], []];
    const n = ctx.quick ? 60 : 500;
    for (let i = -30; i < n; i++) {
      for (const [k, c] of [par, serial].entries()) {
        const t0 = performance.now();
        await c.query(PG_QUERY);
        if (i >= 0) times[k]!.push(performance.now() - t0);
      }
      if (i > 0 && i % 100 === 0) ctx.progress(`start.dynamic.pg ${i}/${n}`);
    }
    return { parallel: median(times[0]), serial: median(times[1]), n, launched };
  } finally {
    await Promise.all([par.end(), serial.end()]);
  }
}

async function pgFigure(ctx: BenchContext, run: DynamicRun): Promise<Figure> {
  let r: Awaited<ReturnType<typeof pgLaunch>>;
  try {
    r = await pgLaunch(ctx);
  } catch (err) {
    return unavailable('start.dynamic.pg', `no PostgreSQL server at ${PG.host}:${PG.port}: ${(err as Error).message}`);
  }
  if (r.launched !== 1) return unavailable('start.dynamic.pg', `the server launched ${r.launched} parallel workers, not 1`);
  return figure('start.dynamic.pg', {
    ours: median(run.entry),
    baseline: r.parallel - r.serial,
    samples: r.n,
    extra: { pg_query_1_worker_p50_ms: r.parallel, pg_query_0_workers_p50_ms: r.serial, ours_stopped_p50_ms: median(run.stopped) },
  });
}

const bench: Bench = {
  name: 'start',
  figures: ['start.dynamic', 'start.dynamic.pg', 'start.dynamic.bree'],
  async run(ctx) {
    const run = await measureDynamic(ctx);
    const out: Figure[] = [];
    if (ctx.wants('start.dynamic')) out.push(await dynamicFigure(ctx, run));
    if (ctx.wants('start.dynamic.pg')) out.push(await pgFigure(ctx, run));
    if (ctx.wants('start.dynamic.bree')) out.push(breeFigure(run));
    return out;
  },
};
export default bench;
