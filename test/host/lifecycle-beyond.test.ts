/**
 * The lifecycle beyond PostgreSQL (each opt-in or additive; PostgreSQL's behaviour stays the
 * default): readiness, deadlines with an abort signal that says why, a hard stop that is
 * not a crash when it cannot have left shared memory half-written, slots resizable at run
 * time, and a handle that sets its worker's latch.
 */
import t from 'tap';
import {
  BGWORKER_SHMEM_ACCESS, BgwHandleStatus, postmasterMetrics, type ActivityRow, type BackgroundWorker,
} from '../../dist/lib/index.js';
import { RECORD_CELLS, RECORD_FIRST, STUBBORN_CELL, STUBBORN_READY } from '../../dist/test/fixtures/stubborn.js';
import { pollUntil, within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';

const S = BGWORKER_SHMEM_ACCESS;
const waiting: BackgroundWorker = { name: 'waiting', module: fixture('wait-for-terminate'), flags: S };

t.test('readiness: at the entry\'s start by default; at ctx.ready() when declared', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log });
  const metrics = postmasterMetrics(pm);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker(waiting);
  const r = await within(h!.waitForReady(), 'worker "waiting" to be ready');
  t.equal(r.status, BgwHandleStatus.Started);
  t.ok(r.readyAt instanceof Date, 'ready as its entry began');
  t.ok(pm.activity()[0]!.readyAt, 'activity() shows when');

  const readyEvent = nextEvent<[ActivityRow, number]>(pm, 'ready', 'the declared worker\'s ready event', (row) => row.name === 'declared');
  const d = await pm.registerDynamicBackgroundWorker({ name: 'declared', module: fixture('ready-on-latch'), flags: S, readiness: 'declared' });
  const handleReady = nextEvent<[number]>(d!, 'ready', 'the handle\'s ready event');
  await within(d!.waitForStartup(), 'worker "declared" to start');
  t.equal(pm.activity().find((x) => x.name === 'declared')!.readyAt, null, 'started, but not ready until it says so');
  d!.setLatch();
  const rd = await within(d!.waitForReady(), 'worker "declared" to declare itself ready');
  t.ok(rd.readyAt, 'ready after ctx.ready()');
  t.ok(log.lines.includes('ready now'), 'and not before it called it');
  const [row, ms] = await readyEvent;
  t.ok(row.readyAt && ms >= 0, `the host's 'ready' event says registration → ready took ${ms} ms`);
  t.same(await handleReady, [row.pid]);
  t.match((await metrics.render()), /bgworker_worker_ready_seconds_count\{type="declared"\} 1/);

  const stopped = await pm.registerDynamicBackgroundWorker({ name: 'never', module: fixture('exit-zero'), flags: S, readiness: 'declared' });
  t.match(await within(stopped!.waitForReady(), 'a worker that never declares itself ready'), { status: 'stopped', readyAt: null }, 'a worker that exits first: stopped, never ready');
  await t.rejects(pm.registerDynamicBackgroundWorker({ ...waiting, readiness: 'soon' as 'entry' }), { code: 'BGW_ERR_INVALID_OPTION' });
});

t.test('deadline: a cooperating worker gets SIGTERM and exits as a timeout, then restarts', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log });
  await pm.start();
  const first = stoppedRow(pm, 'deadlined');
  const second = nextEvent<[ActivityRow]>(pm, 'started', 'the relaunch after the timeout', (r) => r.name === 'deadlined' && r.restarts === 1);
  await pm.registerDynamicBackgroundWorker({ name: 'deadlined', module: fixture('await-abort'), flags: S, maxRuntimeMs: 100, restartTime: 0 });
  const row = await first;
  t.match(row.lastExit, { kind: 'timeout', code: 1, error: { name: 'AbortError' } }, 'it rethrew the abort of its timer');
  t.ok(log.lines.includes('aborted: deadline BGW_ERR_DEADLINE_EXCEEDED'), 'ctx.signal aborted with the deadline as its reason');
  await second;
  t.pass('restarted by its restart policy, as an error exit is');
  await t.rejects(pm.registerDynamicBackgroundWorker({ ...waiting, maxRuntimeMs: 0 }), { code: 'BGW_ERR_INVALID_OPTION' });
});

t.test('deadline: a worker that ignores SIGTERM is hard-stopped after the grace period, still a timeout', async (t) => {
  const pm = makeHost(t, { terminateGraceMs: 100, shmem: { test: 64 } });
  await pm.start();
  let crashes = 0;
  pm.on('crash', () => crashes++);
  const stopped = stoppedRow(pm, 'spinner');
  await pm.registerDynamicBackgroundWorker({ name: 'spinner', module: fixture('stubborn'), mainArg: { hold: 'nothing' }, flags: S, maxRuntimeMs: 100 });
  t.match((await stopped).lastExit, { kind: 'timeout' });
  t.equal(crashes, 0, 'it held nothing: no crash-restart cycle');
});

t.test('ctx.signal carries why: terminate, shutdown, host death', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log, restartAfterCrash: false });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'a', module: fixture('await-abort'), flags: S });
  await within(h!.waitForReady(), 'worker "a" to be ready');
  await h!.terminate();
  await log.waitFor(/^aborted: terminate BGW_ERR_ADMIN_SHUTDOWN$/, 'the terminate reason');
  const held = await pm.registerDynamicBackgroundWorker({ name: 'b', module: fixture('await-abort'), flags: S, mainArg: { handleSigterm: true } });
  await within(held!.waitForReady(), 'worker "b" to be ready');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), mainArg: { code: 2 }, flags: S });
  await log.waitFor(/^aborted: host_death BGW_ERR_POSTMASTER_DEATH$/, 'the host-death reason, despite a SIGTERM handler');

  const log2 = recordingLogger();
  const pm2 = makeHost(t, { logger: log2 });
  await pm2.start();
  const c = await pm2.registerDynamicBackgroundWorker({ name: 'c', module: fixture('await-abort'), flags: S });
  await within(c!.waitForReady(), 'worker "c" to be ready');
  await pm2.shutdown('fast');
  t.ok(log2.lines.includes('aborted: shutdown BGW_ERR_ADMIN_SHUTDOWN'), 'the shutdown reason');
});

t.test('a hard stop is a crash only when it could have left shared memory half-written', async (t) => {
  for (const hold of ['nothing', 'lock', 'queue', 'critical'] as const) {
    const pm = makeHost(t, { terminateGraceMs: 50, shmem: { test: 1024 }, locks: ['counter'] });
    pm.registerBackgroundWorker({ ...waiting, name: 'bystander', restartTime: 0 });
    await pm.start();
    const cells = pm.shmem('test').int32;
    let crashes = 0;
    pm.on('crash', () => crashes++);
    const h = await pm.registerDynamicBackgroundWorker({ name: `stubborn ${hold}`, module: fixture('stubborn'), mainArg: { hold }, flags: S });
    await pollUntil(() => Atomics.load(cells, STUBBORN_CELL) === STUBBORN_READY, `the ${hold} worker to take its hazard`);
    const stopped = stoppedRow(pm, `stubborn ${hold}`);
    const reinit = hold === 'nothing' ? null : nextEvent(pm, 'reinitialized', `the crash cycle after the ${hold} worker's hard stop`);
    await h!.terminate();
    const row = await stopped;
    if (hold === 'nothing') {
      t.match(row.lastExit, { kind: 'hard_stop' }, 'holding nothing: only that worker ends');
      t.equal(crashes, 0, 'no crash, nobody else restarts');
      t.equal(pm.activity().find((r) => r.name === 'bystander')?.restarts, 0, 'the bystander runs on');
      t.equal(pm.activity().find((r) => r.name === 'stubborn nothing'), undefined, 'its slot is cleaned');
    } else {
      await reinit;
      t.equal(crashes, 1, `holding a ${hold}: a crash, as in PostgreSQL`);
      if (hold === 'critical') {
        const record = Array.from(cells.subarray(RECORD_FIRST, RECORD_FIRST + RECORD_CELLS));
        t.same(record, [0, 0, 0, 0], 'the half-written record is gone with the reset: readers never see half of it');
      }
    }
    await pm.shutdown('fast');
  }
});

t.test('safeHardStop: false keeps PostgreSQL\'s rule: every hard stop of a shared-memory worker is a crash', async (t) => {
  const pm = makeHost(t, { terminateGraceMs: 50, shmem: { test: 1024 }, safeHardStop: false });
  await pm.start();
  const cells = pm.shmem('test').int32;
  const h = await pm.registerDynamicBackgroundWorker({ name: 'stubborn', module: fixture('stubborn'), mainArg: { hold: 'nothing' }, flags: S });
  await pollUntil(() => Atomics.load(cells, STUBBORN_CELL) === STUBBORN_READY, 'the worker to spin');
  const crash = nextEvent(pm, 'crash', 'the crash');
  await h!.terminate();
  await crash;
  t.pass('a crash');
});

t.test('slots resize at run time: up and down under load, running workers never killed', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 2, reservedWorkerProcesses: 6 });
  await pm.start();
  t.same(pm.slots(), { reserved: 6, usable: 2, used: 0 });
  const held = [];
  for (let i = 0; i < 2; i++) held.push(await pm.registerDynamicBackgroundWorker({ ...waiting, name: `w${i}` }));
  t.equal(await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'w2' }), null, 'full at 2');
  const inFlight = Array.from({ length: 8 }, (_, i) => pm.registerDynamicBackgroundWorker({ ...waiting, name: `burst ${i}` }));
  await pm.setMaxWorkerProcesses(6);
  const burst = await Promise.all(inFlight);
  const got = burst.filter(Boolean).length;
  t.equal(pm.slots().used, 2 + got, `registrations in flight settle: ${got} of 8 took a slot`);
  t.ok(got <= 4, 'never more than the new bound allows');
  while (pm.slots().used < 6) t.ok(await pm.registerDynamicBackgroundWorker({ ...waiting, name: `fill ${pm.slots().used}` }));
  t.equal(await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'over' }), null, 'full at 6');
  await pm.setMaxWorkerProcesses(1);
  t.same(pm.slots(), { reserved: 6, usable: 1, used: 6 }, 'lowering stops nobody');
  t.ok(pm.activity().every((r) => r.state === 'running'), 'every worker still runs');
  t.equal(await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'kept out' }), null, 'and keeps new registrations out');
  const slot0 = pm.activity().find((r) => r.slot === 0)!;
  const freed = nextEvent(pm, 'unregistered', 'slot 0 to be freed', (r: ActivityRow) => r.slot === 0);
  await pm.handleFrom({ slot: 0, generation: '1' }).terminate();
  await freed;
  t.ok(slot0, 'slot 0 was in use');
  t.ok(await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'below the bound' }), 'a freed slot under the bound is taken again');
  t.match((await postmasterMetrics(pm).render()), /bgworker_slots_usable 1[\s\S]*bgworker_slots_reserved 6/);
  await t.rejects(pm.setMaxWorkerProcesses(7), { code: 'BGW_ERR_INVALID_OPTION' });
  await t.rejects(pm.setMaxWorkerProcesses(0), { code: 'BGW_ERR_INVALID_OPTION' });
});

t.test('handle.setLatch wakes its worker; a stale handle sets nothing', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'sleeper', module: fixture('ready-on-latch'), flags: S, readiness: 'declared' });
  await within(h!.waitForStartup(), 'the sleeper to start');
  h!.setLatch();
  await within(h!.waitForReady(), 'the latch set through the handle to wake it');
  const stopped = stoppedRow(pm, 'sleeper');
  await h!.terminate();
  await stopped;
  const next = await pm.registerDynamicBackgroundWorker({ name: 'next', module: fixture('ready-on-latch'), flags: S, readiness: 'declared' });
  await within(next!.waitForStartup(), 'the next worker to start');
  t.equal(next!.slot, h!.slot, 'the slot was reused');
  h!.setLatch();
  t.equal(pm.activity().find((r) => r.name === 'next')!.readyAt, null, 'the stale handle did not wake the new worker');
  const threads = pm.threadCounts();
  t.ok(threads.workers >= 1 && threads.spares >= 0, `threads visible: ${JSON.stringify(threads)}`);
});
