/**
 * What the host's handles say once a shutdown has stopped their workers, in each mode, and
 * what follows for a host-side shm_mq wait whose counterparty is such a worker: the worker
 * reads as stopped (its slot no longer names a live thread), and the wait ends with
 * 'detached' instead of holding the process open.
 */
import t from 'tap';
import { BgwHandleStatus, type ShutdownMode } from '../../dist/lib/index.js';
import { setupPipeline } from '../../dist/workers/test_shm_mq/setup.js';
import { within } from '../helpers/deadline.js';
import { makeHost } from '../helpers/host.js';

const SAFETY_MS = 3000;

for (const mode of ['smart', 'fast', 'immediate'] as const satisfies readonly ShutdownMode[]) {
  t.test(`${mode} shutdown: handles read stopped, a host queue wait on a stopped worker ends`, async (t) => {
    const pm = makeHost(t, { quitGraceMs: 500, terminateGraceMs: 500 });
    await pm.start();
    const p = await within(setupPipeline(pm, 1024, 1), 'the one-stage pipeline to be set up');
    const worker = p.workers[0]!;
    const received = p.inq.receiveAsync();
    await pm.shutdown(mode);
    t.equal(pm.pmState, 'stopped', 'the shutdown completed');
    t.same(worker.status(), { status: BgwHandleStatus.Stopped, pid: null }, 'the handle of the stopped worker reads stopped');
    // A wait still pending at the deadline fails this check with the deadline's message; the
    // close below must end it all the same.
    const ended = within(received, 'the host queue wait on the stopped worker to end', SAFETY_MS);
    const outcome = await ended.then((r) => r.result, (e: Error) => e.message);
    t.equal(outcome, 'detached', 'the host queue wait on it ended');
    p.close();
    p.endpoint.latch.set();
    t.equal((await within(received, 'the queue wait to end once the queue is closed')).result, 'detached', 'closing the queue ends any wait still pending');
  });
}
