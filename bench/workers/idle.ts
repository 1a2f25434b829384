/**
 * Entry of an idle dynamic worker (slots.churn's activity() read, host.eld.256, mem.worker):
 * it counts itself in the host's region (if given one), then sleeps on its latch with
 * waitAsync, as a worker waiting for work does, until SIGTERM.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET } from '../../lib/worker/index.js';

export async function main(ctx: WorkerContext<{ region: string } | undefined>): Promise<void> {
  let stop = false;
  ctx.onSignal('SIGTERM', () => (stop = true));
  if (ctx.mainArg) {
    const up = ctx.shmem(ctx.mainArg.region).int32;
    Atomics.add(up, 0, 1);
    Atomics.notify(up, 0);
  }
  while (!stop) {
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_EXIT_ON_PM_DEATH);
    ctx.latch.reset();
  }
}
