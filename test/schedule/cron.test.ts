/**
 * Cron next-time computation (lib/schedule/cron.ts, croner) against known cases: daylight
 * saving changes in named zones, month ends, leap days; and what it refuses.
 */
import t from 'tap';
import { CronRule, checkTimeZone } from '../../dist/lib/schedule/cron.js';

/** The next `n` firings after `from`, as ISO strings. */
function next(expr: string, tz: string, from: string, n: number): string[] {
  const rule = new CronRule(expr, tz);
  const out: string[] = [];
  for (let at = Date.parse(from); out.length < n; ) {
    at = rule.next(at)!;
    out.push(new Date(at).toISOString());
  }
  return out;
}

t.test('spring forward: a time in the skipped hour fires at the first valid time after the gap (Vixie cron)', async (t) => {
  // Europe/Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
  t.same(next('30 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', 3), ['2025-03-30T01:00:00.000Z', '2025-03-31T00:30:00.000Z', '2025-04-01T00:30:00.000Z']);
  // America/New_York, 2025-03-09: 02:00 EST becomes 03:00 EDT.
  t.same(next('0 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z', 2), ['2025-03-09T07:00:00.000Z', '2025-03-10T06:00:00.000Z']);
  t.same(next('0 * * * *', 'America/New_York', '2025-03-09T05:30:00Z', 3), ['2025-03-09T06:00:00.000Z', '2025-03-09T07:00:00.000Z', '2025-03-09T08:00:00.000Z'], 'hourly: no hour lost or doubled');
});

t.test('fall back: a fixed time in the repeated hour fires once; hourly keeps firing every real hour', async (t) => {
  // Europe/Berlin, 2025-10-26: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
  t.same(next('30 2 * * *', 'Europe/Berlin', '2025-10-25T12:00:00Z', 2), ['2025-10-26T00:30:00.000Z', '2025-10-27T01:30:00.000Z']);
  t.same(next('0 * * * *', 'Europe/Berlin', '2025-10-25T23:30:00Z', 4), [
    '2025-10-26T00:00:00.000Z', '2025-10-26T01:00:00.000Z', '2025-10-26T02:00:00.000Z', '2025-10-26T03:00:00.000Z',
  ]);
  t.same(next('* * * * * *', 'Europe/Vienna', '2025-10-26T00:59:58Z', 3), ['2025-10-26T00:59:59.000Z', '2025-10-26T01:00:00.000Z', '2025-10-26T01:00:01.000Z'], 'seconds go on through the change');
});

t.test('a zone whose midnight is skipped (America/Sao_Paulo, 2018-11-04) still fires that day', async (t) => {
  t.same(next('0 0 4 11 *', 'America/Sao_Paulo', '2018-11-03T12:00:00Z', 1), ['2018-11-04T03:00:00.000Z']);
});

t.test('month ends and leap days', async (t) => {
  t.same(next('0 0 31 * *', 'UTC', '2025-01-31T12:00:00Z', 3), ['2025-03-31T00:00:00.000Z', '2025-05-31T00:00:00.000Z', '2025-07-31T00:00:00.000Z'], 'the 31st skips shorter months');
  t.same(next('0 0 L * *', 'UTC', '2025-01-15T00:00:00Z', 3), ['2025-01-31T00:00:00.000Z', '2025-02-28T00:00:00.000Z', '2025-03-31T00:00:00.000Z'], 'L is the last day');
  t.same(next('0 0 L 2 *', 'UTC', '2027-06-01T00:00:00Z', 2), ['2028-02-29T00:00:00.000Z', '2029-02-28T00:00:00.000Z'], 'the last day of February, leap year or not');
  t.same(next('0 12 29 2 *', 'UTC', '2025-01-01T00:00:00Z', 2), ['2028-02-29T12:00:00.000Z', '2032-02-29T12:00:00.000Z'], 'the 29th of February: leap years only');
  t.same(next('0 0 13 * 5', 'UTC', '2025-01-01T00:00:00Z', 3), ['2025-01-03T00:00:00.000Z', '2025-01-10T00:00:00.000Z', '2025-01-13T00:00:00.000Z'], 'both day fields: either matches');
});

t.test('a time zone is honoured: 09:00 in Asia/Kolkata is 03:30 UTC', async (t) => {
  t.same(next('0 9 * * *', 'Asia/Kolkata', '2025-06-01T00:00:00Z', 1), ['2025-06-01T03:30:00.000Z']);
});

t.test('refused: unparsable, out of range, never firing; unknown zones', async (t) => {
  for (const bad of ['61 * * * *', '* * *', 'bogus', '']) t.throws(() => new CronRule(bad, 'UTC'), { code: 'BGW_ERR_CRON_INVALID' }, JSON.stringify(bad));
  t.throws(() => new CronRule('0 0 30 2 *', 'UTC'), { code: 'BGW_ERR_CRON_INVALID', message: /never fires/ }, 'the 30th of February');
  t.throws(() => new CronRule('* * * * *', 'Mars/Olympus_Mons'), { code: 'BGW_ERR_TIME_ZONE_UNKNOWN' });
  t.throws(() => checkTimeZone(''), { code: 'BGW_ERR_TIME_ZONE_UNKNOWN' });
  t.equal(checkTimeZone('Europe/Berlin'), 'Europe/Berlin');
});
