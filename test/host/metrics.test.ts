/**
 * Prometheus metrics through prom-client: counters and histograms from the host's events,
 * gauges read at scrape time, in the service's own Registry or one of their own, and the
 * zero-config handler.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import promClient from 'prom-client';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, METRICS_CONTENT_TYPE, metricsHandler, postmasterMetrics } from '../../dist/lib/index.js';
import { once } from 'node:events';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, startedRow, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;

/** The value of one sample line, e.g. value(text, 'bgworker_slots_used') or with its labels. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('before start: every family is described, the host is down and every slot is free', async (t) => {
  const options = { maxWorkerProcesses: 5 };
  const text = (await postmasterMetrics(makeHost(t, options)).render());
  for (const m of ['host_up', 'slots_used', 'slots_free', 'workers', 'worker_starts_total', 'worker_restarts_total', 'worker_failures_total', 'worker_exits_total', 'crashes_total', 'crash_restarts_total']) {
    t.match(text, new RegExp(`^# HELP bgworker_${m} .+\\n# TYPE bgworker_${m} (gauge|counter)$`, 'm'), m);
  }
  t.equal(value(text, 'bgworker_host_up'), 0);
  t.equal(value(text, 'bgworker_slots_used'), 0);
  t.equal(value(text, 'bgworker_slots_free'), 5);
  t.equal(value(text, 'bgworker_workers{state="running"}'), 0);
  t.ok(text.endsWith('\n'));
  for (const line of text.trimEnd().split('\n').filter((l) => l !== '')) {
    t.match(line, /^(# (HELP|TYPE) bgworker_\w+ .+|bgworker_\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
  }
});

t.test('starts, restarts, exits by kind, a crash-restart cycle and the slot gauges', async (t) => {
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  pm.registerBackgroundWorker({ name: 'waiter', type: 'waiting', module: fixture('wait-for-terminate'), flags: S, restartTime: 0 });
  pm.registerBackgroundWorker({ name: 'once', type: 'one-shot', module: fixture('exit-zero'), flags: S });
  const onceStopped = stoppedRow(pm, 'once');
  await pm.start();
  await onceStopped;
  let text = (await metrics.render());
  t.equal(value(text, 'bgworker_host_up'), 1);
  t.equal(value(text, 'bgworker_slots_used'), 1, 'the one-shot freed its slot');
  t.equal(value(text, 'bgworker_slots_free'), 7, 'default maxWorkerProcesses');
  t.equal(value(text, 'bgworker_workers{state="running"}'), 1);
  t.equal(value(text, 'bgworker_worker_starts_total{type="one-shot"}'), 1);
  t.equal(value(text, 'bgworker_worker_exits_total{type="one-shot",kind="normal"}'), 1);
  t.equal(value(text, 'bgworker_worker_exits_total{type="waiting",kind="error"}'), 0, 'every kind is present from the first start');

  const h = await pm.registerDynamicBackgroundWorker({ name: 'boom', type: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 3 }, restartTime: BGW_NEVER_RESTART });
  t.ok(h);
  const relaunched = startedRow(pm, 'waiter', 1);
  await nextEvent(pm, 'reinitialized', 'the crash-restart cycle after "boom"');
  await relaunched;
  text = (await metrics.render());
  t.equal(value(text, 'bgworker_worker_exits_total{type="crasher",kind="crash"}'), 1);
  t.equal(value(text, 'bgworker_crashes_total'), 1);
  t.equal(value(text, 'bgworker_crash_restarts_total'), 1);
  t.equal(value(text, 'bgworker_worker_starts_total{type="waiting"}'), 2);
  t.equal(value(text, 'bgworker_worker_restarts_total{type="waiting"}'), 1, 'the relaunch after the crash cycle is a restart');

  await pm.shutdown('fast');
  text = (await metrics.render());
  t.equal(value(text, 'bgworker_host_up'), 0);
  t.equal(value(text, 'bgworker_worker_exits_total{type="waiting",kind="crash_restart"}'), 1, 'SIGQUIT in the crash cycle');
  t.equal(value(text, 'bgworker_worker_exits_total{type="waiting",kind="shutdown"}'), 1, 'SIGTERM at shutdown');
  t.equal(value(text, 'bgworker_worker_exits_total{type="waiting",kind="error"}'), 0, 'neither is counted as an error');
});

t.test('label values are escaped', async (t) => {
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  pm.registerBackgroundWorker({ name: 'odd', type: 'a "quoted" \\ type', module: fixture('exit-zero'), flags: S });
  const stopped = stoppedRow(pm, 'odd');
  await pm.start();
  await stopped;
  t.equal(value((await metrics.render()), 'bgworker_worker_starts_total{type="a \\"quoted\\" \\\\ type"}'), 1);
});

t.test('close() stops counting', async (t) => {
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  metrics.close();
  pm.registerBackgroundWorker({ name: 'once', module: fixture('exit-zero'), flags: S });
  const stopped = stoppedRow(pm, 'once');
  await pm.start();
  await stopped;
  t.notMatch((await metrics.render()), /bgworker_worker_starts_total\{/);
});

t.test('mounted in a plain node:http server', async (t) => {
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  await pm.start();
  const serve = metricsHandler(metrics);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    serve(req, res);
  });
  server.listen(0, '127.0.0.1');
  await within(once(server, 'listening'), 'the metrics server to listen');
  t.teardown(() => server.close());
  const res = await within(fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`), 'the answer to GET /metrics');
  t.equal(res.headers.get('content-type'), METRICS_CONTENT_TYPE);
  t.equal(value(await within(res.text(), 'the body of the /metrics answer'), 'bgworker_host_up'), 1);
});

t.test('a worker past its restart intensity is counted as a failure', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 1, withinSeconds: 60, backoffBaseMs: 0 } });
  const metrics = postmasterMetrics(pm);
  pm.registerBackgroundWorker({ name: 'thrower', type: 'throwing', module: fixture('throw-at-once'), flags: S, restartTime: 0 });
  const failed = nextEvent(pm, 'failed', 'the thrower to be marked failed');
  await pm.start();
  await failed;
  const text = (await metrics.render());
  t.equal(value(text, 'bgworker_worker_failures_total{type="throwing"}'), 1);
  t.equal(value(text, 'bgworker_workers{state="failed"}'), 1);
});

t.test("registered in the service's own prom-client registry, beside its own metrics", async (t) => {
  const registry = new promClient.Registry();
  const mine = new promClient.Counter({ name: 'my_service_requests_total', help: 'Requests.', registers: [registry] });
  mine.inc();
  const pm = makeHost(t);
  postmasterMetrics(pm, { registry });
  pm.registerBackgroundWorker({ name: 'once', type: 'one-shot', module: fixture('exit-zero'), flags: S });
  const stopped = stoppedRow(pm, 'once');
  await pm.start();
  await stopped;
  const text = await registry.metrics();
  t.equal(value(text, 'my_service_requests_total'), 1, "the service's own metric");
  t.equal(value(text, 'bgworker_worker_starts_total{type="one-shot"}'), 1, 'and the host\'s');
  t.equal(value(text, 'bgworker_worker_start_seconds_count{type="one-shot"}'), 1, 'registration → started, a histogram');
  t.equal(value(text, 'bgworker_worker_ready_seconds_count{type="one-shot"}'), 1, 'registration → ready');
  t.equal(value(text, 'bgworker_worker_run_seconds_count{type="one-shot"}'), 1, 'run time');
  t.match(text, /^bgworker_lwlock_wait_seconds_bucket\{lock="BackgroundWorkerLock",le="\+Inf"\} \d+$/m, 'the shared-memory lock histogram in the exposition format');
  const json = await registry.getMetricsAsJSON();
  t.ok(json.some((m) => m.name === 'bgworker_lwlock_wait_seconds' && String(m.type) === 'histogram'), 'prom-client reads it as a histogram');
});
