/**
 * Interval and cron schedules on real threads: runs happen, their activity rows say whose
 * run they are, fixed schedules keep to their grid while after-finish ones drift by each
 * run, and pause, resume and run-now do what alter_job and run_job do. Assertions are on
 * counts, events and the times the scheduler computed, never on how long anything took.
 */
import t from 'tap';
import type { ActivityRow } from '../../dist/lib/index.js';
import { nextEvent } from '../helpers/host.js';
import { finishes, records, scheduleHost, scheduleJob } from '../helpers/schedule.js';
import { STARTS } from '../fixtures/scheduled-job.js';

t.test('a 200 ms interval runs its worker again and again, each run a dynamic worker of its own', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'tick200', every: 200 });
  const started = nextEvent<[ActivityRow]>(pm, 'started', 'a run to start', (r) => r.type === 'tick200');
  const done = await finishes(w, 3, 'three runs of the 200 ms schedule');
  const [row] = await started;
  t.match(row, { type: 'tick200', dynamic: true, name: /^tick200 @ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }, "the run's activity row names its schedule and tick");
  t.same(done.map((r) => r.status), ['success', 'success', 'success']);
  for (const r of done) t.equal(r.scheduledAt.getTime() % 200, 0, 'on the epoch-aligned grid');
  const s = w.stats();
  t.ok(s.totalRuns >= 3 && s.totalSuccesses >= 3, `${s.totalRuns} runs, ${s.totalSuccesses} successes`);
  t.equal(s.totalFailures, 0);
  t.equal(s.lastRunStatus, 'success');
  t.ok(s.nextStart && s.nextStart.getTime() % 200 === 0, 'the next start is the next grid point');
  t.ok(s.averageDurationMs !== null && s.lastDurationMs !== null);
  t.equal(s.history[0]!.schedule, 'tick200');
  t.ok(pm.shmem('test').int32[STARTS]! >= 3);
});

t.test("a cron schedule with seconds ('* * * * * *') runs once per second", async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'everysecond', cron: '* * * * * *', timeZone: 'Europe/Berlin' });
  const done = await finishes(w, 2, 'two runs of the every-second cron schedule');
  t.same(done.map((r) => r.status), ['success', 'success']);
  for (const r of done) t.equal(r.scheduledAt.getTime() % 1000, 0, 'on a whole second');
  t.equal(done[1]!.scheduledAt.getTime() - done[0]!.scheduledAt.getTime(), 1000, 'consecutive seconds');
});

t.test('fixed versus after-finish over many runs: the grid does not drift, after-finish drifts by each run', async (t) => {
  const pm = await scheduleHost(t);
  const runs = 8;
  const fixed = await scheduleJob(t, pm, { name: 'fixed', every: 150, initialStart: 7 });
  const after = await scheduleJob(t, pm, { name: 'after', every: 150, fixed: false });
  const [f, a] = await Promise.all([finishes(fixed, runs, 'runs of the fixed schedule'), finishes(after, runs, 'runs of the after-finish schedule')]);
  for (const r of f) t.equal((r.scheduledAt.getTime() - 7) % 150, 0, 'a fixed tick is origin + k × interval');
  for (let i = 1; i < runs; i++) {
    t.equal((f[i]!.scheduledAt.getTime() - f[i - 1]!.scheduledAt.getTime()) % 150, 0, 'fixed ticks are whole intervals apart');
    t.equal(a[i]!.scheduledAt.getTime(), a[i - 1]!.finishedAt!.getTime() + 150, 'an after-finish tick is the previous finish + the interval');
  }
  const drift = a[runs - 1]!.scheduledAt.getTime() - a[0]!.scheduledAt.getTime() - (runs - 1) * 150;
  const spent = a.slice(0, -1).reduce((sum, r) => sum + (r.finishedAt!.getTime() - r.scheduledAt.getTime()), 0);
  t.equal(drift, spent, 'after-finish drift is exactly the time from each tick to its finish');
});

t.test('pause, resume, run now', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'p', every: 200, scheduled: false });
  t.equal(w.stats().scheduled, false);
  t.equal(w.stats().nextStart, null, 'declared paused: nothing armed');
  const manual = await w.runNow();
  t.match(manual, { kind: 'manual', status: 'success' }, 'run now works on a paused schedule');
  t.equal(w.stats().totalRuns, 1);
  w.resume();
  t.ok(w.stats().nextStart!.getTime() > manual.finishedAt!.getTime() - 200, 'resumed: the next tick after now');
  const [ticked] = await finishes(w, 1, 'a tick after resume', (r) => r.kind === 'tick');
  t.equal(ticked!.status, 'success');
  w.pause();
  t.equal(w.stats().nextStart, null, 'paused again');
  const before = w.stats().totalRuns;
  const [again] = await Promise.all([w.runNow(), records(w, 'run', 1, 'the manual run to launch')]);
  t.equal(again.kind, 'manual');
  t.equal(w.stats().totalRuns, before + 1, 'only the manual run ran');
  w.update({ every: 100, scheduled: true });
  t.equal(w.stats().scheduled, true, 'update() resumes through scheduled: true');
  t.equal(w.spec.every, 100);
  const [next] = await finishes(w, 1, 'a tick of the updated interval', (r) => r.kind === 'tick');
  t.equal(next!.scheduledAt.getTime() % 100, 0);
});
