/** LWLock: exactness under contention, no torn reads, no writer starvation, error paths. */
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { MAX_BACKENDS } from '../../dist/lib/constants.js';
import { LWLOCK_BYTES } from '../../dist/lib/shm/layout.js';
import {
  AsyncLWLock, LW_SHARED_MASK, LW_VAL_EXCLUSIVE, LW_WRITER_ONE, LW_WRITERS_MASK, LWLock, heldLWLockCount, releaseAllLWLocks,
} from '../../dist/lib/shm/lwlock.js';
import { COUNTER, COUNTER_TWIN } from '../../dist/test/fixtures/locked-counter.js';
import { FLOOD_BYTES, WRITER_DONE } from '../../dist/test/fixtures/lwlock-flood.js';
import { TORN_PAIRS } from '../../dist/test/fixtures/read-under-lock.js';
import { EXIT_CALLBACK_RAN } from '../../dist/test/fixtures/throw-holding-lock.js';
import { pollUntil, within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, nextEvents, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const LWLOCK_WORDS = LWLOCK_BYTES / 4;

t.test('workers and the host incrementing under the exclusive lock end exactly right', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const loops = 5_000;
  const done = nextEvents(pm, 'stopped', 4, 'the four counting workers to stop');
  for (let i = 0; i < 4; i++) {
    await pm.registerDynamicBackgroundWorker({ name: `w${i}`, module: fixture('count-under-lock'), flags: S, mainArg: { loops } });
  }
  const cells = pm.shmem('test').int32;
  const lock = pm.lock('counter');
  const hostAdds = async (): Promise<void> => {
    for (let i = 0; i < 500; i++) {
      await lock.with('exclusive', () => {
        cells[COUNTER] = cells[COUNTER]! + 1;
        cells[COUNTER_TWIN] = cells[COUNTER_TWIN]! + 1;
      });
    }
  };
  await within(hostAdds(), "the host's 500 additions under the lock");
  await done;
  t.equal(cells[COUNTER], 4 * loops + 500);
  t.equal(cells[COUNTER_TWIN], 4 * loops + 500);
});

t.test('readers under the shared lock never see a half-written record', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const done = nextEvents(pm, 'stopped', 4, 'the two writers and two readers to stop');
  for (let i = 0; i < 2; i++) {
    await pm.registerDynamicBackgroundWorker({ name: `writer${i}`, module: fixture('count-under-lock'), flags: S, mainArg: { loops: 20_000 } });
    await pm.registerDynamicBackgroundWorker({ name: `reader${i}`, module: fixture('read-under-lock'), flags: S, mainArg: { loops: 40_000 } });
  }
  await done;
  t.equal(pm.shmem('test').int32[TORN_PAIRS], 0, 'no torn read');
  t.equal(pm.shmem('test').int32[COUNTER], 40_000);
});

t.test('a writer is not starved by a flood of readers', async (t) => {
  const sab = new SharedArrayBuffer(FLOOD_BYTES);
  const opts = { workerData: { sab }, execArgv: [] };
  const readers = [0, 1, 2].map(() => new Worker(new URL(fixture('lwlock-reader')), opts));
  const writer = new Worker(new URL(fixture('lwlock-writer')), opts);
  // A starved writer never ends the flood: the threads are stopped here, not left spinning.
  t.teardown(() => Promise.all([writer, ...readers].map((w) => w.terminate())));
  const [writerExit, ...readerExits] = [writer, ...readers].map((w) => once(w, 'exit'));
  await t.resolves(within(writerExit!, 'the writer to take the lock exclusively while readers flood it'), 'the writer was not starved');
  t.equal(Atomics.load(new Int32Array(sab), WRITER_DONE), 1, 'the writer got the lock while readers kept asking');
  await within(Promise.all(readerExits), 'the readers to stop once the writer was done');
});

t.test('a worker that dies holding the lock hangs nobody: crash cycle, then the lock is free', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'], quitGraceMs: 500 });
  await pm.start();
  const reinit = nextEvent(pm, 'reinitialized', 'the crash-restart cycle after the holder died');
  await pm.registerDynamicBackgroundWorker({ name: 'holder', module: fixture('die-holding-lock'), flags: S });
  await pm.registerDynamicBackgroundWorker({ name: 'blocked', module: fixture('count-under-lock'), flags: S, mainArg: { loops: 1_000_000 } });
  await reinit;
  const got = pm.lock('counter').with('exclusive', () => 'got it');
  t.equal(await within(got, 'the host to take the lock after the reset'), 'got it', 'the host takes the lock after the reset');
});

t.test('an entry that throws while holding a lock releases it on the way out (LWLockReleaseAll)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  let crashes = 0;
  pm.on('crash', () => crashes++);
  const stopped = stoppedRow(pm, 'thrower');
  await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-holding-lock'), flags: S });
  await stopped;
  t.equal(pm.shmem('test').int32[EXIT_CALLBACK_RAN], 1, 'the exit callback ran');
  const free = pm.lock('counter').with('exclusive', () => 'free');
  t.equal(await within(free, 'the host to take the lock the thrower held'), 'free', 'the lock was released');
  t.equal(crashes, 0, 'an ERROR exit, not a crash');
});

t.test('lock misuse is refused with typed errors; releaseAll frees everything', async (t) => {
  const i32 = new Int32Array(new SharedArrayBuffer(2 * LWLOCK_BYTES));
  const a = new LWLock(i32, 0, 'a');
  const b = new LWLock(i32, LWLOCK_WORDS, 'b');
  t.throws(() => a.release('shared'), { code: 'BGW_ERR_LOCK_NOT_HELD' });
  a.acquire('shared');
  t.throws(() => a.acquire('shared'), { code: 'BGW_ERR_LOCK_ALREADY_HELD' });
  t.equal(b.tryAcquire('exclusive'), true);
  const other = new LWLock(i32, LWLOCK_WORDS, 'b-again');
  t.equal(heldLWLockCount(), 2);
  releaseAllLWLocks();
  t.equal(heldLWLockCount(), 0);
  t.equal(other.tryAcquire('exclusive'), true, 'free again after releaseAll');
  other.release('exclusive');
  const many = Array.from({ length: 201 }, (_, i) => new LWLock(new Int32Array(new SharedArrayBuffer(LWLOCK_BYTES)), 0, `l${i}`));
  for (let i = 0; i < 200; i++) many[i]!.acquire('exclusive');
  t.throws(() => many[200]!.acquire('exclusive'), { code: 'BGW_ERR_TOO_MANY_LWLOCKS' });
  releaseAllLWLocks();
});

t.test("every entry refuses a mode that is neither 'shared' nor 'exclusive' before it touches the word", async (t) => {
  t.teardown(releaseAllLWLocks);
  const i32 = new Int32Array(new SharedArrayBuffer(128));
  const lock = new LWLock(i32, 16, 'moded');
  const hostLock = new AsyncLWLock(i32, 16, 'moded');
  const refused = { code: 'BGW_ERR_INVALID_LOCK_MODE', message: /use 'shared' or 'exclusive'/ };
  for (const bad of ['bogus', 'SHARED', undefined, null, 1, {}]) {
    const mode = bad as never;
    t.throws(() => lock.acquire(mode), refused, `acquire(${String(bad)})`);
    t.throws(() => lock.tryAcquire(mode), refused, `tryAcquire(${String(bad)})`);
    t.throws(() => lock.with(mode, () => 1), refused, `with(${String(bad)})`);
    t.throws(() => lock.release(mode), refused, `release(${String(bad)})`);
    t.throws(() => hostLock.releaseUntracked(mode), refused, `releaseUntracked(${String(bad)})`);
    await t.rejects(hostLock.acquireAsync(mode), refused, `acquireAsync(${String(bad)})`);
    t.equal(Atomics.load(i32, 16), 0, 'the state word is untouched');
  }
  lock.acquire('exclusive');
  t.throws(() => lock.release('bogus' as never), refused, 'a bad mode does not release a held lock');
  t.equal(lock.heldMode(), 'exclusive', 'still held');
  lock.release('exclusive');
  t.equal(heldLWLockCount(), 0, 'nothing is held');
  t.same([Atomics.load(i32, 16), Atomics.load(i32, 17)], [0, 0], 'state and sleepers are idle');
});

t.test('every count field of the word holds more than every thread and the host', async (t) => {
  const fields = { 'shared holders': LW_SHARED_MASK, 'queued writers': LW_WRITERS_MASK / LW_WRITER_ONE };
  for (const [field, capacity] of Object.entries(fields)) t.ok(capacity >= MAX_BACKENDS + 1, `${field}: ${capacity} >= ${MAX_BACKENDS + 1}`);
  t.equal(LW_SHARED_MASK & LW_WRITERS_MASK, 0, 'the fields do not overlap');
  t.equal((LW_SHARED_MASK | LW_WRITERS_MASK) & LW_VAL_EXCLUSIVE, 0, 'nor does the exclusive bit');
  t.ok((LW_SHARED_MASK | LW_WRITERS_MASK | LW_VAL_EXCLUSIVE) > 0, 'bit 31 stays clear');
});

t.test("a worker's lock object has no untracked, asynchronous entry", async (t) => {
  const lock = new LWLock(new Int32Array(new SharedArrayBuffer(64)), 0, 'worker-side');
  t.notOk('acquireAsync' in lock, 'no acquireAsync');
  t.notOk('releaseUntracked' in lock, 'no releaseUntracked');
});

t.test('a worker that sleeps on a held lock shows in the wait statistics and the metrics', async (t) => {
  const { HEADER_BYTES, L_WAKE_EXCLUSIVE } = await import('../../dist/lib/shm/layout.js');
  const { postmasterMetrics } = await import('../../dist/lib/index.js');
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const metrics = postmasterMetrics(pm);
  const words = new Int32Array(pm.shmem('test').buffer);
  const wake = (HEADER_BYTES + 1 * LWLOCK_BYTES) / 4 + L_WAKE_EXCLUSIVE; // the 'counter' lock
  const done = stoppedRow(pm, 'waiter');
  const holding = pm.lock('counter').with('exclusive', async () => {
    await pm.registerDynamicBackgroundWorker({ name: 'waiter', module: fixture('count-under-lock'), flags: S, mainArg: { loops: 1 } });
    // A counted-in sleeper may still take the lock on its last try, so the sleeper count
    // does not prove a sleep. A notify that wakes one thread does: the worker was inside
    // Atomics.wait. Woken early, it records that wait, finds the lock still held and sleeps again.
    await pollUntil(() => Atomics.notify(words, wake, 1) === 1, 'the worker to sleep on the lock the host holds');
  });
  await within(holding, 'the host to take the lock, see a sleeper and release it');
  await done;
  const counter = pm.waitStats().locks.find((l) => l.name === 'counter')!;
  t.ok(counter.waits >= 1, `the worker slept ${counter.waits} time(s) on the lock`);
  t.equal(counter.buckets.reduce((a, b) => a + b, 0), counter.waits, 'every sleep is in one bucket');
  const text = (await metrics.render());
  t.match(text, /bgworker_lwlock_wait_seconds_count\{lock="counter"\} [1-9]/);
  t.match(text, /bgworker_lwlock_wait_seconds_bucket\{lock="counter",le="\+Inf"\} [1-9]/);
  t.match(text, /bgworker_latch_waits_total \d+/);
  metrics.close();
});
