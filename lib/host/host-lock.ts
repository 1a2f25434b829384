/**
 * A named LWLock as the host thread uses it: acquisition never blocks the event loop
 * (Atomics.waitAsync), and `with` releases on every path. The host is one thread running
 * many async tasks, so two host tasks may contend for the same lock like two workers; the
 * lock does not track holders per task, which is why only `with` is offered.
 */
import type { LWLock, LWLockMode } from '../shm/lwlock.js';

export class HostLWLock {
  constructor(private readonly lock: LWLock) {}

  get name(): string {
    return this.lock.name;
  }

  async with<T>(mode: LWLockMode, fn: () => T | Promise<T>): Promise<T> {
    await this.lock.acquireAsync(mode);
    try {
      return await fn();
    } finally {
      this.lock.releaseUntracked(mode);
    }
  }
}
