/**
 * The host's LWLocks (HostLWLock): a hold or a wait that spans a crash-restart cycle, and
 * modes that are neither shared nor exclusive. In every case the lock word must end idle
 * and every waiter must get the lock (floods of host tasks: lock-flood.test.ts).
 */
import t from 'tap';
import { pollUntil, within } from '../helpers/deadline.js';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { waitAsyncHeld } from '../../dist/lib/shm/keep-alive.js';
import { LW_VAL_EXCLUSIVE, LW_WRITER_ONE, LW_WRITERS_MASK } from '../../dist/lib/shm/lwlock.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';
import { hex, lockWords } from '../helpers/lock-words.js';

const S = BGWORKER_SHMEM_ACCESS;
const COUNTER = 1; // lock number of 'counter', the first named lock

t.test('a host holding a lock across a crash-restart cycle: the reset waits for its release, and the lock is free after', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'], quitGraceMs: 500 });
  await pm.start();
  const word = lockWords(pm, COUNTER);
  let released = false;
  const resetAfterRelease = nextEvent(pm, 'reinitialized', 'the reinitialized event').then(() => released);
  await pm.lock('counter').with('exclusive', async () => {
    const crashed = nextEvent(pm, 'crash', 'the crash event');
    const stopped = stoppedRow(pm, 'crasher');
    await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('uncaught-in-timer'), flags: S });
    await within(Promise.all([crashed, stopped]), "the crash and the crashed worker's exit", 10_000);
    t.equal(hex(word.state()), hex(LW_VAL_EXCLUSIVE), 'every thread is gone and the host still holds the lock: no reset yet');
  });
  released = true;
  t.equal(await within(resetAfterRelease, 'the reset once the host released the lock', 10_000), true, 'shared memory was reset only after the release');
  t.equal(hex(word.state()), hex(0), 'the lock word is idle after the reset');
  await within(pm.lock('counter').with('exclusive', () => {}), 'taking the lock exclusively after the reset', 5_000);
  await within(pm.lock('counter').with('shared', () => {}), 'taking the lock shared after the reset', 5_000);
  t.equal(hex(word.state()), hex(0), 'and idle again');
});

t.test('a host task waiting for a lock across a crash-restart cycle starts over and leaves the words idle', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, locks: ['counter'], quitGraceMs: 500 });
  await pm.start();
  const cells = pm.shmem('test').int32;
  const word = lockWords(pm, COUNTER);
  const reset = nextEvent(pm, 'reinitialized', 'the reinitialized event');
  await pm.registerDynamicBackgroundWorker({ name: 'holder', module: fixture('hold-then-crash'), flags: S });
  await within(waitAsyncHeld(cells, 6, 0, 10_000), 'the worker holding the lock', 10_000);
  t.equal(cells[6], 1, 'the worker holds the lock');
  let inside = -1;
  const waiter = pm.lock('counter').with('exclusive', () => void (inside = word.state()));
  await pollUntil(() => word.sleepers() > 0, 'the host task asleep on the lock', 5_000);
  t.equal(hex(word.state() & LW_WRITERS_MASK), hex(LW_WRITER_ONE), 'the host task is counted as a queued writer');
  Atomics.store(cells, 7, 1);
  Atomics.notify(cells, 7);
  await within(reset, 'the reset after the holder crashed', 10_000);
  await within(waiter, 'the host task that waited across the reset', 5_000);
  t.equal(hex(inside), hex(LW_VAL_EXCLUSIVE), 'it held the lock exclusively, with nothing else counted in the word');
  t.equal(hex(word.state()), hex(0), 'the lock word is idle');
  t.equal(word.sleepers(), 0, 'the sleeper count is idle');
  await within(pm.lock('counter').with('shared', () => {}), 'taking the lock shared afterwards', 5_000);
  await within(pm.lock('counter').with('exclusive', () => {}), 'taking the lock exclusively afterwards', 5_000);
});

t.test("with() in a mode that is neither 'shared' nor 'exclusive' is refused with a typed error, the word untouched", async (t) => {
  const pm = makeHost(t, { locks: ['counter'] });
  await pm.start();
  const word = lockWords(pm, COUNTER);
  let ran = 0;
  for (const bad of ['bogus', 'Exclusive', undefined, null, 0]) {
    await t.rejects(pm.lock('counter').with(bad as never, () => void ran++), { code: 'BGW_ERR_INVALID_LOCK_MODE', message: /use 'shared' or 'exclusive'/ }, String(bad));
    t.equal(hex(word.state()), hex(0), `the lock word is idle after with(${String(bad)})`);
  }
  t.equal(ran, 0, 'the function never ran');
  await within(pm.lock('counter').with('exclusive', () => {}), 'taking the lock exclusively afterwards', 5_000);
  await within(pm.lock('counter').with('shared', () => {}), 'taking the lock shared afterwards', 5_000);
});
