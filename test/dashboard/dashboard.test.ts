/**
 * The dashboard over HTTP: the page (self-contained, under its CSP), the snapshot, the live
 * stream (a worker that starts and stops shows up and goes away; bounded clients; heartbeats;
 * cleanup on close), read-only by default, actions only through authorize, and mounting
 * under a base path or behind a framework's next().
 */
import t from 'tap';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, dashboard, type DashboardAction, type DashboardSnapshot } from '../../dist/lib/index.js';
import { fixture, makeHost } from '../helpers/host.js';
import { fetchText, serve, sse, type SseEvent } from '../helpers/sse.js';
import { within } from '../helpers/deadline.js';

const S = BGWORKER_SHMEM_ACCESS;
const snap = (e: SseEvent): DashboardSnapshot => JSON.parse(e.data) as DashboardSnapshot;
const json = { 'content-type': 'application/json' };

t.test('the page is one self-contained document under a strict CSP', async (t) => {
  const pm = makeHost(t);
  const dash = dashboard(pm, { title: 'svc <1>' });
  t.teardown(() => dash.close());
  const { url } = await serve(t, (req, res) => dash(req, res));
  const page = await fetchText(`${url}/`);
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /<title>svc &lt;1&gt;<\/title>/, 'the title is escaped');
  t.notMatch(page.body, /<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\//, 'nothing loaded from elsewhere');
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /default-src 'none'/);
  t.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/, 'the inline script is allowed by its hash only');
  t.equal((await fetchText(`${url}/`, { method: 'HEAD' })).body, '');
  t.equal((await fetchText(`${url}/`, { method: 'DELETE' })).status, 405);
  t.equal((await fetchText(`${url}/nothing`)).status, 404);
});

t.test('live: a worker that starts and stops appears and disappears; the snapshot says the rest', async (t) => {
  const pm = makeHost(t);
  const dash = dashboard(pm, { intervalMs: 100 });
  t.teardown(() => dash.close());
  await pm.start();
  const { url } = await serve(t, (req, res) => dash(req, res));
  const s = await fetchText(`${url}/snapshot`);
  t.equal(s.status, 200);
  const first = JSON.parse(s.body) as DashboardSnapshot;
  t.match(first, { host: { state: 'run', health: { status: 'healthy' } }, workers: [], actions: false, fleet: null });
  t.ok(first.waits && first.waits.locks.some((l) => l.name === 'BackgroundWorkerLock'), 'lock waits by lock');

  const feed = await sse(t, `${url}/events`);
  t.equal(feed.status, 200);
  await feed.waitFor((e) => e.event === 'snapshot', 'the first snapshot');
  t.equal(dash.clients, 1);
  const h = await pm.registerDynamicBackgroundWorker({ name: 'visible', module: fixture('wait-for-terminate'), flags: S, restartTime: BGW_NEVER_RESTART });
  t.ok(h);
  const running = snap(await feed.waitFor((e) => snap(e).workers.some((w) => w.name === 'visible' && w.state === 'running'), 'the worker to show as running'));
  t.match(running.workers.find((w) => w.name === 'visible'), { dynamic: true, restarts: 0, lastExit: null });
  const mark = feed.events.length;
  await h!.terminate();
  await feed.waitFor((e) => !snap(e).workers.some((w) => w.name === 'visible'), 'the worker to go away', mark);
  const later = snap(await feed.waitFor((e) => snap(e).series.length >= 3, 'three chart samples'));
  t.ok(later.series.every((p) => p.running >= 0 && p.mqSentPerSec >= 0 && p.latchWaitsPerSec >= 0), 'rates are never negative');

  feed.close();
  await within(feed.closed, 'the client to close');
  await within(new Promise<void>((res) => {
    const check = (): void => (dash.clients === 0 ? res() : void setTimeout(check, 10));
    check();
  }), 'the dashboard to forget the client');
});

t.test('bounded clients, heartbeats, and close() ends every stream', async (t) => {
  const pm = makeHost(t);
  const dash = dashboard(pm, { maxClients: 2, heartbeatMs: 50, intervalMs: 60_000 });
  const { url } = await serve(t, (req, res) => dash(req, res));
  const a = await sse(t, `${url}/events`);
  const b = await sse(t, `${url}/events`);
  const c = await fetchText(`${url}/events`);
  t.equal(c.status, 503, 'the third client is turned away');
  t.equal(c.headers['retry-after'], '5');
  await within(new Promise<void>((res) => {
    const check = (): void => (a.comments >= 2 ? res() : void setTimeout(check, 10));
    check();
  }), 'two heartbeats');
  dash.close();
  await within(Promise.all([a.closed, b.closed]), 'close() to end both streams');
  t.equal(dash.clients, 0);
  t.equal(pm.listenerCount('started'), 0, 'its listeners are off the host');
});

t.test('read-only by default: every action is refused with 403, and nothing happens', async (t) => {
  const pm = makeHost(t);
  const dash = dashboard(pm);
  t.teardown(() => dash.close());
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'kept', module: fixture('wait-for-terminate'), flags: S, restartTime: BGW_NEVER_RESTART });
  await h!.waitForStartup();
  const { url } = await serve(t, (req, res) => dash(req, res));
  const r = await fetchText(`${url}/actions/terminate`, { method: 'POST', headers: json, body: JSON.stringify({ slot: h!.slot }) });
  t.equal(r.status, 403);
  t.match(JSON.parse(r.body), { error: /read-only/ });
  t.equal((await fetchText(`${url}/actions/reset`, { method: 'POST', headers: json, body: '{}' })).status, 403);
  t.equal(pm.activity().find((w) => w.name === 'kept')?.state, 'running', 'the worker still runs');
});

t.test('with authorize: the hook decides per request and per action', async (t) => {
  const pm = makeHost(t);
  const seen: DashboardAction[] = [];
  const dash = dashboard(pm, {
    authorize: (req, action) => {
      seen.push(action);
      if (req.headers['x-role'] === 'boom') throw new Error('hook failed');
      return req.headers['x-role'] === 'admin';
    },
  });
  t.teardown(() => dash.close());
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'target', module: fixture('wait-for-terminate'), flags: S, restartTime: BGW_NEVER_RESTART });
  await h!.waitForStartup();
  const { url } = await serve(t, (req, res) => dash(req, res));
  const post = (path: string, body: unknown, role?: string, type = 'application/json') =>
    fetchText(`${url}/actions/${path}`, { method: 'POST', headers: { 'content-type': type, ...(role ? { 'x-role': role } : {}) }, body: JSON.stringify(body) });

  t.equal((await post('terminate', { slot: h!.slot })).status, 403, 'no role: refused');
  t.equal((await post('terminate', { slot: h!.slot }, 'boom')).status, 403, 'a hook that throws refuses');
  t.equal((await post('terminate', { slot: h!.slot }, 'admin', 'text/plain')).status, 415, 'only JSON bodies (no cross-site form posts)');
  t.equal((await post('terminate', { slot: 'x' }, 'admin')).status, 400);
  t.equal((await post('explode', {}, 'admin')).status, 400);
  t.equal((await fetchText(`${url}/actions/terminate`)).status, 405);
  t.equal(pm.activity().find((w) => w.name === 'target')?.state, 'running');

  const ok = await post('terminate', { slot: h!.slot }, 'admin');
  t.equal(ok.status, 200);
  t.same(JSON.parse(ok.body), { terminated: h!.slot });
  await within(h!.waitForShutdown(), 'the terminated worker to stop');
  t.same(seen.filter((a) => a.kind === 'terminate').at(-1), { kind: 'terminate', slot: h!.slot });
  const none = await post('terminate', { slot: 7 }, 'admin');
  t.equal(none.status, 409, 'an empty slot');
  const reset = await post('reset', {}, 'admin');
  t.same(JSON.parse(reset.body), { reset: 0 });
});

t.test('mounted under a base path, or behind a framework that passes next()', async (t) => {
  const pm = makeHost(t);
  const mounted = dashboard(pm, { basePath: '/ops/bgw/' });
  const behind = dashboard(pm);
  t.teardown(() => {
    mounted.close();
    behind.close();
  });
  let nexts = 0;
  const { url } = await serve(t, (req, res) => {
    if (req.url?.startsWith('/ops/')) return mounted(req, res);
    // As Express's app.use('/x', …) would: the prefix stripped, next() for what is not ours.
    req.url = req.url!.replace(/^\/x/, '') || '/';
    behind(req, res, () => {
      nexts++;
      res.writeHead(418).end();
    });
  });
  t.equal((await fetchText(`${url}/ops/bgw`)).status, 200);
  t.equal((await fetchText(`${url}/ops/bgw/snapshot?x=1`)).status, 200);
  t.equal((await fetchText(`${url}/ops/other`)).status, 404);
  t.equal((await fetchText(`${url}/x/snapshot`)).status, 200);
  t.equal((await fetchText(`${url}/x/elsewhere`)).status, 418);
  t.equal(nexts, 1);
});
