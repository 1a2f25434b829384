/**
 * worker_spi_main, ported: PostgreSQL's sample database worker (src/test/modules/worker_spi).
 *
 * Worker i keeps a counter in table schema<i>.counted: rows of type 'delta' are folded
 * into the single 'total' row once per naptime, in one transaction each round. Step by step:
 *   1. install a SIGHUP handler (flag + latch); SIGTERM keeps the default `die`;
 *   2. connect to the configured database as the configured role;
 *   3. create the schema, table and partial unique index if the schema is missing;
 *   4. loop: wait on the latch with the naptime, reset it, check for interrupts (SIGTERM
 *      ends the worker here, exit 1), reread the naptime after a SIGHUP, and run the fold
 *      in a transaction, logging "<name>: count in schema<i>.counted is now N".
 *
 * The naptime "GUC" lives in the shared-memory region WORKER_SPI_REGION (cell 0, in ms;
 * 0 means the default of 10 s), so the host changes it and sends SIGHUP, as
 * ALTER SYSTEM + pg_reload_conf() does.
 */
import { type PgClient, type WorkerContext, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from '../../lib/worker/index.js';
import { WORKER_SPI_DEFAULT_NAPTIME_MS, WORKER_SPI_REGION, type WorkerSpiArg } from './config.js';

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

function naptime(ctx: WorkerContext<WorkerSpiArg>): number {
  return Atomics.load(ctx.shmem(WORKER_SPI_REGION).int32, 0) || WORKER_SPI_DEFAULT_NAPTIME_MS;
}

async function initializeSchema(db: PgClient, schema: string): Promise<void> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1', [schema]);
  if (Number(rows[0]!.n) > 0) return;
  const s = quoteIdent(schema);
  await db.query(
    `CREATE SCHEMA ${s} ` +
      `CREATE TABLE "counted" (type text CHECK (type IN ('total', 'delta')), value integer) ` +
      `CREATE UNIQUE INDEX "counted_unique_total" ON "counted" (type) WHERE type = 'total'`,
  );
}

function foldStatement(schema: string): string {
  const table = `${quoteIdent(schema)}."counted"`;
  return (
    `WITH deleted AS (DELETE FROM ${table} WHERE type = 'delta' RETURNING value), ` +
    `total AS (SELECT coalesce(sum(value), 0) AS sum FROM deleted) ` +
    `UPDATE ${table} SET value = "counted".value + total.sum FROM total WHERE type = 'total' ` +
    `RETURNING "counted".value`
  );
}

export async function worker_spi_main(ctx: WorkerContext<WorkerSpiArg>): Promise<void> {
  const { index, database, role } = ctx.mainArg;
  const schema = `schema${index}`;
  let reloadPending = false;
  ctx.onSignal('SIGHUP', () => {
    reloadPending = true;
    ctx.latch.set();
  });
  await ctx.initializeConnection({ ...(database ? { database } : {}), ...(role ? { user: role } : {}) });
  ctx.log.info(`${ctx.entry.name} initialized with ${schema}.counted`);
  await ctx.transaction((db) => initializeSchema(db, schema), 'initializing worker_spi schema');
  const fold = foldStatement(schema);
  let nap = naptime(ctx);
  for (;;) {
    ctx.reportActivity('WorkerSpiMain');
    await ctx.latch.waitAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, nap);
    ctx.latch.reset();
    ctx.checkForInterrupts();
    if (reloadPending) {
      reloadPending = false;
      nap = naptime(ctx);
    }
    const { rows } = await ctx.transaction((db) => db.query<{ value: number | null }>(fold), fold);
    if (rows[0]?.value != null) ctx.log.info(`${ctx.entry.name}: count in ${schema}.counted is now ${rows[0].value}`);
  }
}
