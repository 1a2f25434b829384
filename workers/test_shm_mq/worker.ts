/**
 * test_shm_mq_main: one stage of the test_shm_mq pipeline. It attaches the segment, takes a
 * worker number, becomes the receiver of queue n and the sender of queue n+1, tells the
 * leader it is ready, then copies every message it receives to the next queue until either
 * queue reports detached — which is how the pipeline shuts down, stage by stage.
 */
import { ShmMq, ShmToc, type WorkerContext } from '../../lib/worker/index.js';
import { HDR_BYTES, HDR_WORKERS_ATTACHED, HDR_WORKERS_READY, HDR_WORKERS_TOTAL, PG_TEST_SHM_MQ_MAGIC, type TestShmMqArg } from './layout.js';

export async function main(ctx: WorkerContext<TestShmMqArg>): Promise<void> {
  const seg = await ctx.dsmAttach(ctx.mainArg.dsm);
  if (!seg) throw new Error('unable to map dynamic shared memory segment');
  const toc = ShmToc.attach(PG_TEST_SHM_MQ_MAGIC, seg.buffer, 0);
  if (!toc) throw new Error('bad magic number in dynamic shared memory segment');
  const hdr = new Int32Array(seg.buffer, toc.lookup(0)!, HDR_BYTES >> 2);
  const n = Atomics.add(hdr, HDR_WORKERS_ATTACHED, 1) + 1;
  if (n > Atomics.load(hdr, HDR_WORKERS_TOTAL)) throw new Error('too many message queue testing workers already');

  const me = ctx.mqEndpoint();
  const inq = ShmMq.open(seg.buffer, toc.lookup(n)!);
  inq.setReceiver(me);
  const outq = ShmMq.open(seg.buffer, toc.lookup(n + 1)!);
  outq.setSender(me);
  const input = ctx.mqAttach(inq, 'receiver');
  const output = ctx.mqAttach(outq, 'sender');

  Atomics.add(hdr, HDR_WORKERS_READY, 1);
  me.latchOf(ctx.mainArg.leader).set();

  for (;;) {
    const r = input.receive();
    if (r.result !== 'success') break;
    if (output.send(r.data!) !== 'success') break;
    ctx.checkForInterrupts();
  }
  input.detach();
  output.detach();
  seg.detach();
}
