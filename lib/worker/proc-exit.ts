/**
 * proc_exit: the orderly way out of a worker thread, and the one place that decides whether
 * an exit was orderly.
 *
 * procExit(code) runs the exit callbacks (newest first), releases every LWLock, switches
 * the dead-man word back to ASSIGNED, reports the code and the error to the host, and exits
 * the thread. A direct process.exit(0|1) in user code takes the same path through the
 * 'exit' event, as C's exit() runs PostgreSQL's atexit hook. An uncaught error outside the
 * entry marks the thread crashed first, so the path is skipped and the switch stays ACTIVE.
 *
 * Reuse (beyond PostgreSQL). For a worker registered reusable, `endReusableLife` is tried
 * first when the entry itself ends: it runs the same orderly path without exiting, and the
 * thread goes back to the host's pool only if nothing of the life is left — no LWLock held,
 * no queue or dsm attached, no critical section open, and no timer, socket or other handle
 * that was not there when the life began (process.getActiveResourcesInfo(), compared after
 * the exit callbacks' promises settled) — and the thread is still young enough (lives and
 * heap under the host's reuse bounds). Otherwise it leaves as every thread does. A life that
 * ends any other way (process.exit, a lost connection, host death, a crash) never reuses.
 */
import type { WorkerMessage } from '../protocol/messages.js';
import { toWire } from '../protocol/wire-error.js';
import { PM_CHILD_ASSIGNED } from '../shm/layout.js';
import { heldLWLockCount, releaseAllLWLocks } from '../shm/lwlock.js';
import { workerLog } from './log.js';
import { getMyProc, hasMyProc } from './my-proc.js';
import { postToHost } from './to-host.js';
import { getHeapStatistics } from 'node:v8';
import { hazardsClear } from './hazards.js';
import { onNewLife } from './life.js';

const exitCallbacks: Array<() => unknown> = [];
let crashed = false;
let exiting = false;
let lives = 0;
onNewLife(() => {
  exitCallbacks.length = 0;
  lives++;
});

/** before_shmem_exit: runs on the orderly exit path, before locks are released. */
export function onProcExit(fn: () => unknown): void {
  exitCallbacks.push(fn);
}

/** Newest first; what they return (a closing connection's promise) is handed back. */
function runExitCallbacks(): unknown[] {
  const results: unknown[] = [];
  while (exitCallbacks.length > 0) {
    try {
      results.push(exitCallbacks.pop()!());
    } catch (err) {
      workerLog.error({ err }, 'exit callback failed');
    }
  }
  return results;
}

function leaveSharedState(): void {
  releaseAllLWLocks();
  const p = getMyProc();
  p.procs.setChildState(p.slot, PM_CHILD_ASSIGNED);
}

/** proc_exit(code): 0 = done, never restarted; 1 = an ERROR/FATAL exit, restart policy applies. */
export function procExit(code: 0 | 1, err?: unknown): never {
  exiting = true;
  runExitCallbacks();
  leaveSharedState();
  const m: WorkerMessage = err === undefined ? { type: 'exit-report', code } : { type: 'exit-report', code, error: toWire(err) };
  postToHost(m);
  process.exit(code);
}

/** What keeps this thread's event loop alive now, as a multiset of resource kinds. */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function within(now: Map<string, number>, baseline: Map<string, number>): boolean {
  for (const [r, n] of now) if (n > (baseline.get(r) ?? 0)) return false;
  return true;
}

/** The host's reuse bounds (ThreadData.reuse). */
export interface ReuseBounds {
  maxLives: number;
  maxHeapMb: number;
}

/**
 * The entry of a reusable worker ended with `code`: leave the life in an orderly way and, if
 * nothing of it is left running (see the header), report the exit as `reused` and keep the
 * thread for another life. False: the caller exits the thread by procExit as usual.
 */
export async function endReusableLife(code: 0 | 1, err: unknown, baseline: Map<string, number>, bounds: ReuseBounds): Promise<boolean> {
  const locksHeld = heldLWLockCount() > 0;
  const pending = runExitCallbacks().filter((r): r is Promise<unknown> => r instanceof Promise);
  await Promise.race([Promise.allSettled(pending), new Promise((res) => setTimeout(res, SETTLE_MS).unref())]);
  // A closed socket's handle goes at the next turn of the loop.
  await new Promise((res) => setImmediate(res));
  if (locksHeld || !hazardsClear() || !within(activeResources(), baseline)) return false;
  if (lives >= bounds.maxLives || getHeapStatistics().used_heap_size > bounds.maxHeapMb * MB) return false;
  const p = getMyProc();
  p.procs.setChildState(p.slot, PM_CHILD_ASSIGNED);
  const m: WorkerMessage = err === undefined ? { type: 'exit-report', code, reused: true } : { type: 'exit-report', code, error: toWire(err), reused: true };
  postToHost(m);
  return true;
}

const SETTLE_MS = 1_000;
const MB = 1024 * 1024;

process.on('uncaughtExceptionMonitor', () => {
  crashed = true;
});
process.on('exit', (code) => {
  if (exiting || crashed || !hasMyProc() || (code !== 0 && code !== 1)) return;
  runExitCallbacks();
  leaveSharedState();
});
