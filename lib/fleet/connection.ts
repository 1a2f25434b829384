/**
 * The fleet's one query connection per host: a single `pg` client pinned to its session,
 * made on first use and made again after it is lost.
 *
 * Why one session-pinned client and not a pool: the fleet's statements are few and in
 * sequence (one heartbeat, sometimes an acquisition or a release), and a transaction-mode
 * pooler in front of the server would be harmless for them but not for LISTEN, which the
 * host's listener needs on a session of its own (README: Fleet, poolers).
 *
 * Every query has a deadline (`timeoutMs`): a server that stops answering (paused,
 * partitioned, restarting) must not leave the host waiting past its lease. At the deadline
 * the client is ended — pg destroys the socket of a client with a query in flight — and the
 * next query connects anew. An 'error' on the client (the server went away) drops it the
 * same way. Queries are counted, for the idle-load figure and the metrics.
 */
import type { Logger } from '../types.js';
import { connectClient, type PgClient, type PgClientConfig } from '../pg/connect.js';

export class FleetConnection {
  private client: PgClient | null = null;
  private connecting: Promise<PgClient> | null = null;
  private closed = false;
  private tail: Promise<void> = Promise.resolve();
  /** Statements sent since the connection object was made. */
  queries = 0;

  constructor(private readonly config: PgClientConfig, private readonly timeoutMs: number, private readonly log: Logger) {}

  /** Run one statement, after those sent before it; rejects on a lost connection or at the deadline. */
  query<R extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
    // One statement at a time on the session (pg's own queueing is deprecated); a failure does not stop the line.
    const run = this.tail.then(() => this.send<R>(text, values));
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }

  private async send<R extends Record<string, unknown>>(text: string, values: unknown[]): Promise<R[]> {
    const c = await this.connected();
    this.queries++;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.drop(c);
        reject(new Error(`no answer from the database within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      const r = await Promise.race([c.query<R>(text, values), late]);
      return r.rows;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The session itself, for work of several statements (migrate.ts's transaction); no deadline. */
  withClient<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      const c = await this.connected();
      this.queries++;
      return fn(c);
    });
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private connected(): Promise<PgClient> {
    if (this.closed) return Promise.reject(new Error('the fleet connection is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<PgClient> {
    // pg's own connect timeout ends the socket, so a connection that answers late leaks nothing.
    const c = await connectClient({ ...this.config, connectionTimeoutMillis: this.timeoutMs, keepAlive: true });
    c.on('error', (err) => {
      this.log.warn({ err: err.message }, 'fleet: database connection lost');
      this.drop(c);
    });
    if (this.closed) {
      await c.end().catch(() => undefined);
      throw new Error('the fleet connection is closed');
    }
    this.client = c;
    return c;
  }

  private drop(c: PgClient): void {
    if (this.client === c) this.client = null;
    void c.end().catch(() => undefined);
  }
}
