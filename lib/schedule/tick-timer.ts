/**
 * TickTimer: a callback at a wall-clock time, to within one event-loop turn.
 *
 * setTimeout alone lands a tick up to 1–2 ms late: the delay is whole milliseconds counted
 * from the loop's cached clock (itself up to a turn behind), and the poll that ends it
 * rounds up. A schedule's lateness is measured against its tick's computed time, so the
 * timer works in two stages:
 *
 *   1. setTimeout for the time minus LEAD_MS (a whole-millisecond early margin), re-armed
 *      in steps of at most MAX_TIMER_MS for a time further away;
 *   2. from there, setImmediate turns until the clock reaches the time — at most LEAD_MS
 *      plus the timer's error of turns, in which I/O and other timers still run, since each
 *      turn goes through the whole loop. The clock is Date.now(): tick times are whole
 *      milliseconds, so Date.now() reaches one exactly when the wall clock does, and a
 *      monotonic clock would drift from the wall clock that cron times are set in.
 *
 * One pending callback per timer: arm() replaces it, clear() drops it. A time already past
 * calls back on the next turn, so that whoever armed it has finished first. The timeout is
 * unref'd, so an armed timer does not keep the process alive; the immediates are not (an
 * unref'd immediate lets the loop block in poll until some other timer), but they are
 * pending only for the last LEAD_MS or so before the time.
 */

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How early the timeout ends, so that the check-phase turns reach the time exactly. */
const LEAD_MS = 1;

export class TickTimer {
  private timeout: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private at = 0;

  constructor(private readonly onTime: () => void) {}

  /** Call back at wall-clock time `at` (ms), never from inside arm(); replaces what was armed. */
  arm(at: number): void {
    this.clear();
    this.at = at;
    this.wait(at - Date.now());
  }

  clear(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = this.immediate = null;
  }

  private wait(left: number): void {
    if (left > LEAD_MS) {
      this.timeout = setTimeout(this.step, Math.min(MAX_TIMER_MS, Math.floor(left - LEAD_MS)));
      this.timeout.unref();
    } else {
      this.immediate = setImmediate(this.step);
    }
  }

  private step = (): void => {
    this.timeout = this.immediate = null;
    const left = this.at - Date.now();
    if (left <= 0) this.onTime();
    else this.wait(left);
  };
}
