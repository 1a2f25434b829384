/**
 * `bgworker --http <port>`: the running host's /metrics, /health, /activity and dashboard,
 * on 127.0.0.1 by default, served from the start until the host has exited (the process
 * then ends by itself); bad --http values are usage errors.
 */
import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { jsonLines, runCli, writeConfig } from '../helpers/cli.js';
import { fixture } from '../helpers/host.js';
import { fetchText, sse } from '../helpers/sse.js';
import { within } from '../helpers/deadline.js';

const waiter = { name: 'waiter', module: fixture('wait-for-terminate'), flags: ['BGWORKER_SHMEM_ACCESS'], restartTime: 5 };
const base = { maxWorkerProcesses: 4, terminateGraceMs: 2000, quitGraceMs: 2000, spareThreads: 1, shmem: { test: 64 } };
const httpUrl = (out: string): string | undefined => jsonLines(out).find((l) => typeof l['http'] === 'string')?.['http'] as string | undefined;

t.test('--http 0: metrics, health, activity and the dashboard, then SIGTERM ends it all', async (t) => {
  const cli = runCli(t, ['--output', 'json', '--http', '0', writeConfig(t.testdir(), { ...base, workers: [waiter] })]);
  await cli.waitFor((out) => httpUrl(out) !== undefined && out.includes('"event":"started"'), 'the server to listen and the worker to start');
  const url = httpUrl(cli.stdout())!;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'loopback by default');

  const health = await fetchText(`${url}/health`);
  t.equal(health.status, 200);
  t.same(JSON.parse(health.body), { status: 'healthy', reasons: [] });
  const metrics = await fetchText(`${url}/metrics`);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /^bgworker_workers\{state="running"\} 1$/m);
  t.match(metrics.body, /^bgworker_mq_sent_bytes_total 0$/m);
  t.match(metrics.body, /^bgworker_worker_starts_total\{type="waiter"\} 1$/m, 'the metrics counted from the first start');
  const activity = JSON.parse((await fetchText(`${url}/activity`)).body) as Array<{ name: string; state: string }>;
  t.match(activity, [{ name: 'waiter', state: 'running' }]);
  const page = await fetchText(`${url}/`);
  t.equal(page.status, 200);
  t.match(page.body, /<title>bgworker .*bgworker\.json<\/title>/);
  const refused = await fetchText(`${url}/actions/terminate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"slot":0}' });
  t.equal(refused.status, 403, 'the CLI dashboard is read-only');
  const feed = await sse(t, `${url}/events`);
  await feed.waitFor((e) => e.event === 'snapshot', 'a snapshot on the stream');

  cli.child.kill('SIGTERM');
  t.equal(await cli.exitStatus('the CLI to exit after SIGTERM'), 0, 'the open stream did not keep it alive');
  await within(feed.closed, 'the stream to end with the host');
});

t.test('a port already taken stops the host with a usage error', async (t) => {
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
  t.teardown(() => new Promise<void>((res) => blocker.close(() => res())));
  const port = String((blocker.address() as AddressInfo).port);
  const cli = runCli(t, ['--output', 'json', '--http', port, writeConfig(t.testdir(), { ...base, workers: [waiter] })]);
  t.equal(await cli.exitStatus('the CLI to give up'), 2);
  t.match(cli.stderr(), /--http cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*\(BGW_ERR_CONFIG_INVALID\)/);
});

t.test('bad --http values are usage errors', async (t) => {
  const config = writeConfig(t.testdir(), { ...base, workers: [waiter] });
  for (const args of [['--http', 'eighty'], ['--http', '70000'], ['--http-host', '0.0.0.0']]) {
    const cli = runCli(t, [...args, config]);
    t.equal(await cli.exitStatus(`bgworker ${args.join(' ')}`), 2, args.join(' '));
    t.match(cli.stderr(), /--http/);
  }
});
