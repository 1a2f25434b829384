/**
 * A pgstat-like statistics area: every worker counts its events in a row of its own in one
 * shared-memory region (row = its slot), with Atomics.add and no lock, and the host sums
 * the rows whenever it likes, also without a lock. Counters only grow, so a reader may see
 * a count a few events old but never a torn or decreasing one.
 *
 *   region "pgstat": slots × PGSTAT_COUNTERS BigInt64 cells
 */
import type { Postmaster } from '../../lib/index.js';
import type { WorkerContext } from '../../lib/worker/index.js';

export const PGSTAT_REGION = 'pgstat';
export const PGSTAT_COUNTERS = 4;
export const PgstatCounter = { processed: 0, failed: 1, bytes: 2, waits: 3 } as const;
export type PgstatCounter = (typeof PgstatCounter)[keyof typeof PgstatCounter];

/** The shmem request a host makes for `slots` workers (its maxWorkerProcesses). */
export function pgstatShmem(slots: number): Record<string, number> {
  return { [PGSTAT_REGION]: slots * PGSTAT_COUNTERS * 8 };
}

/** In a worker: add `n` to one of its own counters. */
export function pgstatCount(ctx: WorkerContext, counter: PgstatCounter, n = 1): void {
  Atomics.add(ctx.shmem(PGSTAT_REGION).bigInt64, ctx.slot * PGSTAT_COUNTERS + counter, BigInt(n));
}

/** On the host: every counter summed over all rows, read lock-free. */
export function pgstatTotals(pm: Postmaster): bigint[] {
  const cells = pm.shmem(PGSTAT_REGION).bigInt64;
  const totals = new Array<bigint>(PGSTAT_COUNTERS).fill(0n);
  for (let i = 0; i < cells.length; i++) totals[i % PGSTAT_COUNTERS]! += Atomics.load(cells, i);
  return totals;
}
