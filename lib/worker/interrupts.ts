/**
 * Signals inside a worker: pending-interrupt bits and CHECK_FOR_INTERRUPTS (postgres.c's
 * `die` and ProcessInterrupts, with PostgreSQL 19's cooperative SIGTERM).
 *
 * The host "sends a signal" by OR-ing a bit into this slot's P_INTERRUPTS word, setting
 * the latch, and posting a nudge so that a worker busy in its event loop notices without
 * waiting. `serviceSignals` consumes the bits:
 *
 *   SIGQUIT  exit(2) at once, no exit callbacks (quickdie; the host treats it as a crash
 *            only outside a crash cycle or an immediate shutdown, which is never)
 *   SIGTERM  a handler if the worker installed one; otherwise `die`: ProcDiePending, the
 *            worker's AbortSignal fires, and the next checkForInterrupts() throws
 *            AdminShutdownError → the entry ends → exit 1, never restarted by a terminate
 *   SIGHUP   a handler if installed; otherwise ignored
 *   SIGINT   a handler if installed; for database workers a query cancel (the next
 *            checkForInterrupts() throws QueryCanceledError); otherwise ignored
 *
 * Signals are held while the module loads and are unblocked as the entry is called. They are
 * only ever delivered at service points — a nudge read by the event loop, checkForInterrupts,
 * a latch wait, installing a handler — and the event loop cannot run before the entry's
 * first synchronous lines have, so a worker that installs handlers there receives a
 * terminate that arrived while its module was loading. Interrupts are held off while the
 * thread holds an LWLock or is inside a critical section (hazards.ts).
 *
 * The worker's AbortSignal (ctx.signal) is how awaited I/O learns that the worker must stop:
 * it aborts when the default SIGTERM action runs, when a SIGTERM comes for the worker's
 * deadline (maxRuntimeMs) even if it installed a handler, and when the host dies (watched
 * with a waitAsync on the death word that does not keep the thread alive). Its reason is a
 * BgwError whose `stop` says why: 'terminate' (its handle), 'shutdown' (the host's),
 * 'deadline' or 'host_death'; the host names the first two and the deadline in the slot's
 * P_STOP_REASON before it raises SIGTERM.
 */
import { AdminShutdownError, DeadlineExceededError, PostmasterDeathError, QueryCanceledError } from '../errors.js';
import { H_PM_DEATH, STOP_REASON_DEADLINE, STOP_REASON_SHUTDOWN } from '../shm/layout.js';
import { heldLWLockCount } from '../shm/lwlock.js';
import type { PmSignal } from '../shm/pm-signal.js';
import type { Segment } from '../shm/segment.js';
import { SIGHUP_PENDING, SIGINT_PENDING, SIGNAL_BITS, SIGQUIT_PENDING, SIGTERM_PENDING, type SignalName } from '../shm/proc-array.js';
import { BGWORKER_BACKEND_DATABASE_CONNECTION } from '../types.js';
import { inCriticalSection } from './hazards.js';
import { onNewLife } from './life.js';
import { getMyProc } from './my-proc.js';

export type CatchableSignal = Exclude<SignalName, 'SIGQUIT'>;

/** Why ctx.signal aborted (its reason's `stop`). */
export type StopReason = 'terminate' | 'shutdown' | 'deadline' | 'host_death';

const handlers = new Map<CatchableSignal, () => void>();
let controller = new AbortController();
let unblocked = false;
let procDiePending = false;
let queryCancelPending = false;

onNewLife(() => {
  handlers.clear();
  controller = new AbortController();
  unblocked = false;
  procDiePending = false;
  queryCancelPending = false;
});

/** This life's abort signal (ctx.signal). */
export function lifeSignal(): AbortSignal {
  return controller.signal;
}

/** Replace a signal's default action; a pending signal is delivered at once. */
export function setSignalHandler(sig: CatchableSignal, handler: (() => void) | null): void {
  if (!(sig in SIGNAL_BITS) || sig === ('SIGQUIT' as string)) throw new TypeError(`cannot handle ${String(sig)}`);
  if (handler) handlers.set(sig, handler);
  else handlers.delete(sig);
  serviceSignals();
}

/** BackgroundWorkerUnblockSignals: from here on, pending signals are delivered at the next service point. */
export function unblockSignals(): void {
  unblocked = true;
}

/** Consume pending bits and run handlers or default actions; never throws for TERM/INT. */
export function serviceSignals(): void {
  const p = getMyProc();
  const bits = p.procs.pendingInterrupts(p.slot);
  if (bits & SIGQUIT_PENDING) process.exit(2);
  if (!unblocked || bits === 0) return;
  p.procs.clearInterrupts(p.slot, bits & (SIGTERM_PENDING | SIGHUP_PENDING | SIGINT_PENDING));
  if (bits & SIGHUP_PENDING) handlers.get('SIGHUP')?.();
  if (bits & SIGTERM_PENDING) deliverTerm();
  if (bits & SIGINT_PENDING) deliverInt(p.entry.flags);
}

function deliverTerm(): void {
  const p = getMyProc();
  const deadline = p.procs.stopReason(p.slot) === STOP_REASON_DEADLINE;
  if (deadline) abortWith(deadlineExceeded());
  const h = handlers.get('SIGTERM');
  if (h) return h();
  procDiePending = true;
  abortWith(deadline ? deadlineExceeded() : adminShutdown());
  // `die` sets the latch itself: a SIGTERM held while signals were blocked must still wake
  // a wait that began after the sender's own SetLatch was consumed.
  getMyProc().latch.set();
}

function deliverInt(flags: number): void {
  const h = handlers.get('SIGINT');
  if (h) return h();
  if (!(flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) return;
  queryCancelPending = true;
  getMyProc().latch.set();
}

function abortWith(reason: Error & { stop: StopReason }): void {
  if (!controller.signal.aborted) controller.abort(reason);
}

function adminShutdown(): AdminShutdownError & { stop: StopReason } {
  const p = getMyProc();
  const stop: StopReason = p.procs.stopReason(p.slot) === STOP_REASON_SHUTDOWN ? 'shutdown' : 'terminate';
  return Object.assign(new AdminShutdownError(`terminating background worker "${p.entry.type}" due to administrator command`), { stop });
}

function deadlineExceeded(): DeadlineExceededError & { stop: StopReason } {
  const p = getMyProc();
  const e = new DeadlineExceededError(`background worker "${p.entry.name}" reached its maxRuntimeMs (${p.entry.maxRuntimeMs} ms)`);
  return Object.assign(e, { stop: 'deadline' as const });
}

/** Why ctx.signal aborted, or null while it has not. */
export function stopReason(): StopReason | null {
  const r = controller.signal.reason as { stop?: StopReason } | undefined;
  return controller.signal.aborted ? (r?.stop ?? null) : null;
}

/**
 * Abort ctx.signal when the host dies. The wait is a plain Atomics.waitAsync: it must not
 * keep the thread alive (keep-alive.ts would), since a worker that finished its work exits
 * whether the host lives or not.
 */
let watching = false;

export function watchForHostDeath(seg: Segment, pmSignal: PmSignal): void {
  // One watch per thread: it aborts whichever life is current when the host dies.
  if (watching) return;
  watching = true;
  watchDeathWord(seg, pmSignal);
}

function watchDeathWord(seg: Segment, pmSignal: PmSignal): void {
  const onDeath = (): void => abortWith(Object.assign(new PostmasterDeathError('the host has died; this worker should end'), { stop: 'host_death' as const }));
  if (pmSignal.isDead()) return onDeath();
  const w = Atomics.waitAsync(seg.i32, H_PM_DEATH, 0);
  if (!w.async) return onDeath();
  void w.value.then(() => (pmSignal.isDead() ? onDeath() : watchDeathWord(seg, pmSignal)));
}

/** True when checkForInterrupts() would throw. */
export function interruptPending(): boolean {
  serviceSignals();
  return procDiePending || queryCancelPending;
}

/** CHECK_FOR_INTERRUPTS(). */
export function checkForInterrupts(): void {
  serviceSignals();
  if (heldLWLockCount() > 0 || inCriticalSection()) return;
  if (procDiePending) {
    const p = getMyProc();
    throw p.procs.stopReason(p.slot) === STOP_REASON_DEADLINE ? deadlineExceeded() : adminShutdown();
  }
  if (queryCancelPending) {
    queryCancelPending = false;
    throw new QueryCanceledError('canceling statement due to user request');
  }
}
