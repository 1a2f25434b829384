/**
 * Property: any sequence of LWLock operations in one thread — acquire, tryAcquire, release
 * and with, in both modes, on a few locks — either fails with the typed error a model
 * predicts or leaves exactly the state the model says: the state word of every lock, and
 * heldLWLockCount(). releaseAllLWLocks() then leaves every lock free. Latch operation
 * sequences likewise match a model of the latch word: set, clear, or clear with the
 * owner's maybe-sleeping mark, which only a set removes.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BgwError } from '../../dist/lib/index.js';
import { L_SLEEPERS, L_STATE } from '../../dist/lib/shm/layout.js';
import { Latch } from '../../dist/lib/shm/latch.js';
import { LW_VAL_EXCLUSIVE, LWLock, heldLWLockCount, releaseAllLWLocks, type LWLockMode } from '../../dist/lib/shm/lwlock.js';

const LOCKS = 3;
const WORDS_PER_LOCK = 4;

type LockOp = { op: 'acquire' | 'tryAcquire' | 'release' | 'with'; lock: number; mode: LWLockMode } | { op: 'releaseAll' };

const anyLockOp: fc.Arbitrary<LockOp> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constantFrom('acquire', 'tryAcquire', 'release', 'with'), lock: fc.integer({ min: 0, max: LOCKS - 1 }), mode: fc.constantFrom<LWLockMode>('shared', 'exclusive') }) },
  { weight: 1, arbitrary: fc.constant({ op: 'releaseAll' as const }) },
);

/** The code an operation must fail with, given what this thread holds; null if it succeeds. */
function expectedError(op: LockOp, held: Map<number, LWLockMode>): string | null {
  if (op.op === 'releaseAll') return null;
  if (op.op === 'release') return held.get(op.lock) === op.mode ? null : 'BGW_ERR_LOCK_NOT_HELD';
  return held.has(op.lock) ? 'BGW_ERR_LOCK_ALREADY_HELD' : null;
}

function apply(op: LockOp, locks: LWLock[], held: Map<number, LWLockMode>): void {
  if (op.op === 'releaseAll') {
    releaseAllLWLocks();
    held.clear();
  } else if (op.op === 'acquire') {
    locks[op.lock]!.acquire(op.mode);
    held.set(op.lock, op.mode);
  } else if (op.op === 'tryAcquire') {
    assert.equal(locks[op.lock]!.tryAcquire(op.mode), true, 'a lock nobody holds is taken at once');
    held.set(op.lock, op.mode);
  } else if (op.op === 'release') {
    locks[op.lock]!.release(op.mode);
    held.delete(op.lock);
  } else {
    const inside = locks[op.lock]!.with(op.mode, () => heldLWLockCount());
    assert.equal(inside, held.size + 1, 'with() holds the lock while its function runs');
  }
}

/** Every state word says what the model says; nobody sleeps; the thread's count matches. */
function checkState(i32: Int32Array, held: Map<number, LWLockMode>): void {
  for (let l = 0; l < LOCKS; l++) {
    const mode = held.get(l);
    const want = mode === 'exclusive' ? LW_VAL_EXCLUSIVE : mode === 'shared' ? 1 : 0;
    assert.equal(Atomics.load(i32, l * WORDS_PER_LOCK + L_STATE), want, `state word of lock ${l}`);
    assert.equal(Atomics.load(i32, l * WORDS_PER_LOCK + L_SLEEPERS), 0, `no sleeper on lock ${l}`);
  }
  assert.equal(heldLWLockCount(), held.size, 'heldLWLockCount()');
}

t.test('LWLock operation sequences: a typed error or the state the model predicts', async (t) => {
  const errors = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(anyLockOp, { maxLength: 40 }), (ops) => {
      const i32 = new Int32Array(new SharedArrayBuffer(LOCKS * WORDS_PER_LOCK * 4));
      const locks = Array.from({ length: LOCKS }, (_, l) => new LWLock(i32, l * WORDS_PER_LOCK, `lock ${l}`));
      const held = new Map<number, LWLockMode>();
      try {
        for (const op of ops) {
          const code = expectedError(op, held);
          if (code === null) apply(op, locks, held);
          else {
            assert.throws(() => apply(op, locks, held), (e: unknown) => e instanceof BgwError && e.code === code, `${JSON.stringify(op)} fails with ${code}`);
            errors.set(code, (errors.get(code) ?? 0) + 1);
          }
          checkState(i32, held);
        }
      } finally {
        releaseAllLWLocks();
      }
      checkState(i32, new Map());
      locks.forEach((l) => {
        assert.equal(l.tryAcquire('exclusive'), true, `${l.name} is free after releaseAllLWLocks()`);
        l.release('exclusive');
      });
    }),
    { numRuns: 500 },
  );
  t.comment(`typed errors seen: ${JSON.stringify(Object.fromEntries(errors))}`);
  t.ok(errors.has('BGW_ERR_LOCK_NOT_HELD') && errors.has('BGW_ERR_LOCK_ALREADY_HELD'), 'both misuse errors were exercised');
  t.equal(heldLWLockCount(), 0, 'the thread holds nothing afterwards');
});

type LatchOp = 'set' | 'reset' | 'isSet' | 'waitNow' | 'waitAsyncNow';

t.test('latch operation sequences match a model of the latch word', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom<LatchOp>('set', 'reset', 'isSet', 'waitNow', 'waitAsyncNow'), { maxLength: 40 }), async (ops) => {
      const latch = new Latch(new Int32Array(new SharedArrayBuffer(8)), 1);
      // 0 clear, 1 set, 2 clear and marked: a wait that found the latch clear marks it, a
      // reset clears only a set latch (it keeps the mark), a set replaces either.
      let word = 0;
      for (const op of ops) {
        const set = word === 1;
        if (op === 'set') latch.set();
        if (op === 'reset') latch.reset();
        if (op === 'isSet') assert.equal(latch.isSet(), set);
        if (op === 'waitNow') assert.equal(latch.waitSync(0), set, 'a wait returns at once, reporting the latch');
        if (op === 'waitAsyncNow') assert.equal(await latch.waitAsync(0), set, 'likewise asynchronously');
        if (op === 'set') word = 1;
        else if (op === 'reset') word = set ? 0 : word;
        else if (op !== 'isSet' && !set) word = 2;
        assert.equal(Atomics.load(latch.i32, 1), word, 'the word is what the model says; waits never reset it');
      }
    }),
    { numRuns: 300 },
  );
  t.pass('every sequence matched');
});
