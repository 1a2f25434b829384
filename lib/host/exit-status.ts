/**
 * What a worker thread's end means: the one place that turns an exit code, the dead-man
 * switch and what the host did to the thread into a classification (CleanupBackend's
 * EXIT_STATUS_0 / EXIT_STATUS_1 / crash decision) and the `lastExit` the activity list shows.
 *
 *   crashed     the dead-man switch still read ACTIVE (the thread skipped the orderly exit
 *               path), or the code was neither 0 nor 1 — whatever the code says otherwise
 *   effective   0 only for an orderly exit 0; everything else restarts by the policy (1)
 *   kind        hard_stop when the host terminated the thread after its grace period,
 *               else crash / normal / error
 *
 * The host decides what to do with a crash (postmaster.ts): only a crash of a worker with
 * shared-memory access begins a crash-restart cycle.
 */
import type { WireError } from '../protocol/wire-error.js';
import { PM_CHILD_ACTIVE } from '../shm/layout.js';
import type { LastExit } from '../types.js';

export interface ExitStatus {
  code: number;
  crashed: boolean;
  /** The code as the restart policy reads it: 0 = done, 1 = restart after restartTime. */
  effective: 0 | 1;
  kind: LastExit['kind'];
}

/** Classify an exit: `childState` is the slot's dead-man word as the thread left it. */
export function classifyExit(code: number, childState: number, hardStopped: boolean): ExitStatus {
  const crashed = childState === PM_CHILD_ACTIVE || (code !== 0 && code !== 1);
  const kind: LastExit['kind'] = hardStopped ? 'hard_stop' : crashed ? 'crash' : code === 0 ? 'normal' : 'error';
  return { code, crashed, effective: code === 0 && !crashed ? 0 : 1, kind };
}

/** The activity list's record of the exit, with the error the thread reported, if any. */
export function lastExitOf(status: ExitStatus, error: WireError | null): LastExit {
  const exit: LastExit = { code: status.code, kind: status.kind, at: new Date() };
  if (error) exit.error = error.code ? { name: error.name, message: error.message, code: error.code } : { name: error.name, message: error.message };
  return exit;
}
