/**
 * Registration: docs/semantics.md checklist 2–11 and 13, static vs dynamic rules, and the table of
 * invalid registrations (each a typed error, the slot array unchanged).
 */
import t from 'tap';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BGW_MAXLEN, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_CLASS_PARALLEL, BGWORKER_INTERRUPTIBLE,
  BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwHandleStatus, type BackgroundWorker,
} from '../../dist/lib/index.js';
import { TYPE_BYTES_AT, TYPE_LENGTH } from '../../dist/test/fixtures/report-entry.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';

const ok: BackgroundWorker = { name: 'w', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS };

const invalid: Array<[string, Partial<BackgroundWorker> & Record<string, unknown>, string]> = [
  ['name too long', { name: 'x'.repeat(BGW_MAXLEN) }, 'BGW_ERR_NAME_TOO_LONG'],
  ['multibyte name too long', { name: 'é'.repeat(48) }, 'BGW_ERR_NAME_TOO_LONG'],
  ['empty name', { name: '' }, 'BGW_ERR_NAME_TOO_LONG'],
  ['type too long', { type: 't'.repeat(96) }, 'BGW_ERR_NAME_TOO_LONG'],
  ['function name too long', { function: 'f'.repeat(96) }, 'BGW_ERR_NAME_TOO_LONG'],
  ['name with an escape sequence', { name: 'evil\u001b[2J' }, 'BGW_ERR_INVALID_NAME'],
  ['name with NUL', { name: 'a\0b' }, 'BGW_ERR_INVALID_NAME'],
  ['name with a newline', { name: 'line\nforged log line' }, 'BGW_ERR_INVALID_NAME'],
  ['name with DEL', { name: 'a\u007f' }, 'BGW_ERR_INVALID_NAME'],
  ['name with a C1 control (CSI)', { name: 'a\u009b2J' }, 'BGW_ERR_INVALID_NAME'],
  ['name with a line separator', { name: 'a\u2028b' }, 'BGW_ERR_INVALID_NAME'],
  ['type with a carriage return', { type: 'ok\rforged' }, 'BGW_ERR_INVALID_NAME'],
  ['function name with a tab', { function: 'ma\tin' }, 'BGW_ERR_INVALID_NAME'],
  ['extra too long', { extra: new Uint8Array(129) }, 'BGW_ERR_EXTRA_TOO_LONG'],
  ['extra not bytes', { extra: [1, 2] as unknown as Uint8Array }, 'BGW_ERR_EXTRA_TOO_LONG'],
  ['unknown module', { module: '/nonexistent/worker.js' }, 'BGW_ERR_MODULE_NOT_FOUND'],
  ['module not a file URL', { module: new URL('https://example.com/w.js') }, 'BGW_ERR_MODULE_NOT_FOUND'],
  ['module is a directory', { module: dirname(fileURLToPath(fixture('wait-for-terminate'))) }, 'BGW_ERR_MODULE_NOT_FOUND'],
  ['unknown flag bits', { flags: 0x100 }, 'BGW_ERR_INVALID_FLAGS'],
  ['database connection without shared memory access (checklist 1)', { flags: BGWORKER_BACKEND_DATABASE_CONNECTION }, 'BGW_ERR_INVALID_FLAGS'],
  [
    'database connection at postmaster start (checklist 2)',
    { flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, startTime: BgWorkerStartTime.PostmasterStart },
    'BGW_ERR_INVALID_FLAGS',
  ],
  ['interruptible without database access', { flags: BGWORKER_SHMEM_ACCESS | BGWORKER_INTERRUPTIBLE }, 'BGW_ERR_INVALID_FLAGS'],
  ['bad start time', { startTime: 7 as BgWorkerStartTime }, 'BGW_ERR_INVALID_START_TIME'],
  ['restart time -2 (checklist 3)', { restartTime: -2 }, 'BGW_ERR_INVALID_RESTART_INTERVAL'],
  ['restart time 86,400,001 (checklist 3)', { restartTime: 86_400_001 }, 'BGW_ERR_INVALID_RESTART_INTERVAL'],
  ['restart time not an integer', { restartTime: 1.5 }, 'BGW_ERR_INVALID_RESTART_INTERVAL'],
  ['parallel worker with restart (checklist 4)', { flags: BGWORKER_CLASS_PARALLEL, restartTime: 5 }, 'BGW_ERR_PARALLEL_RESTART'],
  ['non-clonable mainArg', { mainArg: () => 1 }, 'BGW_ERR_MAIN_ARG_NOT_CLONABLE'],
  ['mainArg too large', { mainArg: 'x'.repeat(5000) }, 'BGW_ERR_MAIN_ARG_TOO_LARGE'],
  ['notifyPid not a thread id', { notifyPid: -5 }, 'BGW_ERR_INVALID_OPTION'],
];

t.test('invalid dynamic registrations throw typed errors and leave every slot free', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 2 });
  await pm.start();
  for (const [what, patch, code] of invalid) {
    await t.rejects(pm.registerDynamicBackgroundWorker({ ...ok, ...patch } as BackgroundWorker), { code }, what);
  }
  t.same(pm.activity(), [], 'nothing registered');
  const a = await pm.registerDynamicBackgroundWorker(ok);
  const b = await pm.registerDynamicBackgroundWorker(ok);
  t.ok(a && b, 'both slots are still free after the rejections');
  t.equal(await pm.registerDynamicBackgroundWorker(ok), null, 'and then there are none');
});

const notObjects: unknown[] = [null, 'w', 42, [ok]];

t.test('a registration that is not an object is refused, dynamic or static', async (t) => {
  const pm = makeHost(t);
  for (const w of notObjects) {
    t.throws(() => pm.registerBackgroundWorker(w as BackgroundWorker), { code: 'BGW_ERR_INVALID_REGISTRATION' }, `static ${JSON.stringify(w)}`);
  }
  await pm.start();
  for (const w of notObjects) {
    await t.rejects(pm.registerDynamicBackgroundWorker(w as BackgroundWorker), { code: 'BGW_ERR_INVALID_REGISTRATION' }, `dynamic ${JSON.stringify(w)}`);
  }
  t.same(pm.activity(), [], 'nothing registered');
});

t.test('restart times -1, 0 and 86,400,000 are accepted (checklist 3)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  for (const restartTime of [-1, 0, 86_400_000]) {
    t.ok(await pm.registerDynamicBackgroundWorker({ ...ok, restartTime }), `restartTime ${restartTime}`);
  }
});

t.test('static registration rules', async (t) => {
  t.test('invalid static registrations throw the same typed errors', async (t) => {
    const pm = makeHost(t);
    for (const [what, patch, code] of invalid.filter(([, p]) => !('notifyPid' in p))) {
      t.throws(() => pm.registerBackgroundWorker({ ...ok, ...patch } as BackgroundWorker), { code }, what);
    }
  });
  t.test('a static worker may not ask for notification (checklist 6)', async (t) => {
    const pm = makeHost(t);
    t.throws(() => pm.registerBackgroundWorker({ ...ok, notifyPid: 0 }), {
      code: 'BGW_ERR_STATIC_NOTIFY',
      message: /only dynamic background workers can request notification/,
    });
  });
  t.test('more static workers than slots (checklist 7): the extra one is refused, the rest run', async (t) => {
    const pm = makeHost(t, { maxWorkerProcesses: 3 });
    for (let i = 0; i < 3; i++) pm.registerBackgroundWorker({ ...ok, name: `s${i}` });
    t.throws(() => pm.registerBackgroundWorker({ ...ok, name: 's3' }), { code: 'BGW_ERR_TOO_MANY_WORKERS', message: /too many background workers/ });
    await pm.start();
    t.equal(pm.activity().filter((r) => r.state === 'running').length, 3);
  });
  t.test('static registration after start is a typed error (checklist 8)', async (t) => {
    const pm = makeHost(t);
    await pm.start();
    t.throws(() => pm.registerBackgroundWorker(ok), { code: 'BGW_ERR_STATIC_AFTER_START' });
    t.same(pm.activity(), []);
  });
  t.test('dynamic registration before start and after shutdown are typed errors', async (t) => {
    const pm = makeHost(t);
    await t.rejects(pm.registerDynamicBackgroundWorker(ok), { code: 'BGW_ERR_NOT_STARTED' });
    await pm.start();
    await pm.shutdown('fast');
    await t.rejects(pm.registerDynamicBackgroundWorker(ok), { code: 'BGW_ERR_POSTMASTER_STOPPED' });
  });
});

t.test('an empty type takes the name, in what the worker sees too (checklist 5)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  pm.registerBackgroundWorker({ ...ok, name: 'named only', module: fixture('report-entry') });
  const stopped = stoppedRow(pm, 'named only');
  await pm.start();
  t.equal(pm.activity()[0]!.type, 'named only', 'in the registration');
  const row = await stopped;
  t.equal(row.lastExit?.kind, 'normal');
  const region = pm.shmem('test');
  const seen = new TextDecoder().decode(region.uint8.slice(TYPE_BYTES_AT, TYPE_BYTES_AT + Atomics.load(region.int32, TYPE_LENGTH)));
  t.equal(seen, 'named only', 'in MyBgworkerEntry');
});

t.test('with 2 static workers and 8 slots exactly 6 dynamic registrations succeed (checklist 9)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 8 });
  pm.registerBackgroundWorker({ ...ok, name: 'static a' });
  pm.registerBackgroundWorker({ ...ok, name: 'static b' });
  await pm.start();
  const handles = [];
  for (let i = 0; i < 6; i++) handles.push(await pm.registerDynamicBackgroundWorker({ ...ok, name: `d${i}` }));
  t.ok(handles.every((h) => h !== null), 'six handles');
  t.equal(await pm.registerDynamicBackgroundWorker({ ...ok, name: 'd6' }), null, 'the seventh gets null, no error');
});

t.test('a slot freed by a static worker that exited 0 is reused (checklist 10)', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 2 });
  pm.registerBackgroundWorker({ name: 'once', module: fixture('exit-zero'), flags: BGWORKER_SHMEM_ACCESS });
  pm.registerBackgroundWorker({ ...ok, name: 'stays' });
  const stopped = stoppedRow(pm, 'once');
  await pm.start();
  await stopped;
  t.ok(await pm.registerDynamicBackgroundWorker({ ...ok, name: 'reuses' }), 'the freed static slot is taken');
});

t.test('parallel-class workers are capped by maxParallelWorkers (checklist 11)', async (t) => {
  const pm = makeHost(t, { maxParallelWorkers: 2 });
  await pm.start();
  const par = { ...ok, flags: BGWORKER_SHMEM_ACCESS | BGWORKER_CLASS_PARALLEL };
  const a = await pm.registerDynamicBackgroundWorker({ ...par, name: 'p1' });
  t.ok(a);
  t.ok(await pm.registerDynamicBackgroundWorker({ ...par, name: 'p2' }));
  t.equal(await pm.registerDynamicBackgroundWorker({ ...par, name: 'p3' }), null, 'third parallel worker refused');
  t.ok(await pm.registerDynamicBackgroundWorker({ ...ok, name: 'plain' }), 'a non-parallel one still fits');
  await a!.terminate();
  await within(a!.waitForShutdown(), 'parallel worker "p1" to stop');
  t.ok(await pm.registerDynamicBackgroundWorker({ ...par, name: 'p4' }), 'a parallel slot is back after one ends');
});

t.test('status is NOT_YET_STARTED before the host processes a registration (checklist 13)', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker(ok);
  t.equal(h!.status().status, BgwHandleStatus.NotYetStarted);
  t.equal((await within(h!.waitForStartup(), 'worker "w" to start')).status, BgwHandleStatus.Started);
});

t.test('host options are validated', async (t) => {
  const { Postmaster } = await import('../../dist/lib/index.js');
  t.throws(() => new Postmaster({ maxWorkerProcesses: 0 }), { code: 'BGW_ERR_INVALID_OPTION' });
  t.throws(() => new Postmaster({ shmem: { a: -1 } }), { code: 'BGW_ERR_INVALID_OPTION' });
  t.throws(() => new Postmaster({ locks: ['a', 'a'] }), { code: 'BGW_ERR_INVALID_OPTION' });
  t.throws(() => new Postmaster({ preload: ['/nonexistent.js'] }), { code: 'BGW_ERR_MODULE_NOT_FOUND' });
});

t.test("names are refused with BGW_ERR_INVALID_NAME for control characters, and the message shows them escaped", async (t) => {
  const pm = makeHost(t);
  for (const [field, value] of [['name', 'evil\u001b[2J'], ['type', 'a\nb'], ['function', 'x\u009by']] as const) {
    const err = t.throws(() => pm.registerBackgroundWorker({ ...ok, [field]: value }), { code: 'BGW_ERR_INVALID_NAME' }, field) as Error;
    t.notMatch(err.message, /[\u0000-\u001f\u007f-\u009f]/, `${field}: no raw control character in the message`);
    t.match(err.message, new RegExp(`${field}.*control characters`), `${field}: the message names the field and the problem`);
  }
  t.match(
    (t.throws(() => pm.registerBackgroundWorker({ ...ok, name: 'evil\u001b[2J' })) as Error).message,
    /"evil\\x1b\[2J"/,
    'the name is quoted with its escape written out',
  );
  pm.registerBackgroundWorker({ ...ok, name: 'ünïcödé names 🚀 stay valid' });
});

t.test('database access without shared memory is refused first, in PostgreSQL\'s order (docs/semantics.md §1.5)', async (t) => {
  const pm = makeHost(t);
  const flags = BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_INTERRUPTIBLE;
  for (const startTime of [BgWorkerStartTime.PostmasterStart, BgWorkerStartTime.ConsistentState]) {
    t.throws(() => pm.registerBackgroundWorker({ ...ok, flags, startTime }), {
      code: 'BGW_ERR_INVALID_FLAGS',
      message: /^background worker "w": must attach to shared memory in order to request a database connection/,
    }, `start time ${startTime}`);
  }
  pm.registerBackgroundWorker({ ...ok, flags: BGWORKER_SHMEM_ACCESS | flags });
});

t.test('a module that is a directory is refused, saying a file is needed', async (t) => {
  const pm = makeHost(t);
  const dir = dirname(fileURLToPath(fixture('wait-for-terminate')));
  t.throws(() => pm.registerBackgroundWorker({ ...ok, module: dir }), { code: 'BGW_ERR_MODULE_NOT_FOUND', message: /is a directory, not a file/ });
});

t.test('bad input to the worker-side API is refused with typed errors and claims no slot', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log, maxWorkerProcesses: 4 });
  await pm.start();
  const seen = log.waitFor(/^refused /);
  await pm.registerDynamicBackgroundWorker({ ...ok, name: 'refuser', module: fixture('refuse-bad-input'), mainArg: { module: fixture('exit-zero') } });
  const line = await within(seen, 'the worker to report how its bad input was refused');
  t.same(JSON.parse(line.slice('refused '.length)), {
    dbWithoutShmem: 'BGW_ERR_INVALID_FLAGS',
    escapeInName: 'BGW_ERR_INVALID_NAME',
    generationNotANumber: 'BGW_ERR_INVALID_OPTION',
    negativeGeneration: 'BGW_ERR_INVALID_OPTION',
    slotOutOfRange: 'BGW_ERR_INVALID_OPTION',
    noData: 'BGW_ERR_INVALID_OPTION',
    validHandle: 'accepted',
  });
  t.same(pm.activity().map((r) => r.name).filter((n) => n !== 'refuser'), [], 'no registration of the refused ones reached a slot');
});
