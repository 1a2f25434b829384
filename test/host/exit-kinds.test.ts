/**
 * Exit kinds (lib/host/exit-status.ts): a stop the host or a registrant asked for is named
 * after the request — terminated, shutdown, immediate, crash_restart — whatever exit code
 * PostgreSQL's rules give it, so that only real errors and crashes count as such. A worker
 * hard-stopped while the host shuts down is stopped, not a crash.
 */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS, BgwHandleStatus, type ActivityRow } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const waiting = { module: fixture('wait-for-terminate'), flags: S, restartTime: 0 };

t.test('terminate, shutdown and immediate shutdown each name the exit; PostgreSQL\'s code stays', async (t) => {
  const pm = makeHost(t);
  pm.registerBackgroundWorker({ ...waiting, name: 'static' });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'dynamic' });
  await within(h!.waitForStartup(), 'worker "dynamic" to start');
  const terminated = stoppedRow(pm, 'dynamic');
  await h!.terminate();
  t.match((await terminated).lastExit, { kind: 'terminated', code: 1, error: { code: 'BGW_ERR_ADMIN_SHUTDOWN' } }, 'terminate()');
  const shut = stoppedRow(pm, 'static');
  await pm.shutdown('fast');
  t.match((await shut).lastExit, { kind: 'shutdown', code: 1 }, 'fast shutdown');

  const pm2 = makeHost(t);
  pm2.registerBackgroundWorker({ ...waiting, name: 'static' });
  await pm2.start();
  await within(pm2.registerDynamicBackgroundWorker({ ...waiting, name: 'extra' }), 'the registration');
  const quit = stoppedRow(pm2, 'static');
  await pm2.shutdown('immediate');
  t.match((await quit).lastExit, { kind: 'immediate', code: 2 }, 'immediate shutdown: SIGQUIT, exit 2, not a crash');
});

t.test('bystanders of a crash-restart cycle are named crash_restart, the crasher crash', async (t) => {
  const pm = makeHost(t);
  pm.registerBackgroundWorker({ ...waiting, name: 'bystander' });
  await pm.start();
  const bystander = stoppedRow(pm, 'bystander');
  const crasher = stoppedRow(pm, 'crasher');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), mainArg: { code: 2 }, flags: S });
  t.match((await crasher).lastExit, { kind: 'crash', code: 2 });
  t.match((await bystander).lastExit, { kind: 'crash_restart' });
});

t.test('a worker hard-stopped during a shutdown is stopped with hard_stop, and no crash cycle begins', async (t) => {
  for (const mode of ['fast', 'smart'] as const) {
    const pm = makeHost(t, { terminateGraceMs: 200 });
    await pm.start();
    let crashes = 0;
    pm.on('crash', () => crashes++);
    const h = await pm.registerDynamicBackgroundWorker({ name: 'stubborn', module: fixture('ignore-sigterm'), flags: S, restartTime: 0 });
    await within(h!.waitForStartup(), 'worker "stubborn" to start');
    const stopped = stoppedRow(pm, 'stubborn');
    await pm.shutdown(mode);
    const row = await stopped;
    t.equal(row.lastExit?.kind, 'hard_stop', `${mode}: reported as a hard stop`);
    t.equal(row.state, 'stopped', `${mode}: stopped, not waiting to restart`);
    t.equal(crashes, 0, `${mode}: no crash event while shutting down`);
    t.equal(h!.status().status, BgwHandleStatus.Stopped, `${mode}: the handle reads stopped after shutdown() resolved`);
    t.equal((await within(h!.waitForShutdown(), 'the handle\'s shutdown wait')).status, BgwHandleStatus.Stopped, `${mode}: waitForShutdown says stopped, not postmaster_died`);
  }
});

t.test('the metrics count requested stops under their own kinds, not as errors', async (t) => {
  const { postmasterMetrics } = await import('../../dist/lib/index.js');
  const pm = makeHost(t);
  const metrics = postmasterMetrics(pm);
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ ...waiting, name: 'w', type: 'w' });
  await within(h!.waitForStartup(), 'worker "w" to start');
  const gone = nextEvent<[ActivityRow]>(pm, 'stopped', 'worker "w" to stop');
  await h!.terminate();
  await gone;
  const text = (await metrics.render());
  t.match(text, /bgworker_worker_exits_total\{type="w",kind="terminated"\} 1/);
  t.match(text, /bgworker_worker_exits_total\{type="w",kind="error"\} 0/);
});
