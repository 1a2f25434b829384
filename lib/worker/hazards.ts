/**
 * What a hard stop of this worker would leave half-done, published for the host (layout.ts:
 * P_LWLOCK_HAZARD, P_ATTACHMENTS, P_CRIT_SECTION).
 *
 * A worker that ignores SIGTERM past its grace period is terminated. PostgreSQL treats a
 * SIGKILLed backend as a crash and restarts every backend, because it cannot know what the
 * process left half-written in shared memory. This runtime can: the host reads these words
 * once the thread is gone, and a hard stop is a crash only if one of them is non-zero:
 *   - LWLocks held, or one being waited for (the lock word counts the thread): a lock that
 *     would stay held or count a dead waiter for ever (lwlock.ts publishes this one);
 *   - shm_mq handles and dsm segments attached through the worker API: a queue whose other
 *     end would wait on a dead counterparty, a segment whose claim would never be dropped;
 *   - the depth of ctx.criticalSection(): code that writes several words of shared memory
 *     that must change together (START_CRIT_SECTION).
 * What the words cannot see is the worker's own multi-word writes to shared memory outside
 * any lock or critical section: such a write was never safe against a concurrent reader
 * either, and single Atomics operations cannot be half done.
 *
 * Plain stores: only the owner writes, and the host reads after the thread has been joined.
 * Interrupts are held off inside a critical section, as they are while an LWLock is held.
 */
import { publishLWLockHazard } from '../shm/lwlock.js';
import type { ProcArray } from '../shm/proc-array.js';
import { onNewLife } from './life.js';

let words: { i32: Int32Array; attachments: number; critSection: number } | null = null;
let attachments = 0;
let critDepth = 0;
onNewLife(() => {
  attachments = 0;
  critDepth = 0;
});

/** Nothing attached, no critical section open (a reusable thread's end checks it). */
export function hazardsClear(): boolean {
  return attachments === 0 && critDepth === 0;
}

/** At launch: where this life's hazard words are. */
export function publishHazards(procs: ProcArray, slot: number): void {
  const ix = procs.hazardIndex(slot);
  words = { i32: procs.seg.i32, attachments: ix.attachments, critSection: ix.critSection };
  publishLWLockHazard(procs.seg.i32, ix.lwlocks);
}

/** A queue or dsm segment was attached (+1) or detached (-1) through the worker API. */
export function attachmentsChanged(delta: 1 | -1): void {
  attachments += delta;
  if (words) words.i32[words.attachments] = attachments;
}

export function inCriticalSection(): boolean {
  return critDepth > 0;
}

/** START_CRIT_SECTION … END_CRIT_SECTION around `fn`, sync or async. */
export function criticalSection<T>(fn: () => T): T {
  setDepth(critDepth + 1);
  let r: T;
  try {
    r = fn();
  } catch (err) {
    setDepth(critDepth - 1);
    throw err;
  }
  if (r instanceof Promise) return r.finally(() => setDepth(critDepth - 1)) as T;
  setDepth(critDepth - 1);
  return r;
}

function setDepth(d: number): void {
  critDepth = d;
  if (words) words.i32[words.critSection] = d;
}
