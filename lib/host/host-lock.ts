/**
 * A named LWLock as the host thread uses it: acquisition never blocks the event loop
 * (Atomics.waitAsync), and `with` releases on every path. The host is one thread running
 * many async tasks, so two host tasks may contend for the same lock like two workers; the
 * lock does not track holders per task, which is why only `with` is offered.
 *
 * One count per field. However many host tasks use a lock, the host is counted in each
 * field of its word at most once, which is what bounds the fields (lwlock.ts): the host
 * tasks of one lock pass a gate, first come first served, and only the task at the gate
 * is in acquireAsync (the one host task the word may count as a queued writer or a
 * sleeper); the others wait in JavaScript, where no count can overflow. Host tasks holding
 * the lock shared share one shared count: a reference count here, the word's count going
 * 1 → 0 only when the last of them leaves. A new host reader joins them only while no
 * writer is queued in the word and no host task waits at the gate, so writers keep their
 * preference over readers and host tasks keep their order. Each host has one HostLWLock per
 * lock (HostLocks.for), so every task of the host passes the same gate.
 *
 * Holds and crash cycles. PostgreSQL's postmaster never takes an LWLock; this host does, so
 * the end of a crash cycle has to account for it. HostLocks, one per host, counts the holds
 * of every host task on every lock; the crash cycle reinitializes shared memory only when
 * that count is 0 (as well as every thread being gone), because a release after the reset
 * would subtract from a zeroed word. The release that brings the count to 0 calls the
 * host's `onIdle` (which sets its latch), so that the waiting pass runs. A host task that
 * holds a lock must therefore not wait for the crash cycle to end (for 'reinitialized', or
 * a worker of the next generation): the cycle waits for it. A task that is only waiting for
 * a lock may span the reset; acquireAsync starts over in the new segment (lwlock.ts).
 */
import { checkLockMode, type AsyncLWLock, type LWLockMode } from '../shm/lwlock.js';

/** The host's side of its LWLocks: one HostLWLock per lock, and the count of holds a reset waits for. */
export class HostLocks {
  private holds = 0;
  private readonly byLock = new Map<AsyncLWLock, HostLWLock>();

  constructor(private readonly onIdle: () => void) {}

  /** The one HostLWLock of this host for `lock`. */
  for(lock: AsyncLWLock): HostLWLock {
    let h = this.byLock.get(lock);
    if (!h) this.byLock.set(lock, (h = new HostLWLock(lock, this)));
    return h;
  }

  /** Host tasks holding a lock now; the end of a crash cycle waits for 0. */
  get held(): number {
    return this.holds;
  }

  taken(): void {
    this.holds++;
  }

  released(): void {
    if (--this.holds === 0) this.onIdle();
  }
}

/** Compact the gate's queue once this many served entries sit at its front. */
const COMPACT_AFTER = 1024;

export class HostLWLock {
  /** Host tasks holding the lock shared: one shared count in the word for all of them. */
  private readers = 0;
  /** A host task is at the gate: between its turn and its hold, possibly counted in the word. */
  private gateTaken = false;
  /** Host tasks waiting for the gate, oldest at `head`. */
  private readonly queue: Array<(() => void) | undefined> = [];
  private head = 0;
  /** The task at the gate waiting for the host's readers to leave (a writer is queued ahead of it). */
  private readersGone: (() => void) | null = null;

  constructor(private readonly lock: AsyncLWLock, private readonly holds: HostLocks) {}

  get name(): string {
    return this.lock.name;
  }

  async with<T>(mode: LWLockMode, fn: () => T | Promise<T>): Promise<T> {
    checkLockMode(mode, this.lock.name);
    await this.take(mode);
    this.holds.taken();
    try {
      return await fn();
    } finally {
      this.drop(mode);
      this.holds.released();
    }
  }

  private async take(mode: LWLockMode): Promise<void> {
    if (mode === 'shared' && this.readers > 0 && !this.gateTaken && !this.lock.writersQueued()) {
      this.readers++;
      return;
    }
    await this.enterGate();
    try {
      if (mode === 'shared' && this.readers > 0) {
        if (!this.lock.writersQueued()) {
          this.readers++;
          return;
        }
        // Behind a queued writer: the host's shared count must go before this task counts again.
        await new Promise<void>((res) => (this.readersGone = res));
      }
      await this.lock.acquireAsync(mode);
      if (mode === 'shared') this.readers++;
    } finally {
      this.leaveGate();
    }
  }

  private drop(mode: LWLockMode): void {
    if (mode === 'exclusive') return this.lock.releaseUntracked('exclusive');
    if (--this.readers > 0) return;
    this.lock.releaseUntracked('shared');
    const gone = this.readersGone;
    this.readersGone = null;
    gone?.();
  }

  private enterGate(): Promise<void> | undefined {
    if (!this.gateTaken) {
      this.gateTaken = true;
      return undefined;
    }
    return new Promise((res) => this.queue.push(res));
  }

  /** Hand the gate to the oldest waiting task (it stays taken), or open it. */
  private leaveGate(): void {
    const next = this.queue[this.head];
    if (next === undefined) {
      this.gateTaken = false;
      this.queue.length = 0;
      this.head = 0;
      return;
    }
    this.queue[this.head++] = undefined;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    next();
  }
}
