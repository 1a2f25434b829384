/**
 * What the host's handles say once a shutdown has stopped their workers, in each mode, and
 * what follows for a host-side shm_mq wait whose counterparty is such a worker: the worker
 * reads as stopped (its slot no longer names a live thread), and the wait ends with
 * 'detached' instead of holding the process open.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { BgwHandleStatus, type ShutdownMode } from '../../dist/lib/index.js';
import { setupPipeline } from '../../dist/workers/test_shm_mq/setup.js';
import { makeHost } from '../helpers/host.js';

const SAFETY_MS = 3000;

for (const mode of ['smart', 'fast', 'immediate'] as const satisfies readonly ShutdownMode[]) {
  t.test(`${mode} shutdown: handles read stopped, a host queue wait on a stopped worker ends`, async (t) => {
    const pm = makeHost(t, { quitGraceMs: 500, terminateGraceMs: 500 });
    await pm.start();
    const p = await setupPipeline(pm, 1024, 1);
    const worker = p.workers[0]!;
    const received = p.inq.receiveAsync();
    await pm.shutdown(mode);
    t.equal(pm.pmState, 'stopped', 'the shutdown completed');
    t.same(worker.status(), { status: BgwHandleStatus.Stopped, pid: null }, 'the handle of the stopped worker reads stopped');
    const outcome = await Promise.race([received.then((r) => r.result), sleep(SAFETY_MS).then(() => 'still waiting')]);
    t.equal(outcome, 'detached', 'the host queue wait on it ended');
    p.close();
    p.endpoint.latch.set();
    t.equal((await received).result, 'detached', 'closing the queue ends any wait still pending');
  });
}
