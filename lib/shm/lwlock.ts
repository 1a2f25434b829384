/**
 * LWLock: a reader/writer lock on one Int32 state word, with a second word counting
 * sleepers (lwlock.c, re-derived for Atomics).
 *
 *   state  bits 0..14   number of shared holders
 *          bits 15..29  number of exclusive requests waiting (writers queued)
 *          bit  30      held exclusively
 *   sleepers            threads inside Atomics.wait / waitAsync on `state`
 *
 * Bound. Each count field holds 32,767, and no more than MAX_BACKENDS + 1 (4,097) parties
 * can ever be counted in one: a count that overflowed would carry into the next field and
 * corrupt the lock for good. At most MAX_BACKENDS worker threads exist (maxWorkerProcesses
 * is capped there), and each counts at most once per lock in each field: a thread's lock
 * object refuses to be taken twice, and a blocked acquire is the only way into the writer
 * field, so a thread is queued for at most one lock at a time. The host thread counts at
 * most once per field as well, however many of its tasks use the lock: its HostLWLock lets
 * one host task at a time into the word and queues the others in JavaScript, and host tasks
 * holding the lock shared share one shared count (host-lock.ts). The sleeper word is a full
 * Int32 and holds at most one count per thread in the same way.
 *
 * Shared acquire succeeds by CAS (s → s+1) only when the lock is not held exclusively
 * *and no writer is queued*: unlike PostgreSQL, a queued writer holds off new readers, so
 * a flood of readers cannot starve a writer. Exclusive acquire first tries CAS 0 → EXCL;
 * failing that it counts itself in the queued-writer bits and retries until the shared
 * count drains, taking EXCL and leaving the queue in one CAS.
 *
 * Sleeping follows the futex rule: a waiter records itself in `sleepers`, then
 * Atomics.wait(state, s) with the value it last saw, so any change to the word between the
 * check and the sleep makes the wait return at once. A releaser changes `state` first and
 * then reads `sleepers`; with sequentially consistent Atomics either the releaser sees the
 * sleeper and notifies, or the sleeper's wait sees the new value. No wake-up is lost, and
 * an uncontended release costs no notify. A woken waiter competes again; the lock is not
 * handed over (lwlock.c does the same).
 *
 * Modes. Every entry that takes a mode refuses anything but 'shared' and 'exclusive'
 * (InvalidLockModeError) before it touches the word, since plain JavaScript can pass any
 * value and a wrong one would be counted as one mode and released as another.
 *
 * Worker threads acquire with blocking waits (`acquire`); the host thread never blocks and
 * uses `acquireAsync`, which only the host's lock objects have (AsyncLWLock; the host's
 * directory makes those, a worker's makes plain LWLocks). It is untracked — the host runs
 * many tasks, so no per-thread hold can be kept — and for that reason it is not offered to
 * workers at all: ctx.lock(name) has no acquireAsync, since an untracked hold would escape
 * LWLockReleaseAll and many async waiters of one thread would break the bound above. Every
 * thread keeps the list of locks it holds so the error and exit
 * paths can release them all (LWLockReleaseAll). A lock object knows whether this thread
 * holds it, so taking it twice is refused instead of deadlocking; use one object per lock
 * per thread (ShmemDirectory hands out the same one every time). A thread that dies
 * without running that path leaves the lock held: the host treats the death as a crash and
 * reinitializes shared memory, which is what frees the lock (docs/semantics.md §4.6).
 *
 * Resets and the host. Every worker thread is gone before the host reinitializes the
 * segment, so no worker holds or waits for a lock across a reset. The host can: it is never
 * reaped. Two rules keep its counts right. A host task never *holds* a lock across a reset:
 * the host counts its holds (host-lock.ts) and the end of a crash cycle waits until it holds
 * none, for a release after the reset would subtract from a zeroed word. A host task may
 * *wait* across a reset: the zeroing erases the writer count and the sleeper count it added,
 * so acquireAsync notes the segment's epoch (H_EPOCH, bumped by every reset before its
 * wake-ups) when it counts itself, and after each sleep compares: if the epoch moved, it
 * removes nothing and starts the acquisition over in the new segment.
 */
import { MAX_SIMUL_LWLOCKS } from '../constants.js';
import { InvalidLockModeError, LockAlreadyHeldError, LockNotHeldError, TooManyLWLocksError } from '../errors.js';
import { waitAsyncHeld } from './keep-alive.js';
import { H_EPOCH, L_SLEEPERS, L_STATE, L_WAIT_BUCKETS, L_WAIT_MS, L_WAITS, LWLOCK_WAIT_BOUNDS_US } from './layout.js';

export const LW_SHARED_MASK = 0x7fff;
export const LW_WRITER_ONE = 1 << 15;
export const LW_WRITERS_MASK = 0x7fff << 15;
export const LW_VAL_EXCLUSIVE = 1 << 30;

export type LWLockMode = 'shared' | 'exclusive';

/** attempt()'s success value: no state word has it, since bit 31 is never set. */
const ACQUIRED = -1;

/** How this thread holds a lock object: not, shared or exclusive. */
const NOT_HELD = 0;
const HELD_SHARED = 1;
const HELD_EXCLUSIVE = 2;
const holdOf = (mode: LWLockMode): number => (mode === 'shared' ? HELD_SHARED : HELD_EXCLUSIVE);

/**
 * Every entry that takes a mode checks it before it touches a shared word: the arithmetic
 * below treats anything but 'shared' as exclusive on the way in and subtracts the wrong
 * amount on the way out, which would corrupt the word for every thread. One compare or two.
 */
export function checkLockMode(mode: unknown, lockName: string): asserts mode is LWLockMode {
  if (mode === 'shared' || mode === 'exclusive') return;
  const shown = typeof mode === 'string' ? JSON.stringify(mode) : typeof mode === 'object' || typeof mode === 'function' ? `a value of type ${typeof mode}` : String(mode);
  throw new InvalidLockModeError(`lock "${lockName}": ${shown} is not a lock mode; use 'shared' or 'exclusive'`);
}

/** The locks this thread holds, in acquisition order (each records its own mode). */
const held: LWLock[] = [];

/**
 * Where this thread publishes, for the host, how many locks it holds (plus one while it is
 * queued for one): a plain store the host reads once the thread is gone, to tell a hard stop
 * that could leave a lock word counting a dead thread from one that cannot (layout.ts,
 * P_LWLOCK_HAZARD). Unset outside a worker's life.
 */
let hazard: { i32: Int32Array; index: number } | null = null;

export function publishLWLockHazard(i32: Int32Array, index: number): void {
  hazard = { i32, index };
}

function publishHeld(queued: 0 | 1): void {
  if (hazard) hazard.i32[hazard.index] = held.length + queued;
}

export function heldLWLockCount(): number {
  return held.length;
}

/** LWLockReleaseAll: the error/exit path of a worker. */
export function releaseAllLWLocks(): void {
  while (held.length > 0) {
    const lock = held[held.length - 1]!;
    lock.release(lock.heldMode()!);
  }
}

export class LWLock {
  protected readonly state: number;
  protected readonly sleepers: number;
  private hold = NOT_HELD;

  constructor(readonly i32: Int32Array, index: number, readonly name: string) {
    this.state = index + L_STATE;
    this.sleepers = index + L_SLEEPERS;
  }

  /** Blocking acquire (worker threads). The uncontended path is one load and one CAS. */
  acquire(mode: LWLockMode): void {
    checkLockMode(mode, this.name);
    this.checkCanHold();
    if (mode === 'shared') {
      if (!this.tryShared()) this.acquireShared();
    } else if (!this.tryExclusiveFromIdle()) {
      this.acquireExclusive();
    }
    this.track(mode);
  }

  /** LWLockConditionalAcquire: take it only if free now. */
  tryAcquire(mode: LWLockMode): boolean {
    checkLockMode(mode, this.name);
    this.checkCanHold();
    const ok = mode === 'shared' ? this.tryShared() : this.tryExclusiveFromIdle();
    if (ok) this.track(mode);
    return ok;
  }

  /** The mode in which this thread holds the lock through this object, or null. */
  heldMode(): LWLockMode | null {
    return this.hold === NOT_HELD ? null : this.hold === HELD_SHARED ? 'shared' : 'exclusive';
  }

  private track(mode: LWLockMode): void {
    this.hold = holdOf(mode);
    held.push(this);
    publishHeld(0);
  }

  /** Release from a thread that took the lock with acquire()/tryAcquire(). */
  release(mode: LWLockMode): void {
    checkLockMode(mode, this.name);
    if (this.hold !== holdOf(mode)) throw new LockNotHeldError(`lock "${this.name}" is not held in ${mode} mode by this thread`);
    this.hold = NOT_HELD;
    // Locks are nearly always released in reverse order: the last entry, no search.
    if (held[held.length - 1] === this) held.pop();
    else held.splice(held.lastIndexOf(this), 1);
    publishHeld(0);
    this.releaseWord(mode);
  }

  /** Take this holder out of the word; wake the sleepers, if any. */
  protected releaseWord(mode: LWLockMode): void {
    if (mode === 'shared') Atomics.sub(this.i32, this.state, 1);
    else Atomics.sub(this.i32, this.state, LW_VAL_EXCLUSIVE);
    if (Atomics.load(this.i32, this.sleepers) !== 0) Atomics.notify(this.i32, this.state);
  }

  /** Run `fn` under the lock (worker threads). */
  with<T>(mode: LWLockMode, fn: () => T): T {
    this.acquire(mode);
    try {
      return fn();
    } finally {
      this.release(mode);
    }
  }

  private checkCanHold(): void {
    if (this.hold !== NOT_HELD) {
      throw new LockAlreadyHeldError(`lock "${this.name}" is already held by this thread; taking it again would deadlock`);
    }
    if (held.length >= MAX_SIMUL_LWLOCKS) throw new TooManyLWLocksError(`too many LWLocks taken (${MAX_SIMUL_LWLOCKS})`);
  }

  private acquireShared(): void {
    publishHeld(1);
    for (;;) {
      const seen = this.attempt('shared');
      if (seen === ACQUIRED) return;
      this.sleep(seen);
    }
  }

  private acquireExclusive(): void {
    publishHeld(1);
    if (this.tryExclusiveFromIdle()) return;
    Atomics.add(this.i32, this.state, LW_WRITER_ONE);
    for (;;) {
      const seen = this.attempt('exclusive');
      if (seen === ACQUIRED) return;
      this.sleep(seen);
    }
  }

  /**
   * One try: ACQUIRED, or the state word that made us wait. The sleep must be on that same
   * value, so that a release landing between the try and the sleep makes the wait return at
   * once instead of waiting for a change that already happened. An exclusive request must
   * already be counted in the writer bits; it leaves them in the CAS that takes EXCL.
   */
  protected attempt(mode: LWLockMode): number {
    for (;;) {
      const s = Atomics.load(this.i32, this.state);
      const blockers = mode === 'shared' ? LW_VAL_EXCLUSIVE | LW_WRITERS_MASK : LW_VAL_EXCLUSIVE | LW_SHARED_MASK;
      if ((s & blockers) !== 0) return s;
      const next = mode === 'shared' ? s + 1 : s - LW_WRITER_ONE + LW_VAL_EXCLUSIVE;
      if (Atomics.compareExchange(this.i32, this.state, s, next) === s) return ACQUIRED;
    }
  }

  private tryShared(): boolean {
    // Optimistic first: an idle lock goes 0 → 1 in a single CAS.
    const s = Atomics.compareExchange(this.i32, this.state, 0, 1);
    if (s === 0) return true;
    if ((s & (LW_VAL_EXCLUSIVE | LW_WRITERS_MASK)) !== 0) return false;
    return Atomics.compareExchange(this.i32, this.state, s, s + 1) === s;
  }

  protected tryExclusiveFromIdle(): boolean {
    return Atomics.compareExchange(this.i32, this.state, 0, LW_VAL_EXCLUSIVE) === 0;
  }

  private sleep(seen: number): void {
    Atomics.add(this.i32, this.sleepers, 1);
    const t0 = performance.now();
    Atomics.wait(this.i32, this.state, seen);
    Atomics.sub(this.i32, this.sleepers, 1);
    this.recordWait(performance.now() - t0);
  }

  /** Only sleepers pay for statistics; an uncontended acquire never gets here. */
  protected recordWait(ms: number): void {
    const base = this.state - L_STATE;
    const us = ms * 1000;
    let b = LWLOCK_WAIT_BOUNDS_US.findIndex((bound) => us <= bound);
    if (b < 0) b = LWLOCK_WAIT_BOUNDS_US.length;
    Atomics.add(this.i32, base + L_WAITS, 1);
    Atomics.add(this.i32, base + L_WAIT_MS, Math.round(ms));
    Atomics.add(this.i32, base + L_WAIT_BUCKETS + b, 1);
  }

  /** Wait statistics: sleeps, ms asleep, and the count per bucket of LWLOCK_WAIT_BOUNDS_US (+ one for longer). */
  waitStats(): { waits: number; totalMs: number; buckets: number[] } {
    const base = this.state - L_STATE;
    const buckets = [];
    for (let b = 0; b <= LWLOCK_WAIT_BOUNDS_US.length; b++) buckets.push(Atomics.load(this.i32, base + L_WAIT_BUCKETS + b));
    return { waits: Atomics.load(this.i32, base + L_WAITS), totalMs: Atomics.load(this.i32, base + L_WAIT_MS), buckets };
  }
}

/**
 * The host thread's lock object: the LWLock with a non-blocking, untracked acquisition.
 * Only the host makes these (see the header); HostLWLock is its one user, and it lets one
 * host task at a time into acquireAsync for each lock.
 */
export class AsyncLWLock extends LWLock {
  /**
   * Non-blocking acquire; not tracked (the host's tasks interleave). A reset of the segment
   * while this task sleeps erases its counts (see the header): it then starts over in the
   * new epoch instead of removing counts it no longer has.
   */
  async acquireAsync(mode: LWLockMode): Promise<void> {
    checkLockMode(mode, this.name);
    if (mode === 'exclusive' && this.tryExclusiveFromIdle()) return;
    while (!(await this.acquireInEpoch(mode))) {
      // Reinitialized while asleep: the writer count and the sleeper count are gone; count again.
    }
  }

  /** One acquisition within one epoch of the segment: true once acquired, false if a reset came first. */
  private async acquireInEpoch(mode: LWLockMode): Promise<boolean> {
    const epoch = Atomics.load(this.i32, H_EPOCH);
    if (mode === 'exclusive') Atomics.add(this.i32, this.state, LW_WRITER_ONE);
    for (;;) {
      const seen = this.attempt(mode);
      if (seen === ACQUIRED) return true;
      if (!(await this.sleepAsync(seen, epoch))) return false;
    }
  }

  /** Release after acquireAsync. */
  releaseUntracked(mode: LWLockMode): void {
    checkLockMode(mode, this.name);
    this.releaseWord(mode);
  }

  /** Whether a writer is queued in the word: new readers must then wait behind it. */
  writersQueued(): boolean {
    return (Atomics.load(this.i32, this.state) & LW_WRITERS_MASK) !== 0;
  }

  /** Sleep on `seen`; false if the segment was reinitialized meanwhile (the sleeper count with it). */
  private async sleepAsync(seen: number, epoch: number): Promise<boolean> {
    Atomics.add(this.i32, this.sleepers, 1);
    const t0 = performance.now();
    try {
      await waitAsyncHeld(this.i32, this.state, seen);
    } finally {
      // After a reset the count is already gone, and the sleep belongs to no statistics.
      if (Atomics.load(this.i32, H_EPOCH) === epoch) {
        Atomics.sub(this.i32, this.sleepers, 1);
        this.recordWait(performance.now() - t0);
      }
    }
    return Atomics.load(this.i32, H_EPOCH) === epoch;
  }
}
