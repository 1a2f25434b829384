/**
 * The dashboard in a real browser (headless Chromium): the page loads and goes live, a
 * worker registered and stopped appears and disappears without a reload, the page shows
 * no action when read-only and the server refuses one posted anyway (403), and with an
 * authorize hook the page's terminate button stops the worker.
 */
import t from 'tap';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, dashboard, type DashboardAction, type Postmaster } from '../../dist/lib/index.js';
import { requireChromium } from '../helpers/chromium.js';
import { fixture, makeHost } from '../helpers/host.js';
import { serve } from '../helpers/sse.js';
import { within } from '../helpers/deadline.js';

const S = BGWORKER_SHMEM_ACCESS;
const WAIT = { timeout: 20_000 };
const waiter = (pm: Postmaster, name: string) =>
  pm.registerDynamicBackgroundWorker({ name, module: fixture('wait-for-terminate'), flags: S, restartTime: BGW_NEVER_RESTART });

t.test('live updates, read-only refusal and an authorized terminate, in Chromium', async (t) => {
  const browser = await requireChromium(t);
  if (!browser) return;
  const pm = makeHost(t);
  await pm.start();
  const asked: DashboardAction[] = [];
  const readOnly = dashboard(pm, { basePath: '/ro', intervalMs: 250 });
  const admin = dashboard(pm, { basePath: '/admin', intervalMs: 250, authorize: (_req, a) => (asked.push(a), true) });
  t.teardown(() => {
    readOnly.close();
    admin.close();
  });
  const { url } = await serve(t, (req, res) => (req.url!.startsWith('/ro') ? readOnly(req, res) : admin(req, res)));
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));

  await t.test('the page loads and goes live', async (t) => {
    await page.goto(`${url}/ro/`);
    await page.waitForFunction("document.getElementById('live').textContent === 'live'", undefined, WAIT);
    t.equal(await page.textContent('#health'), 'healthy');
    t.equal(await page.textContent('#mode'), 'read-only');
    t.equal(await page.textContent('#workers'), 'no workers registered');
  });

  await t.test('a worker started and stopped appears and disappears live', async (t) => {
    const h = await waiter(pm, 'seen in the browser');
    const row = 'tr[data-worker="seen in the browser"][data-state="running"]';
    await page.waitForSelector(row, WAIT);
    t.equal(await page.locator(`${row} td`).nth(3).textContent(), 'running');
    t.equal(await page.locator('button[data-act]').count(), 0, 'no action buttons when read-only');
    await h!.terminate();
    await page.waitForSelector('tr[data-worker="seen in the browser"]', { state: 'detached', ...WAIT });
    t.pass('gone without a reload');
  });

  await t.test('an action is refused when read-only', async (t) => {
    const h = await waiter(pm, 'stays');
    await page.waitForSelector('tr[data-worker="stays"][data-state="running"]', WAIT);
    const r = await page.evaluate((slot) => (globalThis as unknown as { bgwAct(k: string, b: object): Promise<{ status: number; body: { error: string } }> }).bgwAct('terminate', { slot }), h!.slot);
    t.equal(r.status, 403);
    t.match(r.body.error, /read-only/);
    await page.waitForSelector('#toast.show', WAIT);
    t.match(await page.textContent('#toast'), /terminate refused \(403\)/, 'the page says so');
    t.equal(pm.activity().find((w) => w.name === 'stays')?.state, 'running', 'and the worker still runs');
    await h!.terminate();
  });

  await t.test('with authorize, the terminate button stops the worker', async (t) => {
    const h = await waiter(pm, 'to terminate');
    await page.goto(`${url}/admin`);
    await page.waitForFunction("document.getElementById('mode').textContent === 'actions enabled'", undefined, WAIT);
    await page.click('tr[data-worker="to terminate"][data-state="running"] button[data-act="terminate"]', WAIT);
    await page.waitForSelector('tr[data-worker="to terminate"]', { state: 'detached', ...WAIT });
    await within(h!.waitForShutdown(), 'the worker to stop');
    t.same(asked, [{ kind: 'terminate', slot: h!.slot }], 'the hook was asked once, for that worker');
  });

  // The one failed load is the refused action's 403, which the page showed.
  t.same(errors.filter((e) => !/status of 403/.test(e)), [], 'no script errors, no CSP violations, nothing else failed to load');
  await page.close();
});
