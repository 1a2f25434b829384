/**
 * The policies on real threads: overlap (skip, queue, parallel) with a run that overruns,
 * the max run time, retries with their backoff and maxRetries, slots full, and the misfire
 * rule when the host's event loop stalls. Waits are on events and counts; the assertions
 * are on what the scheduler decided and computed.
 */
import t from 'tap';
import type { RetryInfo } from '../../dist/lib/index.js';
import { MAX_RUNNING, RELEASE, STARTS } from '../fixtures/scheduled-job.js';
import { pollUntil } from '../helpers/deadline.js';
import { fixture, nextEvent, nextEvents } from '../helpers/host.js';
import { finishes, records, scheduleHost, scheduleJob } from '../helpers/schedule.js';

const hold = { hold: true };

t.test("overlap 'skip' (the default): ticks during an overrunning run are skipped and counted", async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'skip', every: 100, mainArg: hold });
  const skips = await records(w, 'skip', 3, 'three ticks skipped while the first run holds');
  for (const s of skips) t.match(s, { status: 'skipped', reason: 'overlap' });
  t.equal(w.stats().running, 1);
  const done = finishes(w, 1, 'the overrunning run to finish once released');
  pm.shmem('test').int32[RELEASE] = 1;
  t.equal((await done)[0]!.status, 'success');
  t.equal(pm.shmem('test').int32[MAX_RUNNING], 1, 'never two at once');
  t.ok(w.stats().skippedBy.overlap >= 3);
  t.equal(w.stats().totalSkipped, w.stats().skippedBy.overlap + w.stats().skippedBy.misfire + w.stats().skippedBy.backoff + w.stats().skippedBy.unclaimed);
});

t.test("overlap 'queue': one pending run at most, launched when the running one ends", async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'queue', every: 100, overlap: 'queue', mainArg: hold });
  const [queued] = await records(w, 'queued', 1, 'a tick to be queued behind the running run');
  await records(w, 'skip', 2, 'later ticks skipped: one pending at most');
  t.equal(w.stats().queued, 1);
  const done = finishes(w, 2, 'the running run and then the queued one');
  pm.shmem('test').int32[RELEASE] = 1;
  const [first, second] = await done;
  t.equal(first!.status, 'success');
  t.equal(second!.scheduledAt.getTime(), queued!.scheduledAt.getTime(), 'the queued tick ran next');
  t.equal(second!.status, 'success');
  t.ok(second!.launchedAt!.getTime() >= first!.finishedAt!.getTime(), 'launched after the first ended');
  t.equal(pm.shmem('test').int32[MAX_RUNNING], 1);
});

t.test("overlap 'parallel': up to maxParallel at once, then skipped", async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'par', every: 100, overlap: 'parallel', maxParallel: 2, mainArg: hold });
  await records(w, 'run', 2, 'two runs to launch');
  await records(w, 'skip', 2, 'the third and fourth ticks skipped');
  await pollUntil(() => pm.shmem('test').int32[MAX_RUNNING] === 2, 'both runs to be inside their entries');
  const done = finishes(w, 2, 'both parallel runs to finish');
  pm.shmem('test').int32[RELEASE] = 1;
  t.same((await done).map((r) => r.status), ['success', 'success']);
  t.equal(pm.shmem('test').int32[MAX_RUNNING], 2, 'never more than maxParallel');
});

t.test('the max run time stops a run (SIGTERM at the deadline) and counts it as a timeout', async (t) => {
  const pm = await scheduleHost(t, { terminateGraceMs: 100 });
  const w = await scheduleJob(t, pm, { name: 'slow', every: '1h', maxRuntimeMs: 200, maxRetries: 0, mainArg: hold });
  const r = await w.runNow();
  t.match(r, { status: 'timeout', exitKind: 'timeout' });
  const s = w.stats();
  t.equal(s.totalTimeouts, 1);
  t.equal(s.consecutiveFailures, 1, 'a timeout is a failure for the streak');
  t.equal(s.lastRunStatus, 'timeout');
  t.equal(s.nextStart!.getTime() % 3_600_000, 0, 'maxRetries 0: no retry, the next tick is the hourly one');
});

t.test('retries back off as stated (linear in failures, ±12.5 %) and stop after maxRetries', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'flaky', every: '1h', retryPeriodMs: 100, maxRetries: 3, mainArg: { fail: true } });
  const retries = nextEvents<[RetryInfo]>(w, 'retry', 3, 'three retries');
  const ends = finishes(w, 4, 'the manual run and its three retries to fail');
  void w.runNow();
  const done = await ends;
  t.same(done.map((r) => [r.kind, r.status]), [['manual', 'failed'], ['retry', 'failed'], ['retry', 'failed'], ['retry', 'failed']]);
  t.same(done.map((r) => r.attempt), [0, 1, 2, 3], "a retry's attempt is the failures before it");
  const infos = (await retries).map(([i]) => i);
  infos.forEach((info, i) => {
    t.equal(info.failures, i + 1);
    t.equal(info.baseMs, (i + 1) * 100, 'base = failures × retryPeriodMs (below the cap of 5 hours)');
    t.ok(info.delayMs >= info.baseMs * 0.875 && info.delayMs <= info.baseMs * 1.125, `delay ${info.delayMs} within ±12.5 % of ${info.baseMs}`);
    t.equal(info.at.getTime(), done[i]!.finishedAt!.getTime() + info.delayMs, 'next start = finish + delay');
    t.equal(done[i + 1]!.scheduledAt.getTime(), info.at.getTime(), 'the retry ran at that time');
  });
  const s = w.stats();
  t.equal(s.consecutiveFailures, 4);
  t.equal(s.totalFailures, 4);
  t.equal(s.nextStart!.getTime() % 3_600_000, 0, 'no fourth retry: back to the hourly ticks');
});

t.test('a success ends the failure streak', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'mend', every: '1h', retryPeriodMs: 100, mainArg: { fail: true } });
  const failed = await w.runNow();
  t.equal(failed.status, 'failed');
  w.update({ mainArg: {} });
  const [fixed] = await finishes(w, 1, 'the retry, now succeeding');
  t.match(fixed, { kind: 'retry', status: 'success' });
  t.equal(w.stats().consecutiveFailures, 0);
  t.equal(w.stats().lastSuccessfulFinish?.getTime(), fixed!.finishedAt!.getTime());
});

t.test('slots full: the runs are delayed, counted, and run once slots free', async (t) => {
  const pm = await scheduleHost(t, { maxWorkerProcesses: 2 });
  const blockers = await Promise.all([0, 1].map((i) => pm.registerDynamicBackgroundWorker({ name: `blocker ${i}`, module: fixture('wait-for-terminate') })));
  for (const b of blockers) await b!.waitForStartup();
  const w = await scheduleJob(t, pm, { name: 'crowded', every: '1h', overlap: 'parallel', maxParallel: 2 });
  const delayed = records(w, 'delayed', 2, 'both manual runs to find no slot');
  const both = Promise.all([w.runNow(), w.runNow()]);
  await delayed;
  t.equal(w.stats().slotDelays, 2);
  t.equal(w.stats().running, 2, 'delayed runs count as running: they are not dropped');
  t.equal(pm.shmem('test').int32[STARTS], 0, 'nothing ran yet');
  await blockers[0]!.terminate();
  await blockers[1]!.terminate();
  const runs = await both;
  t.same(runs.map((r) => [r.status, r.slotDelayed]), [['success', true], ['success', true]]);
  t.equal(pm.shmem('test').int32[STARTS], 2);
});

t.test('a stalled event loop: the missed ticks are counted and one catch-up runs (misfire run_once)', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'stall', every: 200 });
  const [first] = await finishes(w, 1, 'a first run');
  const misfire = nextEvent<[{ missed: number; ran: boolean }]>(w, 'misfire', 'the stall to be noticed as a misfire');
  const catchUp = finishes(w, 1, 'the catch-up run', (r) => r.kind === 'catch_up');
  // Block the host thread through three more ticks, ending mid-interval.
  const until = first!.scheduledAt.getTime() + 4 * 200 + 100;
  while (Date.now() < until);
  const [info] = await misfire;
  t.ok(info.missed >= 2 && info.ran, `missed ${info.missed}, and a catch-up runs`);
  t.equal((await catchUp)[0]!.status, 'success');
  t.ok(w.stats().missedTicks >= 2);
});

t.test('misfire skip: a tick reached past the grace is skipped too', async (t) => {
  const pm = await scheduleHost(t);
  const w = await scheduleJob(t, pm, { name: 'stall-skip', every: 200, misfire: 'skip', misfireGraceMs: 50 });
  const [first] = await finishes(w, 1, 'a first run');
  const skip = records(w, 'skip', 1, 'the late tick to be skipped');
  const until = first!.scheduledAt.getTime() + 4 * 200 + 100;
  while (Date.now() < until);
  const [r] = await skip;
  t.match(r, { status: 'skipped', reason: 'misfire' });
  t.ok(r!.missed >= 2, `and ${r!.missed} before it missed`);
  const [next] = await finishes(w, 1, 'the next tick on time');
  t.ok(next!.scheduledAt.getTime() > r!.scheduledAt.getTime());
});

