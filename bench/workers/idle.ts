/**
 * Entry of an idle dynamic worker (slots.churn's activity() read, host.eld.256, mem.worker):
 * it counts itself in the host's region (if given one), then sleeps on its latch with
 * waitAsync, as a worker waiting for work does, until SIGTERM. With `report`, it first
 * writes its heap's split (heap-spaces.ts) to the region's float64 words 1 and on.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET } from '../../lib/worker/index.js';
import { heapKiB } from './heap-spaces.js';

export async function main(ctx: WorkerContext<{ region: string; report?: boolean } | undefined>): Promise<void> {
  let stop = false;
  ctx.onSignal('SIGTERM', () => (stop = true));
  if (ctx.mainArg) {
    const region = ctx.shmem(ctx.mainArg.region);
    if (ctx.mainArg.report) region.float64.set(heapKiB(), 1);
    const up = region.int32;
    Atomics.add(up, 0, 1);
    Atomics.notify(up, 0);
  }
  while (!stop) {
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_EXIT_ON_PM_DEATH);
    ctx.latch.reset();
  }
}
