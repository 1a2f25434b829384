/**
 * pmsignal: how workers get the host's attention, and how the host tells everyone it is
 * gone (pmsignal.c).
 *
 *   H_PMSIGNAL   one bit per reason (PMSignalReason). Anyone raises a reason with Atomics.or
 *                and then sets the host's latch (H_PM_LATCH); the host consumes every raised
 *                reason at once with Atomics.exchange(0) at the start of a server-loop pass.
 *                Reasons raised together, or the same reason raised many times before the
 *                host looks, merge into one pass: a reason says "look", never "how often".
 *   H_PM_DEATH   0 while the host lives; the host stores 1 once, when it dies (a crash with
 *                restartAfterCrash off, or the end of shutdown), and then wakes every latch
 *                sleeper so that it re-checks. Waits see it as WL_POSTMASTER_DEATH.
 *
 * Ordering (latch.h's rule): the reason bit is published before the latch is set, and the
 * host resets its latch before it consumes the bits, so a reason raised during a pass is
 * either consumed by that pass or sets the latch for the next one. Death is published before
 * the wake-ups, so a woken sleeper that loads H_PM_DEATH sees it.
 *
 * Who may call what: raise and isDead from any thread; consume and declareDeath from the
 * host only.
 */
import { H_PM_DEATH, H_PMSIGNAL } from './layout.js';
import type { ProcArray } from './proc-array.js';

/** A worker changed the slot array: a registration, or a terminate flag (PMSIGNAL_BACKGROUND_WORKER_CHANGE). */
export const PMSIGNAL_BACKGROUND_WORKER_CHANGE = 1;

export class PmSignal {
  private readonly i32: Int32Array;

  constructor(private readonly procs: ProcArray) {
    this.i32 = procs.seg.i32;
  }

  /** SendPostmasterSignal: publish the reason, then set the host's latch. */
  raise(reason: number): void {
    Atomics.or(this.i32, H_PMSIGNAL, reason);
    this.procs.postmasterLatch().set();
  }

  /** Host: every reason raised since the last call (CheckPostmasterSignal for all at once). */
  consume(): number {
    return Atomics.exchange(this.i32, H_PMSIGNAL, 0);
  }

  /** Host: it is gone for good; every worker waiting on a latch sees WL_POSTMASTER_DEATH. */
  declareDeath(): void {
    Atomics.store(this.i32, H_PM_DEATH, 1);
    Atomics.notify(this.i32, H_PM_DEATH);
    for (let slot = 0; slot < this.procs.seg.layout.totalSlots; slot++) this.procs.latch(slot).wakeWaiters();
  }

  /** PostmasterIsAlive, negated. */
  isDead(): boolean {
    return Atomics.load(this.i32, H_PM_DEATH) !== 0;
  }
}
