/**
 * Latch: one Int32 word that any thread may set and only its owner resets and waits on
 * (storage/latch.h).
 *
 *   0 = not set, 1 = set, 2 = not set and the owner may be asleep (latch.c's maybe_sleeping).
 *
 * latch.c keeps is_set and maybe_sleeping in two fields; here they share the word, so the
 * futex wait's own compare ("sleep only while the word is still 2") is the re-check of
 * is_set that latch.c makes after raising maybe_sleeping.
 *
 * SetLatch: if the word already reads 1, nothing (many sets collapse into one wake-up);
 * else Atomics.exchange to 1, and Atomics.notify only if the old value was 2. A set that
 * finds nobody marked asleep costs no notify, which is what a spinning or running owner
 * gets. ResetLatch: compareExchange 1→0; it never turns 2 into 0, since another wait of the
 * owner's (an async one, on the same thread) may still sleep on the mark. A wait: a
 * compareExchange 0→2 (a 1 ends the wait at once, a 2 was left by an earlier wait and
 * stays), then Atomics.wait on 2. The mark is left in place when the wait ends: the next
 * set then pays one needless notify, and the set-reset cycle clears it.
 *
 * No lost wake-up. The setter's exchange and the owner's marking compareExchange are
 * read-modify-writes of one word, so one comes first. Setter first: the owner's
 * compareExchange reads 1 and does not sleep. Owner first: the exchange reads 2 and
 * notifies, and Atomics.wait compares and enqueues atomically with respect to that notify,
 * so the owner either sees 1 and does not sleep or is woken. Only a set (followed by its
 * notify) or a zeroing of shared memory (segment.ts notifies every word after one) turns a 2
 * into something else while the owner may sleep.
 *
 * Atomics operations are sequentially consistent, which gives the full barrier latch.h asks
 * for, so "clear, then check for work" cannot be reordered into "check, then clear".
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
 * The optional spin polls the word for a bounded number of iterations before the owner
 * marks itself asleep: a set that arrives while the owner still spins costs neither side a
 * futex call. It is off by default; an idle waiter never spins for longer than one burst.
 */

import { waitAsyncHeld } from './keep-alive.js';

export const LATCH_UNSET = 0;
export const LATCH_SET = 1;
/** Not set, and the owner may be asleep on the word: a set must notify. */
export const LATCH_SLEEPING = 2;

export class Latch {
  constructor(readonly i32: Int32Array, readonly index: number) {}

  /** SetLatch: safe from any thread, any number of times. */
  set(): void {
    if (Atomics.load(this.i32, this.index) === LATCH_SET) return;
    if (Atomics.exchange(this.i32, this.index, LATCH_SET) === LATCH_SLEEPING) Atomics.notify(this.i32, this.index);
  }

  /** ResetLatch: owner only. */
  reset(): void {
    Atomics.compareExchange(this.i32, this.index, LATCH_SET, LATCH_UNSET);
  }

  isSet(): boolean {
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /** Poll the word up to `spin` times; true as soon as it reads set. Reads no clock. */
  spinUntilSet(spin: number): boolean {
    for (let i = 0; i < spin; i++) {
      if (Atomics.load(this.i32, this.index) === LATCH_SET) return true;
    }
    return false;
  }

  /**
   * Block until the latch is set or `timeoutMs` passes (Infinity: no timeout). Returns
   * true if it was set. Worker threads only: on the host thread this would stall the loop.
   */
  waitSync(timeoutMs: number, spin = 0): boolean {
    if (spin > 0 && this.spinUntilSet(spin)) return true;
    if (!this.markSleeping()) return true;
    Atomics.wait(this.i32, this.index, LATCH_SLEEPING, timeoutMs);
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /** Like waitSync, without blocking the thread; resolves true if the latch was set. */
  async waitAsync(timeoutMs: number): Promise<boolean> {
    if (!this.markSleeping()) return true;
    await waitAsyncHeld(this.i32, this.index, LATCH_SLEEPING, timeoutMs);
    return Atomics.load(this.i32, this.index) === LATCH_SET;
  }

  /** Wake whoever sleeps on this latch without setting it; they re-check and sleep again. */
  wakeWaiters(): void {
    Atomics.notify(this.i32, this.index);
  }

  /** maybe_sleeping = true, then is_set re-checked, in one step: false if the latch is set. */
  private markSleeping(): boolean {
    return Atomics.compareExchange(this.i32, this.index, LATCH_UNSET, LATCH_SLEEPING) !== LATCH_SET;
  }
}
