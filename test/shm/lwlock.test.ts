/** LWLock: exactness under contention, no torn reads, no writer starvation, error paths. */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { MAX_BACKENDS } from '../../dist/lib/constants.js';
import {
  AsyncLWLock, LW_SHARED_MASK, LW_VAL_EXCLUSIVE, LW_WRITER_ONE, LW_WRITERS_MASK, LWLock, heldLWLockCount, releaseAllLWLocks,
} from '../../dist/lib/shm/lwlock.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;

function allStopped(pm: ReturnType<typeof makeHost>, n: number): Promise<void> {
  let seen = 0;
  return new Promise((res) => pm.on('stopped', () => ++seen === n && res()));
}

t.test('workers and the host incrementing under the exclusive lock end exactly right', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const loops = 5_000;
  const done = allStopped(pm, 4);
  for (let i = 0; i < 4; i++) {
    await pm.registerDynamicBackgroundWorker({ name: `w${i}`, module: fixture('count-under-lock'), flags: S, mainArg: { loops } });
  }
  const cells = pm.shmem('test').int32;
  const lock = pm.lock('counter');
  for (let i = 0; i < 500; i++) {
    await lock.with('exclusive', () => {
      cells[0] = cells[0]! + 1;
      cells[1] = cells[1]! + 1;
    });
  }
  await done;
  t.equal(cells[0], 4 * loops + 500);
  t.equal(cells[1], 4 * loops + 500);
});

t.test('readers under the shared lock never see a half-written record', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const done = allStopped(pm, 4);
  for (let i = 0; i < 2; i++) {
    await pm.registerDynamicBackgroundWorker({ name: `writer${i}`, module: fixture('count-under-lock'), flags: S, mainArg: { loops: 20_000 } });
    await pm.registerDynamicBackgroundWorker({ name: `reader${i}`, module: fixture('read-under-lock'), flags: S, mainArg: { loops: 40_000 } });
  }
  await done;
  t.equal(pm.shmem('test').int32[3], 0, 'no torn read');
  t.equal(pm.shmem('test').int32[0], 40_000);
});

t.test('a writer is not starved by a flood of readers', async (t) => {
  // The lock's line (16 words) holds its wait statistics; the flags sit on the next line.
  const sab = new SharedArrayBuffer(128);
  const opts = { workerData: { sab }, execArgv: [] };
  const readers = [0, 1, 2].map(() => new Worker(new URL(fixture('lwlock-reader')), opts));
  const writer = new Worker(new URL(fixture('lwlock-writer')), opts);
  await Promise.all([writer, ...readers].map((w) => new Promise((res) => w.once('exit', res))));
  t.equal(Atomics.load(new Int32Array(sab), 16), 1, 'the writer got the lock while readers kept asking');
});

t.test('a worker that dies holding the lock hangs nobody: crash cycle, then the lock is free', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'], quitGraceMs: 500 });
  await pm.start();
  const reinit = nextEvent(pm, 'reinitialized');
  await pm.registerDynamicBackgroundWorker({ name: 'holder', module: fixture('die-holding-lock'), flags: S });
  await pm.registerDynamicBackgroundWorker({ name: 'blocked', module: fixture('count-under-lock'), flags: S, mainArg: { loops: 1_000_000 } });
  await reinit;
  t.equal(await pm.lock('counter').with('exclusive', () => 'got it'), 'got it', 'the host takes the lock after the reset');
});

t.test('an entry that throws while holding a lock releases it on the way out (LWLockReleaseAll)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  let crashes = 0;
  pm.on('crash', () => crashes++);
  const stopped = nextEvent(pm, 'stopped');
  await pm.registerDynamicBackgroundWorker({ name: 'thrower', module: fixture('throw-holding-lock'), flags: S });
  await stopped;
  t.equal(pm.shmem('test').int32[5], 1, 'the exit callback ran');
  t.equal(await pm.lock('counter').with('exclusive', () => 'free'), 'free', 'the lock was released');
  t.equal(crashes, 0, 'an ERROR exit, not a crash');
});

t.test('lock misuse is refused with typed errors; releaseAll frees everything', async (t) => {
  const i32 = new Int32Array(new SharedArrayBuffer(64));
  const a = new LWLock(i32, 0, 'a');
  const b = new LWLock(i32, 4, 'b');
  t.throws(() => a.release('shared'), { code: 'BGW_ERR_LOCK_NOT_HELD' });
  a.acquire('shared');
  t.throws(() => a.acquire('shared'), { code: 'BGW_ERR_LOCK_ALREADY_HELD' });
  t.equal(b.tryAcquire('exclusive'), true);
  const other = new LWLock(i32, 4, 'b-again');
  t.equal(heldLWLockCount(), 2);
  releaseAllLWLocks();
  t.equal(heldLWLockCount(), 0);
  t.equal(other.tryAcquire('exclusive'), true, 'free again after releaseAll');
  other.release('exclusive');
  const many = Array.from({ length: 201 }, (_, i) => new LWLock(new Int32Array(new SharedArrayBuffer(8)), 0, `l${i}`));
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
  const { HEADER_BYTES, LWLOCK_BYTES, L_SLEEPERS } = await import('../../dist/lib/shm/layout.js');
  const { postmasterMetrics } = await import('../../dist/lib/index.js');
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'] });
  await pm.start();
  const metrics = postmasterMetrics(pm);
  const words = new Int32Array(pm.shmem('test').buffer);
  const sleepers = (HEADER_BYTES + 1 * LWLOCK_BYTES) / 4 + L_SLEEPERS; // the 'counter' lock
  const done = nextEvent(pm, 'stopped');
  await pm.lock('counter').with('exclusive', async () => {
    await pm.registerDynamicBackgroundWorker({ name: 'waiter', module: fixture('count-under-lock'), flags: S, mainArg: { loops: 1 } });
    // Nothing notifies the sleeper count: look at it once per event-loop turn until the worker sleeps.
    while (Atomics.load(words, sleepers) === 0) await new Promise((res) => setImmediate(res));
  });
  await done;
  const counter = pm.waitStats().locks.find((l) => l.name === 'counter')!;
  t.ok(counter.waits >= 1, `the worker slept ${counter.waits} time(s) on the lock`);
  t.equal(counter.buckets.reduce((a, b) => a + b, 0), counter.waits, 'every sleep is in one bucket');
  const text = metrics.render();
  t.match(text, /bgworker_lwlock_wait_seconds_count\{lock="counter"\} [1-9]/);
  t.match(text, /bgworker_lwlock_wait_seconds_bucket\{lock="counter",le="\+Inf"\} [1-9]/);
  t.match(text, /bgworker_latch_waits_total \d+/);
  metrics.close();
});
