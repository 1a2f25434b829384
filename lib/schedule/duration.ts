/**
 * Readable durations for schedules: a number of milliseconds, or a string of one or more
 * `<number><unit>` parts with no spaces, units ms, s, m, h, d, w: '250ms', '5m', '1h30m',
 * '1.5h'. A string that is anything else is refused, naming the field.
 *
 * Why not a library: `ms` reads one part only ('1h30m' is NaN to it) and returns undefined
 * for what it cannot read, and `parse-duration` reads loosely ('5 minutes and then some');
 * the rule a schedule needs is this short regular expression, and strictness is the point.
 */
import { ScheduleInvalidError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** `v` in milliseconds (a whole number above 0). @throws {BGW_ERR_SCHEDULE_INVALID} naming `field` */
export function parseDuration(v: unknown, field: string): number {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string' && WHOLE.test(v)) ms = [...v.matchAll(PART)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit!]!, 0);
  else throw new ScheduleInvalidError(`${field} must be milliseconds or a duration such as '500ms', '5m' or '1h30m', got ${JSON.stringify(v)}`);
  if (!Number.isFinite(ms) || ms <= 0) throw new ScheduleInvalidError(`${field} must be above 0 ms, got ${JSON.stringify(v)}`);
  if (!Number.isInteger(ms)) throw new ScheduleInvalidError(`${field} must be a whole number of milliseconds, got ${JSON.stringify(v)} (${ms} ms)`);
  return ms;
}
