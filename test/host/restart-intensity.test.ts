/**
 * The restart brake: a crash storm is capped by restart intensity, with backoff, and the
 * worker is marked failed instead of restarting forever; `false` keeps PostgreSQL's
 * restart-forever behaviour; the host-wide limit caps several workers together.
 */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow, type BackgroundWorker } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent, nextEvents, startedRow } from '../helpers/host.js';

const storm: BackgroundWorker = { name: 'storm', module: fixture('process-exit'), mainArg: { code: 2 }, restartTime: 0 };

t.test('a crash storm is stopped after maxRestarts and the worker marked failed', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 3, withinSeconds: 60, backoffBaseMs: 5 } });
  await pm.start();
  const failed = nextEvent<[ActivityRow]>(pm, 'failed', 'the storm to be marked failed');
  const h = await pm.registerDynamicBackgroundWorker(storm);
  const [row] = await failed;
  t.equal(row.restarts, 3, 'relaunched three times, then refused');
  t.equal(row.state, 'failed');
  t.equal(row.lastExit?.kind, 'crash');
  t.equal(pm.activity()[0]!.state, 'failed', 'visible in the activity list');
  t.equal(h!.status().status, 'stopped');
  t.ok(await pm.registerDynamicBackgroundWorker({ name: 'other', module: fixture('exit-zero') }), 'the host keeps working');
  const gone = nextEvent(pm, 'unregistered', 'the terminated storm to be forgotten', (r: ActivityRow) => r.name === 'storm');
  await h!.terminate();
  await t.resolves(gone, 'terminating a failed worker frees its slot');
});

t.test('restartIntensity false restarts forever, as PostgreSQL does', async (t) => {
  const pm = makeHost(t, { restartIntensity: false });
  await pm.start();
  let failed = 0;
  pm.on('failed', () => failed++);
  const eighth = startedRow(pm, 'storm', 8);
  const h = await pm.registerDynamicBackgroundWorker(storm);
  await eighth;
  t.equal(failed, 0, 'never marked failed');
  await h!.terminate();
});

t.test('the host-wide limit caps the restarts of all workers together', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 100, hostMaxRestarts: 4, withinSeconds: 60, backoffBaseMs: 5 } });
  await pm.start();
  const bothFailed = nextEvents<[ActivityRow]>(pm, 'failed', 2, 'both storms to be marked failed');
  await pm.registerDynamicBackgroundWorker({ ...storm, name: 'storm a' });
  await pm.registerDynamicBackgroundWorker({ ...storm, name: 'storm b' });
  const rows = (await bothFailed).map(([r]) => r);
  t.equal(rows.reduce((n, r) => n + r.restarts, 0), 4, 'four relaunches in all');
});

t.test('bystanders relaunched by another worker\'s crash cycles are not counted against their brake', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 3, hostMaxRestarts: 100, withinSeconds: 60, backoffBaseMs: 5 } });
  pm.registerBackgroundWorker({ name: 'bystander', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: 1 });
  await pm.start();
  // Four crashes: three relaunches of the crasher are admitted, the fourth refused; the
  // bystander is relaunched after each of the four cycles, its fourth as the crasher fails.
  const crasherFailed = nextEvent<[ActivityRow]>(pm, 'failed', 'the crasher to be marked failed', (r) => r.name === 'crasher');
  const fourthLife = nextEvent<[ActivityRow]>(pm, 'started', 'the bystander\'s fifth life', (r) => r.name === 'bystander' && r.restarts === 4);
  await pm.registerDynamicBackgroundWorker({ ...storm, name: 'crasher', flags: BGWORKER_SHMEM_ACCESS });
  const [crasher] = await crasherFailed;
  t.equal(crasher.restarts, 3, 'the crasher was relaunched three times, then refused');
  await fourthLife;
  t.equal(pm.activity().find((r) => r.name === 'bystander')?.state, 'running', 'the bystander runs on, not failed');
});

t.test('resetFailed gives a failed worker another chance', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 1, withinSeconds: 60, backoffBaseMs: 5 } });
  await pm.start();
  const failed = nextEvent<[ActivityRow]>(pm, 'failed', 'the storm to be marked failed');
  const h = await pm.registerDynamicBackgroundWorker(storm);
  await failed;
  t.equal(pm.health().status, 'failed', 'the host reports itself failed');
  t.match(pm.health().reasons, [/worker "storm" exceeded its restart intensity/]);
  t.equal(pm.resetFailed('no such worker'), 0, 'a name that matches nothing resets nothing');
  const again = nextEvent<[ActivityRow]>(pm, 'failed', 'the storm to fail again after its reset');
  const relaunched = nextEvent<[ActivityRow]>(pm, 'started', 'the storm to be launched again after its reset');
  t.equal(pm.resetFailed(h!), 1, 'the handle\'s worker was reset');
  await relaunched;
  const [row] = await again;
  t.equal(row.restarts, 2, 'it ran again: one more relaunch admitted after the reset, then refused again');
});
