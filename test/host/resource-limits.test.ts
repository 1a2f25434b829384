/** Per-worker resource limits: enforced by the thread, reported as the crash reason when hit. */
import t from 'tap';
import { fixture, makeHost, stoppedRow } from '../helpers/host.js';

t.test('a worker over its heap limit crashes with ERR_WORKER_OUT_OF_MEMORY; the rest carry on', async (t) => {
  const pm = makeHost(t);
  pm.registerBackgroundWorker({ name: 'bystander', module: fixture('wait-for-terminate') });
  await pm.start();
  const stopped = stoppedRow(pm, 'hog');
  await pm.registerDynamicBackgroundWorker({ name: 'hog', module: fixture('eat-memory'), resourceLimits: { maxOldGenerationSizeMb: 32 } });
  const row = await stopped;
  t.match(row.lastExit, { kind: 'crash', error: { code: 'ERR_WORKER_OUT_OF_MEMORY' } });
  t.equal(pm.activity().find((r) => r.name === 'bystander')?.state, 'running');
});

t.test('a stack overflow inside the entry is an ERROR exit', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const stopped = stoppedRow(pm, 'deep');
  await pm.registerDynamicBackgroundWorker({ name: 'deep', module: fixture('recurse'), resourceLimits: { stackSizeMb: 1 } });
  const row = await stopped;
  t.match(row.lastExit, { code: 1, kind: 'error', error: { name: 'RangeError', message: /call stack/ } });
});

t.test('invalid limits are refused at registration', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  for (const resourceLimits of [{ maxOldGenerationSizeMb: 1 }, { stackSizeMb: 0.5 }, { heap: 5 }, 'big']) {
    await t.rejects(
      pm.registerDynamicBackgroundWorker({ name: 'x', module: fixture('exit-zero'), resourceLimits: resourceLimits as never }),
      { code: 'BGW_ERR_INVALID_RESOURCE_LIMITS' },
    );
  }
  t.same(pm.activity(), []);
});
