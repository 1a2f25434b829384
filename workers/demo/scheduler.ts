/**
 * Demo: schedules the counter checks from a worker. Every `everyMs` it registers a one-shot
 * checker (oneshot.ts, BGW_NEVER_RESTART) as a dynamic worker, the way worker_spi_launch
 * registers one from a backend. `npm start` runs the demo through the bgworker CLI, which has
 * no host code of its own to schedule them (main.ts, the embedded host, schedules them itself).
 * It asks for no start/stop notification: its latch wakes it only for its timer and signals.
 */
import {
  BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT,
} from '../../lib/worker/index.js';

const oneshot = new URL(`./oneshot${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export async function main(ctx: WorkerContext<{ everyMs: number; counters: number }>): Promise<void> {
  const { everyMs, counters } = ctx.mainArg;
  let checks = 0;
  let due = Date.now() + everyMs;
  for (;;) {
    ctx.latch.reset();
    ctx.checkForInterrupts();
    if (Date.now() >= due) {
      due += everyMs;
      ctx.registerDynamicBackgroundWorker({
        name: `check #${++checks}`, type: 'checker', module: oneshot, flags: BGWORKER_SHMEM_ACCESS,
        restartTime: BGW_NEVER_RESTART, mainArg: { counters }, notifyPid: null,
      });
    }
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Math.max(1, due - Date.now()));
  }
}
