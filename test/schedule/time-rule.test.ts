/**
 * The pure parts of scheduling: fixed grids (time-rule.ts), the misfire rule (misfire.ts),
 * the retry backoff (backoff.ts) and readable durations (duration.ts).
 */
import t from 'tap';
import { retryBackoff } from '../../dist/lib/schedule/backoff.js';
import { CronRule } from '../../dist/lib/schedule/cron.js';
import { parseDuration } from '../../dist/lib/schedule/duration.js';
import { decideDue } from '../../dist/lib/schedule/misfire.js';
import { dueTicks, nextTick, periodNear, type TimeRule } from '../../dist/lib/schedule/time-rule.js';

const every = (everyMs: number, originMs = 0): TimeRule => ({ kind: 'fixed', everyMs, originMs });

t.test('a fixed grid: ticks at origin + k × interval, strictly after the given time', async (t) => {
  const r = every(300_000);
  t.equal(nextTick(r, Date.parse('2025-01-01T10:02:00Z')), Date.parse('2025-01-01T10:05:00Z'));
  t.equal(nextTick(r, Date.parse('2025-01-01T10:05:00Z')), Date.parse('2025-01-01T10:10:00Z'), 'a tick is not after itself');
  t.equal(nextTick(every(1000, 250), 1000), 1250, 'an origin shifts the grid');
  t.equal(nextTick(every(1000, 250), -5000), -4750, 'before the origin too');
});

t.test('due ticks: how many, and the latest', async (t) => {
  t.same(dueTicks(every(100), 1000, 1050), { count: 0, latest: null });
  t.same(dueTicks(every(100), 1000, 1100), { count: 1, latest: 1100 });
  t.same(dueTicks(every(100), 1000, 1555), { count: 5, latest: 1500 });
  const cron: TimeRule = { kind: 'cron', cron: new CronRule('0 * * * *', 'UTC') };
  t.same(dueTicks(cron, Date.parse('2025-01-01T00:30:00Z'), Date.parse('2025-01-01T03:10:00Z')), { count: 3, latest: Date.parse('2025-01-01T03:00:00Z') });
  t.equal(periodNear(cron, Date.parse('2025-01-01T00:30:00Z')), 3_600_000);
  const down = dueTicks(every(1), 0, 50_000);
  t.same(down, { count: 50_000, latest: 50_000 }, 'a fixed grid counts any number of ticks at once');
});

t.test('the misfire rule: only the latest due tick may run', async (t) => {
  const r = every(100);
  t.same(decideDue(r, 1000, 1101, 'run_once', 1000), { latest: 1100, run: true, catchUp: false, missed: 0 }, 'one tick, on time');
  t.same(decideDue(r, 1000, 1350, 'run_once', 1000), { latest: 1300, run: true, catchUp: true, missed: 2 }, 'three due: one catch-up, two missed');
  t.same(decideDue(r, 1000, 1350, 'skip', 1000), { latest: 1300, run: true, catchUp: true, missed: 2 }, 'skip: the latest is on time, so it runs');
  t.same(decideDue(r, 1000, 3150, 'skip', 10), { latest: 3100, run: false, catchUp: true, missed: 20 }, 'skip: the latest is late too (past the grace)');
  t.same(decideDue(r, 1000, 3150, 'run_once', 10), { latest: 3100, run: true, catchUp: true, missed: 20 }, 'run_once: the late latest runs');
  t.same(decideDue(r, 1000, 1160, 'skip', 50), { latest: 1100, run: false, catchUp: true, missed: 0 }, 'one tick, reached past the grace: skipped');
});

t.test("the backoff: TimescaleDB's rule, linear in failures, capped at 5 periods, ±12.5 % jitter", async (t) => {
  const none = (): number => 0.5;
  t.same(retryBackoff(1, 1000, 10_000, none), { baseMs: 1000, delayMs: 1000 });
  t.same(retryBackoff(3, 1000, 10_000, none), { baseMs: 3000, delayMs: 3000 });
  t.same(retryBackoff(9, 1000, 1000, none), { baseMs: 5000, delayMs: 5000 }, 'capped at 5 × the period');
  t.same(retryBackoff(50, 1000, 1e9, none), { baseMs: 20_000, delayMs: 20_000 }, 'the multiplier stops at 20');
  t.equal(retryBackoff(2, 1000, 10_000, () => 0).delayMs, 1750, 'jitter at its low end: -12.5 %');
  t.equal(retryBackoff(2, 1000, 10_000, () => 1).delayMs, 2250, 'jitter at its high end: +12.5 %');
});

t.test('durations: milliseconds or strict compound strings', async (t) => {
  t.equal(parseDuration(250, 'every'), 250);
  t.equal(parseDuration('5m', 'every'), 300_000);
  t.equal(parseDuration('1h30m', 'every'), 5_400_000);
  t.equal(parseDuration('1.5s', 'every'), 1500);
  t.equal(parseDuration('2d', 'every'), 172_800_000);
  for (const bad of [0, -5, 1.5, NaN, Infinity, '', '5', '5 minutes', '5M', 'm5', '1h 30m', '0s', '0.0001ms', null, {}]) {
    t.throws(() => parseDuration(bad, 'every'), { code: 'BGW_ERR_SCHEDULE_INVALID' }, JSON.stringify(bad));
  }
});
