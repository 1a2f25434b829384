/**
 * Schedules declared from SQL: a host follows <schema>.schedules (fleet-schema.ts, version
 * 2) and declares each row as a fleet schedule in the same schema, from a template it fixed.
 *
 * Who may declare is PostgreSQL's to decide, as for the control channel's launch_requests:
 * nothing is granted to PUBLIC; the operator grants a role USAGE on the schema, SELECT,
 * INSERT, DELETE and UPDATE (type, arg, every, cron, time_zone, options, scheduled) on
 * schedules, and EXECUTE on schedule(), alter_schedule() and unschedule(). A trigger stamps
 * declared_by (current_user) and declared_at whatever the caller wrote, and row-level
 * security lets a role see and change only the rows it declared.
 *
 * What may run is the host's to decide: a row's type must be in the `allow` list the host
 * attached with (the control channel's LaunchableType: a registration template and an
 * optional argument check); the row chooses only the type, the argument, the time rule, the
 * time zone, `scheduled` and these options: maxRuntimeMs, maxRetries, retryPeriodMs,
 * overlap, maxParallel, misfire, misfireGraceMs, historySize. A row whose type this host
 * does not allow is left to the hosts that do. A row the scheduler refuses (a bad cron
 * expression, say) gets the reason in its `error` column, written by the host, which
 * neither re-stamps the row nor rings the doorbell.
 *
 * Following the table: the doorbell (a NOTIFY on "bgworker_schedules" with the schema's name,
 * per statement) and every resync of the host's LISTEN connection make the host read the
 * whole table again and reconcile: new rows are declared, changed ones removed and declared
 * again, deleted ones removed. Reconciles run one at a time; one asked for meanwhile runs
 * after it. The schedules are fleet-wide, so every host that attaches runs each tick once
 * between them (fleet-store.ts).
 */
import { InvalidOptionError } from '../errors.js';
import type { LaunchableType } from '../host/control-launch.js';
import type { Postmaster } from '../host/postmaster.js';
import { connectClient, type PgClient } from '../pg/connect.js';
import type { NotificationSink } from '../pg/listen.js';
import { checkSchemaName, migrate, quoteIdent } from '../pg/migrate.js';
import type { Logger } from '../types.js';
import { DECLARE_CHANNEL, SCHEDULE_COMPONENT, scheduleMigrations } from './fleet-schema.js';
import type { ScheduledWorker } from './scheduled-worker.js';
import type { ScheduleSpec } from './spec.js';

export interface SqlSchedulesOptions {
  /** Types a row may name, each with the registration template its runs get. */
  allow: Record<string, LaunchableType>;
  /** The schema of the schedules table (and of their runs). Default "bgworker". */
  schema?: string;
}

const OPTIONS = ['maxRuntimeMs', 'maxRetries', 'retryPeriodMs', 'overlap', 'maxParallel', 'misfire', 'misfireGraceMs', 'historySize'] as const;

interface Row {
  name: string;
  type: string;
  arg: unknown;
  every_ms: number | null;
  cron: string | null;
  time_zone: string;
  options: Record<string, unknown>;
  scheduled: boolean;
  error: string | null;
}

export class SqlSchedules {
  readonly schema: string;
  private client: PgClient | null = null;
  private readonly managed = new Map<string, { w: ScheduledWorker; key: string }>();
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly sink: NotificationSink = {
    notify: (_channel, payload) => {
      if (payload === this.schema) this.kick();
    },
    resync: () => this.kick(),
  };

  constructor(private readonly pm: Postmaster, private readonly opts: SqlSchedulesOptions, private readonly log: Logger) {
    if (typeof opts?.allow !== 'object' || opts.allow === null) throw new InvalidOptionError('allow must be an object of schedulable types');
    this.schema = checkSchemaName(opts.schema ?? 'bgworker');
  }

  /** Create or update the schema, LISTEN for its doorbell, and declare the rows already there. */
  async attach(): Promise<void> {
    const c = await this.connection();
    await migrate(c, this.schema, SCHEDULE_COMPONENT, scheduleMigrations);
    await this.pm.notifications.subscribe(DECLARE_CHANNEL, this.sink);
    this.pm.once('exit', () => void this.close());
    this.kick();
    await this.running;
  }

  /** The schedules this host declared from the table, by name. */
  schedules(): ScheduledWorker[] {
    return [...this.managed.values()].map((m) => m.w);
  }

  /** Wait for the reconcile in flight, if any. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stop following the table; the schedules it declared are removed from this host. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pm.notifications.unsubscribeAll(this.sink);
    await this.running;
    for (const { w } of this.managed.values()) w.remove();
    this.managed.clear();
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.again = false;
    this.running = this.reconcile()
      .catch((err: unknown) => this.log.warn({ schema: this.schema, err: (err as Error).message }, 'schedules from SQL: reading the table failed'))
      .finally(() => {
        this.running = null;
        if (this.again) this.kick();
      });
  }

  private async reconcile(): Promise<void> {
    const c = await this.connection();
    const { rows } = await c.query<Row>(
      `SELECT name, type, arg, (extract(epoch FROM every) * 1000)::float8 AS every_ms, cron, time_zone, options, scheduled, error FROM ${quoteIdent(this.schema)}.schedules`,
    );
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      await this.declare(c, row);
    }
    for (const [name, m] of this.managed) {
      if (seen.has(name)) continue;
      m.w.remove();
      this.managed.delete(name);
      this.log.info({ schedule: name }, `schedule "${name}" removed from SQL`);
    }
  }

  private async declare(c: PgClient, row: Row): Promise<void> {
    const allowed = Object.hasOwn(this.opts.allow, row.type) ? this.opts.allow[row.type] : undefined;
    const key = JSON.stringify([row.type, row.arg, row.every_ms, row.cron, row.time_zone, row.options, row.scheduled]);
    const had = this.managed.get(row.name);
    if (had?.key === key) return;
    if (had) {
      had.w.remove();
      this.managed.delete(row.name);
    }
    if (!allowed) return this.log.debug({ schedule: row.name, type: row.type }, `schedule "${row.name}": type "${row.type}" is not allowed on this host`);
    try {
      if (allowed.checkArg ? !allowed.checkArg(row.arg ?? undefined) : row.arg !== null) throw new InvalidOptionError(`argument refused for type "${row.type}"`);
      const w = await this.pm.schedule(this.spec(row, allowed));
      this.managed.set(row.name, { w, key });
      if (row.error !== null) await this.writeError(c, row.name, null);
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      this.log.warn({ schedule: row.name, err: reason }, `schedule "${row.name}" from SQL refused`);
      if (row.error !== reason) await this.writeError(c, row.name, reason);
    }
  }

  private spec(row: Row, allowed: LaunchableType): ScheduleSpec {
    const options: Record<string, unknown> = {};
    for (const k of Object.keys(row.options)) {
      if (!(OPTIONS as readonly string[]).includes(k)) throw new InvalidOptionError(`option "${k}" cannot be set from SQL; allowed: ${OPTIONS.join(', ')}`);
      options[k] = row.options[k];
    }
    const { restartTime: _r, notifyPid: _n, maxRuntimeMs: _m, ...template } = allowed.worker;
    const rule = row.cron !== null ? { cron: row.cron, timeZone: row.time_zone } : { every: row.every_ms! };
    return {
      ...template, ...options, ...rule, name: row.name, scheduled: row.scheduled, fleet: { schema: this.schema },
      ...(row.arg !== null ? { mainArg: row.arg } : {}),
    } as ScheduleSpec;
  }

  private async writeError(c: PgClient, name: string, error: string | null): Promise<void> {
    await c.query(`UPDATE ${quoteIdent(this.schema)}.schedules SET error = $2 WHERE name = $1`, [name, error]);
  }

  private async connection(): Promise<PgClient> {
    if (this.client) return this.client;
    const c = await connectClient({ ...this.pm.notifications.config, application_name: `bgworker: schedules from SQL ${this.schema}`.slice(0, 63) });
    c.on('error', (err) => {
      this.log.warn({ schema: this.schema, err: err.message }, 'schedules from SQL: connection lost');
      if (this.client === c) this.client = null;
    });
    this.client = c;
    return c;
  }
}

/** Follow <schema>.schedules on a started host: its rows become fleet schedules of allowed types. */
export async function attachSqlSchedules(pm: Postmaster, opts: SqlSchedulesOptions, log: Logger): Promise<SqlSchedules> {
  const s = new SqlSchedules(pm, opts, log);
  await s.attach();
  return s;
}
