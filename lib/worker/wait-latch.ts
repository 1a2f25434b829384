/**
 * WaitLatch for a worker's own latch: the blocking form for CPU-bound workers
 * (Atomics.wait) and the async form for workers that also do I/O (Atomics.waitAsync).
 *
 * Events are PostgreSQL's bits. The result is a mask with at least one of WL_LATCH_SET,
 * WL_TIMEOUT, WL_POSTMASTER_DEATH; a set latch wins over a timeout that expired at the same
 * moment. The wait never resets the latch (the caller does, Pattern A, see shm/latch.ts).
 *
 * Host death is pm-signal.ts's death word, which the host sets before waking every latch.
 * With WL_EXIT_ON_PM_DEATH the worker exits with code 1 instead of returning; if the caller
 * names neither death flag, WL_EXIT_ON_PM_DEATH is assumed (PostgreSQL asserts one is given).
 * A pending SIGQUIT ends the thread from inside the wait. WL_SOCKET_READABLE stands for the
 * worker's LISTEN socket: the wait returns it while notifications are queued
 * (notifications.ts), which the host also signals by setting the latch.
 *
 * The async form's latch sleeps hold the thread's event loop open (shm/keep-alive.ts): a
 * worker whose only pending work is a latch wait stays alive.
 */
import { P_LATCH_WAITS, procIndex } from '../shm/layout.js';
import { getMyProc } from './my-proc.js';
import { serviceSignals } from './interrupts.js';
import { notificationsPending } from './notifications.js';

export const WL_LATCH_SET = 1;
export const WL_SOCKET_READABLE = 2;
export const WL_SOCKET_WRITEABLE = 4;
export const WL_TIMEOUT = 8;
export const WL_POSTMASTER_DEATH = 16;
export const WL_EXIT_ON_PM_DEATH = 32;

export interface WaitOptions {
  /** Poll the latch this many times before sleeping; 0 (default) sleeps at once. */
  spin?: number;
}

/** Called when the host is gone and the wait asked to exit (proc_exit(1)). */
let exitOnPmDeath: () => never = () => process.exit(1);
export function setExitOnPmDeath(fn: () => never): void {
  exitOnPmDeath = fn;
}

const privateWord = new Int32Array(new SharedArrayBuffer(4));
const IGNORED_LATCH_NAP_MS = 100;

/**
 * What ends the wait before sleeping, or 0 to sleep. A set latch is the common case and
 * costs one load; otherwise pending signals are serviced first (a SIGQUIT exits here, a
 * SIGTERM's default action sets the latch), and the clock is read only for WL_TIMEOUT.
 */
function readyEvents(events: number, deadline: number): number {
  const p = getMyProc();
  if (events & WL_LATCH_SET && !(events & WL_SOCKET_READABLE) && p.latch.isSet()) return WL_LATCH_SET;
  serviceSignals();
  let rc = 0;
  if (events & WL_LATCH_SET && p.latch.isSet()) rc |= WL_LATCH_SET;
  if (events & WL_SOCKET_READABLE && notificationsPending()) rc |= WL_SOCKET_READABLE;
  if (rc) return rc;
  if (p.pmSignal.isDead()) {
    if (events & WL_POSTMASTER_DEATH) return WL_POSTMASTER_DEATH;
    exitOnPmDeath();
  }
  if (events & WL_TIMEOUT && performance.now() >= deadline) return WL_TIMEOUT;
  return 0;
}

/** The events as waited for: one of the death flags is always there (WL_EXIT_ON_PM_DEATH by default). */
function checkEvents(events: number, timeoutMs: number): number {
  if (events & WL_TIMEOUT && !(timeoutMs >= 0)) throw new RangeError('WL_TIMEOUT needs a timeout >= 0 ms');
  return events & (WL_POSTMASTER_DEATH | WL_EXIT_ON_PM_DEATH) ? events : events | WL_EXIT_ON_PM_DEATH;
}

function deadlineOf(events: number, timeoutMs: number): number {
  return events & WL_TIMEOUT ? performance.now() + timeoutMs : Infinity;
}

/**
 * One turn of the wait loop, shared by both forms: the events that end the wait (a mask,
 * > 0), or, when it must sleep, minus the sleep's length in ms (≤ 0; -Infinity for no
 * timeout). A sleep is counted in this slot's latch-wait counter (the host's metrics read
 * it). Without WL_LATCH_SET the latch cannot end a sleep, so the wait naps to look at
 * signals and host death now and then.
 */
function turn(events: number, deadline: number): number {
  const rc = readyEvents(events, deadline);
  if (rc !== 0) return rc;
  const p = getMyProc();
  Atomics.add(p.seg.i32, procIndex(p.seg.layout, p.slot) + P_LATCH_WAITS, 1);
  const left = deadline === Infinity ? Infinity : deadline - performance.now();
  return -(events & WL_LATCH_SET ? left : Math.min(left, IGNORED_LATCH_NAP_MS));
}

/**
 * WaitLatch, blocking the thread. With opts.spin the latch is polled once, before the
 * first turn: a set that lands during the burst ends the wait with no futex call on either
 * side (the owner never marked itself asleep, so the setter does not notify) and without
 * the turn's signal and death checks, as a latch already set at the call does. A zero
 * timeout does not spin.
 */
export function waitLatch(events: number, timeoutMs = -1, opts?: WaitOptions): number {
  const ev = checkEvents(events, timeoutMs);
  const deadline = deadlineOf(ev, timeoutMs);
  const spin = opts?.spin ?? 0;
  if (spin > 0 && ev & WL_LATCH_SET && !(ev & WL_TIMEOUT && timeoutMs === 0)) getMyProc().latch.spinUntilSet(spin);
  for (let t = turn(ev, deadline); ; t = turn(ev, deadline)) {
    if (t > 0) return t;
    if (ev & WL_LATCH_SET) getMyProc().latch.waitSync(-t);
    else Atomics.wait(privateWord, 0, 0, -t);
  }
}

/** WaitLatch without blocking the thread's event loop. */
export async function waitLatchAsync(events: number, timeoutMs = -1): Promise<number> {
  const ev = checkEvents(events, timeoutMs);
  const deadline = deadlineOf(ev, timeoutMs);
  for (let t = turn(ev, deadline); ; t = turn(ev, deadline)) {
    if (t > 0) return t;
    if (ev & WL_LATCH_SET) await getMyProc().latch.waitAsync(-t);
    else await new Promise((res) => setTimeout(res, -t));
  }
}
