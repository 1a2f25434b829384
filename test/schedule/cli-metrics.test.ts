/**
 * Schedules outside the API: the CLI's config `schedules` section (JSON lines for every
 * run), refused schedules in a config (exit 2, the host stopped), the Prometheus renderer
 * and the text table.
 */
import t from 'tap';
import { formatSchedules, scheduleMetrics } from '../../dist/lib/index.js';
import { jsonLines, runCli, writeConfig } from '../helpers/cli.js';
import { finishes, job, scheduleHost, scheduleJob } from '../helpers/schedule.js';

t.test('the CLI declares the config\'s schedules and logs their runs', async (t) => {
  const dir = t.testdir();
  const config = writeConfig(dir, {
    shmem: { test: 64 },
    schedules: [{ name: 'cli tick', module: job, flags: ['BGWORKER_SHMEM_ACCESS'], every: '200ms', maxRetries: 0 }],
  });
  const cli = runCli(t, ['--output', 'json', config]);
  const finished = (s: string): Array<Record<string, unknown>> => jsonLines(s).filter((l) => l['event'] === 'schedule.finish');
  await cli.waitFor((s) => finished(s).length >= 2, 'two runs of the configured schedule');
  for (const l of finished(cli.stdout())) t.match(l, { schedule: 'cli tick', status: 'success', kind: 'tick' });
  t.ok(jsonLines(cli.stdout()).some((l) => l['event'] === 'started' && l['type'] === 'cli tick'), "the run's worker is in the host events");
  cli.child.kill('SIGINT');
  t.equal(await cli.exitStatus('the CLI to exit after SIGINT'), 0);
});

t.test('a schedule the scheduler refuses: exit 2, one line on stderr', async (t) => {
  const dir = t.testdir();
  const bad = writeConfig(dir, { schedules: [{ name: 'bad', module: job, every: 0 }] });
  const cli = runCli(t, ['--output', 'json', bad]);
  t.equal(await cli.exitStatus('the CLI to refuse the schedule'), 2);
  t.match(cli.stderr(), /BGW_ERR_SCHEDULE_INVALID/);
  const misspelt = writeConfig(dir, { schedules: [{ name: 'bad', module: job, every: 1000, overlapp: 'skip' }] }, 'misspelt.json');
  const cli2 = runCli(t, ['--output', 'json', misspelt]);
  t.equal(await cli2.exitStatus('the CLI to refuse the field'), 2);
  t.match(cli2.stderr(), /unknown field "overlapp".*BGW_ERR_CONFIG_INVALID/);
});

t.test('scheduleMetrics and formatSchedules read the schedules at render time', async (t) => {
  const pm = await scheduleHost(t);
  const metrics = scheduleMetrics(pm);
  t.equal((await metrics.render()).includes('schedule="m"'), false, 'nothing before it is declared');
  const w = await scheduleJob(t, pm, { name: 'm', every: 200 });
  await finishes(w, 1, 'a run of the measured schedule');
  const text = await metrics.render();
  t.match(text, /^bgworker_schedule_runs_total\{schedule="m",status="success"\} [1-9]/m);
  t.match(text, /^bgworker_schedule_skipped_total\{schedule="m",reason="overlap"\} \d+$/m);
  t.match(text, /^bgworker_schedule_next_start_seconds\{schedule="m"\} \d+(\.\d+)?$/m);
  t.match(text, /^bgworker_schedule_scheduled\{schedule="m"\} 1$/m);
  t.match(text, /^# TYPE bgworker_schedule_running gauge$/m);
  w.pause();
  t.notMatch(await metrics.render(), /bgworker_schedule_next_start_seconds\{/, 'no next start while paused');
  const table = formatSchedules(pm.schedules());
  t.match(table, /^schedule \| rule/);
  t.match(table, /\nm +\| every 200 +\| paused/);
});
