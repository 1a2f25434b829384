/**
 * The control channel's table mode (the default): a host launches what it reads from the
 * requests table (lib/pg/control-schema.ts), where PostgreSQL's privileges decided who may
 * ask and the row says who did.
 *
 * Draining. Everything that might mean new rows "kicks" the drain: attaching (rows left
 * while no host listened), a doorbell notification, a resync of the listener (doorbells
 * rung while it reconnected were lost) and a retry after a failure. One drain runs at a
 * time; a kick during a drain makes it go round once more when it finds the table empty,
 * so a row committed after its last look is not missed. A drain takes batches until one
 * comes back short. Doorbell payloads are not read: the table is the only input.
 *
 * One batch is one transaction: take up to BATCH pending rows, oldest first, FOR UPDATE
 * SKIP LOCKED (other hosts skip them, and take others); decide each one in id order (the
 * rate limit, the size limit, the reply channel, then the checks of control-launch.ts);
 * launch the accepted ones together; write every outcome into its row and NOTIFY the
 * replies; commit. The reply and the row's outcome therefore become visible together.
 * When the host started to shut down meanwhile, the batch is rolled back instead: its rows
 * stay pending for another host (the workers it launched are being stopped with the host).
 * The same happens when the connection fails before the commit, and then the next pass
 * launches those requests again: a request is launched at least once, and exactly once
 * unless the database connection or the host fails between a launch and its commit.
 *
 * The rate limit is per requested_by (token-bucket.ts), counted per host: a request takes a
 * token whether or not it is then accepted, so invalid requests cannot flood the host either.
 *
 * Failures (connection lost, the server restarting) are logged, the connection is dropped,
 * and the drain is retried with exponential backoff, forever, until close().
 */
import { hostname } from 'node:os';
import { connectClient, type PgClient, type PgClientConfig } from '../pg/connect.js';
import { CHANNEL_NAME, CONTROL_COMPONENT, ControlSql, controlMigrations, type Outcome, type PendingRequest } from '../pg/control-schema.js';
import type { Listener, NotificationSink } from '../pg/listen.js';
import { migrate } from '../pg/migrate.js';
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../types.js';
import { launchRequest, reasonOf, typeForLog, type LaunchableType, type Reply } from './control-launch.js';
import type { Postmaster } from './postmaster.js';
import { TokenBuckets, type RateLimit } from './token-bucket.js';

/** Rows taken per transaction. */
const BATCH = 32;
const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5_000;
/** Replies travel as NOTIFY payloads (at most 8000 bytes): an error text is cut to this. */
const ERROR_MAX_CHARS = 500;
const STOPPING = new Set(['stop_backends', 'wait_backends', 'stopped', 'dead']);

export interface TableControlOptions {
  schema: string;
  channel: string;
  allow: Record<string, LaunchableType>;
  /** Largest request (type + name + arg's JSON text) taken, in bytes. */
  maxBytes: number;
  rateLimit: RateLimit | false;
  /** Written into handled_by_host. */
  hostId?: string;
}

const byteLength = (s: string | null): number => (s === null ? 0 : Buffer.byteLength(s));

export class TableControl {
  private readonly sql: ControlSql;
  private readonly buckets: TokenBuckets | null;
  private readonly hostId: string;
  private config: PgClientConfig = {};
  private listener: Listener | null = null;
  private client: PgClient | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly sink: NotificationSink = { notify: () => this.kick(), resync: () => this.kick() };

  constructor(private readonly pm: Postmaster, private readonly opts: TableControlOptions, private readonly log: Logger) {
    this.sql = new ControlSql(opts.schema);
    this.buckets = opts.rateLimit === false ? null : new TokenBuckets(opts.rateLimit);
    this.hostId = opts.hostId ?? `${hostname()}:${process.pid}`;
  }

  /** Create or update the schema, check its doorbell, LISTEN for it, and handle the rows already waiting. */
  async attach(listener: Listener): Promise<void> {
    // The schema in the name tells a DBA reading pg_stat_activity which requests this backend serves.
    this.config = { ...listener.config, application_name: `bgworker: control ${this.opts.schema}`.slice(0, 63) };
    const c = await this.connection();
    try {
      await migrate(c, this.opts.schema, CONTROL_COMPONENT, controlMigrations(this.opts.channel));
      const rings = await this.sql.doorbellChannel(c);
      if (rings !== this.opts.channel) {
        throw new InvalidOptionError(
          `schema "${this.opts.schema}" rings its doorbell on channel ${JSON.stringify(rings)}, not "${this.opts.channel}": attach with that channel or use another schema`,
        );
      }
      this.listener = listener;
      await listener.subscribe(this.opts.channel, this.sink);
    } catch (err) {
      this.dropConnection();
      throw err;
    }
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listener?.unsubscribeAll(this.sink);
    await this.draining;
    this.dropConnection();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.again = false;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.again) this.kick();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && !this.hostStopping() && (await this.takeBatch()));
      this.failures = 0;
    } catch (err) {
      this.dropConnection();
      const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.failures++);
      this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'control channel: reading launch requests failed; retrying');
      this.retryTimer = setTimeout(() => this.kick(), delay).unref();
    }
  }

  /** One transaction over up to BATCH rows; true when the batch was full (more may wait). */
  private async takeBatch(): Promise<boolean> {
    const c = await this.connection();
    await c.query('BEGIN');
    try {
      const rows = await this.sql.takePending(c, BATCH);
      // decide() takes its token before it first awaits: the rate limit counts in id order.
      const replies = await Promise.all(rows.map((row) => this.decide(row)));
      const outcomes = rows.map((row, i) => this.outcome(row, replies[i]!));
      if (this.hostStopping()) {
        await c.query('ROLLBACK');
        return false;
      }
      await this.sql.recordOutcomes(c, this.hostId, outcomes);
      await c.query('COMMIT');
      rows.forEach((row, i) => this.logOutcome(row, replies[i]!));
      return rows.length === BATCH;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** The checks of the table mode, then the launch. The synchronous part runs in the caller's turn. */
  private decide(row: PendingRequest): Promise<Reply> {
    const refuse = (error: string): Promise<Reply> => Promise.resolve({ ok: false, error });
    if (this.buckets && !this.buckets.take(row.requested_by)) return refuse('rate limited');
    if (byteLength(row.type) + byteLength(row.name) + (row.arg_bytes ?? 0) > this.opts.maxBytes) {
      return refuse(`request is longer than ${this.opts.maxBytes} bytes`);
    }
    if (row.reply_channel !== null && !CHANNEL_NAME.test(row.reply_channel)) {
      return refuse('reply_channel must be a lower-case channel name of at most 63 characters');
    }
    const req = {
      type: row.type,
      ...(row.name !== null ? { name: row.name } : {}),
      // SQL NULL is no argument; JSON null is an argument (it has a text, "null").
      ...(row.arg_bytes !== null ? { arg: row.arg } : {}),
    };
    // A Rejection, or a registration error (sanity.ts) saying which rule the request broke.
    return launchRequest(this.pm, this.opts.allow, req).catch((err: unknown): Reply => ({ ok: false, error: reasonOf(err).slice(0, ERROR_MAX_CHARS) }));
  }

  private outcome(row: PendingRequest, reply: Reply): Outcome {
    const replyChannel = row.reply_channel !== null && CHANNEL_NAME.test(row.reply_channel) ? row.reply_channel : null;
    return { id: row.id, status: reply.ok ? 'launched' : 'refused', reply, replyChannel };
  }

  private logOutcome(row: PendingRequest, reply: Reply): void {
    const who = { id: row.id, requestedBy: row.requested_by, sessionRole: row.session_role, type: typeForLog(row.type) };
    const by = `for ${JSON.stringify(row.requested_by)} (request ${row.id})`;
    if (reply.ok) this.log.info({ ...who, pid: reply.pid }, `control channel: worker launched ${by}`);
    else this.log.warn({ ...who, reason: reply.error }, `control channel: launch request rejected ${by}`);
  }

  private hostStopping(): boolean {
    return STOPPING.has(this.pm.pmState);
  }

  private async connection(): Promise<PgClient> {
    if (this.client) return this.client;
    const c = await connectClient(this.config);
    // A lost connection is reported here as well as by the query in flight; the drain's retry handles both.
    c.on('error', (err) => {
      this.log.warn({ err: err.message }, 'control channel: connection lost');
      if (this.client === c) this.dropConnection();
    });
    this.client = c;
    return c;
  }

  private dropConnection(): void {
    const c = this.client;
    this.client = null;
    void c?.end().catch(() => undefined);
  }
}
