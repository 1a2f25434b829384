/**
 * Cluster-wide singleton workers: of all the hosts connected to one database, only one runs
 * the worker's body at a time. The worker takes a session-level PostgreSQL advisory lock on
 * its own connection (pg_try_advisory_lock on a 64-bit hash of the key) and keeps it for as
 * long as that connection lives. The other hosts' copies poll for the lock on their latch,
 * so they can still be terminated while they wait.
 *
 * Failover: when the holder's host dies or its worker exits, its connection closes, the
 * server drops the lock at once, and another host takes it at its next poll — within
 * `pollMs` plus the time the server needs to see the connection gone. A host cut off from
 * the server without the connection closing keeps the lock until TCP gives up on it;
 * server-side tcp_keepalives_* bound that.
 */
import { BGWORKER_BACKEND_DATABASE_CONNECTION } from '../types.js';
import { DbNotRequestedError } from '../errors.js';
import { checkForInterrupts } from './interrupts.js';
import { currentClient, reportActivity } from './database.js';
import { getMyProc } from './my-proc.js';
import { WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT, waitLatchAsync } from './wait-latch.js';

export interface ClusterSingletonOptions {
  /** How often a waiting copy tries the lock. Default 500 ms. */
  pollMs?: number;
}

async function tryLock(key: string): Promise<boolean> {
  const { rows } = await currentClient().query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key]);
  return rows[0]!.ok;
}

/** Resolves once this worker holds the cluster-wide lock for `key`. */
export async function clusterSingleton(key: string, opts: ClusterSingletonOptions = {}): Promise<void> {
  if (!(getMyProc().entry.flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    throw new DbNotRequestedError('a cluster singleton needs BGWORKER_BACKEND_DATABASE_CONNECTION and initializeConnection()');
  }
  const latch = getMyProc().latch;
  while (!(await tryLock(key))) {
    reportActivity(`waiting for cluster singleton "${key}"`);
    await waitLatchAsync(WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, opts.pollMs ?? 500);
    latch.reset();
    checkForInterrupts();
  }
  reportActivity(`cluster singleton "${key}"`);
}
