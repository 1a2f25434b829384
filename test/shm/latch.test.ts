/** The latch contract: docs/semantics.md checklist 42–45. */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { Latch } from '../../dist/lib/shm/latch.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

t.test('WaitLatch semantics inside a worker (checklist 42, 43, 45)', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  await pm.start();
  const done = nextEvent(pm, 'stopped');
  await pm.registerDynamicBackgroundWorker({ name: 'latch', module: fixture('latch-semantics'), flags: BGWORKER_SHMEM_ACCESS });
  await done;
  const c = pm.shmem('test').int32;
  t.equal(c[0], 1, '42: set before the wait → WL_LATCH_SET at once');
  t.equal(c[1], 1, '42: and the latch stays set until ResetLatch');
  t.equal(c[2], 8, '43: no setter → WL_TIMEOUT');
  t.ok(c[3]! >= 50_000, `43: not before 50 ms (${c[3]} µs)`);
  t.equal(c[4], 8, '43: a 0 ms timeout returns WL_TIMEOUT at once');
  t.equal(c[5], 1, '45: 1000 sets wake the owner once');
  t.equal(c[6], 8, '45: after ResetLatch the owner blocks again');
  t.equal(c[7], 1, 'async form: set before the wait');
  t.equal(c[8], 8, 'async form: timeout');
});

t.test('no lost wake-up: publish-then-set against reset-check-wait, 10^6 times (checklist 44)', async (t) => {
  const n = 1_000_000;
  const sab = new SharedArrayBuffer(32);
  const consumer = new Worker(new URL(fixture('latch-consumer')), { workerData: { sab, n }, execArgv: [] });
  const producer = new Worker(new URL(fixture('latch-producer')), { workerData: { sab, n }, execArgv: [] });
  const [result] = (await Promise.all([
    new Promise((res) => consumer.once('message', res)),
    new Promise((res) => producer.once('exit', res)),
  ])) as unknown as [{ sleeps: number }, unknown];
  const i32 = new Int32Array(sab);
  t.equal(i32[1], n, 'every publication counted');
  t.equal(i32[2], 0, 'no wait slept through a publication');
  t.ok(result.sleeps > 0, `the consumer did sleep (${result.sleeps} times), so wake-ups were exercised`);
});

t.test('the forbidden order (check between wait and reset) loses a wake-up (checklist 44)', async (t) => {
  // One thread plays both sides in the interleaving that breaks it: the owner checks for
  // work after waking but before ResetLatch; the waker publishes and sets in between.
  const i32 = new Int32Array(new SharedArrayBuffer(8));
  const latch = new Latch(i32, 0);
  const workPending = () => Atomics.load(i32, 1) !== 0;
  t.equal(workPending(), false, 'owner checks: nothing to do');
  Atomics.store(i32, 1, 1); // waker publishes…
  latch.set(); // …then sets the latch
  latch.reset(); // owner resets after its check: the wake-up is erased
  t.equal(latch.waitSync(20), false, 'the next wait times out…');
  t.equal(workPending(), true, '…with work pending: a lost wake-up');
  // Pattern A on the same interleaving: reset first, then check.
  latch.set();
  latch.reset();
  t.equal(workPending(), true, 'resetting before checking sees the work');
});
