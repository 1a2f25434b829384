/**
 * LWLock: a reader/writer lock on one Int32 state word, with a word counting sleepers and
 * one wake word per mode for them to sleep on (lwlock.c, re-derived for Atomics).
 *
 *   state           bits 0..14   number of shared holders
 *                   bits 15..29  number of exclusive requests waiting (writers queued)
 *                   bit  30      held exclusively
 *   sleepers        bits 0..15   readers inside Atomics.wait / waitAsync
 *                   bits 16..31  writers inside Atomics.wait / waitAsync
 *   wake.shared     readers sleep on it; odd ("armed") while a reader may sleep on it
 *   wake.exclusive  writers sleep on it; bumped to wake one
 *
 * Bound. Each count field of the state word holds 32,767, each field of the sleeper word
 * 65,535, and no more than MAX_BACKENDS + 1 (4,097) parties can ever be counted in one: a
 * count that overflowed would carry into the next field and corrupt the lock for good. At
 * most MAX_BACKENDS worker threads exist (maxWorkerProcesses is capped there), and each
 * counts at most once per lock in each field: a thread's lock object refuses to be taken
 * twice, and a blocked acquire is the only way into the writer and sleeper fields, so a
 * thread is queued for at most one lock at a time. The host thread counts at most once per
 * field as well, however many of its tasks use the lock: its HostLWLock lets one host task
 * at a time into the word and queues the others in JavaScript, and host tasks holding the
 * lock shared share one shared count (host-lock.ts). Bit 31 of either word is never set.
 *
 * Shared acquire succeeds by CAS (s → s+1) only when the lock is not held exclusively
 * *and no writer is queued*: unlike PostgreSQL, a queued writer holds off new readers, so
 * a flood of readers cannot starve a writer. Exclusive acquire first tries CAS 0 → EXCL;
 * failing that it counts itself in the queued-writer bits and retries until the shared
 * count drains, taking EXCL and leaving the queue in one CAS.
 *
 * Spin, then sleep. Sections under an LWLock are short (tenths of a µs to a few µs) and a
 * futex sleep costs the sleeper tens of µs before it runs again and the releaser a notify,
 * so a request that finds the lock taken first spins: at most SPIN_LOADS loads of the
 * state word (a few µs), no stores, trying again as soon as the word shows the lock free
 * for its mode. Only a request that outlasts the spin, because the holder was preempted
 * or holds long, sleeps. A woken waiter spins again before it sleeps again. The host
 * thread never spins: it would stall its event loop.
 *
 * Whom a release wakes. Readers wait for EXCL and queued writers to clear, writers for
 * EXCL and readers, so only two releases ever let a sleeper in, and each wakes only those
 * who can then proceed: the last reader out, with a writer queued, wakes one writer; a
 * writer's release wakes one writer if another is queued, and otherwise every sleeping
 * reader, together. A reader leaving other readers behind wakes nobody and touches only
 * the state word; no release wakes a herd that would go back to sleep.
 *
 * No lost wake-up. A sleeper counts itself in `sleepers`, takes its ticket (a reader arms
 * wake.shared, making it odd, and takes the armed value; a writer reads wake.exclusive),
 * tries once more, and only then waits on its wake word for a change from the ticket. A
 * releaser changes `state` first and only then looks for sleepers. With sequentially
 * consistent Atomics, either the sleeper's last try sees the release, or the releaser sees
 * the sleeper (an armed wake.shared, or a writer in `sleepers`), moves the wake word and
 * notifies; a wait that begins after the move returns at once. Wake words only grow, so a
 * ticket never comes back. For readers, a waker that finds wake.shared odd moves it to even
 * by CAS (from odd only wakers move it, so a lost CAS means another waker did it) and
 * notifies all; a release that finds it even notifies nobody, since every reader that armed
 * it was woken. For writers, the release bumps wake.exclusive and wakes one; the one woken
 * either takes the lock or finds that another queued writer took it, and that writer's
 * release wakes the next, so queued writers are woken one by one and none is forgotten.
 * A woken waiter competes again; the lock is not handed over (lwlock.c does the same).
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
 * *wait* across a reset: the zeroing erases the writer count and the sleeper count it added
 * (and the reset notifies every word of the lock, its wake word among them), so
 * acquireAsync notes the segment's epoch (H_EPOCH, bumped by every reset before its
 * wake-ups) when it counts itself, and after each sleep compares: if the epoch moved, it
 * removes nothing and starts the acquisition over in the new segment.
 */
import { MAX_SIMUL_LWLOCKS } from '../constants.js';
import { InvalidLockModeError, LockAlreadyHeldError, LockNotHeldError, TooManyLWLocksError } from '../errors.js';
import { waitAsyncHeld } from './keep-alive.js';
import {
  H_EPOCH, L_SLEEPERS, L_STATE, L_WAIT_BUCKETS, L_WAIT_MS, L_WAITS, L_WAKE_EXCLUSIVE, L_WAKE_SHARED, LWLOCK_WAIT_BOUNDS_US,
} from './layout.js';

export const LW_SHARED_MASK = 0x7fff;
export const LW_WRITER_ONE = 1 << 15;
export const LW_WRITERS_MASK = 0x7fff << 15;
export const LW_VAL_EXCLUSIVE = 1 << 30;

/** The sleeper word's fields: readers asleep, writers asleep. */
export const LW_SLEEPER_SHARED = 1;
export const LW_SLEEPER_EXCLUSIVE = 1 << 16;
export const LW_SHARED_SLEEPERS_MASK = 0xffff;

/** What holds a request off: a shared one waits out EXCL and queued writers, an exclusive one EXCL and readers. */
const SHARED_BLOCKERS = LW_VAL_EXCLUSIVE | LW_WRITERS_MASK;
const EXCLUSIVE_BLOCKERS = LW_VAL_EXCLUSIVE | LW_SHARED_MASK;

/** Loads of the state word a blocked request spends before it sleeps: about 5 µs here. */
export const SPIN_LOADS = 1000;

export type LWLockMode = 'shared' | 'exclusive';

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
  private readonly wakeShared: number;
  private readonly wakeExclusive: number;
  private hold = NOT_HELD;

  constructor(readonly i32: Int32Array, index: number, readonly name: string) {
    this.state = index + L_STATE;
    this.sleepers = index + L_SLEEPERS;
    this.wakeShared = index + L_WAKE_SHARED;
    this.wakeExclusive = index + L_WAKE_EXCLUSIVE;
  }

  /** Blocking acquire (worker threads). The uncontended path is one CAS (two beside other readers). */
  acquire(mode: LWLockMode): void {
    checkLockMode(mode, this.name);
    this.checkCanHold();
    if (mode === 'shared' ? !this.tryShared() : !this.tryExclusiveFromIdle()) this.acquireSlow(mode);
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

  /** Take this holder out of the word, then wake those it lets in, if any sleep (see the header). */
  protected releaseWord(mode: LWLockMode): void {
    if (mode === 'shared') {
      const s = Atomics.sub(this.i32, this.state, 1) - 1;
      if ((s & LW_SHARED_MASK) === 0 && (s & LW_WRITERS_MASK) !== 0) this.wakeWriter();
    } else {
      const s = Atomics.sub(this.i32, this.state, LW_VAL_EXCLUSIVE) - LW_VAL_EXCLUSIVE;
      if ((s & LW_WRITERS_MASK) !== 0) this.wakeWriter();
      else this.wakeReaders();
    }
  }

  /** One queued writer can go: wake one, if one sleeps. */
  private wakeWriter(): void {
    if (Atomics.load(this.i32, this.sleepers) < LW_SLEEPER_EXCLUSIVE) return;
    Atomics.add(this.i32, this.wakeExclusive, 1);
    Atomics.notify(this.i32, this.wakeExclusive, 1);
  }

  /** Every reader can go: wake all that sleep on the armed value, if it is armed. */
  private wakeReaders(): void {
    const armed = Atomics.load(this.i32, this.wakeShared);
    if ((armed & 1) === 0) return;
    if (Atomics.compareExchange(this.i32, this.wakeShared, armed, (armed + 1) | 0) !== armed) return;
    Atomics.notify(this.i32, this.wakeShared);
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

  /** A writer queues; then try, spin while the word says the lock is taken, and sleep only when the spin runs out. */
  private acquireSlow(mode: LWLockMode): void {
    publishHeld(1);
    if (mode === 'exclusive') this.queueWriter();
    let spins = SPIN_LOADS;
    for (;;) {
      if (this.attempt(mode)) return;
      if (spins > 0) spins = this.spin(mode, spins);
      else if (this.sleep(mode)) return;
      else spins = SPIN_LOADS;
    }
  }

  /** Count in the writer bits: from here on new readers hold off. */
  protected queueWriter(): void {
    Atomics.add(this.i32, this.state, LW_WRITER_ONE);
  }

  /** Load the word until it shows the lock free for `mode`: the loads left of `budget`, 0 if it stayed taken. */
  private spin(mode: LWLockMode, budget: number): number {
    const blockers = mode === 'shared' ? SHARED_BLOCKERS : EXCLUSIVE_BLOCKERS;
    for (let left = budget - 1; left >= 0; left--) {
      if ((Atomics.load(this.i32, this.state) & blockers) === 0) return left;
    }
    return 0;
  }

  /**
   * One try: true if it took the lock, false if the word shows it taken for `mode`. An
   * exclusive request must already be counted in the writer bits; it leaves them in the CAS
   * that takes EXCL.
   */
  protected attempt(mode: LWLockMode): boolean {
    const blockers = mode === 'shared' ? SHARED_BLOCKERS : EXCLUSIVE_BLOCKERS;
    for (;;) {
      const s = Atomics.load(this.i32, this.state);
      if ((s & blockers) !== 0) return false;
      const next = mode === 'shared' ? s + 1 : s - LW_WRITER_ONE + LW_VAL_EXCLUSIVE;
      if (Atomics.compareExchange(this.i32, this.state, s, next) === s) return true;
    }
  }

  private tryShared(): boolean {
    // Optimistic first: an idle lock goes 0 → 1 in a single CAS.
    const s = Atomics.compareExchange(this.i32, this.state, 0, 1);
    if (s === 0) return true;
    if ((s & SHARED_BLOCKERS) !== 0) return false;
    return Atomics.compareExchange(this.i32, this.state, s, s + 1) === s;
  }

  protected tryExclusiveFromIdle(): boolean {
    return Atomics.compareExchange(this.i32, this.state, 0, LW_VAL_EXCLUSIVE) === 0;
  }

  /**
   * Count in as a sleeper, take a ticket, try once more, and sleep until the wake word
   * moves from the ticket: true if that last try took the lock. The order is what loses no
   * wake-up (see the header).
   */
  private sleep(mode: LWLockMode): boolean {
    const word = this.countInAsSleeper(mode);
    const ticket = this.ticket(mode);
    if (this.attempt(mode)) {
      this.countOutAsSleeper(mode);
      return true;
    }
    const t0 = performance.now();
    Atomics.wait(this.i32, word, ticket);
    this.countOutAsSleeper(mode);
    this.recordWait(performance.now() - t0);
    return false;
  }

  /** Count this request in the sleeper word; the wake word it sleeps on. */
  protected countInAsSleeper(mode: LWLockMode): number {
    Atomics.add(this.i32, this.sleepers, mode === 'shared' ? LW_SLEEPER_SHARED : LW_SLEEPER_EXCLUSIVE);
    return mode === 'shared' ? this.wakeShared : this.wakeExclusive;
  }

  protected countOutAsSleeper(mode: LWLockMode): void {
    Atomics.sub(this.i32, this.sleepers, mode === 'shared' ? LW_SLEEPER_SHARED : LW_SLEEPER_EXCLUSIVE);
  }

  /** The wake-word value to sleep on: a reader arms wake.shared (odd) so that the next writer out moves it. */
  protected ticket(mode: LWLockMode): number {
    if (mode === 'exclusive') return Atomics.load(this.i32, this.wakeExclusive);
    for (;;) {
      const t = Atomics.load(this.i32, this.wakeShared);
      if ((t & 1) !== 0) return t;
      if (Atomics.compareExchange(this.i32, this.wakeShared, t, t + 1) === t) return t + 1;
    }
  }

  /** Only sleepers pay for statistics; an uncontended acquire, or one that spun, never gets here. */
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

/** How one asynchronous sleep ended: the try after counting in took the lock; woken; or the segment was reinitialized meanwhile. */
const SLEPT_ACQUIRED = 0;
const SLEPT_WOKEN = 1;
const SLEPT_RESET = 2;

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
    if (mode === 'exclusive') this.queueWriter();
    for (;;) {
      if (this.attempt(mode)) return true;
      const slept = await this.sleepAsync(mode, epoch);
      if (slept !== SLEPT_WOKEN) return slept === SLEPT_ACQUIRED;
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

  /** sleep() without blocking the event loop, and aware of resets. */
  private async sleepAsync(mode: LWLockMode, epoch: number): Promise<number> {
    const word = this.countInAsSleeper(mode);
    const ticket = this.ticket(mode);
    if (this.attempt(mode)) {
      this.countOutAsSleeper(mode);
      return SLEPT_ACQUIRED;
    }
    const t0 = performance.now();
    try {
      await waitAsyncHeld(this.i32, word, ticket);
    } finally {
      // After a reset the count is already gone, and the sleep belongs to no statistics.
      if (Atomics.load(this.i32, H_EPOCH) === epoch) {
        this.countOutAsSleeper(mode);
        this.recordWait(performance.now() - t0);
      }
    }
    return Atomics.load(this.i32, H_EPOCH) === epoch ? SLEPT_WOKEN : SLEPT_RESET;
  }
}
