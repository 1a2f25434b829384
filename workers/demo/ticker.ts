/**
 * Demo: a latch-driven ticker. It sleeps on its latch with a one-second timeout and counts a
 * tick each time the timeout fires; a SIGHUP (host.reloadConfig()) sets its latch through the
 * handler and is counted as a reload. SIGTERM ends it through the default path.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from '../../lib/worker/index.js';
import { DEMO_RELOADS, DEMO_TICKS } from './layout.js';

export async function main(ctx: WorkerContext<{ periodMs: number }>): Promise<void> {
  const cells = ctx.shmem('demo').int32;
  let reloadPending = false;
  ctx.onSignal('SIGHUP', () => {
    reloadPending = true;
    ctx.latch.set();
  });
  for (;;) {
    const rc = await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ctx.mainArg.periodMs);
    ctx.latch.reset();
    ctx.checkForInterrupts();
    if (rc & WL_TIMEOUT) Atomics.add(cells, DEMO_TICKS, 1);
    if (reloadPending) {
      reloadPending = false;
      Atomics.add(cells, DEMO_RELOADS, 1);
      ctx.log.info('configuration reloaded');
    }
  }
}
