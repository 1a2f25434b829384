/**
 * Cluster-wide singleton workers: of all the hosts connected to one database, only one runs
 * the worker's body at a time. It is the fleet's one-replica case, on the fleet's lease
 * table (lib/fleet/sql-leases.ts): the lease row (worker = key, replica = -1) is taken with
 * fleet_singleton_acquire, which gives it a term one above the last (the fencing token),
 * and renewed by the worker on its own connection every leaseMs / 3.
 *
 * The copies on other hosts poll for the lease on their latch (pollMs), so they can still
 * be terminated while they wait; a lease is free once its holder gave it back or leaseMs
 * after its last renewal, by the database's clock.
 *
 * Self-fencing, as the fleet's hosts do (lib/fleet/lease-deadline.ts): the holder counts
 * from the moment it SENT its last successful renewal; if none succeeds within
 * leaseMs − leaseMs / 5 (its connection is lost, the server does not answer, its process
 * was paused), or a renewal finds the lease taken, it exits at once with
 * FleetLeaseLostError (exit 1: its restart policy brings it back to wait again). So a
 * stale holder is gone before its successor can start, unless its host was paused past
 * the deadline; its writes checked by fleet_fence(key, -1, term) are refused either way.
 *
 * Failover: when the holder dies, another host takes the lease within leaseMs + pollMs of
 * its last renewal. On an orderly exit the holder gives the lease back (best effort: the
 * statement is sent as the worker leaves), and another host takes it at its next poll.
 * Renewals share the worker's connection: a statement of the worker's own that runs longer
 * than the deadline counts as a lost renewal.
 */
import { threadId } from 'node:worker_threads';
import { BGWORKER_BACKEND_DATABASE_CONNECTION } from '../types.js';
import { DbNotRequestedError, FleetLeaseLostError, InvalidOptionError } from '../errors.js';
import { checkSchemaName, migrate, quoteIdent } from '../pg/migrate.js';
import type { PgClient } from '../pg/connect.js';
import { checkForInterrupts } from './interrupts.js';
import { currentClient, reportActivity } from './database.js';
import { getMyProc } from './my-proc.js';
import { onProcExit, procExit } from './proc-exit.js';
import { WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT, waitLatchAsync } from './wait-latch.js';

export interface ClusterSingletonOptions {
  /** How often a waiting copy tries the lease. Default 500 ms. */
  pollMs?: number;
  /** How long the lease outlives its last renewal. Default 10 000 ms. */
  leaseMs?: number;
  /** The schema of the fleet's tables. Default "bgworker". */
  schema?: string;
}

/** The lease a singleton holds: put `term` into writes checked by fleet_fence(key, -1, term). */
export interface ClusterSingletonLease {
  key: string;
  term: number;
}

interface Held {
  client: PgClient;
  schema: string;
  key: string;
  holder: string;
  term: number;
  leaseMs: number;
}

function checkOptions(o: ClusterSingletonOptions): { pollMs: number; leaseMs: number; schema: string } {
  const pollMs = o.pollMs ?? 500;
  const leaseMs = o.leaseMs ?? 10_000;
  if (!Number.isInteger(pollMs) || pollMs < 1) throw new InvalidOptionError('clusterSingleton: pollMs must be a whole number of ms from 1');
  if (!Number.isInteger(leaseMs) || leaseMs < 100) throw new InvalidOptionError('clusterSingleton: leaseMs must be a whole number of ms from 100');
  return { pollMs, leaseMs, schema: checkSchemaName(o.schema ?? 'bgworker') };
}

async function tryAcquire(client: PgClient, schema: string, key: string, holder: string, leaseMs: number): Promise<number | null> {
  const { rows } = await client.query<{ term: string | null }>(`SELECT ${quoteIdent(schema)}.fleet_singleton_acquire($1, $2, $3) AS term`, [key, holder, leaseMs]);
  return rows[0]!.term === null ? null : Number(rows[0]!.term);
}

/** Renew every leaseMs / 3; exit at the local deadline or when the lease is found taken. */
function keepRenewing(h: Held, acquiredAt: number): void {
  const margin = Math.floor(h.leaseMs / 5);
  let deadline = acquiredAt + h.leaseMs - margin;
  const lost = (why: string): void => procExit(1, new FleetLeaseLostError(`cluster singleton "${h.key}" lost its lease (term ${h.term}): ${why}`));
  const fence = setInterval(() => {
    if (performance.now() >= deadline) lost('no renewal succeeded before the local deadline');
  }, Math.max(10, Math.floor(margin / 2)));
  const renew = setInterval(() => {
    const sentAt = performance.now();
    h.client
      .query<{ ok: boolean }>(`SELECT ${quoteIdent(h.schema)}.fleet_singleton_renew($1, $2, $3, $4) AS ok`, [h.key, h.holder, h.term, h.leaseMs])
      .then(({ rows }) => {
        if (!rows[0]!.ok) return lost('the lease was taken or had expired');
        if (performance.now() >= sentAt + h.leaseMs - margin) return lost('the renewal came back after the local deadline');
        deadline = Math.max(deadline, sentAt + h.leaseMs - margin);
      })
      .catch(() => undefined);
  }, Math.max(10, Math.floor(h.leaseMs / 3)));
  onProcExit(() => {
    clearInterval(fence);
    clearInterval(renew);
    // Sent before the connection closes (exit callbacks run newest first); best effort.
    void h.client.query(`SELECT ${quoteIdent(h.schema)}.fleet_singleton_release($1, $2, $3)`, [h.key, h.holder, h.term]).catch(() => undefined);
  });
}

/** Resolves once this worker holds the cluster-wide lease for `key`, with its term. */
export async function clusterSingleton(key: string, opts: ClusterSingletonOptions = {}): Promise<ClusterSingletonLease> {
  if (!(getMyProc().entry.flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    throw new DbNotRequestedError('a cluster singleton needs BGWORKER_BACKEND_DATABASE_CONNECTION and initializeConnection()');
  }
  if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionError('clusterSingleton: the key must be a non-empty string');
  const { pollMs, leaseMs, schema } = checkOptions(opts);
  const client = currentClient();
  // Loaded on first use: every worker thread imports this file, few are singletons.
  const [{ FLEET_COMPONENT, fleetMigrations }, { randomUUID }, { hostname }] = await Promise.all([
    import('../fleet/schema.js'), import('node:crypto'), import('node:os'),
  ]);
  await migrate(client, schema, FLEET_COMPONENT, fleetMigrations(schema));
  const holder = `${hostname()}:${process.pid}:${threadId}:${randomUUID()}`;
  const latch = getMyProc().latch;
  for (;;) {
    const sentAt = performance.now();
    const term = await tryAcquire(client, schema, key, holder, leaseMs);
    if (term !== null) {
      keepRenewing({ client, schema, key, holder, term, leaseMs }, sentAt);
      reportActivity(`cluster singleton "${key}" (term ${term})`);
      return { key, term };
    }
    reportActivity(`waiting for cluster singleton "${key}"`);
    await waitLatchAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pollMs);
    latch.reset();
    checkForInterrupts();
  }
}
