/**
 * The fault matrix: one subtest per fault a worker can commit, with real threads. For every
 * fault: the host keeps running, the worker's 'stopped' row carries the exact lastExit
 * {code, kind, error}, the restart policy or the crash-restart cycle does what docs/semantics.md
 * §3.5–3.7 say, two bystanders adding to a lock-guarded counter end with it exactly equal
 * to the sum of their tallies, and the shutdown leaves no thread behind.
 *
 * Faulting workers fault on their first life only (test/fixtures/fault-once.ts) and run the
 * canonical wait loop afterwards, so each restart is seen once and then settles.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BGWORKER_SHMEM_ACCESS, BgwHandleStatus, type ActivityRow, type BackgroundWorker, type LastExit, type Postmaster,
  type PostmasterOptions,
} from '../../dist/lib/index.js';
import type { Fault } from '../../dist/test/fixtures/fault-once.js';
import { COUNTER, COUNTER_TWIN } from '../../dist/test/fixtures/locked-counter.js';
import { EMPTY_READS, RECORD_AT, RECORD_WORDS, TORN_READS, recordWord } from '../../dist/test/fixtures/record-reader.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, startedRow, stoppedRow } from '../helpers/host.js';
import { osThreadCount, settledThreadCount } from '../helpers/threads.js';

const S = BGWORKER_SHMEM_ACCESS;
const BYSTANDERS = ['bystander a', 'bystander b'];
/** Cells of shmem "test" besides the counter (locked-counter.ts): the bystanders' tallies, from TALLY on. */
const TALLY = 2;

interface Bed {
  pm: Postmaster;
  /** Names of workers whose crash started a crash-restart cycle. */
  crashes: string[];
  /** A directory of the test's own, holding syntax-error.js. */
  dir: string;
  threadsBefore: number | null;
}

/** Resolves once every bystander, in the life after `restarts` restarts, has added to the counter. */
function bystandersCounting(pm: Postmaster, restarts: number): Promise<unknown> {
  return Promise.all(
    BYSTANDERS.map((name) =>
      nextEvent<[ActivityRow]>(pm, 'activity', `${name} to count after ${restarts} restart(s)`, (r) => r.name === name && r.restarts === restarts),
    ),
  );
}

/** A started host with both bystanders counting. */
async function bed(t: Test, options: PostmasterOptions = {}): Promise<Bed> {
  const dir = t.testdir({ 'syntax-error.js': 'export function main( {\n' });
  const threadsBefore = osThreadCount();
  const pm = makeHost(t, { shmem: { test: 128 }, locks: ['counter'], quitGraceMs: 300, terminateGraceMs: 1000, ...options });
  BYSTANDERS.forEach((name, i) =>
    pm.registerBackgroundWorker({ name, module: fixture('paced-counter'), flags: S, restartTime: 3600, mainArg: { tally: TALLY + i } }),
  );
  const crashes: string[] = [];
  pm.on('crash', (r) => crashes.push(r.name));
  const counting = bystandersCounting(pm, 0);
  await pm.start();
  await counting;
  return { pm, crashes, dir, threadsBefore };
}

/**
 * Fast shutdown, then the checks every fault shares: it completes, the bystanders left
 * through SIGTERM, their counter equals the sum of their tallies, no thread is left.
 * Returns how long the shutdown took.
 */
async function closeBed(t: Test, b: Bed): Promise<number> {
  const rows: ActivityRow[] = [];
  b.pm.on('stopped', (r) => BYSTANDERS.includes(r.name) && rows.push(r));
  const t0 = performance.now();
  await b.pm.shutdown('fast');
  const ms = performance.now() - t0;
  t.equal(b.pm.pmState, 'stopped', 'shutdown completed');
  t.same(rows.map((r) => r.lastExit?.error?.code), BYSTANDERS.map(() => 'BGW_ERR_ADMIN_SHUTDOWN'), 'bystanders left through SIGTERM');
  const c = b.pm.shmem('test').int32;
  t.ok(c[TALLY]! > 0 && c[TALLY + 1]! > 0, `both bystanders counted (${c[TALLY]}, ${c[TALLY + 1]})`);
  t.equal(c[COUNTER], c[TALLY]! + c[TALLY + 1]!, 'the counter equals the sum of the tallies');
  t.equal(c[COUNTER_TWIN], c[COUNTER], 'both words under the lock agree');
  t.same(b.pm.activity().filter((r) => r.state !== 'stopped' || r.pid !== null), [], 'no worker runs after shutdown');
  if (b.threadsBefore === null) t.comment('no /proc/self/task: the thread count is not checked here');
  else t.equal(await settledThreadCount(b.threadsBefore), b.threadsBefore, 'no thread left');
  return ms;
}

type Outcome = 'restarted' | 'forgotten' | 'crash-restart';

interface FaultCase {
  fault: string;
  worker: (dir: string) => Omit<BackgroundWorker, 'name'>;
  lastExit: Pick<LastExit, 'code' | 'kind'> & { error?: object };
  outcome: Outcome;
}

/** A worker that commits `fault` on its first life and is restarted at once (restartTime 0). */
const once = (fault: Fault, flags: number, n?: number) => (dir: string) => ({
  module: fixture('fault-once'),
  flags,
  restartTime: 0,
  mainArg: { fault, marker: join(dir, 'marker'), ...(n === undefined ? {} : { n }) },
});

const CASES: FaultCase[] = [
  { fault: 'entry throws at once', worker: once('throw-at-once', S), lastExit: { code: 1, kind: 'error', error: { name: 'Error', message: 'boom at start' } }, outcome: 'restarted' },
  { fault: 'entry throws after a long loop of work', worker: once('throw-after-work', S, 20_000_000), lastExit: { code: 1, kind: 'error', error: { message: /^boom after 20000000 iterations/ } }, outcome: 'restarted' },
  { fault: 'entry rejects a promise late', worker: once('reject-late', S), lastExit: { code: 1, kind: 'error', error: { message: 'rejected late' } }, outcome: 'restarted' },
  { fault: 'uncaught error in a timer callback (shared memory)', worker: once('throw-in-timer', S), lastExit: { code: 1, kind: 'crash', error: { message: 'uncaught in a timer' } }, outcome: 'crash-restart' },
  { fault: 'unhandled rejection (no shared memory)', worker: once('unhandled-rejection', 0), lastExit: { code: 1, kind: 'crash', error: { message: 'nobody handles this rejection' } }, outcome: 'restarted' },
  { fault: 'process.exit(0)', worker: once('exit', S, 0), lastExit: { code: 0, kind: 'normal' }, outcome: 'forgotten' },
  { fault: 'process.exit(1)', worker: once('exit', S, 1), lastExit: { code: 1, kind: 'error' }, outcome: 'restarted' },
  { fault: 'process.exit(2) (shared memory)', worker: once('exit', S, 2), lastExit: { code: 2, kind: 'crash' }, outcome: 'crash-restart' },
  { fault: 'process.exit(42) (no shared memory)', worker: once('exit', 0, 42), lastExit: { code: 42, kind: 'crash' }, outcome: 'restarted' },
  { fault: 'stack overflow inside the entry', worker: once('stack-overflow', S), lastExit: { code: 1, kind: 'error', error: { name: 'RangeError', message: 'Maximum call stack size exceeded' } }, outcome: 'restarted' },
  { fault: 'death holding the exclusive lock', worker: once('hold-exclusive', S), lastExit: { code: 1, kind: 'crash', error: { message: 'died holding the lock exclusively' } }, outcome: 'crash-restart' },
  { fault: 'death holding a shared lock', worker: once('hold-shared', S), lastExit: { code: 1, kind: 'crash', error: { message: 'died holding the lock shared' } }, outcome: 'crash-restart' },
  { fault: 'module with a syntax error', worker: (dir) => ({ module: join(dir, 'syntax-error.js'), flags: S }), lastExit: { code: 1, kind: 'error', error: { name: 'SyntaxError' } }, outcome: 'forgotten' },
  { fault: 'module without the export', worker: () => ({ module: fixture('exit-zero'), function: 'nope', flags: S }), lastExit: { code: 1, kind: 'error', error: { code: 'BGW_ERR_FUNCTION_NOT_FOUND' } }, outcome: 'forgotten' },
  { fault: 'module that throws at import', worker: () => ({ module: fixture('throw-at-import'), flags: S }), lastExit: { code: 1, kind: 'error', error: { message: 'boom at import' } }, outcome: 'forgotten' },
];

/** What follows the first stop, by outcome; resolves once it has happened. */
function expectOutcome(b: Bed, outcome: Outcome): Promise<unknown> {
  if (outcome === 'restarted') return startedRow(b.pm, 'faulty', 1);
  if (outcome === 'crash-restart') {
    return Promise.all([nextEvent(b.pm, 'reinitialized', 'the crash-restart cycle'), startedRow(b.pm, 'faulty', 1), bystandersCounting(b.pm, 1)]);
  }
  return nextEvent<[ActivityRow]>(b.pm, 'unregistered', 'worker "faulty" to be forgotten', (r) => r.name === 'faulty');
}

/** Bystanders stopped by a crash cycle quit (SIGQUIT: exit 2, a crash) or, blocked on a lock, are hard-stopped. */
function checkBystanderStops(t: Test, c: FaultCase, stops: ActivityRow[]): void {
  if (c.outcome !== 'crash-restart') return void t.same(stops, [], 'bystanders untouched');
  const kinds = stops.map((r) => `${r.lastExit?.kind}(${r.lastExit?.code})`);
  t.ok(stops.length === BYSTANDERS.length && stops.every((r) => ['crash_restart', 'hard_stop'].includes(r.lastExit!.kind)), `bystanders stopped by the cycle: ${kinds.join(', ')}`);
}

function checkOutcome(t: Test, b: Bed, c: FaultCase, firstPid: number | null): void {
  const rows = b.pm.activity();
  const faulty = rows.find((r) => r.name === 'faulty');
  const bystanderRestarts = rows.filter((r) => BYSTANDERS.includes(r.name)).map((r) => r.restarts);
  if (c.outcome === 'forgotten') {
    t.equal(faulty, undefined, 'not restarted: unregistered, its slot freed');
  } else {
    t.equal(faulty?.state, 'running', 'relaunched by its policy');
    t.not(faulty?.pid, firstPid, 'in a new thread');
  }
  t.same(b.crashes, c.outcome === 'crash-restart' ? ['faulty'] : [], 'crash-restart cycles');
  t.same(bystanderRestarts, BYSTANDERS.map(() => (c.outcome === 'crash-restart' ? 1 : 0)), 'bystanders restarted only by a crash cycle');
}

for (const c of CASES) {
  t.test(c.fault, async (t) => {
    const b = await bed(t);
    const bystanderStops: ActivityRow[] = [];
    b.pm.on('stopped', (r) => BYSTANDERS.includes(r.name) && bystanderStops.push(r));
    const first = stoppedRow(b.pm, 'faulty');
    const after = expectOutcome(b, c.outcome);
    const firstStart = startedRow(b.pm, 'faulty');
    const h = await b.pm.registerDynamicBackgroundWorker({ name: 'faulty', ...c.worker(b.dir) });
    const firstPid = (await firstStart).pid;
    const row = await first;
    t.match(row.lastExit, c.lastExit, `lastExit ${JSON.stringify(row.lastExit)}`);
    await after;
    t.not(b.pm.pmState, 'dead', 'the host keeps running');
    checkOutcome(t, b, c, firstPid);
    checkBystanderStops(t, c, bystanderStops);
    const status = h!.status().status;
    t.equal(status, c.outcome === 'forgotten' ? BgwHandleStatus.Stopped : BgwHandleStatus.Started, 'the handle follows the worker');
    await closeBed(t, b);
  });
}

t.test('death halfway through writing a lock-guarded record: readers after the reset see zeroes', async (t) => {
  const b = await bed(t);
  const cells = b.pm.shmem('test').int32;
  const record = () => Array.from(cells.subarray(RECORD_AT, RECORD_AT + RECORD_WORDS));
  const atCrash = nextEvent(b.pm, 'crash', 'the writer to crash').then(record);
  const reset = nextEvent(b.pm, 'reinitialized', 'the crash-restart cycle after the writer');
  const bystandersBack = bystandersCounting(b.pm, 1);
  await b.pm.registerDynamicBackgroundWorker({ name: 'writer', ...once('half-record', S)(b.dir) });
  const half = [0, 1, 2, 3].map(recordWord).concat([0, 0, 0, 0]);
  t.same(await atCrash, half, 'the writer died with half a record written');
  await reset;
  t.same(record(), new Array(RECORD_WORDS).fill(0), 'the reset zeroed the record');
  const reader = stoppedRow(b.pm, 'reader');
  await b.pm.registerDynamicBackgroundWorker({ name: 'reader', module: fixture('record-reader'), flags: S, mainArg: { reads: 2000 } });
  t.equal((await reader).lastExit?.kind, 'normal', 'the reader did not hang on the lock the writer died holding');
  t.equal(cells[TORN_READS], 0, 'no read saw half a record');
  t.equal(cells[EMPTY_READS], 2000, 'every read saw the zeroed record');
  t.same(b.crashes, ['writer']);
  await bystandersBack;
  await closeBed(t, b);
});

t.test('an infinite synchronous loop that never checks interrupts: terminate and shutdown end it within the grace period', async (t) => {
  const graceMs = 500;
  const b = await bed(t, { terminateGraceMs: graceMs });
  const spin = async (name: string) => {
    const h = await b.pm.registerDynamicBackgroundWorker({ name, module: fixture('ignore-sigterm'), restartTime: 0 });
    await within(h!.waitForStartup(), `worker "${name}" to start`);
    return h!;
  };
  const h = await spin('spinner');
  const row = stoppedRow(b.pm, 'spinner');
  const t0 = performance.now();
  await h.terminate();
  const exit = (await row).lastExit;
  const terminateMs = performance.now() - t0;
  t.match(exit, { kind: 'hard_stop' }, `terminate: hard stop (${JSON.stringify(exit)}) after ${terminateMs.toFixed(0)} ms`);
  t.ok(terminateMs >= graceMs - 5 && terminateMs < graceMs + 1500, 'not before the grace period, and soon after it');
  t.equal((await within(h.waitForShutdown(), 'the hard-stopped spinner to read stopped')).status, BgwHandleStatus.Stopped, 'terminated: not restarted despite restartTime 0');
  t.same(b.crashes, [], 'no crash cycle: it had no shared-memory access');
  await spin('spinner 2');
  const last = stoppedRow(b.pm, 'spinner 2');
  const shutdownMs = await closeBed(t, b);
  t.equal((await last).lastExit?.kind, 'hard_stop', 'shutdown hard-stopped the loop');
  t.ok(shutdownMs < graceMs + 1500, `fast shutdown completed in ${shutdownMs.toFixed(0)} ms (grace ${graceMs} ms)`);
});

// PostgreSQL's storm, with the host's restart-intensity brake off: the rate measured here is
// what that brake exists to cap.
t.test('a crash storm: a worker without shared memory that crashes at start every time, restartTime 0', async (t) => {
  const windowMs = 2000;
  const b = await bed(t, { restartIntensity: false });
  const cells = b.pm.shmem('test').int32;
  const lives: ActivityRow[] = [];
  b.pm.on('stopped', (r) => r.name === 'storm' && lives.push(r));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const countedBefore = Atomics.load(cells, 0);
  const t0 = performance.now();
  const storm = await b.pm.registerDynamicBackgroundWorker({ name: 'storm', module: fixture('process-exit'), mainArg: { code: 3 }, restartTime: 0 });
  const oneShot = stoppedRow(b.pm, 'one-shot');
  const h = await b.pm.registerDynamicBackgroundWorker({ name: 'one-shot', module: fixture('exit-zero'), flags: S });
  t.ok(h, 'a dynamic registration during the storm gets a slot');
  t.equal((await oneShot).lastExit?.kind, 'normal', 'and its worker runs to completion');
  await sleep(windowMs); // a measuring window, not a synchronisation
  delay.disable();
  const counted = Atomics.load(cells, 0) - countedBefore;
  const elapsedMs = performance.now() - t0;
  const perSecond = (lives.length * 1000) / elapsedMs;
  t.comment(`crash storm: ${lives.length} crashes in ${elapsedMs.toFixed(0)} ms (${perSecond.toFixed(1)} restarts/s); bystanders added ${counted}; event-loop delay max ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`);
  t.ok(lives.length >= 5, 'it was restarted again and again');
  t.ok(lives.every((r) => r.lastExit?.kind === 'crash' && r.lastExit.code === 3), 'every life ended as a crash with its code');
  t.ok(counted > 100, 'the bystanders kept counting');
  t.ok(delay.max / 1e6 < 1000, 'the host thread stayed responsive');
  t.same(b.crashes, [], 'no crash-restart cycle: the storm has no shared-memory access');
  const gone = nextEvent<[ActivityRow]>(b.pm, 'unregistered', 'the terminated storm to be forgotten', (r) => r.name === 'storm');
  await storm!.terminate();
  await gone;
  t.equal(storm!.status().status, BgwHandleStatus.Stopped, 'terminate ends the storm');
  await closeBed(t, b);
});
