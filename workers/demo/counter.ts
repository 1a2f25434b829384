/**
 * Demo: a shared-memory counter. Every `intervalMs` the worker adds one to the demo region's
 * `total` cell and to its own cell, both under the exclusive "counter" LWLock, so the total
 * always equals the sum of the per-worker cells — the host checks that invariant, lock-free
 * readers would not be able to.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from '../../lib/worker/index.js';
import { DEMO_TOTAL } from './layout.js';

export async function main(ctx: WorkerContext<{ cell: number; intervalMs: number }>): Promise<void> {
  const cells = ctx.shmem('demo').int32;
  const lock = ctx.lock('counter');
  for (;;) {
    ctx.latch.reset();
    ctx.checkForInterrupts();
    lock.with('exclusive', () => {
      cells[DEMO_TOTAL] = cells[DEMO_TOTAL]! + 1;
      cells[ctx.mainArg.cell] = cells[ctx.mainArg.cell]! + 1;
    });
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ctx.mainArg.intervalMs);
  }
}
