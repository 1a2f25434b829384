/** The public surface: the names each entry exports. */
import t from 'tap';
import * as host from '../dist/lib/index.js';
import * as worker from '../dist/lib/worker/index.js';

t.test('host entry', async (t) => {
  for (const name of ['Postmaster', 'BackgroundWorkerHandle', 'HostLWLock', 'ShmemStruct', 'BgwHandleStatus', 'BgWorkerStartTime', 'BGWORKER_SHMEM_ACCESS', 'BGW_NEVER_RESTART', 'BgwError', 'isBgwError', 'CATALOGUE', 'consoleLogger']) {
    t.ok(name in host, name);
  }
  t.notOk('WorkerContext' in host, 'no worker-side API on the host entry');
});

t.test('worker entry', async (t) => {
  for (const name of ['WorkerContext', 'WorkerBackgroundWorkerHandle', 'WL_LATCH_SET', 'WL_TIMEOUT', 'WL_POSTMASTER_DEATH', 'WL_EXIT_ON_PM_DEATH', 'BgwError', 'isBgwError', 'CATALOGUE', 'BGWORKER_SHMEM_ACCESS']) {
    t.ok(name in worker, name);
  }
  t.notOk('Postmaster' in worker, 'no host API on the worker entry');
});
