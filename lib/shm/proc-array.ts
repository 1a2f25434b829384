/**
 * The proc array: what PostgreSQL keeps per process in PGPROC and the pmsignal child
 * slots, one 64-byte entry per worker slot (layout.ts, P_* fields).
 *
 *   P_LATCH          the worker's process latch (MyLatch)
 *   P_INTERRUPTS     pending "signals": the host ORs a bit in, then sets the latch; the owner
 *                    clears bits as it services them (procsignal.c, without the signal)
 *   P_STOP_REASON    why the host sent the pending SIGTERM (STOP_REASON_* in layout.ts)
 *   P_LWLOCK_HAZARD, P_ATTACHMENTS, P_CRIT_SECTION  what a hard stop would leave half-done
 *   P_PMCHILD_STATE  the dead-man switch (pmsignal.c): ASSIGNED by the host at launch,
 *                    ACTIVE by the worker when it starts using shared state, back to
 *                    ASSIGNED on its orderly exit path. A thread that ends while ACTIVE
 *                    crashed, whatever its exit code.
 *
 * An entry belongs to the slot, and so to whichever thread runs that slot's worker now.
 */
import {
  H_PM_LATCH, P_ATTACHMENTS, P_CRIT_SECTION, P_INTERRUPTS, P_LATCH, P_LATCH_WAITS, P_LWLOCK_HAZARD, P_PMCHILD_STATE, P_STOP_REASON, procIndex,
} from './layout.js';
import { Latch } from './latch.js';
import type { Segment } from './segment.js';

/** Interrupt bits ("signals" a worker can receive). */
export const SIGTERM_PENDING = 1;
export const SIGHUP_PENDING = 2;
export const SIGINT_PENDING = 4;
export const SIGQUIT_PENDING = 8;

export type SignalName = 'SIGTERM' | 'SIGHUP' | 'SIGINT' | 'SIGQUIT';
export const SIGNAL_BITS: Record<SignalName, number> = {
  SIGTERM: SIGTERM_PENDING,
  SIGHUP: SIGHUP_PENDING,
  SIGINT: SIGINT_PENDING,
  SIGQUIT: SIGQUIT_PENDING,
};

export class ProcArray {
  constructor(readonly seg: Segment) {}

  latch(slot: number): Latch {
    return new Latch(this.seg.i32, procIndex(this.seg.layout, slot) + P_LATCH);
  }

  /** The host's own latch, set by anyone who raised a pmsignal reason. */
  postmasterLatch(): Latch {
    return new Latch(this.seg.i32, H_PM_LATCH);
  }

  /** Raise a signal bit, then set the latch: the order latch.h asks of every waker. */
  signal(slot: number, bit: number): void {
    Atomics.or(this.seg.i32, procIndex(this.seg.layout, slot) + P_INTERRUPTS, bit);
    this.latch(slot).set();
  }

  pendingInterrupts(slot: number): number {
    return Atomics.load(this.seg.i32, procIndex(this.seg.layout, slot) + P_INTERRUPTS);
  }

  clearInterrupts(slot: number, bits: number): void {
    Atomics.and(this.seg.i32, procIndex(this.seg.layout, slot) + P_INTERRUPTS, ~bits);
  }

  /** How many times the slot's workers have slept in WaitLatch since shared memory was initialized. */
  latchWaits(slot: number): number {
    return Atomics.load(this.seg.i32, procIndex(this.seg.layout, slot) + P_LATCH_WAITS);
  }

  childState(slot: number): number {
    return Atomics.load(this.seg.i32, procIndex(this.seg.layout, slot) + P_PMCHILD_STATE);
  }

  setChildState(slot: number, state: number): void {
    Atomics.store(this.seg.i32, procIndex(this.seg.layout, slot) + P_PMCHILD_STATE, state);
  }

  /** Host: why the SIGTERM it is about to raise was sent; store before the signal bit. */
  setStopReason(slot: number, reason: number): void {
    Atomics.store(this.seg.i32, procIndex(this.seg.layout, slot) + P_STOP_REASON, reason);
  }

  stopReason(slot: number): number {
    return Atomics.load(this.seg.i32, procIndex(this.seg.layout, slot) + P_STOP_REASON);
  }

  /**
   * Host, after the slot's thread is gone: would a hard stop have left shared state half
   * done? True while it held or waited for an LWLock, had queues or dsm segments attached,
   * or was inside a critical section.
   */
  hazardous(slot: number): boolean {
    const base = procIndex(this.seg.layout, slot);
    const i32 = this.seg.i32;
    return Atomics.load(i32, base + P_LWLOCK_HAZARD) !== 0 || Atomics.load(i32, base + P_ATTACHMENTS) !== 0 || Atomics.load(i32, base + P_CRIT_SECTION) !== 0;
  }

  /** The owner's hazard words, for plain stores (layout.ts, P_LWLOCK_HAZARD). */
  hazardIndex(slot: number): { lwlocks: number; attachments: number; critSection: number } {
    const base = procIndex(this.seg.layout, slot);
    return { lwlocks: base + P_LWLOCK_HAZARD, attachments: base + P_ATTACHMENTS, critSection: base + P_CRIT_SECTION };
  }

  /** A fresh life for the slot's proc entry: no stale interrupts, reasons or hazards, latch clear. */
  resetForLaunch(slot: number, state: number): void {
    const base = procIndex(this.seg.layout, slot);
    for (const f of [P_STOP_REASON, P_LWLOCK_HAZARD, P_ATTACHMENTS, P_CRIT_SECTION]) Atomics.store(this.seg.i32, base + f, 0);
    Atomics.store(this.seg.i32, base + P_INTERRUPTS, 0);
    // ResetLatch, not a store of 0: a maybe-sleeping mark must outlive the reset (latch.ts).
    this.latch(slot).reset();
    Atomics.store(this.seg.i32, base + P_PMCHILD_STATE, state);
  }
}
