/**
 * Fleet schedules, the database side: the tables, the statistics view and the statements a
 * host runs on them, in a schema the user names (created by migrate(), component
 * "schedule"). PostgreSQL is the only coordinator: a tick is a row, and a row's primary key
 * is what makes a tick run once across the fleet.
 *
 *   schedule_runs      one row per tick a host claimed: (schedule, scheduled_at) is the
 *                      key; kind, attempt, status, the claiming host, its lease, and the
 *                      outcome (launched_at, finished_at, duration_ms, error). Bounded: the
 *                      newest KEEP_RUNS rows per schedule are kept.
 *   schedule_job_stat  one row per schedule, TimescaleDB's bgw_job_stat: last start, finish
 *                      and status, next start, totals by outcome, consecutive failures,
 *                      slot delays, ticks missed — updated in the statement that changes a
 *                      run, so the totals outlive the pruned rows.
 *   schedule_stats     a view over schedule_job_stat with the average duration and the runs
 *                      going now, as timescaledb_information.job_stats.
 *   schedules, schedule(), alter_schedule(), unschedule()
 *                      schedules declared from SQL (version 2; sql-schedules.ts): rows a
 *                      granted role writes, authorized by PostgreSQL's privileges and
 *                      row-level security as the control channel's launch_requests are.
 *
 * Claiming (CLAIM). Every host that declares a fleet schedule computes the same tick times
 * (fixed grids and cron times only; spec.ts refuses the rest) and, at each, runs one
 * statement: INSERT the tick's row … ON CONFLICT DO NOTHING. The host whose insert returns
 * the row has the tick; the others get nothing back and do nothing. The same statement
 * applies the overlap policy to the fleet's live rows — 'running' if fewer than maxParallel
 * are running, 'queued' if the policy queues and none is queued, else 'skipped' — so the
 * decision and the claim are one atomic step. A host that is killed claims nothing more,
 * and the next tick is claimed by whichever host gets there first.
 *
 * Leases. A claimed row that is running or queued carries lease_until, which its host
 * pushes forward every LEASE_MS / 3 (RENEW). A row whose lease has passed is its host's
 * death: the next claim on that schedule marks it failed (queued: cancelled), counts the
 * failure, and stops counting it as live, so a dead host's run blocks the overlap policy
 * for one lease at most.
 *
 * Finishing (FINISH) writes the outcome into the host's own row (a row another host
 * already expired is left alone) and adds it to schedule_job_stat in the same statement.
 * A queued row becomes running (PROMOTE) only by its own host, once no live row runs.
 *
 * Timestamps are written as JavaScript Dates (millisecond precision, exact in timestamptz),
 * so every host's key for a tick is the same value.
 */
import { quoteIdent, type Migration } from '../pg/migrate.js';

export const SCHEDULE_COMPONENT = 'schedule';
/** A running or queued row's lease, renewed every third of it. */
export const LEASE_MS = 15_000;
export const KEEP_RUNS = 1000;

const V1 = `
CREATE TABLE {schema}.schedule_runs (
  schedule      text NOT NULL,
  scheduled_at  timestamptz NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('tick', 'retry', 'catch_up', 'manual')),
  attempt       int NOT NULL DEFAULT 0,
  status        text NOT NULL CHECK (status IN ('queued', 'running', 'success', 'failed', 'timeout', 'cancelled', 'skipped')),
  reason        text,
  host_id       text NOT NULL,
  lease_until   timestamptz,
  missed        int NOT NULL DEFAULT 0,
  slot_delayed  boolean NOT NULL DEFAULT false,
  launched_at   timestamptz,
  finished_at   timestamptz,
  duration_ms   double precision,
  error         text,
  PRIMARY KEY (schedule, scheduled_at)
);
CREATE INDEX schedule_runs_live ON {schema}.schedule_runs (schedule) WHERE status IN ('queued', 'running');

CREATE TABLE {schema}.schedule_job_stat (
  schedule               text PRIMARY KEY,
  last_start             timestamptz,
  last_finish            timestamptz,
  last_run_status        text,
  last_successful_finish timestamptz,
  last_duration_ms       double precision,
  next_start             timestamptz,
  total_runs             bigint NOT NULL DEFAULT 0,
  total_successes        bigint NOT NULL DEFAULT 0,
  total_failures         bigint NOT NULL DEFAULT 0,
  total_timeouts         bigint NOT NULL DEFAULT 0,
  total_cancelled        bigint NOT NULL DEFAULT 0,
  total_skipped          bigint NOT NULL DEFAULT 0,
  missed_ticks           bigint NOT NULL DEFAULT 0,
  slot_delays            bigint NOT NULL DEFAULT 0,
  consecutive_failures   int NOT NULL DEFAULT 0,
  timed_runs             bigint NOT NULL DEFAULT 0,
  total_duration_ms      double precision NOT NULL DEFAULT 0
);

CREATE VIEW {schema}.schedule_stats AS
SELECT s.schedule, s.last_start, s.last_finish, s.last_run_status, s.last_successful_finish, s.next_start,
       s.total_runs, s.total_successes, s.total_failures, s.total_timeouts, s.total_cancelled, s.total_skipped,
       s.missed_ticks, s.slot_delays, s.consecutive_failures, s.last_duration_ms,
       s.total_duration_ms / NULLIF(s.timed_runs, 0) AS average_duration_ms,
       (SELECT count(*) FROM {schema}.schedule_runs r
         WHERE r.schedule = s.schedule AND r.status = 'running' AND r.lease_until >= now()) AS running
  FROM {schema}.schedule_job_stat s;
`;

/** The channel the schedules table's doorbell rings, with the schema's name as payload. */
export const DECLARE_CHANNEL = 'bgworker_schedules';

// Schedules declared from SQL (sql-schedules.ts). Only the declaring columns ring the
// doorbell and are stamped: a host writing `error` does neither.
const V2 = `
CREATE TABLE {schema}.schedules (
  name        text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 63),
  type        text NOT NULL,
  arg         jsonb,
  every       interval CHECK (every > interval '0'),
  cron        text,
  time_zone   text NOT NULL DEFAULT 'UTC',
  options     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  scheduled   boolean NOT NULL DEFAULT true,
  declared_by name NOT NULL DEFAULT current_user,
  declared_at timestamptz NOT NULL DEFAULT now(),
  error       text,
  CHECK ((every IS NULL) <> (cron IS NULL))
);

CREATE FUNCTION {schema}.schedules_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.declared_by := current_user;
  NEW.declared_at := now();
  NEW.error := NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER schedules_stamp BEFORE INSERT OR UPDATE OF name, type, arg, every, cron, time_zone, options, scheduled
  ON {schema}.schedules FOR EACH ROW EXECUTE FUNCTION {schema}.schedules_stamp();

CREATE FUNCTION {schema}.schedules_doorbell() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pg_notify('${DECLARE_CHANNEL}', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;
CREATE TRIGGER schedules_doorbell AFTER INSERT OR DELETE OR UPDATE OF name, type, arg, every, cron, time_zone, options, scheduled
  ON {schema}.schedules FOR EACH STATEMENT EXECUTE FUNCTION {schema}.schedules_doorbell();

ALTER TABLE {schema}.schedules ENABLE ROW LEVEL SECURITY;
CREATE POLICY schedules_insert_own ON {schema}.schedules FOR INSERT WITH CHECK (declared_by = current_user);
CREATE POLICY schedules_select_own ON {schema}.schedules FOR SELECT USING (declared_by = current_user);
CREATE POLICY schedules_update_own ON {schema}.schedules FOR UPDATE USING (declared_by = current_user) WITH CHECK (declared_by = current_user);
CREATE POLICY schedules_delete_own ON {schema}.schedules FOR DELETE USING (declared_by = current_user);

CREATE FUNCTION {schema}.schedule(name text, type text, every interval DEFAULT NULL, cron text DEFAULT NULL,
                                  time_zone text DEFAULT 'UTC', arg jsonb DEFAULT NULL, options jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO {schema}.schedules AS s (name, type, arg, every, cron, time_zone, options)
    VALUES (schedule.name, schedule.type, schedule.arg, schedule.every, schedule.cron, schedule.time_zone, schedule.options)
  ON CONFLICT ON CONSTRAINT schedules_pkey DO UPDATE SET type = EXCLUDED.type, arg = EXCLUDED.arg, every = EXCLUDED.every,
    cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone, options = EXCLUDED.options;
END $$;

CREATE FUNCTION {schema}.alter_schedule(name text, scheduled boolean DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.schedules AS s SET scheduled = COALESCE(alter_schedule.scheduled, s.scheduled), options = COALESCE(alter_schedule.options, s.options)
   WHERE s.name = alter_schedule.name;
  RETURN FOUND;
END $$;

CREATE FUNCTION {schema}.unschedule(name text) RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM {schema}.schedules AS s WHERE s.name = unschedule.name;
  RETURN FOUND;
END $$;

REVOKE ALL ON TABLE {schema}.schedules FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.schedule(text, text, interval, text, text, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.alter_schedule(text, boolean, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.unschedule(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.schedules_stamp() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.schedules_doorbell() FROM PUBLIC;
`;

export const scheduleMigrations: Migration[] = [{ version: 1, sql: V1 }, { version: 2, sql: V2 }];

/** The statements of one schema, its name spliced in once (checked by the caller). */
export function scheduleSql(schema: string): Record<'claim' | 'promote' | 'finish' | 'renew' | 'prune' | 'lastTick' | 'stats', string> {
  const q = quoteIdent(schema);
  const runs = `${q}.schedule_runs`;
  const stat = `${q}.schedule_job_stat`;
  const lease = `now() + make_interval(secs => ${LEASE_MS / 1000})`;
  return {
    // $1 schedule, $2 scheduled_at, $3 kind, $4 attempt, $5 max running, $6 queues, $7 host, $8 missed, $9 next start
    claim: `
WITH expired AS (
  UPDATE ${runs} SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE 'failed' END,
         error = 'its host stopped renewing the lease', finished_at = lease_until, lease_until = NULL
   WHERE schedule = $1 AND status IN ('queued', 'running') AND lease_until < now()
  RETURNING status),
lost AS (SELECT count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM expired),
live AS (
  SELECT count(*) FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE status = 'queued') AS queued
    FROM ${runs} WHERE schedule = $1 AND status IN ('queued', 'running') AND lease_until >= now()),
decided AS (
  SELECT CASE WHEN live.running < $5::int THEN 'running' WHEN $6::boolean AND live.queued = 0 THEN 'queued' ELSE 'skipped' END AS status FROM live),
claimed AS (
  INSERT INTO ${runs} (schedule, scheduled_at, kind, attempt, status, reason, host_id, lease_until, missed)
  SELECT $1, $2, $3, $4, d.status, CASE WHEN d.status = 'skipped' THEN 'overlap' END, $7,
         CASE WHEN d.status <> 'skipped' THEN ${lease} END, $8::int
    FROM decided d
  ON CONFLICT (schedule, scheduled_at) DO NOTHING
  RETURNING status),
counted AS (
  INSERT INTO ${stat} AS s (schedule, next_start, total_skipped, missed_ticks, total_failures, total_cancelled, consecutive_failures, last_run_status)
  SELECT $1, $9::timestamptz, (c.status = 'skipped')::int, CASE WHEN c.status IS NULL THEN 0 ELSE $8::int END, l.failed, l.cancelled, l.failed,
         CASE WHEN c.status = 'skipped' THEN 'skipped' END
    FROM lost l LEFT JOIN claimed c ON true
   WHERE c.status IS NOT NULL OR l.failed + l.cancelled > 0
  ON CONFLICT (schedule) DO UPDATE SET
    next_start = COALESCE(EXCLUDED.next_start, s.next_start),
    total_skipped = s.total_skipped + EXCLUDED.total_skipped,
    missed_ticks = s.missed_ticks + EXCLUDED.missed_ticks,
    total_failures = s.total_failures + EXCLUDED.total_failures,
    total_cancelled = s.total_cancelled + EXCLUDED.total_cancelled,
    consecutive_failures = s.consecutive_failures + EXCLUDED.consecutive_failures,
    last_run_status = COALESCE(EXCLUDED.last_run_status, s.last_run_status))
SELECT (SELECT status FROM claimed) AS status`,
    // $1 schedule, $2 scheduled_at, $3 host
    promote: `
UPDATE ${runs} SET status = 'running', lease_until = ${lease}
 WHERE schedule = $1 AND scheduled_at = $2 AND host_id = $3 AND status = 'queued'
   AND NOT EXISTS (SELECT 1 FROM ${runs} WHERE schedule = $1 AND status = 'running' AND lease_until >= now())
RETURNING status`,
    // $1 schedule, $2 scheduled_at, $3 host, $4 status, $5 launched_at, $6 finished_at, $7 duration_ms, $8 error, $9 slot_delayed
    finish: `
WITH run AS (
  UPDATE ${runs} SET status = $4, launched_at = $5, finished_at = $6, duration_ms = $7, error = $8, slot_delayed = $9, lease_until = NULL
   WHERE schedule = $1 AND scheduled_at = $2 AND host_id = $3 AND status IN ('queued', 'running')
  RETURNING status, launched_at, finished_at, duration_ms, slot_delayed)
INSERT INTO ${stat} AS s (schedule, last_start, last_finish, last_run_status, last_successful_finish, last_duration_ms, total_runs, total_successes,
                          total_failures, total_timeouts, total_cancelled, slot_delays, consecutive_failures, timed_runs, total_duration_ms)
SELECT $1, r.launched_at, r.finished_at, r.status, CASE WHEN r.status = 'success' THEN r.finished_at END, r.duration_ms,
       (r.launched_at IS NOT NULL)::int, (r.status = 'success')::int, (r.status = 'failed')::int, (r.status = 'timeout')::int,
       (r.status = 'cancelled')::int, r.slot_delayed::int, (r.status IN ('failed', 'timeout'))::int,
       (r.duration_ms IS NOT NULL)::int, COALESCE(r.duration_ms, 0)
  FROM run r
ON CONFLICT (schedule) DO UPDATE SET
  last_start = COALESCE(EXCLUDED.last_start, s.last_start),
  last_finish = EXCLUDED.last_finish,
  last_run_status = EXCLUDED.last_run_status,
  last_successful_finish = COALESCE(EXCLUDED.last_successful_finish, s.last_successful_finish),
  last_duration_ms = COALESCE(EXCLUDED.last_duration_ms, s.last_duration_ms),
  total_runs = s.total_runs + EXCLUDED.total_runs,
  total_successes = s.total_successes + EXCLUDED.total_successes,
  total_failures = s.total_failures + EXCLUDED.total_failures,
  total_timeouts = s.total_timeouts + EXCLUDED.total_timeouts,
  total_cancelled = s.total_cancelled + EXCLUDED.total_cancelled,
  slot_delays = s.slot_delays + EXCLUDED.slot_delays,
  consecutive_failures = CASE WHEN EXCLUDED.last_run_status = 'success' THEN 0
                              WHEN EXCLUDED.last_run_status IN ('failed', 'timeout') THEN s.consecutive_failures + 1
                              ELSE s.consecutive_failures END,
  timed_runs = s.timed_runs + EXCLUDED.timed_runs,
  total_duration_ms = s.total_duration_ms + EXCLUDED.total_duration_ms`,
    // $1 host
    renew: `UPDATE ${runs} SET lease_until = ${lease} WHERE host_id = $1 AND status IN ('queued', 'running')`,
    // $1 schedule
    prune: `
DELETE FROM ${runs} WHERE schedule = $1 AND status NOT IN ('queued', 'running') AND scheduled_at <
  (SELECT scheduled_at FROM ${runs} WHERE schedule = $1 ORDER BY scheduled_at DESC OFFSET ${KEEP_RUNS} LIMIT 1)`,
    // $1 schedule: the latest tick any host claimed (retries and manual runs are not ticks)
    lastTick: `SELECT max(scheduled_at) AS at FROM ${runs} WHERE schedule = $1 AND kind IN ('tick', 'catch_up')`,
    stats: `SELECT * FROM ${q}.schedule_stats WHERE schedule = $1`,
  };
}
