/**
 * RegisterDynamicBackgroundWorker and GetBackgroundWorkerPid over the shared slot array:
 * the part of bgworker.c that runs in a registrant, host thread or worker alike.
 *
 * `claimSlot` must run under the exclusive BackgroundWorkerLock (the caller takes it:
 * blocking in a worker, async on the host). It takes the *first* free slot among the usable
 * ones (H_USABLE_SLOTS: slots above it stay out of reach even when free), fills it,
 * bumps the generation, clears any stale terminate flag (docs/semantics.md §8.21), counts parallel
 * workers, and only then publishes. The registrant then raises
 * PMSIGNAL_BACKGROUND_WORKER_CHANGE (shm/pm-signal.ts); many raises coalesce into one host
 * pass, which rescans every slot.
 *
 * `readStatus` is GetBackgroundWorkerPid. Workers call it under the shared lock; the host,
 * which alone frees slots, reads lock-free and re-reads the generation to detect a
 * concurrent re-claim.
 */
import { InvalidPid } from '../constants.js';
import { H_MAX_PARALLEL_WORKERS, H_PARALLEL_REGISTER, H_PARALLEL_TERMINATE, H_USABLE_SLOTS } from '../shm/layout.js';
import type { BackgroundWorkerArray } from '../shm/slot-array.js';
import { BGWORKER_CLASS_PARALLEL, BgwHandleStatus } from '../types.js';
import type { CheckedRegistration } from './sanity.js';

/** What a handle is: a slot and the generation that claimed it. Plain data; any thread may use a copy. */
export interface HandleData {
  slot: number;
  generation: bigint;
}

export interface PidStatus {
  status: BgwHandleStatus;
  pid: number | null;
}

/** Returns null when every slot is taken or the parallel-worker limit is reached. */
export function claimSlot(array: BackgroundWorkerArray, reg: CheckedRegistration): HandleData | null {
  const i32 = array.seg.i32;
  const parallel = (reg.entry.flags & BGWORKER_CLASS_PARALLEL) !== 0;
  if (parallel) {
    const active = (Atomics.load(i32, H_PARALLEL_REGISTER) - Atomics.load(i32, H_PARALLEL_TERMINATE)) >>> 0;
    if (active >= Atomics.load(i32, H_MAX_PARALLEL_WORKERS)) return null;
  }
  const usable = Math.min(array.total, Atomics.load(i32, H_USABLE_SLOTS));
  for (let n = 0; n < usable; n++) {
    if (array.inUse(n)) continue;
    array.fill(n, reg.entry, reg.mainArg, InvalidPid);
    const generation = array.generation(n) + 1n;
    array.setGeneration(n, generation);
    if (parallel) Atomics.add(i32, H_PARALLEL_REGISTER, 1);
    array.publish(n);
    return { slot: n, generation };
  }
  return null;
}

/** TerminateBackgroundWorker's shared part; exclusive lock held. True if the flag was set. */
export function markTerminate(array: BackgroundWorkerArray, h: HandleData): boolean {
  if (array.generation(h.slot) !== h.generation) return false;
  array.setTerminate(h.slot);
  return true;
}

export function readStatus(array: BackgroundWorkerArray, h: HandleData): PidStatus {
  const before = array.generation(h.slot);
  const inUse = array.inUse(h.slot);
  const pid = array.pid(h.slot);
  if (before !== h.generation || array.generation(h.slot) !== h.generation || !inUse || pid === 0) {
    return { status: BgwHandleStatus.Stopped, pid: null };
  }
  if (pid === InvalidPid) return { status: BgwHandleStatus.NotYetStarted, pid: null };
  return { status: BgwHandleStatus.Started, pid };
}
