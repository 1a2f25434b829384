/**
 * Handles and notification: docs/semantics.md checklist 14–26. Host-side handles are woken on every
 * change of their slot; worker registrants are woken through their latch (bgw_notify_pid).
 */
import t from 'tap';
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwHandleStatus, type ActivityRow,
  type BackgroundWorker, type Postmaster,
} from '../../dist/lib/index.js';
import { WL_LATCH_SET } from '../../dist/lib/worker/index.js';
import {
  REGISTRANT_STATUS, RG_CHILD_GENERATION, RG_CHILD_PID, RG_CHILD_SLOT, RG_STATUS, RG_WAIT_RESULT,
} from '../../dist/test/fixtures/registrant.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, startedRow, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const waiting: BackgroundWorker = { name: 'waiting', module: fixture('wait-for-terminate'), flags: S };

/** A worker that registers a 'child' (wait-for-terminate) and reports into shmem "test" from cell 0 (registrant.ts). */
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
  const childStarted = startedRow(pm, 'child');
  await within(registrant!.waitForShutdown(), 'the registrant to see its child start and exit');
  const child = await childStarted;
  const cells = pm.shmem('test').int32;
  t.equal(cells[RG_WAIT_RESULT], WL_LATCH_SET, 'WaitLatch returned WL_LATCH_SET');
  t.equal(cells[RG_STATUS], REGISTRANT_STATUS.started, 'waitForStartup: started');
  t.equal(cells[RG_CHILD_PID], child.pid, 'with the child thread id');
});

t.test('a worker that throws right after start: waitForStartup is STARTED or STOPPED, never hangs (checklist 15)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S });
  const s = await within(h!.waitForStartup(), 'waitForStartup on a worker that throws at once');
  t.ok(s.status === BgwHandleStatus.Started || s.status === BgwHandleStatus.Stopped, s.status);
  t.equal((await within(h!.waitForShutdown(), 'the thrower to stop')).status, BgwHandleStatus.Stopped);
});

t.test('exit 0 frees the slot before the registrant is told, and is never relaunched (checklist 16)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 1 });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero'), flags: S, restartTime: 0 });
  const inStoppedHandler = within(
    new Promise<boolean>((resolve) => h!.once('stopped', () => resolve(pm.activity().length === 0))),
    "the handle's stop notification",
  );
  t.equal((await within(h!.waitForShutdown(), 'the exit-0 worker to stop')).status, BgwHandleStatus.Stopped);
  t.equal(await inStoppedHandler, true, 'the slot was already free when the stop was notified');
  const again = await pm.registerDynamicBackgroundWorker(waiting);
  t.ok(again, 'the only slot can be registered again at once');
  t.equal(pm.activity().filter((r) => r.name === 'zero').length, 0, 'not relaunched');
});

t.test('a stale handle reports STOPPED and its terminate spares the new worker (checklist 17)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 1 });
  await pm.start();
  const old = await pm.registerDynamicBackgroundWorker({ name: 'zero', module: fixture('exit-zero'), flags: S });
  await within(old!.waitForShutdown(), 'the exit-0 worker to stop');
  const fresh = await pm.registerDynamicBackgroundWorker(waiting);
  t.equal(fresh!.slot, old!.slot, 'same slot');
  t.not(fresh!.generation, old!.generation, 'new generation');
  await within(fresh!.waitForStartup(), 'the new worker in the reused slot to start');
  t.equal(old!.status().status, BgwHandleStatus.Stopped);
  await old!.terminate();
  t.equal(fresh!.status().status, BgwHandleStatus.Started, 'the new worker still runs');
  t.equal(pm.activity()[0]!.state, 'running');
});

t.test('restartTime: STOPPED while waiting, then STARTED with a new pid on the same handle (checklist 18)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'fails once', module: fixture('fail-first'), flags: S, restartTime: 1, mainArg: { cell: 0 } });
  const first = await within(h!.waitForStartup(), 'the first life to start');
  const stoppedAt = await nextEvent(h!, 'stopped', 'the first life to fail').then(() => performance.now());
  t.equal(h!.status().status, BgwHandleStatus.Stopped, 'STOPPED while it waits out restartTime');
  t.equal(pm.activity()[0]!.state, 'waiting_restart');
  const [pid] = await nextEvent<[number]>(h!, 'started', 'the second life to start after restartTime');
  t.ok(performance.now() - stoppedAt >= 990, 'relaunched no sooner than restartTime');
  t.not(pid, first.pid, 'a new pid');
  t.equal(h!.status().status, BgwHandleStatus.Started);
  t.equal(pm.activity()[0]!.restarts, 1);
  t.equal(pm.activity()[0]!.lastExit?.kind, 'error');
});

t.test('NEVER_RESTART and exit 1: STOPPED, slot freed, never relaunched (checklist 19)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const stopped = stoppedRow(pm, 'thrower');
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S, restartTime: BGW_NEVER_RESTART });
  const row = await stopped;
  t.equal(row.lastExit?.code, 1);
  t.equal(row.lastExit?.error?.message, 'boom at start');
  t.equal(h!.status().status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), []);
});

t.test('terminate: exit 1 through the FATAL path, slot freed, never relaunched even with restartTime 0 (checklist 20)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, restartTime: 0 });
  await within(h!.waitForStartup(), 'worker "waiting" to start');
  const stopped = stoppedRow(pm, 'waiting');
  await h!.terminate();
  const row = await stopped;
  t.equal(row.lastExit?.code, 1);
  t.equal(row.lastExit?.error?.code, 'BGW_ERR_ADMIN_SHUTDOWN');
  t.match(row.lastExit?.error?.message, /terminating background worker "waiting" due to administrator command/);
  t.equal((await within(h!.waitForShutdown(), 'the handle to read stopped')).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), [], 'forgotten, not waiting to restart');
});

t.test('terminated before the host saw it: never starts, STOPPED (checklist 21)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  let started = 0;
  pm.on('started', () => started++);
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  await h!.terminate();
  t.equal((await within(h!.waitForStartup(), 'waitForStartup on a worker terminated before it started')).status, BgwHandleStatus.Stopped);
  t.equal(started, 0, 'no thread was started');
  t.same(pm.activity(), []);
});

t.test('terminate while waiting out a restart delay: STOPPED at once, never relaunched (checklist 22)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const stopped = stoppedRow(pm, 'thrower');
  const h = await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-at-once'), flags: S, restartTime: 3600 });
  await stopped;
  t.equal(pm.activity()[0]!.state, 'waiting_restart');
  const unregistered = nextEvent<[ActivityRow]>(pm, 'unregistered', 'the terminated thrower to be forgotten');
  await h!.terminate();
  t.equal((await within(h!.waitForShutdown(), 'the handle to read stopped')).status, BgwHandleStatus.Stopped);
  const [row] = await unregistered;
  t.equal(row.state, 'terminated', 'forgotten without another start');
  t.same(pm.activity(), []);
});

t.test('terminate twice, and after the worker is gone: no error (checklist 23)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  await within(h!.waitForStartup(), 'worker "waiting" to start');
  await h!.terminate();
  await h!.terminate();
  await within(h!.waitForShutdown(), 'the twice-terminated worker to stop');
  await t.resolves(h!.terminate());
});

t.test('after its registrant exits, a worker is still handled through a copy of its handle (checklist 24)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 256 } });
  await pm.start();
  const registrant = await registerRegistrant(pm, 'exit');
  await within(registrant!.waitForShutdown(), 'the registrant to register its child and exit');
  const cells = pm.shmem('test').int32;
  const child = pm.handleFrom({ slot: cells[RG_CHILD_SLOT]!, generation: BigInt(cells[RG_CHILD_GENERATION]!) });
  await within(child.waitForStartup(), 'the orphaned child to start');
  await child.terminate();
  t.equal((await within(child.waitForShutdown(), 'the orphan to stop')).status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), [], 'the orphan was terminated through the copied handle');
});

t.test('a notifyPid that is not a live thread: nothing is notified and nothing fails (checklist 25)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, notifyPid: 987654 });
  t.equal((await within(h!.waitForStartup(), 'worker "waiting" to start')).status, BgwHandleStatus.Started);
  await h!.terminate();
  t.equal((await within(h!.waitForShutdown(), 'worker "waiting" to stop')).status, BgwHandleStatus.Stopped);
});

t.test('waiters get POSTMASTER_DIED when the host dies (checklist 26)', async (t) => {
  const pm = makeHost(t, { restartAfterCrash: false, shmem: { test: 256 } });
  await pm.start({ ready: false });
  const never = await pm.registerDynamicBackgroundWorker({ ...waiting, startTime: BgWorkerStartTime.RecoveryFinished });
  const hostWait = within(never!.waitForStartup(), 'the host-side waiter on a worker that never starts to be told');
  const childStarted = startedRow(pm, 'child');
  const registrant = await registerRegistrant(pm, 'shutdown');
  await within(registrant!.waitForStartup(), 'the registrant to start');
  await childStarted;
  const exit = nextEvent<[number]>(pm, 'exit', 'the host to die after the crash');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: S, mainArg: { code: 2 } });
  const [status] = await exit;
  t.equal(status, 1, 'the host exits with status 1');
  t.equal((await hostWait).status, BgwHandleStatus.PostmasterDied, 'host-side waiter');
  t.equal(pm.shmem('test').int32[RG_STATUS], REGISTRANT_STATUS.postmaster_died, 'worker-side waiter got postmaster_died');
});
