/**
 * THE shared-memory map. Every offset into the segment is named here and nowhere else.
 *
 * One SharedArrayBuffer holds everything PostgreSQL keeps in its main shared-memory
 * segment. Its size is fixed at start from the host's options (ipci.c's job): the slot
 * count, the bytes reserved for each slot's mainArg, the named locks and the named regions.
 *
 *   byte 0
 *   +--------------------------------------------------------------------------+
 *   | header                          HEADER_BYTES (64)                        |
 *   +--------------------------------------------------------------------------+
 *   | LWLocks: BackgroundWorkerLock, then one per named lock     LWLOCK_BYTES  |
 *   +--------------------------------------------------------------------------+
 *   | proc array: one PGPROC-like entry per slot                 PROC_BYTES    |
 *   |   latch | pending interrupts | pmchild state (dead-man switch)           |
 *   |   then hostProcs entries for the host thread's own latches (only P_LATCH |
 *   |   used): proc numbers totalSlots .. totalSlots + hostProcs - 1           |
 *   +--------------------------------------------------------------------------+
 *   | BackgroundWorkerArray: one slot per worker                 slotBytes     |
 *   |   fixed Int32 fields | generation (int64) | name type library function   |
 *   |   extra | mainArg (structured-clone bytes)                               |
 *   +--------------------------------------------------------------------------+
 *   | named regions (ShmemInitStruct), each REGION_ALIGN-aligned               |
 *   +--------------------------------------------------------------------------+
 *
 * Everything a thread may wait on or update atomically is an Int32 at a 4-byte boundary
 * (BigInt64 at 8 bytes for the generation), since Atomics.wait/notify need those types.
 * Each lock, proc entry and region starts on its own 64-byte line so that two threads
 * spinning on neighbouring words do not share a cache line.
 *
 * Who writes what (docs/semantics.md §4.3), with the Atomics operation each uses:
 *
 *   field                  writer                                   reader
 *   H_PM_DEATH             host: store 1 when it dies               anyone waiting: load
 *   H_PM_LATCH             anyone: SetLatch after raising a reason  host only (its latch)
 *   H_PMSIGNAL             anyone: Atomics.or a reason bit          host: Atomics.exchange 0
 *   H_PARALLEL_REGISTER    registrants, exclusive lock              registrants, lock
 *   H_PARALLEL_TERMINATE   host only, no lock                       registrants
 *   H_EPOCH                host: reinitialize stores the old value  host's acquireAsync: load, to
 *                          + 1 after zeroing, before its wake-ups   tell a reset from a wake-up
 *   H_USABLE_SLOTS         host (start, setMaxWorkerProcesses)      registrants, exclusive lock
 *   P_LATCH                anyone sets (exchange →1, notify if it   owner resets (CAS 1→0), marks
 *                          was 2: the owner may sleep)              itself asleep (CAS 0→2), waits
 *   P_INTERRUPTS           host: Atomics.or a signal bit            owner: Atomics.and to clear
 *   P_PMCHILD_STATE        host: ASSIGNED at launch; owner: ACTIVE  host, when the thread exits
 *                          at start, ASSIGNED on its orderly exit
 *   P_LATCH_WAITS          owner: Atomics.add per sleep             host (metrics): load
 *   P_STOP_REASON          host: store before raising SIGTERM       owner, when it takes SIGTERM
 *   P_LWLOCK_HAZARD        owner: plain store of locks held (+1     host, after the thread is
 *                          while queued for one)                    gone: Atomics.load
 *   P_ATTACHMENTS          owner: plain store of queues and dsm     host, likewise
 *                          segments attached
 *   P_CRIT_SECTION         owner: plain store of its critical-      host, likewise
 *                          section depth
 *   L_WAITS, L_WAIT_MS,    a sleeper, after each sleep: Atomics.add host (metrics): load
 *   L_WAIT_BUCKETS..
 *   S_IN_USE               registrant 0→1 (last, Atomics.store);    everyone: Atomics.load
 *                          host 1→0 (last, Atomics.store)
 *   S_TERMINATE            registrant (exclusive lock) or host      host
 *   S_PID                  host (launch, exit); registrant sets -1  anyone: Atomics.load
 *   S64_GENERATION         registrant, exclusive lock, slot free    anyone: Atomics.load
 *   every other S_ field   registrant, exclusive lock, slot free    host copies after seeing in_use
 *
 * Ownership of a slot passes with S_IN_USE (bgworker.c): while 0 the registrants own it and
 * may write every field under the exclusive BackgroundWorkerLock; they fill it in and only
 * then store 1. While 1 the host owns it; registrants may only set S_TERMINATE. The host
 * frees a slot by storing 0 after its last write. Atomics operations are sequentially
 * consistent, so the store to S_IN_USE is the barrier PostgreSQL writes by hand.
 *
 * The host never takes a lock to read the array and never trusts it: it copies names with
 * bounded lengths and sizes, as BackgroundWorkerStateChange does.
 */
import { BGW_EXTRALEN, BGW_MAXLEN, MAXPGPATH } from '../constants.js';

export const SEGMENT_MAGIC = 0x62677731; // "bgw1"
export const LAYOUT_VERSION = 4;

export const CACHE_LINE = 64;
export const REGION_ALIGN = CACHE_LINE;

/**
 * The largest segment: Int32 and BigInt64 indices are computed from byte offsets with `>>`,
 * which is exact only below 2^31. A dynamic segment has the same bound (MAX_DSM_BYTES).
 */
export const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

/** Header, as Int32 indices. */
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_TOTAL_SLOTS = 2;
export const H_PM_DEATH = 3;
export const H_PM_LATCH = 4;
export const H_PMSIGNAL = 5;
export const H_PARALLEL_REGISTER = 6;
export const H_PARALLEL_TERMINATE = 7;
export const H_MAIN_ARG_BYTES = 8;
export const H_MAX_PARALLEL_WORKERS = 9;
/**
 * How many times the segment has been reinitialized. The one word a reset does not start
 * from zero: a host task asleep on a lock across the reset compares it to tell that the
 * counts it put in the lock's words were erased (lwlock.ts).
 */
export const H_EPOCH = 10;
/** Slots registrants may claim: 0 .. H_USABLE_SLOTS - 1 of totalSlots (setMaxWorkerProcesses). */
export const H_USABLE_SLOTS = 11;
export const HEADER_BYTES = CACHE_LINE;

/** An LWLock: state word and sleeper count (see lwlock.ts). */
export const LWLOCK_BYTES = CACHE_LINE;
export const L_STATE = 0;
export const L_SLEEPERS = 1;
export const L_WAKE_SHARED = 2;
export const L_WAKE_EXCLUSIVE = 3;
/** Wait statistics, bumped by sleepers only (Atomics.add): sleeps, total ms asleep, a histogram. */
export const L_WAITS = 4;
export const L_WAIT_MS = 5;
export const L_WAIT_BUCKETS = 6;
/** Upper bounds (µs) of the histogram's buckets; the last bucket takes everything longer. */
export const LWLOCK_WAIT_BOUNDS_US = [10, 100, 1_000, 10_000, 100_000, 1_000_000] as const;

/** A proc entry, as Int32 indices relative to its start. */
export const PROC_BYTES = CACHE_LINE;
export const P_LATCH = 0;
export const P_INTERRUPTS = 1;
export const P_PMCHILD_STATE = 2;
/** How many times the slot's workers slept in WaitLatch (owner: Atomics.add; host: load). */
export const P_LATCH_WAITS = 3;
/**
 * Why the host sent the pending SIGTERM (STOP_REASON_*), so the worker's abort signal can
 * say. Written by the host before the signal bit, read by the owner when it takes it.
 */
export const P_STOP_REASON = 4;
/**
 * What a hard stop of the owner would leave half-done, kept by the owner with plain stores
 * and read by the host only after the thread is gone (a thread's writes are visible once it
 * has been joined): LWLocks held, plus one while it is queued for one (it is counted in the
 * lock word); queues and dsm segments attached; critical-section depth. All zero: a hard
 * stop leaves nothing of shared memory half-written (docs/semantics.md §3.7).
 */
export const P_LWLOCK_HAZARD = 5;
export const P_ATTACHMENTS = 6;
export const P_CRIT_SECTION = 7;

/** P_STOP_REASON values. */
export const STOP_REASON_NONE = 0;
export const STOP_REASON_TERMINATE = 1;
export const STOP_REASON_SHUTDOWN = 2;
export const STOP_REASON_DEADLINE = 3;

/** pmchild states (pmsignal.c's dead-man switch). */
export const PM_CHILD_UNUSED = 0;
export const PM_CHILD_ASSIGNED = 1;
export const PM_CHILD_ACTIVE = 2;

/** A slot's Int32 fields, relative to the slot's first Int32. */
export const S_IN_USE = 0;
export const S_TERMINATE = 1;
export const S_PID = 2;
export const S_NOTIFY_PID = 3;
export const S_FLAGS = 4;
export const S_START_TIME = 5;
export const S_RESTART_TIME = 6;
export const S_NAME_LEN = 7;
export const S_TYPE_LEN = 8;
export const S_LIBRARY_LEN = 9;
export const S_FUNCTION_LEN = 10;
export const S_EXTRA_LEN = 11;
export const S_ARG_LEN = 12;
/** Per-worker resource limits (0 = Node's default), in MB: old and young generation, code range, stack. */
export const S_RL_OLD_GEN = 16;
export const S_RL_YOUNG_GEN = 17;
export const S_RL_CODE_RANGE = 18;
export const S_RL_STACK = 19;
/** Options beyond PostgreSQL's (OPT_* bits) and the per-life deadline in ms (0 = none). */
export const S_OPTIONS = 20;
export const S_MAX_RUNTIME_MS = 21;
/** S_OPTIONS: readiness is declared by ctx.ready(), not the entry's start. */
export const OPT_READY_DECLARED = 1;
/** S_OPTIONS: the worker's thread may be reused after a clean end. */
export const OPT_REUSABLE = 2;
/** The generation, as a BigInt64 index relative to the slot's first BigInt64. */
export const S64_GENERATION = 7;
/** Byte offsets of the variable fields, relative to the slot's start. */
export const SB_NAME = 96;
export const SB_TYPE = SB_NAME + BGW_MAXLEN;
export const SB_LIBRARY = SB_TYPE + BGW_MAXLEN;
export const SB_FUNCTION = SB_LIBRARY + MAXPGPATH;
export const SB_EXTRA = SB_FUNCTION + BGW_MAXLEN;
export const SB_ARG = SB_EXTRA + BGW_EXTRALEN;

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function slotBytes(mainArgBytes: number): number {
  return alignUp(SB_ARG + mainArgBytes, CACHE_LINE);
}

export interface RegionPlacement {
  name: string;
  byteOffset: number;
  byteLength: number;
}

/** Where everything sits; computed once by the host and sent to every thread. */
export interface SegmentLayout {
  totalSlots: number;
  /** Proc entries after the slots' own, handed out to host-side queue endpoints. */
  hostProcs: number;
  mainArgBytes: number;
  slotBytes: number;
  /** Names of the named LWLocks, in order after BackgroundWorkerLock. */
  lockNames: string[];
  lockBase: number;
  procBase: number;
  slotBase: number;
  regions: RegionPlacement[];
  byteLength: number;
}

/** The size function: adds up every part, as CalculateShmemSize does. */
export function computeLayout(
  totalSlots: number,
  hostProcs: number,
  mainArgBytes: number,
  lockNames: string[],
  regionSizes: Array<[string, number]>,
): SegmentLayout {
  const lockBase = HEADER_BYTES;
  const procBase = lockBase + (1 + lockNames.length) * LWLOCK_BYTES;
  const slotBase = procBase + (totalSlots + hostProcs) * PROC_BYTES;
  const oneSlot = slotBytes(mainArgBytes);
  let offset = slotBase + totalSlots * oneSlot;
  const regions: RegionPlacement[] = [];
  for (const [name, size] of regionSizes) {
    offset = alignUp(offset, REGION_ALIGN);
    regions.push({ name, byteOffset: offset, byteLength: size });
    offset += size;
  }
  return {
    totalSlots,
    hostProcs,
    mainArgBytes,
    slotBytes: oneSlot,
    lockNames: [...lockNames],
    lockBase,
    procBase,
    slotBase,
    regions,
    byteLength: alignUp(offset, CACHE_LINE),
  };
}

/** Int32 index of lock `n` (0 = BackgroundWorkerLock) in the segment. */
export function lockIndex(layout: SegmentLayout, n: number): number {
  return (layout.lockBase + n * LWLOCK_BYTES) >> 2;
}

/** Int32 index of proc entry `n`: a slot's, or (n >= totalSlots) a host latch's. */
export function procIndex(layout: SegmentLayout, n: number): number {
  return (layout.procBase + n * PROC_BYTES) >> 2;
}

/** Byte offset of slot `n`. */
export function slotOffset(layout: SegmentLayout, n: number): number {
  return layout.slotBase + n * layout.slotBytes;
}
