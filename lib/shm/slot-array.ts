/**
 * BackgroundWorkerArray: the shared slots through which registrants hand workers to the
 * host (bgworker.c's BackgroundWorkerSlot array). Field offsets and the ownership rule are
 * in layout.ts; this file only reads and writes them.
 *
 * Registrants call `fill` while they own a free slot (S_IN_USE = 0) under the exclusive
 * BackgroundWorkerLock, then `publish`, whose Atomics.store of S_IN_USE is the write
 * barrier that hands the slot to the host. The host calls `copyOut` after it has seen
 * S_IN_USE = 1: lengths are clamped to their field sizes, so a corrupt slot yields a
 * garbled name, never an out-of-bounds read. Only the host calls `free`.
 */
import { BGW_EXTRALEN, BGW_MAXLEN, MAXPGPATH } from '../constants.js';
import type { BackgroundWorkerEntry, BgWorkerStartTime, WorkerResourceLimits } from '../types.js';
import {
  S64_GENERATION, SB_ARG, SB_EXTRA, SB_FUNCTION, SB_LIBRARY, SB_NAME, SB_TYPE, S_ARG_LEN, S_EXTRA_LEN, S_FLAGS,
  S_FUNCTION_LEN, S_IN_USE, S_LIBRARY_LEN, S_NAME_LEN, S_NOTIFY_PID, S_PID, S_RESTART_TIME, S_START_TIME,
  S_RL_CODE_RANGE, S_RL_OLD_GEN, S_RL_STACK, S_RL_YOUNG_GEN, S_TERMINATE, S_TYPE_LEN, slotOffset, S_OPTIONS, S_MAX_RUNTIME_MS,
  OPT_READY_DECLARED, OPT_REUSABLE,
} from './layout.js';
import type { Segment } from './segment.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the host copies out of a slot: the entry and the mainArg's clone bytes. */
export interface SlotCopy {
  entry: BackgroundWorkerEntry;
  mainArg: Uint8Array;
}

export class BackgroundWorkerArray {
  readonly total: number;

  constructor(readonly seg: Segment) {
    this.total = seg.layout.totalSlots;
  }

  private i(n: number, field: number): number {
    return (slotOffset(this.seg.layout, n) >> 2) + field;
  }

  inUse(n: number): boolean {
    return Atomics.load(this.seg.i32, this.i(n, S_IN_USE)) === 1;
  }
  terminate(n: number): boolean {
    return Atomics.load(this.seg.i32, this.i(n, S_TERMINATE)) === 1;
  }
  setTerminate(n: number): void {
    Atomics.store(this.seg.i32, this.i(n, S_TERMINATE), 1);
  }
  pid(n: number): number {
    return Atomics.load(this.seg.i32, this.i(n, S_PID));
  }
  setPid(n: number, pid: number): void {
    Atomics.store(this.seg.i32, this.i(n, S_PID), pid);
  }
  generation(n: number): bigint {
    return Atomics.load(this.seg.i64, (slotOffset(this.seg.layout, n) >> 3) + S64_GENERATION);
  }
  setGeneration(n: number, g: bigint): void {
    Atomics.store(this.seg.i64, (slotOffset(this.seg.layout, n) >> 3) + S64_GENERATION, g);
  }
  flags(n: number): number {
    return Atomics.load(this.seg.i32, this.i(n, S_FLAGS));
  }

  /** Registrant, exclusive lock held, slot free: write every field but S_IN_USE. */
  fill(n: number, entry: BackgroundWorkerEntry, mainArg: Uint8Array, pid: number): void {
    const base = slotOffset(this.seg.layout, n);
    const i32 = this.seg.i32;
    i32[this.i(n, S_FLAGS)] = entry.flags;
    i32[this.i(n, S_START_TIME)] = entry.startTime;
    i32[this.i(n, S_RESTART_TIME)] = entry.restartTime;
    i32[this.i(n, S_NOTIFY_PID)] = entry.notifyPid;
    i32[this.i(n, S_NAME_LEN)] = this.put(base + SB_NAME, BGW_MAXLEN, entry.name);
    i32[this.i(n, S_TYPE_LEN)] = this.put(base + SB_TYPE, BGW_MAXLEN, entry.type);
    i32[this.i(n, S_LIBRARY_LEN)] = this.put(base + SB_LIBRARY, MAXPGPATH, entry.libraryName);
    i32[this.i(n, S_FUNCTION_LEN)] = this.put(base + SB_FUNCTION, BGW_MAXLEN, entry.functionName);
    this.seg.u8.set(entry.extra, base + SB_EXTRA);
    i32[this.i(n, S_EXTRA_LEN)] = entry.extra.length;
    this.seg.u8.set(mainArg, base + SB_ARG);
    i32[this.i(n, S_ARG_LEN)] = mainArg.length;
    const rl = entry.resourceLimits;
    i32[this.i(n, S_RL_OLD_GEN)] = rl.maxOldGenerationSizeMb ?? 0;
    i32[this.i(n, S_RL_YOUNG_GEN)] = rl.maxYoungGenerationSizeMb ?? 0;
    i32[this.i(n, S_RL_CODE_RANGE)] = rl.codeRangeSizeMb ?? 0;
    i32[this.i(n, S_RL_STACK)] = rl.stackSizeMb ?? 0;
    i32[this.i(n, S_OPTIONS)] = (entry.readiness === 'declared' ? OPT_READY_DECLARED : 0) | (entry.reusable ? OPT_REUSABLE : 0);
    i32[this.i(n, S_MAX_RUNTIME_MS)] = entry.maxRuntimeMs;
    Atomics.store(i32, this.i(n, S_TERMINATE), 0);
    Atomics.store(i32, this.i(n, S_PID), pid);
  }

  private resourceLimits(n: number): WorkerResourceLimits {
    const rl: WorkerResourceLimits = {};
    const put = (k: keyof WorkerResourceLimits, field: number) => {
      const v = this.seg.i32[this.i(n, field)]!;
      if (v > 0) rl[k] = v;
    };
    put('maxOldGenerationSizeMb', S_RL_OLD_GEN);
    put('maxYoungGenerationSizeMb', S_RL_YOUNG_GEN);
    put('codeRangeSizeMb', S_RL_CODE_RANGE);
    put('stackSizeMb', S_RL_STACK);
    return rl;
  }

  /** Registrant: hand the filled slot to the host. */
  publish(n: number): void {
    Atomics.store(this.seg.i32, this.i(n, S_IN_USE), 1);
  }

  /** Host only: the slot goes back to the registrants. Every other write must precede this. */
  free(n: number): void {
    Atomics.store(this.seg.i32, this.i(n, S_IN_USE), 0);
  }

  /** Host: a bounded copy of a published slot. */
  copyOut(n: number): SlotCopy {
    const base = slotOffset(this.seg.layout, n);
    const i32 = this.seg.i32;
    const extraLen = clamp(i32[this.i(n, S_EXTRA_LEN)]!, BGW_EXTRALEN);
    const argLen = clamp(i32[this.i(n, S_ARG_LEN)]!, this.seg.layout.mainArgBytes);
    const entry: BackgroundWorkerEntry = {
      name: this.get(base + SB_NAME, i32[this.i(n, S_NAME_LEN)]!, BGW_MAXLEN),
      type: this.get(base + SB_TYPE, i32[this.i(n, S_TYPE_LEN)]!, BGW_MAXLEN),
      libraryName: this.get(base + SB_LIBRARY, i32[this.i(n, S_LIBRARY_LEN)]!, MAXPGPATH),
      functionName: this.get(base + SB_FUNCTION, i32[this.i(n, S_FUNCTION_LEN)]!, BGW_MAXLEN),
      flags: i32[this.i(n, S_FLAGS)]!,
      startTime: i32[this.i(n, S_START_TIME)]! as BgWorkerStartTime,
      restartTime: i32[this.i(n, S_RESTART_TIME)]!,
      notifyPid: i32[this.i(n, S_NOTIFY_PID)]!,
      extra: this.seg.u8.slice(base + SB_EXTRA, base + SB_EXTRA + extraLen),
      resourceLimits: this.resourceLimits(n),
      maxRuntimeMs: Math.max(0, i32[this.i(n, S_MAX_RUNTIME_MS)]!),
      readiness: i32[this.i(n, S_OPTIONS)]! & OPT_READY_DECLARED ? 'declared' : 'entry',
      reusable: (i32[this.i(n, S_OPTIONS)]! & OPT_REUSABLE) !== 0,
    };
    return { entry, mainArg: this.seg.u8.slice(base + SB_ARG, base + SB_ARG + argLen) };
  }

  private put(offset: number, size: number, s: string): number {
    return encoder.encodeInto(s, this.seg.u8.subarray(offset, offset + size - 1)).written;
  }

  private get(offset: number, len: number, size: number): string {
    // A SharedArrayBuffer view cannot be decoded directly; copy the bounded bytes first.
    return decoder.decode(this.seg.u8.slice(offset, offset + clamp(len, size - 1)));
  }
}

function clamp(n: number, max: number): number {
  return Math.max(0, Math.min(n, max));
}
