/**
 * proc_exit: the orderly way out of a worker thread, and the one place that decides whether
 * an exit was orderly.
 *
 * procExit(code) runs the exit callbacks (newest first), releases every LWLock, switches
 * the dead-man word back to ASSIGNED, reports the code and the error to the host, and exits
 * the thread. A direct process.exit(0|1) in user code takes the same path through the
 * 'exit' event, as C's exit() runs PostgreSQL's atexit hook. An uncaught error outside the
 * entry marks the thread crashed first, so the path is skipped and the switch stays ACTIVE.
 */
import type { WorkerMessage } from '../protocol/messages.js';
import { toWire } from '../protocol/wire-error.js';
import { PM_CHILD_ASSIGNED } from '../shm/layout.js';
import { releaseAllLWLocks } from '../shm/lwlock.js';
import { workerLog } from './log.js';
import { getMyProc, hasMyProc } from './my-proc.js';
import { postToHost } from './to-host.js';

const exitCallbacks: Array<() => void> = [];
let crashed = false;
let exiting = false;

/** before_shmem_exit: runs on the orderly exit path, before locks are released. */
export function onProcExit(fn: () => void): void {
  exitCallbacks.push(fn);
}

function runExitCallbacks(): void {
  while (exitCallbacks.length > 0) {
    try {
      exitCallbacks.pop()!();
    } catch (err) {
      workerLog.error({ err }, 'exit callback failed');
    }
  }
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

process.on('uncaughtExceptionMonitor', () => {
  crashed = true;
});
process.on('exit', (code) => {
  if (exiting || crashed || !hasMyProc() || (code !== 0 && code !== 1)) return;
  runExitCallbacks();
  leaveSharedState();
});
