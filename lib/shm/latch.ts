/**
 * Latch: one Int32 word that any thread may set and only its owner resets and waits on
 * (storage/latch.h).
 *
 *   0 = not set, 1 = set.
 *
 * SetLatch is a compareExchange 0→1 followed by Atomics.notify when it changed the word;
 * many sets collapse into one wake-up. ResetLatch is Atomics.store(0); Atomics operations
 * are sequentially consistent, which gives the full barrier latch.h asks for, so "clear,
 * then check for work" cannot be reordered into "check, then clear".
 *
 * The owner's loop must be (Pattern A, docs/semantics.md §5.3):
 *
 *     for (;;) {
 *       latch.reset();
 *       if (work to do) do it;
 *       latch.wait(...);
 *     }
 *
 * and a setter must publish its condition (a flag, a counter, queue bytes) *before*
 * calling set(). Checking anything between wait() and reset() can lose a wake-up: a set
 * that lands after the check is erased by the reset, and the next wait sleeps with work
 * pending (the 2016 shm_mq fix).
 *
 * This file is the bare primitive: it knows nothing of host death or interrupts. The
 * worker side adds those (worker/wait-latch.ts); the host waits only with waitAsync.
 *
 * The optional spin in wait() polls the word for a bounded number of iterations before
 * sleeping: a wake-up that arrives while the owner still spins costs no futex round trip.
 * It is off by default; an idle waiter never spins for longer than one bounded burst.
 */

import { waitAsyncHeld } from './keep-alive.js';

export const LATCH_UNSET = 0;
export const LATCH_SET = 1;

export class Latch {
  constructor(readonly i32: Int32Array, readonly index: number) {}

  /** SetLatch: safe from any thread, any number of times. */
  set(): void {
    if (Atomics.compareExchange(this.i32, this.index, LATCH_UNSET, LATCH_SET) === LATCH_UNSET) {
      Atomics.notify(this.i32, this.index);
    }
  }

  /** ResetLatch: owner only. */
  reset(): void {
    Atomics.store(this.i32, this.index, LATCH_UNSET);
  }

  isSet(): boolean {
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /**
   * Block until the latch is set or `timeoutMs` passes (Infinity: no timeout). Returns
   * true if it was set. Worker threads only: on the host thread this would stall the loop.
   */
  waitSync(timeoutMs: number, spin = 0): boolean {
    for (let i = 0; i < spin; i++) {
      if (Atomics.load(this.i32, this.index) === LATCH_SET) return true;
    }
    Atomics.wait(this.i32, this.index, LATCH_UNSET, timeoutMs);
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /** Like waitSync, without blocking the thread; resolves true if the latch was set. */
  async waitAsync(timeoutMs: number): Promise<boolean> {
    await waitAsyncHeld(this.i32, this.index, LATCH_UNSET, timeoutMs);
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /** Wake whoever sleeps on this latch without setting it; they re-check and sleep again. */
  wakeWaiters(): void {
    Atomics.notify(this.i32, this.index);
  }
}
