/**
 * notify.wake, our side: a bgworker LISTENing through the host's listener. Each time its
 * latch wait returns with notifications queued it stores the wall time (µs since the epoch,
 * comparable across threads) in float64 cell 1 of shmem "bench", bumps int32 cell 0 and
 * notifies it, so the host can wait for it without polling.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_SOCKET_READABLE } from '../../lib/worker/index.js';

export async function main(ctx: WorkerContext<{ channel: string }>): Promise<void> {
  const region = ctx.shmem('bench');
  await ctx.listen(ctx.mainArg.channel);
  Atomics.store(region.int32, 2, 1);
  Atomics.notify(region.int32, 2);
  for (;;) {
    ctx.latch.reset();
    ctx.checkForInterrupts();
    const rc = await ctx.latch.waitAsync(WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH);
    if (!(rc & WL_SOCKET_READABLE)) continue;
    region.float64[1] = (performance.timeOrigin + performance.now()) * 1000;
    ctx.notifications();
    Atomics.add(region.int32, 0, 1);
    Atomics.notify(region.int32, 0);
  }
}
