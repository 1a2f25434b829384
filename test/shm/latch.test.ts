/** The latch contract: docs/semantics.md checklist 42–45. */
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { LATCH_SLEEPING, LATCH_UNSET, Latch } from '../../dist/lib/shm/latch.js';
import { WL_LATCH_SET, WL_TIMEOUT } from '../../dist/lib/worker/index.js';
import { LOST_WAKEUPS, PUBLISHED, RACE_BYTES } from '../../dist/test/fixtures/latch-race.js';
import {
  LS_AFTER_MANY_SETS, LS_AFTER_RESET, LS_ASYNC_SET_BEFORE_WAIT, LS_ASYNC_TIMEOUT, LS_SET_BEFORE_WAIT, LS_STILL_SET, LS_TIMEOUT,
  LS_SPIN_SET, LS_SPIN_TIMEOUT, LS_SPIN_ZERO_TIMEOUT, LS_TIMEOUT_ELAPSED_US, LS_ZERO_TIMEOUT,
} from '../../dist/test/fixtures/latch-semantics.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, stoppedRow } from '../helpers/host.js';

t.test('WaitLatch semantics inside a worker (checklist 42, 43, 45)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  await pm.start();
  const done = stoppedRow(pm, 'latch');
  await pm.registerDynamicBackgroundWorker({ name: 'latch', module: fixture('latch-semantics'), flags: BGWORKER_SHMEM_ACCESS });
  await done;
  const c = pm.shmem('test').int32;
  t.equal(c[LS_SET_BEFORE_WAIT], WL_LATCH_SET, '42: set before the wait → WL_LATCH_SET at once');
  t.equal(c[LS_STILL_SET], 1, '42: and the latch stays set until ResetLatch');
  t.equal(c[LS_TIMEOUT], WL_TIMEOUT, '43: no setter → WL_TIMEOUT');
  t.ok(c[LS_TIMEOUT_ELAPSED_US]! >= 50_000, `43: not before 50 ms (${c[LS_TIMEOUT_ELAPSED_US]} µs)`);
  t.equal(c[LS_ZERO_TIMEOUT], WL_TIMEOUT, '43: a 0 ms timeout returns WL_TIMEOUT at once');
  t.equal(c[LS_AFTER_MANY_SETS], WL_LATCH_SET, '45: 1000 sets wake the owner once');
  t.equal(c[LS_AFTER_RESET], WL_TIMEOUT, '45: after ResetLatch the owner blocks again');
  t.equal(c[LS_ASYNC_SET_BEFORE_WAIT], WL_LATCH_SET, 'async form: set before the wait');
  t.equal(c[LS_ASYNC_TIMEOUT], WL_TIMEOUT, 'async form: timeout');
  t.equal(c[LS_SPIN_SET], WL_LATCH_SET, 'with spin: a set latch → WL_LATCH_SET');
  t.equal(c[LS_SPIN_TIMEOUT], WL_TIMEOUT, 'with spin: no setter → WL_TIMEOUT after the spin and the sleep');
  t.equal(c[LS_SPIN_ZERO_TIMEOUT], WL_TIMEOUT, 'with spin: a 0 ms timeout → WL_TIMEOUT');
});

for (const spin of [0, 64]) {
  t.test(`no lost wake-up: publish-then-set against reset-check-wait, 10^6 times, spin ${spin} (checklist 44)`, async (t) => {
    const n = 1_000_000;
    const sab = new SharedArrayBuffer(RACE_BYTES);
    const consumer = new Worker(new URL(fixture('latch-consumer')), { workerData: { sab, n, spin }, execArgv: [] });
    const producer = new Worker(new URL(fixture('latch-producer')), { workerData: { sab, n }, execArgv: [] });
    t.teardown(() => Promise.all([consumer.terminate(), producer.terminate()]));
    const [[result]] = (await within(
      Promise.all([once(consumer, 'message'), once(producer, 'exit')]),
      `the consumer to see all ${n} publications and the producer to exit`,
    )) as [[{ sleeps: number }], unknown];
    const i32 = new Int32Array(sab);
    t.equal(i32[PUBLISHED], n, 'every publication counted');
    t.equal(i32[LOST_WAKEUPS], 0, 'no wait slept through a publication');
    t.ok(result.sleeps > 0, `the consumer did sleep (${result.sleeps} times), so wake-ups were exercised`);
  });
}

t.test('a set wakes an async wait whose mark outlived another wait and a reset (maybe_sleeping)', async (t) => {
  // Two waits of the owner's on one latch, as two async tasks of one thread make: the one
  // that ends first must not take the maybe-sleeping mark with it, nor may ResetLatch, or
  // the set below would skip its notify and the first wait would sleep on.
  const i32 = new Int32Array(new SharedArrayBuffer(4));
  const latch = new Latch(i32, 0);
  const first = latch.waitAsync(Infinity);
  t.equal(await latch.waitAsync(0), false, 'the second wait ends unset');
  t.equal(latch.waitSync(0), false, 'and so does a blocking one');
  latch.reset();
  t.equal(Atomics.load(i32, 0), LATCH_SLEEPING, 'the mark is still there');
  latch.set();
  t.equal(await within(first, 'the first wait to be woken by the set'), true, 'the set woke it');
  latch.reset();
  t.equal(Atomics.load(i32, 0), LATCH_UNSET, 'set then reset clears the mark');
  latch.set();
  t.equal(latch.waitSync(Infinity), true, 'a wait on a set latch returns at once');
});

t.test('the forbidden order (check between wait and reset) loses a wake-up (checklist 44)', async (t) => {
  // One thread plays both sides in the interleaving that breaks it: the owner checks for
  // work after waking but before ResetLatch; the waker publishes and sets in between.
  const LATCH = 0;
  const WORK = 1;
  const i32 = new Int32Array(new SharedArrayBuffer(8));
  const latch = new Latch(i32, LATCH);
  const workPending = () => Atomics.load(i32, WORK) !== 0;
  t.equal(workPending(), false, 'owner checks: nothing to do');
  Atomics.store(i32, WORK, 1); // waker publishes…
  latch.set(); // …then sets the latch
  latch.reset(); // owner resets after its check: the wake-up is erased
  t.equal(latch.waitSync(20), false, 'the next wait times out…');
  t.equal(workPending(), true, '…with work pending: a lost wake-up');
  // Pattern A on the same interleaving: reset first, then check.
  latch.set();
  latch.reset();
  t.equal(workPending(), true, 'resetting before checking sees the work');
});
