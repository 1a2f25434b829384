/**
 * Lifecycle: docs/semantics.md checklist 27–39 — start phases, launch throttling, launch failures,
 * exit classification, the crash-restart cycle, signals, and the three shutdown modes.
 */
import t from 'tap';
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwHandleStatus, type ActivityRow,
  type BackgroundWorker, type Launcher,
} from '../../dist/lib/index.js';
import { WL_POSTMASTER_DEATH } from '../../dist/lib/worker/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, nextEvents, startedRow, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const waiting: BackgroundWorker = { name: 'waiting', module: fixture('wait-for-terminate'), flags: S };

t.test('workers launch in the phase their start time names (checklist 27)', async (t) => {
  const pm = makeHost(t);
  const order: string[] = [];
  pm.on('phase', (p) => order.push(`phase:${p}`));
  pm.on('started', (r) => order.push(`started:${r.name}`));
  pm.registerBackgroundWorker({ ...waiting, name: 'at-recovery-finished', startTime: BgWorkerStartTime.RecoveryFinished });
  pm.registerBackgroundWorker({ ...waiting, name: 'at-consistent', startTime: BgWorkerStartTime.ConsistentState });
  pm.registerBackgroundWorker({ ...waiting, name: 'at-postmaster-start', startTime: BgWorkerStartTime.PostmasterStart });
  await pm.start({ ready: false });
  t.same(order, ['phase:startup', 'started:at-postmaster-start', 'phase:hot_standby', 'started:at-consistent']);
  t.equal(pm.activity().find((r) => r.name === 'at-recovery-finished')?.state, 'not_yet_started');
  pm.ready();
  t.same(order.slice(4), ['phase:run', 'started:at-recovery-finished']);
});

t.test('150 registrations issued together all launch with no further event (checklist 28)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 150 });
  await pm.start();
  let stops = 0;
  pm.on('stopped', () => stops++);
  const allStopped = nextEvents(pm, 'stopped', 150, 'all 150 workers to run and exit', () => true, 90_000); // 150 thread starts on a loaded 2-core machine
  const handles = await Promise.all(
    Array.from({ length: 150 }, (_, i) => pm.registerDynamicBackgroundWorker({ name: `b${i}`, module: fixture('exit-zero'), flags: S })),
  );
  t.ok(handles.every((h) => h), '150 handles');
  await allStopped;
  t.equal(stops, 150, 'every one ran and exited');
  t.same(pm.activity(), []);
});

/** A launcher that fails the first `n` launches, as a failed thread start would. */
function failingFirst(n: number): (l: Launcher) => Launcher {
  let left = n;
  return (l) => ({
    launch: (...a) => {
      if (left-- > 0) throw new Error('simulated thread start failure');
      return l.launch(...a);
    },
    preload: (u) => l.preload(u),
    retire: () => l.retire(),
  });
}

t.test('launch failure (checklist 29)', async (t) => {
  t.test('NEVER_RESTART: the waiter gets STOPPED and the slot is freed', async (t) => {
    const pm = makeHost(t, { wrapLauncher: failingFirst(1) });
    await pm.start();
    const unregistered = nextEvent(pm, 'unregistered', 'the worker whose launch failed to be forgotten');
    const h = await pm.registerDynamicBackgroundWorker({ ...waiting, restartTime: BGW_NEVER_RESTART });
    t.equal((await within(h!.waitForStartup(), 'the waiter to hear of the failed launch')).status, BgwHandleStatus.Stopped);
    await unregistered;
    t.same(pm.activity(), []);
  });
  t.test('restartable: retried after restartTime', async (t) => {
    const pm = makeHost(t, { wrapLauncher: failingFirst(1) });
    await pm.start();
    const h = await pm.registerDynamicBackgroundWorker({ ...waiting, restartTime: 1 });
    const t0 = performance.now();
    const s = await within(h!.waitForStartup(), 'the launch to be retried and succeed');
    t.equal(s.status, BgwHandleStatus.Started);
    t.ok(performance.now() - t0 >= 990, 'not before restartTime');
    t.match(pm.activity()[0]!.lastExit, { kind: 'error', error: { name: 'LaunchError' } }, 'the failed launch is on record');
  });
});

t.test('a crash of a shared-memory worker restarts everything by the rules (checklist 30)', async (t) => {
  // Cells of shmem "test": each waiting worker counts its starts in its own cell (0, 1, 2);
  // the init hook stores how many times it ran in INITS; MARK is written by the test only.
  const INITS = 7;
  const MARK = 15;
  let inits = 0;
  const pm = makeHost(t, { shmem: { test: { size: 64, init: (r) => (r.int32[INITS] = ++inits) } } });
  pm.registerBackgroundWorker({ ...waiting, name: 'static restartable', restartTime: 3600, mainArg: { cell: 0 } });
  pm.registerBackgroundWorker({ ...waiting, name: 'static one-shot', mainArg: { cell: 1 } });
  await pm.start();
  const dyn = await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'dynamic restartable', restartTime: 3600, mainArg: { cell: 2 } });
  await within(dyn!.waitForStartup(), 'the dynamic restartable worker to start');
  pm.shmem('test').int32[MARK] = 99;
  const crashes: string[] = [];
  pm.on('crash', (r) => crashes.push(r.name));
  const reinit = nextEvent(pm, 'reinitialized', 'the crash-restart cycle after the crasher');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 2 } });
  await reinit;
  t.same(crashes, ['crasher']);
  t.equal(inits, 2, 'shared memory was initialized again');
  const names = pm.activity().map((r) => r.name).sort();
  t.same(names, ['dynamic restartable', 'static restartable'], 'never-restart workers are forgotten');
  const started = await within(dyn!.waitForStartup(), 'the dynamic restartable worker to start again');
  t.equal(started.status, BgwHandleStatus.Started, 'restartable ones come back at once, ignoring restartTime');
  t.ok(pm.activity().every((r) => r.state === 'running' && r.restarts === 1));
  t.equal(pm.shmem('test').int32[MARK], 0, 'the segment was zeroed');
});

t.test('restartAfterCrash off: everyone stops and the host exits with status 1 (checklist 31)', async (t) => {
  const pm = makeHost(t, { restartAfterCrash: false, quitGraceMs: 500 });
  pm.registerBackgroundWorker(waiting);
  await pm.start();
  const exit = nextEvent<[number]>(pm, 'exit', 'the host to exit after the crash');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 3 } });
  t.same(await exit, [1]);
  t.equal(pm.pmState, 'dead');
  await t.rejects(pm.registerDynamicBackgroundWorker(waiting), { code: 'BGW_ERR_POSTMASTER_STOPPED' });
});

t.test('exit classification (checklist 32 and the exit table of docs/semantics.md §3.5)', async (t) => {
  const cases: Array<[string, BackgroundWorker, number, string]> = [
    ['entry returns', { name: 'x', module: fixture('exit-zero') }, 0, 'normal'],
    ['entry throws', { name: 'x', module: fixture('throw-at-once') }, 1, 'error'],
    ['process.exit(0)', { name: 'x', module: fixture('process-exit'), mainArg: { code: 0 } }, 0, 'normal'],
    ['process.exit(1)', { name: 'x', module: fixture('process-exit'), mainArg: { code: 1 } }, 1, 'error'],
    ['process.exit(2)', { name: 'x', module: fixture('process-exit'), mainArg: { code: 2 } }, 2, 'crash'],
    ['uncaught error in a timer', { name: 'x', module: fixture('uncaught-in-timer') }, 1, 'crash'],
    ['missing export', { name: 'x', module: fixture('exit-zero'), function: 'nope' }, 1, 'error'],
    ['shmem without BGWORKER_SHMEM_ACCESS', { name: 'x', module: fixture('touch-shmem') }, 1, 'error'],
  ];
  for (const [what, w, code, kind] of cases) {
    t.test(what, async (t) => {
      // Without shared-memory access a crash stays with the worker: no crash cycle here.
      const pm = makeHost(t, { shmem: { test: 64 } });
      let crashCycles = 0;
      pm.on('crash', () => crashCycles++);
      await pm.start();
      const stopped = stoppedRow(pm, 'x');
      const h = await pm.registerDynamicBackgroundWorker(w);
      const row = await stopped;
      await within(h!.waitForShutdown(), 'the handle of worker "x" to read stopped');
      t.equal(row.lastExit?.code, code, 'exit code');
      t.equal(row.lastExit?.kind, kind, 'classified');
      t.equal(crashCycles, 0, 'no crash-restart cycle');
      if (what === 'missing export') t.equal(row.lastExit?.error?.code, 'BGW_ERR_FUNCTION_NOT_FOUND');
      if (what.startsWith('shmem')) t.equal(row.lastExit?.error?.code, 'BGW_ERR_NO_SHMEM_ACCESS');
      if (what === 'entry throws') t.equal(row.lastExit?.error?.message, 'boom at start', 'the error is reported');
    });
  }
});

t.test('a crash of a worker without shared memory restarts only that worker', async (t) => {
  const pm = makeHost(t);
  pm.registerBackgroundWorker(waiting);
  await pm.start();
  let crashCycles = 0;
  pm.on('crash', () => crashCycles++);
  const first = stoppedRow(pm, 'x');
  const restarted = startedRow(pm, 'x', 1);
  const h = await pm.registerDynamicBackgroundWorker({ name: 'x', module: fixture('process-exit'), mainArg: { code: 2 }, restartTime: 0 });
  t.equal((await first).lastExit?.kind, 'crash');
  await t.resolves(restarted, 'restarted by its policy');
  await h!.terminate();
  t.equal(crashCycles, 0);
  t.equal(pm.activity().find((r) => r.name === 'waiting')?.restarts, 0, 'the other worker was not touched');
});

t.test('a terminate that arrives before the entry runs is delivered, not lost (checklist 33)', async (t) => {
  const pm = makeHost(t, { spareThreads: 0 });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  const s = await within(h!.waitForStartup(), 'worker "waiting" to start');
  t.equal(s.status, BgwHandleStatus.Started);
  const stopped = stoppedRow(pm, 'waiting');
  await h!.terminate();
  const row = await stopped;
  t.equal(row.lastExit?.error?.code, 'BGW_ERR_ADMIN_SHUTDOWN', 'taken by the default handler');
  t.equal(row.lastExit?.kind, 'terminated', 'a stop asked for, not a hard stop');
});

t.test('SIGTERM while sleeping in WaitLatch: wakes, exits 1 with the administrator-command message (checklist 34)', async (t) => {
  for (const module of ['wait-for-terminate', 'wait-blocking']) {
    const lines: string[] = [];
    const push = (_o: unknown, m?: string) => void lines.push(m ?? '');
    const logger = { debug() {}, info: push, warn() {}, error: push };
    const pm = makeHost(t, { logger });
    await pm.start();
    const h = await pm.registerDynamicBackgroundWorker({ name: module, module: fixture(module), flags: S });
    await within(h!.waitForStartup(), `worker "${module}" to start`);
    const stopped = stoppedRow(pm, module);
    await h!.terminate();
    const row = await stopped;
    t.equal(row.lastExit?.code, 1, `${module}: exit 1`);
    t.ok(lines.includes(`terminating background worker "${module}" due to administrator command`), `${module}: logged`);
    await pm.shutdown();
  }
});

t.test('a custom SIGTERM handler ends the worker with exit 0', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'graceful', module: fixture('graceful-sigterm'), flags: S, restartTime: 0 });
  await within(h!.waitForStartup(), 'worker "graceful" to start');
  const stopped = stoppedRow(pm, 'graceful');
  await h!.terminate();
  const row = await stopped;
  t.match(row.lastExit, { kind: 'terminated', code: 0 }, 'exit 0, named after the terminate that asked for it');
});

t.test('config reload reaches handlers and leaves other workers alone (checklist 35)', async (t) => {
  const RELOADED = 0;
  const pm = makeHost(t, { shmem: { test: 64 } });
  pm.registerBackgroundWorker(waiting);
  pm.registerBackgroundWorker({ name: 'reloads', module: fixture('reload-once'), flags: S, mainArg: { cell: RELOADED } });
  await pm.start();
  const done = stoppedRow(pm, 'reloads');
  pm.reloadConfig();
  const row = await done;
  t.equal(row.lastExit?.kind, 'normal');
  t.equal(pm.shmem('test').int32[RELOADED], 1, 'the handler ran and the worker reread');
  t.equal(pm.activity().find((r) => r.name === 'waiting')?.state, 'running', 'a worker without a handler is unaffected');
});

t.test('fast shutdown (checklist 36)', async (t) => {
  const pm = makeHost(t, { terminateGraceMs: 1000 });
  await pm.start({ ready: false });
  const unstarted = await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'unstarted', startTime: BgWorkerStartTime.RecoveryFinished });
  const unstartedWait = within(unstarted!.waitForStartup(), 'the waiter on the unstarted worker to be told');
  const stubborn = await pm.registerDynamicBackgroundWorker({ name: 'stubborn', module: fixture('ignore-sigterm'), flags: S });
  await within(stubborn!.waitForStartup(), 'worker "stubborn" to start');
  const waitingBackends = nextEvent(pm, 'phase', 'the shutdown to reach wait_backends', (p) => p === 'wait_backends');
  const stubbornStopped = stoppedRow(pm, 'stubborn');
  const done = pm.shutdown('fast');
  await waitingBackends;
  t.equal((await unstartedWait).status, BgwHandleStatus.Stopped, 'the unstarted worker with a waiter is forgotten');
  const late = await pm.registerDynamicBackgroundWorker(waiting);
  t.equal((await within(late!.waitForStartup(), 'the waiter on a registration made during shutdown to be told')).status, BgwHandleStatus.Stopped, 'a registration after shutdown began is rejected');
  const row = await stubbornStopped;
  t.equal(row.lastExit?.kind, 'hard_stop', 'SIGTERM ignored past the grace period: hard stop, reported');
  await done;
  t.equal(pm.pmState, 'stopped');
});

t.test('smart shutdown waits for sessions; workers still launch meanwhile (checklist 37)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const session = pm.openSession();
  const done = pm.shutdown('smart');
  t.throws(() => pm.openSession(), { code: 'BGW_ERR_SHUTTING_DOWN' });
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  t.equal((await within(h!.waitForStartup(), 'a worker registered during a smart shutdown to start')).status, BgwHandleStatus.Started, 'a worker registered now still launches');
  const row = stoppedRow(pm, 'waiting');
  session.end();
  t.equal((await row).lastExit?.error?.code, 'BGW_ERR_ADMIN_SHUTDOWN', 'then it gets SIGTERM as in fast');
  await done;
});

t.test('immediate shutdown force-stops a worker that ignores SIGQUIT (checklist 38)', async (t) => {
  const pm = makeHost(t, { quitGraceMs: 300 });
  pm.registerBackgroundWorker({ name: 'stubborn', module: fixture('ignore-sigterm'), flags: S });
  pm.registerBackgroundWorker(waiting);
  await pm.start();
  const rows: ActivityRow[] = [];
  pm.on('stopped', (r) => rows.push(r));
  await pm.shutdown('immediate');
  t.equal(rows.find((r) => r.name === 'stubborn')?.lastExit?.kind, 'hard_stop');
  t.equal(rows.find((r) => r.name === 'waiting')?.lastExit?.code, 2, 'a waiting worker quits with exit code 2');
});

t.test('host death while workers wait (checklist 39)', async (t) => {
  // Each wait-pm-death worker stores its wait's result in its cell (and marks cell + 1 once it waits).
  const EXITS_CELL = 0;
  const RETURNS_CELL = 2;
  const pm = makeHost(t, { restartAfterCrash: false, quitGraceMs: 10_000, shmem: { test: 64 } });
  pm.registerBackgroundWorker({ name: 'exits', module: fixture('wait-pm-death'), flags: S, mainArg: { cell: EXITS_CELL, exitOnDeath: true } });
  pm.registerBackgroundWorker({ name: 'returns', module: fixture('wait-pm-death'), flags: S, mainArg: { cell: RETURNS_CELL, exitOnDeath: false } });
  await pm.start();
  const rows: ActivityRow[] = [];
  pm.on('stopped', (r) => rows.push(r));
  const exit = nextEvent(pm, 'exit', 'the host to die after the crash');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 2 } });
  await exit;
  t.equal(rows.find((r) => r.name === 'exits')?.lastExit?.code, 1, 'WL_EXIT_ON_PM_DEATH: exit 1, promptly (no hard stop)');
  t.equal(rows.find((r) => r.name === 'exits')?.lastExit?.kind, 'error');
  t.equal(pm.shmem('test').int32[RETURNS_CELL], WL_POSTMASTER_DEATH, 'WL_POSTMASTER_DEATH: WaitLatch returned that bit');
  t.equal(rows.find((r) => r.name === 'returns')?.lastExit?.kind, 'normal');
});

t.test('a shutdown requested while start() runs happens once start() is done', async (t) => {
  const pm = makeHost(t);
  pm.registerBackgroundWorker(waiting);
  const starting = pm.start();
  const stopping = pm.shutdown('fast');
  await starting;
  await stopping;
  t.equal(pm.pmState, 'stopped');
  t.notOk(pm.activity().some((r) => r.pid !== null), 'no worker runs');
});
