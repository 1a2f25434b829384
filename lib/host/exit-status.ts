/**
 * What a worker thread's end means: the one place that turns an exit code, the dead-man
 * switch and what the host did to the thread into a classification (CleanupBackend's
 * EXIT_STATUS_0 / EXIT_STATUS_1 / crash decision) and the `lastExit` the activity list shows.
 *
 *   crashed     the dead-man switch still read ACTIVE (the thread skipped the orderly exit
 *               path), or the code was neither 0 nor 1 — whatever the code says otherwise
 *   effective   0 only for an orderly exit 0; everything else restarts by the policy (1)
 *   kind        (types.ts ExitKind) in this order of precedence:
 *               timeout      the deadline's SIGTERM was obeyed, or its hard stop followed;
 *               hard_stop    the host terminated the thread after its grace period;
 *               a SIGQUIT request (immediate, crash_restart): the kind of the request, since
 *                            leaving without the orderly path is what SIGQUIT asks for;
 *               crash        otherwise, when crashed;
 *               a SIGTERM request (terminated, shutdown): the kind of the request, for an
 *                            orderly exit 0 or 1;
 *               normal / error by the code.
 * PostgreSQL's exit code is kept in `code` whatever the kind says.
 *
 *   outage      the worker left because the database could not be reached: its connection
 *               was lost (BGW_ERR_DB_CONNECTION_LOST), or connecting failed for a reason that
 *               passes (a refused, reset or timed-out socket; SQLSTATE class 08, 57P01–57P03
 *               the server shutting down or starting, 53300 too many connections). Such
 *               exits back off without counting for the restart brake: a database outage is
 *               not a worker bug. A refusal that does not pass by waiting (no such database,
 *               a role that may not log in, a wrong password) is an ordinary error.
 *
 * The host decides what to do with a crash (postmaster.ts): only a crash of a worker with
 * shared-memory access begins a crash-restart cycle.
 */
import type { WireError } from '../protocol/wire-error.js';
import { PM_CHILD_ACTIVE } from '../shm/layout.js';
import type { ExitKind, LastExit, StopRequest } from '../types.js';

export interface ExitStatus {
  code: number;
  outage: boolean;
  crashed: boolean;
  /** The code as the restart policy reads it: 0 = done, 1 = restart after restartTime. */
  effective: 0 | 1;
  kind: ExitKind;
}

/**
 * Classify an exit: `childState` is the slot's dead-man word as the thread left it,
 * `request` the stop the host asked for during this life, if any.
 */
export function classifyExit(code: number, childState: number, hardStopped: boolean, request: StopRequest | null, error: WireError | null): ExitStatus {
  const crashed = childState === PM_CHILD_ACTIVE || (code !== 0 && code !== 1);
  const kind = kindOf(code, crashed, hardStopped, request);
  return { code, crashed, effective: code === 0 && !crashed ? 0 : 1, kind, outage: kind === 'error' && isDatabaseOutage(error) };
}

const TRANSIENT_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);
const TRANSIENT_SQLSTATE = new Set(['57P01', '57P02', '57P03', '53300']);

/** A lost connection, or a refusal to connect that waiting can cure (see the header). */
export function isDatabaseOutage(error: WireError | null): boolean {
  if (!error) return false;
  if (error.code === 'BGW_ERR_DB_CONNECTION_LOST') return true;
  if (error.code !== 'BGW_ERR_DB_CONNECT_FAILED') return false;
  for (let e = error.cause; e; e = e.cause) {
    if (e.code && (TRANSIENT_SOCKET.has(e.code) || TRANSIENT_SQLSTATE.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  }
  return false;
}

function kindOf(code: number, crashed: boolean, hardStopped: boolean, request: StopRequest | null): ExitKind {
  // A deadline is enforced by SIGTERM and, past the grace period, the hard stop: both are its timeout.
  if (request === 'timeout' && (hardStopped || !crashed)) return 'timeout';
  if (hardStopped) return 'hard_stop';
  if (request === 'immediate' || request === 'crash_restart') return request;
  if (crashed) return 'crash';
  if (request) return request;
  return code === 0 ? 'normal' : 'error';
}

/** Whether a relaunch after this exit counts for the restart brake: only real errors and crashes do. */
export function countsForRestartBrake(exit: LastExit | null): boolean {
  return exit !== null && (exit.kind === 'error' || exit.kind === 'crash' || exit.kind === 'timeout');
}

/** The activity list's record of the exit, with the error the thread reported, if any. */
export function lastExitOf(status: ExitStatus, error: WireError | null): LastExit {
  const exit: LastExit = { code: status.code, kind: status.kind, at: new Date() };
  if (error) exit.error = error.code ? { name: error.name, message: error.message, code: error.code } : { name: error.name, message: error.message };
  return exit;
}
