/** The pgstat-like collector: per-worker rows counted without locks, summed by the host without locks. */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { pgstatShmem, pgstatTotals } from '../../dist/workers/pgstat/stats.js';
import { makeHost, nextEvents } from '../helpers/host.js';

t.test('three workers count 50,000 items each; the host reads exact totals lock-free', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 4, shmem: pgstatShmem(4) });
  await pm.start();
  const done = nextEvents(pm, 'stopped', 3, 'the three busy workers to count their items and stop');
  let lastSeen = 0n;
  let monotonic = true;
  const sampler = setInterval(() => {
    const now = pgstatTotals(pm)[0]!;
    if (now < lastSeen) monotonic = false;
    lastSeen = now;
  }, 1);
  for (let i = 0; i < 3; i++) {
    await pm.registerDynamicBackgroundWorker({ name: `busy ${i}`, module: new URL('../../dist/workers/pgstat/busy-worker.js', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg: { items: 50_000, bytesPerItem: 3 } });
  }
  await done;
  clearInterval(sampler);
  const [processed, failed, bytes] = pgstatTotals(pm);
  t.equal(processed, 150_000n);
  t.equal(failed, 0n);
  t.equal(bytes, 450_000n);
  t.ok(monotonic, 'totals read while the workers counted never went backwards');
});
