/** Dynamic shared memory: handles, attach and detach, pinning, cleanup on exit and on crash. */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS } from '../../dist/lib/index.js';
import { DW_MARK, DW_MARK_VALUE, DW_OWN_BYTES, DW_OWN_HANDLE, DW_OWN_SIZE } from '../../dist/test/fixtures/dsm-writer.js';
import { fixture, makeHost, nextEvent, stoppedRow } from '../helpers/host.js';

t.test('a segment lives while attached or pinned, and is gone after the last detach', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const seg = pm.dsmCreate(4096);
  t.equal(seg.size, 4096);
  const again = pm.dsmAttach(seg.handle);
  t.equal(again?.buffer, seg.buffer, 'the same memory by handle');
  seg.detach();
  seg.detach();
  t.ok(pm.dsmAttach(seg.handle), 'still there: one claim was left, and a new one taken');
  again!.detach();
  const pinned = pm.dsmCreate(64);
  pinned.pin();
  pinned.detach();
  const found = pm.dsmAttach(pinned.handle);
  t.ok(found, 'a pinned segment outlives its users');
  found!.unpin();
  found!.detach();
  t.equal(pm.dsmAttach(pinned.handle), null, 'unpinned and unused: gone');
  t.throws(() => pm.dsmCreate(0), { code: 'BGW_ERR_DSM_INVALID_SIZE' });
});

t.test('a worker attaches by handle, writes, and its claim is dropped when it exits', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const seg = pm.dsmCreate(64);
  const stopped = stoppedRow(pm, 'dsm');
  await pm.registerDynamicBackgroundWorker({ name: 'dsm', module: fixture('dsm-writer'), flags: BGWORKER_SHMEM_ACCESS, mainArg: { handle: seg.handle } });
  await stopped;
  const cells = new Int32Array(seg.buffer);
  t.equal(cells[DW_MARK], DW_MARK_VALUE, 'the worker wrote into the segment');
  t.equal(cells[DW_OWN_SIZE], DW_OWN_BYTES, 'and created one of its own');
  seg.detach();
  t.equal(pm.dsmAttach(seg.handle), null, "the worker's claim went with it");
  t.equal(pm.dsmAttach(cells[DW_OWN_HANDLE]!), null, 'so did the segment it created and never detached');
});

t.test('a worker without shared-memory access cannot use dynamic shared memory', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const stopped = stoppedRow(pm, 'dsm');
  await pm.registerDynamicBackgroundWorker({ name: 'dsm', module: fixture('dsm-writer'), mainArg: { handle: 1 } });
  const row = await stopped;
  t.equal(row.lastExit?.error?.code, 'BGW_ERR_NO_SHMEM_ACCESS');
});

t.test('a crash-restart cycle destroys every segment', async (t) => {
  const pm = makeHost(t, { quitGraceMs: 500 });
  await pm.start();
  const seg = pm.dsmCreate(64);
  const reinit = nextEvent(pm, 'reinitialized', 'the crash-restart cycle after the crasher');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: BGWORKER_SHMEM_ACCESS, mainArg: { code: 2 } });
  await reinit;
  t.equal(pm.dsmAttach(seg.handle), null);
});

t.test('host latches: one per endpoint, given back on release', async (t) => {
  const pm = makeHost(t, { hostLatches: 2 });
  await pm.start();
  const a = pm.mqEndpoint();
  const b = pm.mqEndpoint();
  t.not(a.procNumber, b.procNumber);
  t.throws(() => pm.mqEndpoint(), { code: 'BGW_ERR_HOST_LATCHES_EXHAUSTED' });
  a.release();
  t.ok(pm.mqEndpoint(), 'available again');
});
