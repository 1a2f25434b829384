/**
 * BackgroundWorkerInitializeConnection for a worker thread: one `pg` client, opened once,
 * closed when the worker exits whatever the reason.
 *
 * - Only a worker registered with BGWORKER_BACKEND_DATABASE_CONNECTION may connect
 *   (PostgreSQL's FATAL "database connection requirement not indicated during
 *   registration"), and only once.
 * - A refused connection (no such database, datallowconn off, a role that may not log in)
 *   throws DbConnectFailedError with the server's error as its cause: from the entry that
 *   is an exit 1, and the restart policy applies, as a FATAL at connection time does.
 * - A connection lost later (server restart, pg_terminate_backend) ends the worker through
 *   the orderly error path with DbConnectionLostError; an open transaction dies with the
 *   backend, so nothing half-done is committed.
 * - The client's application_name is "bgworker: <name>", and `transaction` reports its
 *   activity to the host's activity list (pgstat_report_activity).
 * - When the worker's abort signal fires (terminate, shutdown, its deadline, host death;
 *   interrupts.ts) a query running on the connection is cancelled, as a backend's
 *   statement is by a cancel request: another short connection sends pg_cancel_backend for
 *   this client's backend, and the query rejects with SQLSTATE 57014 (query_canceled).
 *
 * The bypass flags of PostgreSQL's connection functions (ALLOWCONN, ROLELOGINCHECK) have no
 * meaning for an ordinary client: the server's checks apply to every worker.
 */
import { DbAlreadyConnectedError, DbConnectFailedError, DbConnectionLostError, DbNotConnectedError, DbNotRequestedError } from '../errors.js';
import { clientConfig, connectClient, type DatabaseSettings, type PgClient, type PgClientConfig } from '../pg/connect.js';
import { lifeSignal } from './interrupts.js';
import { onNewLife } from './life.js';
import { BGWORKER_BACKEND_DATABASE_CONNECTION } from '../types.js';
import { getMyProc } from './my-proc.js';
import { onProcExit, procExit } from './proc-exit.js';
import { postToHost } from './to-host.js';

let client: PgClient | null = null;
let connecting = false;
onNewLife(() => {
  client = null;
  connecting = false;
});

export function reportActivity(activity: string | null): void {
  postToHost({ type: 'activity', activity });
}

export async function initializeConnection(settings: DatabaseSettings = {}): Promise<PgClient> {
  const p = getMyProc();
  if (!(p.entry.flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    throw new DbNotRequestedError('database connection requirement not indicated during registration');
  }
  if (client || connecting) throw new DbAlreadyConnectedError(`background worker "${p.entry.name}" is already connected; a worker connects once`);
  connecting = true;
  let c: PgClient;
  try {
    c = await connectClient(clientConfig(p.database, settings, `bgworker: ${p.entry.name}`));
  } catch (cause) {
    throw new DbConnectFailedError(`background worker "${p.entry.name}" could not connect: ${(cause as Error).message}`, { cause });
  }
  c.on('error', (err) => procExit(1, new DbConnectionLostError(`lost the database connection: ${err.message}`, { cause: err })));
  cancelOnAbort(c, clientConfig(p.database, settings, `bgworker: ${p.entry.name} (cancel)`));
  onProcExit(() => c.end().catch(() => undefined));
  client = c;
  reportActivity('idle');
  return c;
}

/** Cancel whatever `c` is running once the worker's abort signal fires. */
function cancelOnAbort(c: PgClient, config: PgClientConfig): void {
  const cancel = (): void => {
    const pid = (c as unknown as { processID: number | null }).processID;
    if (pid === null) return;
    void connectClient(config)
      .then(async (k) => {
        try {
          await k.query('SELECT pg_cancel_backend($1)', [pid]);
        } finally {
          await k.end();
        }
      })
      .catch(() => undefined);
  };
  const signal = lifeSignal();
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
}

export function currentClient(): PgClient {
  if (!client) throw new DbNotConnectedError('call initializeConnection() first');
  return client;
}

/** One unit of work in one transaction (StartTransactionCommand … CommitTransactionCommand). */
export async function transaction<T>(fn: (c: PgClient) => Promise<T>, activity = 'in transaction'): Promise<T> {
  const c = currentClient();
  await c.query('BEGIN');
  reportActivity(activity);
  try {
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    reportActivity('idle');
  }
}
