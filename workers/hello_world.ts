/**
 * hello_world: PostgreSQL's classic first background worker. It logs "Hello World!" each
 * time its 10-second latch wait times out, and ends on SIGTERM (the default handler: the
 * next checkForInterrupts() throws and the worker exits 1, never restarted by a terminate).
 *
 *   host.registerBackgroundWorker({ name: 'hello world', module: helloWorldUrl });
 *
 * mainArg may give { naptimeMs } to nap for another length of time.
 */
import { type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from '../lib/worker/index.js';

export async function main(ctx: WorkerContext<{ naptimeMs?: number } | undefined>): Promise<void> {
  const naptime = ctx.mainArg?.naptimeMs ?? 10_000;
  ctx.log.info(`${ctx.entry.name} started`);
  for (;;) {
    const rc = await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, naptime);
    ctx.latch.reset();
    ctx.checkForInterrupts();
    if (rc & WL_TIMEOUT) ctx.log.info('Hello World!');
  }
}
