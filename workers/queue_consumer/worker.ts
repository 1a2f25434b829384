/**
 * A job-queue consumer: several of these (in one host or many) share a jobs table. Each
 * claims batches with FOR UPDATE SKIP LOCKED, so no two consumers ever take the same job and
 * none waits on another's locks, and sleeps on its latch between bursts; a NOTIFY on the
 * queue's channel wakes it at once, a resync (the LISTEN connection was lost for a while)
 * makes it re-scan, and the naptime catches anything else.
 *
 * mainArg: { table, channel, batch, naptimeMs }. The table needs (id bigint primary key,
 * payload text, done_by text, done_at timestamptz). Each batch is one transaction; the log
 * says how many jobs it took.
 */
import { type PgClient, type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_SOCKET_READABLE, WL_TIMEOUT } from '../../lib/worker/index.js';

export interface QueueConsumerArg {
  table: string;
  channel: string;
  batch: number;
  naptimeMs: number;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function claimBatch(db: PgClient, table: string, me: string, batch: number): Promise<number> {
  const t = ident(table);
  const { rowCount } = await db.query(
    `UPDATE ${t} SET done_by = $1, done_at = clock_timestamp() WHERE id IN ` +
      `(SELECT id FROM ${t} WHERE done_by IS NULL ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $2)`,
    [me, batch],
  );
  return rowCount ?? 0;
}

export async function main(ctx: WorkerContext<QueueConsumerArg>): Promise<void> {
  const { table, channel, batch, naptimeMs } = ctx.mainArg;
  await ctx.initializeConnection();
  await ctx.listen(channel);
  for (;;) {
    ctx.latch.reset();
    ctx.checkForInterrupts();
    ctx.notifications(); // a wake-up, a resync or the nap: in every case, drain the queue
    for (let n = 1; n > 0; ) {
      n = await ctx.transaction((db) => claimBatch(db, table, ctx.entry.name, batch), 'claiming jobs');
      if (n > 0) ctx.log.info(`${ctx.entry.name} took ${n} jobs`);
      ctx.checkForInterrupts();
    }
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, naptimeMs);
  }
}
