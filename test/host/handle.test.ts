/**
 * Handles and notification: docs/semantics.md checklist 14–26. Host-side handles are woken on every
 * change of their slot; worker registrants are woken through their latch (bgw_notify_pid).
 */
import t from 'tap';
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwHandleStatus, type ActivityRow,
  type BackgroundWorker, type Postmaster,
} from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const waiting: BackgroundWorker = { name: 'waiting', module: fixture('wait-for-terminate'), flags: S };

/** A worker that registers a 'child' (wait-for-terminate) and reports into shmem "test" from cell 0. */
const registerRegistrant = (pm: Postmaster, then: 'exit' | 'startup' | 'shutdown') =>
  pm.registerDynamicBackgroundWorker({
    name: 'registrant',
    module: fixture('registrant'),
    flags: S,
    mainArg: { base: 0, child: fixture('wait-for-terminate'), then },
  });

t.test('a worker registrant is woken by the start notification and sees STARTED with the pid (checklist 14)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 256 } });
  await pm.start();
  const registrant = await registerRegistrant(pm, 'startup');
  const childStarted = nextEvent<[ActivityRow]>(pm, 'started', (r) => r.name === 'child');
  await registrant!.waitForShutdown();
  const [child] = await childStarted;
  const cells = pm.shmem('test').int32;
  t.equal(cells[1], 1, 'WaitLatch returned WL_LATCH_SET');
  t.equal(cells[5], 1, 'waitForStartup: started');
  t.equal(cells[2], child.pid, 'with the child thread id');
});

t.test('a worker that throws right after start: waitForStartup is STARTED or STOPPED, never hangs (checklist 15)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S });
  const s = await h!.waitForStartup();
  t.ok(s.status === BgwHandleStatus.Started || s.status === BgwHandleStatus.Stopped, s.status);
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
});

t.test('exit 0 frees the slot before the registrant is told, and is never relaunched (checklist 16)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 1 });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero'), flags: S, restartTime: 0 });
  const inStoppedHandler = new Promise<boolean>((resolve) => h!.once('stopped', () => resolve(pm.activity().length === 0)));
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
  t.equal(await inStoppedHandler, true, 'the slot was already free when the stop was notified');
  const again = await pm.registerDynamicBackgroundWorker(waiting);
  t.ok(again, 'the only slot can be registered again at once');
  t.equal(pm.activity().filter((r) => r.name === 'zero').length, 0, 'not relaunched');
});

t.test('a stale handle reports STOPPED and its terminate spares the new worker (checklist 17)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 1 });
  await pm.start();
  const old = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero'), flags: S });
  await old!.waitForShutdown();
  const fresh = await pm.registerDynamicBackgroundWorker(waiting);
  t.equal(fresh!.slot, old!.slot, 'same slot');
  t.not(fresh!.generation, old!.generation, 'new generation');
  await fresh!.waitForStartup();
  t.equal(old!.status().status, BgwHandleStatus.Stopped);
  await old!.terminate();
  t.equal(fresh!.status().status, BgwHandleStatus.Started, 'the new worker still runs');
  t.equal(pm.activity()[0]!.state, 'running');
});

t.test('restartTime: STOPPED while waiting, then STARTED with a new pid on the same handle (checklist 18)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'fails once', module: fixture('fail-first'), flags: S, restartTime: 1, mainArg: { cell: 0 } });
  const first = await h!.waitForStartup();
  const stoppedAt = await new Promise<number>((res) => h!.once('stopped', () => res(performance.now())));
  t.equal(h!.status().status, BgwHandleStatus.Stopped, 'STOPPED while it waits out restartTime');
  t.equal(pm.activity()[0]!.state, 'waiting_restart');
  const pid = await new Promise<number>((res) => h!.once('started', res));
  t.ok(performance.now() - stoppedAt >= 990, 'relaunched no sooner than restartTime');
  t.not(pid, first.pid, 'a new pid');
  t.equal(h!.status().status, BgwHandleStatus.Started);
  t.equal(pm.activity()[0]!.restarts, 1);
  t.equal(pm.activity()[0]!.lastExit?.kind, 'error');
});

t.test('NEVER_RESTART and exit 1: STOPPED, slot freed, never relaunched (checklist 19)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S, restartTime: BGW_NEVER_RESTART });
  const row = await stoppedRow(pm, 'thrower');
  t.equal(row.lastExit?.code, 1);
  t.equal(row.lastExit?.error?.message, 'boom at start');
  t.equal(h!.status().status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), []);
});

t.test('terminate: exit 1 through the FATAL path, slot freed, never relaunched even with restartTime 0 (checklist 20)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, restartTime: 0 });
  await h!.waitForStartup();
  await h!.terminate();
  const row = await stoppedRow(pm, 'waiting');
  t.equal(row.lastExit?.code, 1);
  t.equal(row.lastExit?.error?.code, 'BGW_ERR_ADMIN_SHUTDOWN');
  t.match(row.lastExit?.error?.message, /terminating background worker "waiting" due to administrator command/);
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), [], 'forgotten, not waiting to restart');
});

t.test('terminated before the host saw it: never starts, STOPPED (checklist 21)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  let started = 0;
  pm.on('started', () => started++);
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  await h!.terminate();
  t.equal((await h!.waitForStartup()).status, BgwHandleStatus.Stopped);
  t.equal(started, 0, 'no thread was started');
  t.same(pm.activity(), []);
});

t.test('terminate while waiting out a restart delay: STOPPED at once, never relaunched (checklist 22)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S, restartTime: 3600 });
  await stoppedRow(pm, 'thrower');
  t.equal(pm.activity()[0]!.state, 'waiting_restart');
  const unregistered = nextEvent<[ActivityRow]>(pm, 'unregistered');
  await h!.terminate();
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
  const [row] = await unregistered;
  t.equal(row.state, 'terminated', 'forgotten without another start');
  t.same(pm.activity(), []);
});

t.test('terminate twice, and after the worker is gone: no error (checklist 23)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  await h!.waitForStartup();
  await h!.terminate();
  await h!.terminate();
  await h!.waitForShutdown();
  await t.resolves(h!.terminate());
});

t.test('after its registrant exits, a worker is still handled through a copy of its handle (checklist 24)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 256 } });
  await pm.start();
  const registrant = await registerRegistrant(pm, 'exit');
  await registrant!.waitForShutdown();
  const cells = pm.shmem('test').int32;
  const child = pm.handleFrom({ slot: cells[3]!, generation: BigInt(cells[4]!) });
  await child.waitForStartup();
  await child.terminate();
  t.equal((await child.waitForShutdown()).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), [], 'the orphan was terminated through the copied handle');
});

t.test('a notifyPid that is not a live thread: nothing is notified and nothing fails (checklist 25)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, notifyPid: 987654 });
  t.equal((await h!.waitForStartup()).status, BgwHandleStatus.Started);
  await h!.terminate();
  t.equal((await h!.waitForShutdown()).status, BgwHandleStatus.Stopped);
});

t.test('waiters get POSTMASTER_DIED when the host dies (checklist 26)', async (t) => {
  const pm = makeHost(t, { restartAfterCrash: false, shmem: { test: 256 } });
  await pm.start({ ready: false });
  const never = await pm.registerDynamicBackgroundWorker({ ...waiting, startTime: BgWorkerStartTime.RecoveryFinished });
  const hostWait = never!.waitForStartup();
  const childStarted = nextEvent<[ActivityRow]>(pm, 'started', (r) => r.name === 'child');
  const registrant = await registerRegistrant(pm, 'shutdown');
  await registrant!.waitForStartup();
  await childStarted;
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 2 } });
  const [status] = await nextEvent<[number]>(pm, 'exit');
  t.equal(status, 1, 'the host exits with status 1');
  t.equal((await hostWait).status, BgwHandleStatus.PostmasterDied, 'host-side waiter');
  t.equal(pm.shmem('test').int32[5], 3, 'worker-side waiter got postmaster_died');
});
