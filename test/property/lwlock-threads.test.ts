/**
 * Property: one lock driven at once by several worker threads and several host tasks, with
 * random sequences of legal and illegal operations — modes that are neither shared nor
 * exclusive, releases without a hold or in the wrong mode, taking the lock twice — fails
 * each illegal one with the typed error a model predicts, lets every waiter through (each
 * run has a deadline), and leaves the state word and the sleeper word idle (0) at the end
 * of every run.
 */
import t from 'tap';
import { within } from '../helpers/deadline.js';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { HostLocks, type HostLWLock } from '../../dist/lib/host/host-lock.js';
import { isBgwError } from '../../dist/lib/index.js';
import { computeLayout, lockIndex, L_SLEEPERS, L_STATE } from '../../dist/lib/shm/layout.js';
import { AsyncLWLock } from '../../dist/lib/shm/lwlock.js';
import { Segment } from '../../dist/lib/shm/segment.js';
import type { ThreadOp, ThreadReply } from '../fixtures/lwlock-ops.js';
import { fixture } from '../helpers/host.js';
import { hex } from '../helpers/lock-words.js';

const THREADS = 3;
const HOST_TASKS = 3;
const RUN_DEADLINE_MS = 20_000;

const badMode = fc.constantFrom<unknown>('bogus', 'SHARED', '', undefined, null, 0, true);
const anyMode = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<unknown>('shared', 'exclusive') }, { weight: 1, arbitrary: badMode });

const threadOp: fc.Arbitrary<ThreadOp> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constantFrom('acquire', 'tryAcquire', 'release', 'with' as const), mode: anyMode }) },
  { weight: 1, arbitrary: fc.constant({ op: 'releaseAll' as const }) },
);

type HostOp =
  | { op: 'with'; mode: unknown; turns: number }
  | { op: 'acquireAsync'; mode: unknown }
  | { op: 'releaseUntracked'; mode: unknown };

const hostOp: fc.Arbitrary<HostOp> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('with' as const), mode: anyMode, turns: fc.integer({ min: 0, max: 3 }) }) },
  // On the host's raw lock object only modes that are wrong: a right one would be an untracked hold.
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('acquireAsync', 'releaseUntracked' as const), mode: badMode }) },
);

const isMode = (m: unknown): boolean => m === 'shared' || m === 'exclusive';
const turn = (): Promise<void> => new Promise((res) => setImmediate(res));

/** One host task's sequence; returns what went differently from the model. */
async function runHostOps(lock: HostLWLock, raw: AsyncLWLock, ops: HostOp[], errors: Map<string, number>): Promise<string[]> {
  const mismatches: string[] = [];
  for (const op of ops) {
    const want = isMode(op.mode) ? null : 'BGW_ERR_INVALID_LOCK_MODE';
    try {
      if (op.op === 'with') {
        await lock.with(op.mode as never, async () => {
          for (let i = 0; i < op.turns; i++) await turn();
        });
      } else if (op.op === 'acquireAsync') await raw.acquireAsync(op.mode as never);
      else raw.releaseUntracked(op.mode as never);
      if (want !== null) mismatches.push(`host ${JSON.stringify(op)} succeeded; expected ${want}`);
    } catch (err) {
      const code = isBgwError(err) ? err.code : String(err);
      if (code !== want) mismatches.push(`host ${JSON.stringify(op)} threw ${code}; expected ${want ?? 'success'}`);
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  }
  return mismatches;
}

t.test('threads and host tasks on one lock: typed errors for misuse, no waiter hangs, both words idle after every run', async (t) => {
  const layout = computeLayout(1, 0, 64, ['prop'], []);
  const seg = Segment.create(layout, 1);
  const index = lockIndex(layout, 1);
  const raw = new AsyncLWLock(seg.i32, index, 'prop');
  const lock = new HostLocks(() => {}).for(raw);
  const threads = Array.from({ length: THREADS }, () => new Worker(new URL(fixture('lwlock-ops')), { workerData: { sab: seg.sab, index }, execArgv: [] }));
  t.teardown(() => Promise.all(threads.map((w) => w.terminate())));
  const replies = new Map<Worker, (r: ThreadReply) => void>();
  for (const w of threads) {
    w.on('message', (r: ThreadReply) => replies.get(w)?.(r));
    w.on('error', (err) => t.fail(`an LWLock thread died: ${err.message}`));
  }
  const send = (w: Worker, run: number, ops: ThreadOp[]): Promise<ThreadReply> =>
    new Promise((res) => {
      replies.set(w, res);
      w.postMessage({ run, ops });
    });
  const words = (): string => `state ${hex(Atomics.load(seg.i32, index + L_STATE))}, sleepers ${Atomics.load(seg.i32, index + L_SLEEPERS)}`;

  const errors = new Map<string, number>();
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(threadOp, { maxLength: 30 }), { minLength: THREADS, maxLength: THREADS }),
      fc.array(fc.array(hostOp, { maxLength: 15 }), { minLength: HOST_TASKS, maxLength: HOST_TASKS }),
      async (threadOps, hostOps) => {
        run++;
        const fromThreads = Promise.all(threads.map((w, i) => send(w, run, threadOps[i]!)));
        const fromHost = Promise.all(hostOps.map((ops) => runHostOps(lock, raw, ops, errors)));
        const [threadReplies, hostMismatches] = await within(
          Promise.all([fromThreads, fromHost]),
          `run ${run}: every thread and host task through its sequence (now ${words()})`,
          RUN_DEADLINE_MS,
        );
        for (const r of threadReplies) for (const [code, n] of Object.entries(r.errors)) errors.set(code, (errors.get(code) ?? 0) + n);
        assert.deepEqual([...threadReplies.flatMap((r) => r.mismatches), ...hostMismatches.flat()], [], 'every outcome matches the model');
        assert.equal(hex(Atomics.load(seg.i32, index + L_STATE)), hex(0), `run ${run}: the state word is idle`);
        assert.equal(Atomics.load(seg.i32, index + L_SLEEPERS), 0, `run ${run}: the sleeper word is idle`);
      },
    ),
    { numRuns: 300 },
  );
  t.comment(`typed errors seen: ${JSON.stringify(Object.fromEntries(errors))}`);
  for (const code of ['BGW_ERR_INVALID_LOCK_MODE', 'BGW_ERR_LOCK_NOT_HELD', 'BGW_ERR_LOCK_ALREADY_HELD']) t.ok(errors.has(code), `${code} was exercised`);
  t.ok(raw.waitStats().waits > 0, `parties slept on the lock (${raw.waitStats().waits} sleeps): the runs contended`);
});
