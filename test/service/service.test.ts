/**
 * The example service (workers/service) as a process: it listens on 127.0.0.1, answers a
 * bounded number of requests on every route — a dynamic worker per job, a long-lived
 * worker over shm_mq, health, metrics, the dashboard — and on SIGTERM stops accepting,
 * lets the job in flight end, shuts the host down (smart) and exits 0 by itself, with no
 * thread left to keep it up.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import type { DashboardSnapshot } from '../../dist/lib/index.js';
import { runProcess } from '../helpers/cli.js';
import { fetchText, type HttpReply } from '../helpers/sse.js';
import { within } from '../helpers/deadline.js';

const main = fileURLToPath(new URL('../../dist/workers/service/main.js', import.meta.url));
const JOBS = 12;
const ECHOES = 40;

const lines = (out: string): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
const metric = (text: string, name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);

t.test('requests on every route, then SIGTERM: a clean stop, exit 0, no thread left', async (t) => {
  const svc = runProcess(t, process.execPath, [main, '0']);
  await svc.waitFor((out) => lines(out).some((l) => 'listening' in l), 'the service to listen');
  const url = lines(svc.stdout()).find((l) => 'listening' in l)!['listening'] as string;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

  t.same(JSON.parse((await fetchText(`${url}/health`)).body), { status: 'healthy', reasons: [] });

  const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => fetchText(`${url}/jobs?below=${1000 * (i + 1)}`, { method: 'POST' })));
  const primesBelow = (n: number): number => Array.from({ length: n }, (_, k) => k).filter((k) => k > 1 && Array.from({ length: Math.floor(Math.sqrt(k)) - 1 }, (_, d) => d + 2).every((d) => k % d !== 0)).length;
  const byStatus = (rs: HttpReply[], s: number) => rs.filter((r) => r.status === s);
  t.equal(byStatus(jobs, 200).length + byStatus(jobs, 503).length, JOBS, 'each job ran, or found every slot taken');
  t.ok(byStatus(jobs, 200).length >= 1);
  for (const r of byStatus(jobs, 200)) {
    const { below, primes } = JSON.parse(r.body) as { below: number; primes: number };
    t.equal(primes, primesBelow(below), `primes below ${below}`);
  }
  t.equal((await fetchText(`${url}/jobs?below=1`, { method: 'POST' })).status, 400);

  const echoes = await Promise.all(Array.from({ length: ECHOES }, (_, i) => fetchText(`${url}/echo`, { method: 'POST', body: `message ${i}` })));
  const replies = echoes.map((r) => JSON.parse(r.body) as { seq: number; echo: string });
  t.same(replies.map((r) => r.echo).sort(), Array.from({ length: ECHOES }, (_, i) => `MESSAGE ${i}`).sort(), 'every message came back, once');
  t.same(replies.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: ECHOES }, (_, i) => i + 1), 'one conversation: the worker saw them one at a time');

  const metrics = (await fetchText(`${url}/metrics`)).body;
  t.ok(metric(metrics, 'bgworker_mq_sent_bytes_total') >= ECHOES * 2 * 16, 'the queue traffic is counted');
  t.equal(metric(metrics, 'bgworker_mq_queues'), 2);
  t.match(metrics, /^bgworker_worker_starts_total\{type="job"\} \d+$/m);
  const page = await fetchText(`${url}/dashboard/`);
  t.equal(page.status, 200);
  const snap = JSON.parse((await fetchText(`${url}/dashboard/snapshot`)).body) as DashboardSnapshot;
  t.match(snap.workers, [{ name: 'echo', state: 'running' }], 'the echo worker is the only one left');
  t.same(snap.queues.queues.map((q) => q.name), ['echo requests', 'echo replies']);
  const refused = await fetchText(`${url}/dashboard/actions/terminate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"slot":0}' });
  t.equal(refused.status, 403, 'read-only without DASHBOARD_ACTIONS');

  // One long job in flight when SIGTERM comes: it is ended or finishes, and is answered.
  const long = fetchText(`${url}/jobs?below=5000000`, { method: 'POST' });
  await within((async () => {
    for (let tries = 0; tries < 5000; tries++) {
      const s = JSON.parse((await fetchText(`${url}/dashboard/snapshot`)).body) as DashboardSnapshot;
      if (s.workers.some((w) => w.type === 'job' && w.state === 'running')) return;
    }
    throw new Error('the long job never showed as running');
  })(), 'the long job to be running');
  svc.child.kill('SIGTERM');
  const answered = await long;
  t.ok([200, 500].includes(answered.status), `the job in flight was answered (${answered.status})`);
  t.equal(await svc.exitStatus('the service to exit after SIGTERM'), 0);
  t.match(lines(svc.stdout()).at(-1), { stopped: 'SIGTERM', state: 'stopped', threads: 0 });
  t.equal(svc.stderr(), '');
});
