/**
 * Cron expressions, through croner: the only file that imports it. A CronRule is an
 * expression read once in a time zone; next(t) is the first time strictly after t at which
 * it fires, as an epoch millisecond.
 *
 * Why croner (11): it computes in the named IANA zone through Intl, with no dependency,
 * and handles daylight-saving changes as Vixie cron does: a time that a spring-forward gap
 * skips fires at the first valid time after the gap (02:30 in Europe/Berlin on
 * 2025-03-30 fires at 03:00 CEST), a fixed time in the repeated hour of a fall-back fires
 * once (the first occurrence), and wildcard-hour patterns keep firing every real hour
 * through both. cron-parser 5 moves the skipped 02:30 to 03:30 and has open reports of
 * iteration stopping at a gap (#404); @breejs/later computes in UTC or the process's local
 * zone only. test/schedule/cron.test.ts pins croner's answers for those cases, month ends
 * and leap days.
 *
 * Syntax: five fields (minute hour day-of-month month day-of-week) or six with seconds
 * first; names (JAN, MON), ranges, steps, lists, L (last day), and @hourly-style nicknames.
 * When both day fields are restricted a day matching either fires (Vixie's rule).
 */
import { Cron } from 'croner';
import { CronInvalidError, TimeZoneUnknownError } from '../errors.js';

export class CronRule {
  private readonly cron: Cron;

  /** @throws {BGW_ERR_TIME_ZONE_UNKNOWN} {BGW_ERR_CRON_INVALID} */
  constructor(readonly expression: string, readonly timeZone: string) {
    checkTimeZone(timeZone);
    if (typeof expression !== 'string') throw new CronInvalidError(`cron must be a string, got ${typeof expression}`);
    try {
      this.cron = new Cron(expression, { timezone: timeZone, paused: true });
    } catch (err) {
      throw new CronInvalidError(`cron expression ${JSON.stringify(expression)} is invalid: ${(err as Error).message}`, { cause: err });
    }
    if (this.next(Date.now()) === null) throw new CronInvalidError(`cron expression ${JSON.stringify(expression)} never fires`);
  }

  /** The first firing strictly after `afterMs`, or null when there is none. */
  next(afterMs: number): number | null {
    return this.cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  }
}

/** An IANA zone name Intl knows ('UTC', 'Europe/Berlin'). @throws {BGW_ERR_TIME_ZONE_UNKNOWN} */
export function checkTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone === '') throw new TimeZoneUnknownError(`timeZone must be an IANA time zone name, got ${JSON.stringify(timeZone)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch (err) {
    throw new TimeZoneUnknownError(`unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as 'UTC' or 'Europe/Berlin'`, { cause: err });
  }
  return timeZone;
}
