/**
 * A host's connection to one fleet schema (fleet-schema.ts): the claims, outcomes, leases
 * and statistics of every fleet schedule this host declares in that schema.
 *
 * One session-pinned pg client per schema, made on the first fleet schedule and migrated
 * then (component "schedule"; two hosts starting together create the schema once). Its
 * statements run one at a time, in call order (pg's own queue is deprecated). A statement
 * that fails drops the connection, and the next one connects again: a claim that fails is
 * a tick skipped as 'unclaimed' on this host (logged; another host may still claim it), an
 * outcome that fails is logged. While this host has running or queued rows it renews their
 * leases every LEASE_MS / 3.
 *
 * close() waits for the statements in flight (the outcomes of runs stopped by a shutdown
 * among them) and ends the connection; the scheduler calls it at the host's exit.
 */
import { hostname } from 'node:os';
import { connectClient, type PgClient, type PgClientConfig } from '../pg/connect.js';
import { migrate } from '../pg/migrate.js';
import type { Logger } from '../types.js';
import { LEASE_MS, SCHEDULE_COMPONENT, scheduleMigrations, scheduleSql } from './fleet-schema.js';
import type { RunRecord } from './job-stats.js';
import type { CheckedSchedule } from './spec.js';
import { nextTick } from './time-rule.js';

/** What a claim decided for this host: run the tick, hold it queued, it was skipped, another host has it, or the database could not be asked. */
export type ClaimOutcome = 'run' | 'queued' | 'skipped' | 'lost' | 'unclaimed';

/** One row of <schema>.schedule_stats. */
export interface FleetStats {
  schedule: string;
  last_start: Date | null;
  last_finish: Date | null;
  last_run_status: string | null;
  last_successful_finish: Date | null;
  next_start: Date | null;
  total_runs: number;
  total_successes: number;
  total_failures: number;
  total_timeouts: number;
  total_cancelled: number;
  total_skipped: number;
  missed_ticks: number;
  slot_delays: number;
  consecutive_failures: number;
  last_duration_ms: number | null;
  average_duration_ms: number | null;
  running: number;
}

const CLAIMED: Record<string, ClaimOutcome> = { running: 'run', queued: 'queued', skipped: 'skipped' };
const COUNTS = ['total_runs', 'total_successes', 'total_failures', 'total_timeouts', 'total_cancelled', 'total_skipped', 'missed_ticks', 'slot_delays', 'running'] as const;

export class FleetStore {
  private readonly sql: ReturnType<typeof scheduleSql>;
  private client: PgClient | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly renewTimer: NodeJS.Timeout;
  private live = 0;
  private closed = false;

  private constructor(readonly schema: string, readonly hostId: string, private readonly config: PgClientConfig, private readonly log: Logger) {
    this.sql = scheduleSql(schema);
    this.renewTimer = setInterval(() => void this.renew(), LEASE_MS / 3);
    this.renewTimer.unref();
  }

  /** Connect, create or update the schema, and return the store. */
  static async open(schema: string, config: PgClientConfig, log: Logger, hostId = `${hostname()}:${process.pid}`): Promise<FleetStore> {
    const store = new FleetStore(schema, hostId, { ...config, application_name: `bgworker: schedules ${schema}`.slice(0, 63) }, log);
    try {
      await store.serially(async (c) => void (await migrate(c, schema, SCHEDULE_COMPONENT, scheduleMigrations)));
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** The latest tick any host claimed for `schedule`, for the misfire rule after a restart; null if none. */
  async lastTick(schedule: string): Promise<number | null> {
    const { rows } = await this.query<{ at: Date | null }>(this.sql.lastTick, [schedule]);
    return rows[0]?.at?.getTime() ?? null;
  }

  /** Claim the tick of `r` (fleet-schema.ts CLAIM). */
  async claim(cfg: CheckedSchedule, r: RunRecord): Promise<ClaimOutcome> {
    const at = r.scheduledAt.getTime();
    const next = cfg.rule.kind === 'after_finish' ? null : nextTick(cfg.rule, Math.max(at, Date.now()));
    const { rows } = await this.query<{ status: string | null }>(this.sql.claim, [
      cfg.name, r.scheduledAt, r.kind, r.attempt, cfg.maxParallel, cfg.overlap === 'queue', this.hostId, r.missed,
      next !== null && Number.isFinite(next) ? new Date(next) : null,
    ]);
    const outcome = rows[0]?.status ? CLAIMED[rows[0].status] ?? 'lost' : 'lost';
    if (outcome === 'run' || outcome === 'queued') this.live++;
    return outcome;
  }

  /** A queued row of this host's becomes running once no live row runs; true when it did. */
  async promote(schedule: string, r: RunRecord): Promise<boolean> {
    const { rows } = await this.query(this.sql.promote, [schedule, r.scheduledAt, this.hostId]);
    return rows.length > 0;
  }

  /** Write a run's outcome and add it to the statistics; then prune the schedule's old rows. */
  async finish(cfg: CheckedSchedule, r: RunRecord): Promise<void> {
    this.live = Math.max(0, this.live - 1);
    await this.query(this.sql.finish, [
      cfg.name, r.scheduledAt, this.hostId, r.status, r.launchedAt, r.finishedAt, r.durationMs, r.error ?? null, r.slotDelayed,
    ]);
    await this.query(this.sql.prune, [cfg.name]);
  }

  /** <schema>.schedule_stats for `schedule`, as every host sees it; null before its first tick. */
  async stats(schedule: string): Promise<FleetStats | null> {
    const { rows } = await this.query<FleetStats>(this.sql.stats, [schedule]);
    const row = rows[0];
    if (!row) return null;
    for (const k of COUNTS) row[k] = Number(row[k]);
    return row;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewTimer);
    await this.tail.catch(() => undefined);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private async renew(): Promise<void> {
    if (this.live === 0 || this.closed) return;
    await this.query(this.sql.renew, [this.hostId]).catch((err: unknown) => this.log.warn({ schema: this.schema, err: (err as Error).message }, 'schedules: renewing run leases failed'));
  }

  private query<R extends object = Record<string, unknown>>(text: string, values: unknown[]): Promise<{ rows: R[] }> {
    return this.serially(async (c) => {
      const res = await c.query(text, values);
      return { rows: res.rows as R[] };
    });
  }

  /** Run `fn` on the connection after every statement issued before it. */
  private serially<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    const run = this.tail.catch(() => undefined).then(async () => {
      const c = await this.connection();
      try {
        return await fn(c);
      } catch (err) {
        if (this.client === c) this.dropConnection();
        throw err;
      }
    });
    this.tail = run;
    return run;
  }

  private async connection(): Promise<PgClient> {
    if (this.client) return this.client;
    if (this.closed) throw new Error('the schedule store is closed');
    const c = await connectClient(this.config);
    c.on('error', (err) => {
      this.log.warn({ schema: this.schema, err: err.message }, 'schedules: database connection lost');
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
