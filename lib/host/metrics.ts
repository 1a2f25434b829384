/**
 * Prometheus metrics for one host, in the text exposition format (0.0.4), produced by a
 * function a service mounts in whatever HTTP server it already runs:
 *
 *   const options = { maxWorkerProcesses: 8 };
 *   const pm = new Postmaster(options);
 *   const metrics = postmasterMetrics(pm, options);      // before pm.start()
 *   http.createServer((req, res) => {
 *     if (req.url !== '/metrics') return void res.writeHead(404).end();
 *     res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(metrics.render());
 *   }).listen(9187);
 *
 * Counters are kept from the host's events, from the moment of the call: worker starts,
 * restarts (a start of a worker that has run before) and exits by kind, labelled with the
 * worker's `type` (bgw_type: a grouping name, so the label set stays small; names of
 * dynamic workers would not), and workers failed past their restart intensity; crashes that began a crash-restart cycle, and the cycles
 * completed. Gauges are read from activity() at render time: slots used and free, workers
 * by state, and whether the host is up. The host never learns about the metrics: they are
 * listeners on its events, removed by close(). Call everything on the host thread.
 */
import type { ActivityRow, ExitKind, WorkerState } from '../types.js';
import type { Postmaster, PostmasterOptions } from './postmaster.js';

/** The Content-Type of render()'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PostmasterMetrics {
  /** The exposition text, computed now. */
  render(): string;
  /** Stop counting: remove the listeners from the host. */
  close(): void;
}

const STATES: Record<WorkerState, true> = {
  not_yet_started: true, running: true, stopping: true, waiting_restart: true, terminated: true, stopped: true, failed: true,
};
const EXIT_KINDS: Record<ExitKind, true> = {
  normal: true, error: true, crash: true, hard_stop: true, terminated: true, shutdown: true, immediate: true, crash_restart: true, timeout: true,
};

/** Upper bounds (s) of the registration → ready histogram's buckets. */
const READY_BOUNDS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

interface Counts {
  /** Bucket counts (one more for +Inf), sum in s and count of registration → ready. */
  ready: { buckets: number[]; sum: number; count: number };
  starts: Map<string, number>;
  restarts: Map<string, number>;
  failures: Map<string, number>;
  /** type → kind → exits */
  exits: Map<string, Map<string, number>>;
  crashes: number;
  crashRestarts: number;
}

/**
 * Count `pm`'s events and render them with its activity list.
 * @param _options unused: the slot counts are read from the host (pm.slots())
 */
export function postmasterMetrics(pm: Postmaster, _options: Pick<PostmasterOptions, 'maxWorkerProcesses'> = {}): PostmasterMetrics {
  const counts: Counts = { ready: { buckets: READY_BOUNDS_S.map(() => 0).concat(0), sum: 0, count: 0 }, starts: new Map(), restarts: new Map(), failures: new Map(), exits: new Map(), crashes: 0, crashRestarts: 0 };
  const onStarted = (row: ActivityRow): void => {
    bump(counts.starts, row.type);
    if (row.restarts > 0) bump(counts.restarts, row.type);
    exitsOf(counts, row.type);
  };
  const onStopped = (row: ActivityRow): void => {
    if (row.lastExit) bump(exitsOf(counts, row.type), row.lastExit.kind);
  };
  const onFailed = (row: ActivityRow): void => bump(counts.failures, row.type);
  const onCrash = (): void => void counts.crashes++;
  const onReady = (_row: ActivityRow, ms: number): void => {
    const s = ms / 1000;
    const b = READY_BOUNDS_S.findIndex((bound) => s <= bound);
    counts.ready.buckets[b < 0 ? READY_BOUNDS_S.length : b]!++;
    counts.ready.sum += s;
    counts.ready.count++;
  };
  const onReinitialized = (): void => void counts.crashRestarts++;
  pm.on('started', onStarted).on('stopped', onStopped).on('failed', onFailed).on('crash', onCrash).on('reinitialized', onReinitialized).on('ready', onReady);
  return {
    render: () => render(pm, counts),
    close: () => {
      pm.off('started', onStarted).off('stopped', onStopped).off('failed', onFailed).off('crash', onCrash).off('reinitialized', onReinitialized).off('ready', onReady);
    },
  };
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** The exit counts of a type, every kind present from its first start so that rates start at 0. */
function exitsOf(counts: Counts, type: string): Map<string, number> {
  let m = counts.exits.get(type);
  if (!m) {
    m = new Map(Object.keys(EXIT_KINDS).map((k) => [k, 0]));
    counts.exits.set(type, m);
  }
  return m;
}

function render(pm: Postmaster, counts: Counts): string {
  const slots = pm.slots();
  const threads = pm.threadCounts();
  const rows = pm.activity();
  const byState = new Map<string, number>(Object.keys(STATES).map((s) => [s, 0]));
  for (const r of rows) bump(byState, r.state);
  const up = pm.pmState !== 'init' && pm.pmState !== 'stopped' && pm.pmState !== 'dead';
  const exits = [...counts.exits].flatMap(([type, kinds]) => [...kinds].map(([kind, n]) => sample({ type, kind }, n)));
  return [
    ...metric('bgworker_host_up', 'gauge', '1 while the host runs, 0 before start() and once it has stopped or died.', [sample({}, up ? 1 : 0)]),
    ...metric('bgworker_host_health', 'gauge', 'The host\'s health: 1 for its status (healthy, degraded, failed), 0 for the others.', healthSamples(pm)),
    ...metric('bgworker_callback_errors_total', 'counter', 'User callbacks (listeners, the logger, region inits) that threw; the host went on.', [sample({}, pm.callbackErrorCount)]),
    ...metric('bgworker_slots_used', 'gauge', 'Background-worker slots in use (registered workers).', [sample({}, rows.length)]),
    ...metric('bgworker_slots_free', 'gauge', 'Usable background-worker slots free (maxWorkerProcesses now, minus used).', [sample({}, Math.max(0, slots.usable - rows.length))]),
    ...metric('bgworker_slots_usable', 'gauge', 'Slots registrants may use now (setMaxWorkerProcesses).', [sample({}, slots.usable)]),
    ...metric('bgworker_slots_reserved', 'gauge', 'Slots reserved in shared memory (reservedWorkerProcesses).', [sample({}, slots.reserved)]),
    ...metric('bgworker_threads', 'gauge', 'Threads: running a worker life, or warm spares.', [sample({ kind: 'worker' }, threads.workers), sample({ kind: 'spare' }, threads.spares)]),
    ...metric('bgworker_workers', 'gauge', 'Registered workers by state.', [...byState].map(([state, n]) => sample({ state }, n))),
    ...metric('bgworker_worker_starts_total', 'counter', 'Worker threads launched.', perType(counts.starts)),
    ...metric('bgworker_worker_restarts_total', 'counter', 'Launches of a worker that had run before.', perType(counts.restarts)),
    ...metric('bgworker_worker_failures_total', 'counter', 'Workers past their restart intensity, no longer restarted.', perType(counts.failures)),
    ...metric('bgworker_worker_exits_total', 'counter', 'Worker exits by kind: normal, error, crash, hard_stop, terminated, shutdown, immediate, crash_restart, timeout.', exits),
    ...metric('bgworker_crashes_total', 'counter', 'Worker crashes that began a crash-restart cycle.', [sample({}, counts.crashes)]),
    ...metric('bgworker_crash_restarts_total', 'counter', 'Crash-restart cycles completed (shared memory reinitialized).', [sample({}, counts.crashRestarts)]),
    ...readyMetrics(counts),
    ...waitMetrics(pm),
  ].join('\n') + '\n';
}

/** Registration (or, for a restart, launch) → ready, over every worker life. */
function readyMetrics(counts: Counts): string[] {
  let cumulative = 0;
  const buckets = counts.ready.buckets.map((n, i) => {
    cumulative += n;
    return `bgworker_worker_ready_seconds_bucket${sample({ le: i < READY_BOUNDS_S.length ? String(READY_BOUNDS_S[i]) : '+Inf' }, cumulative)}`;
  });
  return [
    '# HELP bgworker_worker_ready_seconds Registration (or, after a restart, launch) to ready, per worker life.',
    '# TYPE bgworker_worker_ready_seconds histogram',
    ...buckets,
    `bgworker_worker_ready_seconds_sum ${counts.ready.sum}`,
    `bgworker_worker_ready_seconds_count ${counts.ready.count}`,
  ];
}

/** Latch sleeps and LWLock wait histograms, since shared memory was last initialized. */
function waitMetrics(pm: Postmaster): string[] {
  if (pm.pmState === 'init') return [];
  const w = pm.waitStats();
  const lockLines = w.locks.flatMap((l) => {
    let cumulative = 0;
    const buckets = l.buckets.map((n, i) => {
      cumulative += n;
      const le = i < w.boundsUs.length ? String(w.boundsUs[i]! / 1e6) : '+Inf';
      return `_bucket${sample({ lock: l.name, le }, cumulative)}`;
    });
    return [...buckets, `_sum${sample({ lock: l.name }, l.totalMs / 1000)}`, `_count${sample({ lock: l.name }, l.waits)}`];
  });
  return [
    ...metric('bgworker_latch_waits_total', 'counter', 'Times workers slept in WaitLatch.', [sample({}, w.latchWaits)]),
    `# HELP bgworker_lwlock_wait_seconds Time workers and the host slept waiting for an LWLock.`,
    `# TYPE bgworker_lwlock_wait_seconds histogram`,
    ...lockLines.map((l) => `bgworker_lwlock_wait_seconds${l}`),
  ];
}

function healthSamples(pm: Postmaster): string[] {
  const status = pm.health().status;
  return (['healthy', 'degraded', 'failed'] as const).map((s) => sample({ status: s }, s === status ? 1 : 0));
}

function perType(m: Map<string, number>): string[] {
  return [...m].map(([type, n]) => sample({ type }, n));
}

function metric(name: string, kind: 'gauge' | 'counter', help: string, samples: string[]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...samples.map((s) => `${name}${s}`)];
}

/** The label set and value of one sample line, after the metric name. */
function sample(labels: Record<string, string>, value: number): string {
  const set = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${set.length ? `{${set.join(',')}}` : ''} ${value}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
