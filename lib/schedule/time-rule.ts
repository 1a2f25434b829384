/**
 * A schedule's time rule: when its ticks are. Three kinds:
 *
 *   fixed        every `everyMs` on a grid: origin + k × everyMs for every integer k. The
 *                origin is the spec's initialStart, else the epoch, so `every: '5m'` ticks at
 *                :00, :05, … UTC and every host computes the same ticks. Drift-free: a tick's
 *                time never depends on when an earlier run started or finished.
 *   cron         the times a cron expression fires in its time zone (cron.ts); fixed too.
 *   after_finish `everyMs` after the previous run finished (TimescaleDB's default, a
 *                non-fixed schedule): the ticks drift by each run's duration. The first tick
 *                is initialStart, else everyMs after the schedule was declared.
 *
 * nextTick and dueTicks are for the fixed kinds; the scheduler computes after_finish ticks
 * from finish times itself (scheduled-worker.ts). periodNear is the interval a tick belongs
 * to, which caps the retry backoff (backoff.ts).
 */
import type { CronRule } from './cron.js';

export type TimeRule =
  | { kind: 'fixed'; everyMs: number; originMs: number }
  | { kind: 'cron'; cron: CronRule }
  | { kind: 'after_finish'; everyMs: number; firstMs: number };

/** Ticks of a fixed rule are counted one by one only up to this; beyond it they are estimated. */
const COUNT_LIMIT = 10_000;

/** The first tick strictly after `afterMs` (fixed and cron rules). */
export function nextTick(rule: TimeRule, afterMs: number): number {
  if (rule.kind === 'cron') return rule.cron.next(afterMs) ?? Infinity;
  if (rule.kind === 'after_finish') return afterMs + rule.everyMs;
  const k = Math.floor((afterMs - rule.originMs) / rule.everyMs) + 1;
  return rule.originMs + k * rule.everyMs;
}

/**
 * The ticks in (fromMs, nowMs]: how many, and the latest. Cron ticks are walked one by one,
 * up to COUNT_LIMIT (a schedule down for longer than that many ticks reports that many);
 * the latest is then the one walked last.
 */
export function dueTicks(rule: TimeRule, fromMs: number, nowMs: number): { count: number; latest: number | null } {
  if (rule.kind === 'fixed') {
    const first = nextTick(rule, fromMs);
    if (first > nowMs) return { count: 0, latest: null };
    const count = Math.floor((nowMs - first) / rule.everyMs) + 1;
    return { count, latest: first + (count - 1) * rule.everyMs };
  }
  let count = 0;
  let latest: number | null = null;
  for (let t = nextTick(rule, fromMs); t <= nowMs; t = nextTick(rule, t)) {
    latest = t;
    if (++count >= COUNT_LIMIT) {
      // Skip ahead: the latest due tick is the last one before the first tick after now.
      for (let u = nextTick(rule, t); u <= nowMs; u = nextTick(rule, u)) latest = u;
      break;
    }
  }
  return { count, latest };
}

/** The length of the interval the tick after `t` closes: everyMs, or the gap between two cron times. */
export function periodNear(rule: TimeRule, t: number): number {
  if (rule.kind !== 'cron') return rule.everyMs;
  const a = nextTick(rule, t);
  const b = nextTick(rule, a);
  return Number.isFinite(b) ? b - a : Number.isFinite(a) ? a - t : 0;
}
