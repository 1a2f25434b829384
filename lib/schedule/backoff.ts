/**
 * The retry backoff after a failed run, TimescaleDB's rule (job_stat.c,
 * calculate_next_start_on_failure), in milliseconds:
 *
 *   base  = min(min(failures, 20) × retryPeriodMs, 5 × period)
 *   delay = base × (1 + jitter),  jitter uniform in [-0.125, +0.125]
 *   next start = the failed run's finish + delay
 *
 * `failures` counts the consecutive failed runs including this one, so the delay grows
 * linearly with them (1, 2, 3 … retry periods) until it reaches five periods of the
 * schedule (its interval, or the gap between its cron times); past 20 failures it stops
 * growing whatever the period. The jitter spreads hosts and schedules that failed together
 * (a database outage) so that they do not retry together.
 */

/** TimescaleDB's MAX_FAILURES_MULTIPLIER and MAX_INTERVALS_BACKOFF. */
export const MAX_FAILURES_MULTIPLIER = 20;
export const MAX_INTERVALS_BACKOFF = 5;
export const JITTER = 0.125;

export interface Backoff {
  /** The delay before jitter. */
  baseMs: number;
  /** The delay to wait: base with jitter. */
  delayMs: number;
}

export function retryBackoff(failures: number, retryPeriodMs: number, periodMs: number, random: () => number = Math.random): Backoff {
  const multiplied = Math.min(failures, MAX_FAILURES_MULTIPLIER) * retryPeriodMs;
  const baseMs = periodMs > 0 ? Math.min(multiplied, MAX_INTERVALS_BACKOFF * periodMs) : multiplied;
  const jitter = (random() * 2 - 1) * JITTER;
  return { baseMs, delayMs: Math.round(baseMs * (1 + jitter)) };
}
