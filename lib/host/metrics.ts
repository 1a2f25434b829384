/**
 * Prometheus metrics of one host, in prom-client — registered in the service's own
 * Registry when it passes one (so they come out of the /metrics it already serves), else
 * in a Registry of their own, with `metricsHandler` as a zero-config endpoint:
 *
 *   const pm = new Postmaster();
 *   postmasterMetrics(pm, { registry: promClient.register });   // before pm.start()
 *
 * Counters and histograms follow the host's events from the moment of the call: worker
 * starts, restarts and exits by kind, labelled with the worker's `type` (bgw_type: a
 * grouping name, so the label set stays small; names of dynamic workers would not), failures
 * past the restart intensity, crashes and completed crash-restart cycles; registration →
 * started, registration → ready and run time per life as histograms. Gauges are read at
 * scrape time: the host up and its health, slots, workers by state, threads, user callbacks
 * that threw, the bytes sent and received over the watched shm_mq queues (mq-stats.ts).
 * Latch sleeps and the LWLock wait histograms are counted in shared memory by
 * sleepers only (lwlock.ts, wait-latch.ts) and read lock-free at scrape time; they restart
 * from zero after a crash-restart cycle, as shared memory does.
 *
 * The host never learns about the metrics: they are listeners on its events, removed by
 * close(). Call everything on the host thread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import promClient, { type Registry } from 'prom-client';
import type { ActivityRow, ExitKind, WorkerState } from '../types.js';
import type { Postmaster } from './postmaster.js';

export interface PostmasterMetricsOptions {
  /** The Registry to register in; default a new one of their own. */
  registry?: Registry;
  /** Prefix of every metric name. Default "bgworker_". */
  prefix?: string;
}

export interface PostmasterMetrics {
  readonly registry: Registry;
  /** The exposition text, collected now. */
  render(): Promise<string>;
  /** The Content-Type of render()'s output. */
  readonly contentType: string;
  /** Stop counting: remove the listeners from the host and the metrics from the registry. */
  close(): void;
}

/** The Content-Type of the text exposition format (0.0.4). */
export const METRICS_CONTENT_TYPE = promClient.Registry.PROMETHEUS_CONTENT_TYPE;

const STATES: WorkerState[] = ['not_yet_started', 'running', 'stopping', 'waiting_restart', 'terminated', 'stopped', 'failed'];
const EXIT_KINDS: ExitKind[] = ['normal', 'error', 'crash', 'hard_stop', 'terminated', 'shutdown', 'immediate', 'crash_restart', 'timeout'];
/** Buckets (s) of the per-life histograms: thread starts take ms, lives take anything. */
const START_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const RUN_BUCKETS = [0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 86400];

/**
 * Count `pm`'s events and read its state at scrape time.
 * @param options.registry the service's prom-client Registry (default: a new one)
 */
export function postmasterMetrics(pm: Postmaster, options: PostmasterMetricsOptions = {}): PostmasterMetrics {
  const registry = options.registry ?? new promClient.Registry();
  const p = options.prefix ?? 'bgworker_';
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) => new promClient.Counter({ name: p + name, help, labelNames, registers });
  const histogram = (name: string, help: string, buckets: number[]) => new promClient.Histogram({ name: p + name, help, labelNames: ['type'], buckets, registers });
  const m = {
    starts: counter('worker_starts_total', 'Worker threads launched.', ['type']),
    restarts: counter('worker_restarts_total', 'Launches of a worker that had run before.', ['type']),
    failures: counter('worker_failures_total', 'Workers past their restart intensity, no longer restarted.', ['type']),
    exits: counter('worker_exits_total', `Worker exits by kind: ${EXIT_KINDS.join(', ')}.`, ['type', 'kind']),
    crashes: counter('crashes_total', 'Worker crashes that began a crash-restart cycle.'),
    crashRestarts: counter('crash_restarts_total', 'Crash-restart cycles completed (shared memory reinitialized).'),
    startSeconds: histogram('worker_start_seconds', 'Registration (or, after a restart, the relaunch decision) to the thread launched, per worker life.', START_BUCKETS),
    readySeconds: histogram('worker_ready_seconds', 'Registration (or, after a restart, launch) to ready, per worker life.', START_BUCKETS),
    runSeconds: histogram('worker_run_seconds', 'How long each worker life ran, launch to exit.', RUN_BUCKETS),
  };
  const gauges = stateGauges(pm, p, registers);
  const onStarted = (row: ActivityRow, ms?: number): void => {
    m.starts.inc({ type: row.type });
    if (row.restarts > 0) m.restarts.inc({ type: row.type });
    else for (const kind of EXIT_KINDS) m.exits.inc({ type: row.type, kind }, 0); // every kind from the first start, so that rates start at 0
    if (ms !== undefined) m.startSeconds.observe({ type: row.type }, ms / 1000);
  };
  const onStopped = (row: ActivityRow, ms?: number): void => {
    if (row.lastExit) m.exits.inc({ type: row.type, kind: row.lastExit.kind });
    if (ms !== undefined) m.runSeconds.observe({ type: row.type }, ms / 1000);
  };
  const onReady = (row: ActivityRow, ms: number): void => m.readySeconds.observe({ type: row.type }, ms / 1000);
  const onFailed = (row: ActivityRow): void => m.failures.inc({ type: row.type });
  const onCrash = (): void => m.crashes.inc();
  const onReinitialized = (): void => m.crashRestarts.inc();
  pm.on('started', onStarted).on('stopped', onStopped).on('ready', onReady).on('failed', onFailed).on('crash', onCrash).on('reinitialized', onReinitialized);
  const names = [...Object.values(m), ...gauges].map((x) => (x as { name: string }).name);
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => {
      pm.off('started', onStarted).off('stopped', onStopped).off('ready', onReady).off('failed', onFailed).off('crash', onCrash).off('reinitialized', onReinitialized);
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

/** Gauges, shared-memory counts and queue counters, read from the host at scrape time. */
function stateGauges(pm: Postmaster, p: string, registers: Registry[]): object[] {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: promClient.Gauge) => void) =>
    new promClient.Gauge({ name: p + name, help, labelNames, registers, collect() { this.reset(); collect(this); } });
  const counter = (name: string, help: string, read: () => number) =>
    new promClient.Counter({ name: p + name, help, registers, collect() { this.reset(); this.inc(read()); } });
  const up = (): boolean => pm.pmState !== 'init' && pm.pmState !== 'stopped' && pm.pmState !== 'dead';
  return [
    gauge('host_up', '1 while the host runs, 0 before start() and once it has stopped or died.', [], (g) => g.set(up() ? 1 : 0)),
    gauge('host_health', "The host's health: 1 for its status (healthy, degraded, failed), 0 for the others.", ['status'], (g) => {
      const status = pm.health().status;
      for (const s of ['healthy', 'degraded', 'failed']) g.set({ status: s }, s === status ? 1 : 0);
    }),
    gauge('slots_used', 'Background-worker slots in use (registered workers).', [], (g) => g.set(pm.slots().used)),
    gauge('slots_free', 'Usable background-worker slots free (maxWorkerProcesses now, minus used).', [], (g) => {
      const s = pm.slots();
      g.set(Math.max(0, s.usable - s.used));
    }),
    gauge('slots_usable', 'Slots registrants may use now (setMaxWorkerProcesses).', [], (g) => g.set(pm.slots().usable)),
    gauge('slots_reserved', 'Slots reserved in shared memory (reservedWorkerProcesses).', [], (g) => g.set(pm.slots().reserved)),
    gauge('workers', 'Registered workers by state.', ['state'], (g) => {
      const rows = pm.activity();
      for (const state of STATES) g.set({ state }, rows.filter((r) => r.state === state).length);
    }),
    gauge('threads', 'Threads: running a worker life, or warm spares.', ['kind'], (g) => {
      const t = pm.threadCounts();
      g.set({ kind: 'worker' }, t.workers);
      g.set({ kind: 'spare' }, t.spares);
    }),
    gauge('callback_errors_total', 'User callbacks (listeners, the logger, region inits) that threw; the host went on.', [], (g) => g.set(pm.callbackErrorCount)),
    gauge('latch_waits_total', 'Times workers slept in WaitLatch, since shared memory was last initialized.', [], (g) => {
      if (pm.pmState !== 'init') g.set(pm.waitStats().latchWaits);
    }),
    lockWaitHistogram(pm, p, registers),
    // Queue throughput (mq-stats.ts): ring bytes the watched queues have carried, read from
    // their own counters. Counters, since they only grow: the totals keep detached queues.
    counter('mq_sent_bytes_total', 'Ring bytes (length words and padding included) sent over the watched shm_mq queues.', () => pm.mqStats().bytesSent),
    counter('mq_received_bytes_total', 'Ring bytes received (consumed) over the watched shm_mq queues.', () => pm.mqStats().bytesReceived),
    gauge('mq_queues', 'shm_mq queues watched now (attached, not yet detached).', [], (g) => g.set(pm.mqStats().queues.length)),
  ];
}

/**
 * bgworker_lwlock_wait_seconds: a histogram whose buckets are counted in shared memory by
 * the sleepers themselves, so it is exported as it stands there (prom-client's Histogram
 * only counts its own observations). It has the shape prom-client's registry reads.
 */
function lockWaitHistogram(pm: Postmaster, p: string, registers: Registry[]): object {
  const metric = {
    name: `${p}lwlock_wait_seconds`,
    help: 'Time workers and the host slept waiting for an LWLock, since shared memory was last initialized.',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values: lockWaitValues(pm, metric.name) }),
    reset: () => {},
  };
  for (const r of registers) r.registerMetric(metric as unknown as promClient.Metric);
  return metric;
}

function lockWaitValues(pm: Postmaster, name: string): Array<{ labels: Record<string, string | number>; value: number; metricName: string }> {
  if (pm.pmState === 'init') return [];
  const w = pm.waitStats();
  return w.locks.flatMap((l) => {
    let cumulative = 0;
    const buckets = l.buckets.map((n, i) => {
      cumulative += n;
      const le = i < w.boundsUs.length ? w.boundsUs[i]! / 1e6 : '+Inf';
      return { labels: { lock: l.name, le }, value: cumulative, metricName: `${name}_bucket` };
    });
    return [
      ...buckets,
      { labels: { lock: l.name }, value: l.totalMs / 1000, metricName: `${name}_sum` },
      { labels: { lock: l.name }, value: l.waits, metricName: `${name}_count` },
    ];
  });
}

/** A node:http request handler (Express and Fastify take it too) that serves the metrics. */
export function metricsHandler(metrics: PostmasterMetrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  };
}
