/**
 * The misfire rule: what a fixed schedule does when it wakes and finds more than one tick
 * due, or its one due tick long past — the host was down (a fleet host restarting reads
 * its last tick from the database), or its event loop stalled, or the machine slept.
 *
 * Of the ticks due in (lastTick, now], only the latest can run; the earlier ones are
 * missed (counted, not recorded one by one). The latest is on time if it is reached within
 * misfireGraceMs of its time. Then:
 *
 *   run_once (the default)  the latest runs, now, once: a catch-up when any tick was missed
 *                           or it is late; a host back from an outage does the work once
 *                           rather than not at all, and not once per missed tick.
 *   skip                    the latest runs only if it is on time; otherwise it is skipped
 *                           too, and the schedule goes on from the next tick.
 */
import type { MisfirePolicy } from './spec.js';
import { dueTicks, type TimeRule } from './time-rule.js';

export interface DueDecision {
  /** The latest due tick, which becomes the schedule's last tick whatever happens to it; null when none is due. */
  latest: number | null;
  /** Whether the latest runs. */
  run: boolean;
  /** A catch-up: ticks were missed, or the latest is late. */
  catchUp: boolean;
  /** Ticks before the latest that will not run. */
  missed: number;
}

export function decideDue(rule: TimeRule, lastTickMs: number, nowMs: number, policy: MisfirePolicy, graceMs: number): DueDecision {
  const { count, latest } = dueTicks(rule, lastTickMs, nowMs);
  if (latest === null) return { latest: null, run: false, catchUp: false, missed: 0 };
  const missed = count - 1;
  const late = nowMs - latest > graceMs;
  const catchUp = late || missed > 0;
  return { latest, run: !(late && policy === 'skip'), catchUp, missed };
}
