/** The piscina fan-out worker: the pool's answer equals the same count done in one thread. */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import countPrimes from '../../dist/workers/fanout/task.js';
import { makeHost, stoppedRow } from '../helpers/host.js';

/** The Int32 cell of shmem "fanout" where workers/fanout/worker.ts stores its total. */
const TOTAL = 0;

t.test('a bgworker fans short CPU tasks out to a piscina pool and gathers them', async (t) => {
  const pm = makeHost(t, { shmem: { fanout: 64 } });
  await pm.start();
  const stopped = stoppedRow(pm, 'fanout');
  const arg = { from: 0, to: 200_000, chunks: 8, threads: 2 };
  await pm.registerDynamicBackgroundWorker({ name: 'fanout', module: new URL('../../dist/workers/fanout/worker.js', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg: arg });
  const row = await stopped;
  t.equal(row.lastExit?.kind, 'normal');
  t.equal(pm.shmem('fanout').int32[TOTAL], countPrimes({ from: 0, to: 200_000 }));
});
