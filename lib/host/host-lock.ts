/**
 * A named LWLock as the host thread uses it: acquisition never blocks the event loop
 * (Atomics.waitAsync), and `with` releases on every path. The host is one thread running
 * many async tasks, so two host tasks may contend for the same lock like two workers; the
 * lock does not track holders per task, which is why only `with` is offered.
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
import { checkLockMode, type LWLock, type LWLockMode } from '../shm/lwlock.js';

/** The host's side of its LWLocks: one HostLWLock per lock, and the count of holds a reset waits for. */
export class HostLocks {
  private holds = 0;
  private readonly byLock = new Map<LWLock, HostLWLock>();

  constructor(private readonly onIdle: () => void) {}

  /** The one HostLWLock of this host for `lock`. */
  for(lock: LWLock): HostLWLock {
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

export class HostLWLock {
  constructor(private readonly lock: LWLock, private readonly holds: HostLocks) {}

  get name(): string {
    return this.lock.name;
  }

  async with<T>(mode: LWLockMode, fn: () => T | Promise<T>): Promise<T> {
    checkLockMode(mode, this.lock.name);
    await this.lock.acquireAsync(mode);
    this.holds.taken();
    try {
      return await fn();
    } finally {
      this.lock.releaseUntracked(mode);
      this.holds.released();
    }
  }
}
