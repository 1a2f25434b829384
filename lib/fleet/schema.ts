/**
 * The fleet's schema: the tables that hold the desired state and the leases, the views an
 * operator reads, and the one migration (component "fleet") that creates them with the
 * functions of sql-leases.ts and sql-declare.ts, in the schema the user names.
 *
 *   fleet_state    one row: `version`, bumped by a trigger on every change of the desired
 *                  state (a declaration that changed something, a removal). Hosts compare a
 *                  digest of it and of the active members at every heartbeat, and read the
 *                  whole state only when the digest moved.
 *   fleet_members  one row per host process start: id (hostname:pid:uuid, never the
 *                  hostname alone), seq (a small number of its own, the replica number of
 *                  its per-host replicas), labels, capacity, lease_ms, heartbeat_at, state
 *                  (active → leaving → gone). A member is live while
 *                  heartbeat_at + lease_ms >= now(): by the database's clock only.
 *   fleet_workers  the declarations: name, registration (jsonb), replicas (-1 = one per
 *                  eligible member), placement (label constraints), version (bumped when
 *                  the registration changes: a roll), declared_by, and the reason a host
 *                  refused the registration, if one did.
 *   fleet_leases   one row per (worker, replica) ever held, and per cluster singleton
 *                  (replica = -1, worker = the singleton's key): holder, term, lease_until,
 *                  since, restarts, last_exit, running, version. Rows outlive their worker,
 *                  so that a term never starts again from 0; a trigger refuses an update
 *                  that would lower a term.
 *
 * Lock order. Every function that locks several lease rows locks them in (worker, replica)
 * order first, so two hosts' heartbeats and acquisitions never deadlock. Taking a lease
 * locks its row FOR UPDATE; fleet_fence() locks it FOR KEY SHARE, so a takeover waits for
 * a fenced write in flight to commit, while renewals (FOR NO KEY UPDATE) never wait for one.
 *
 * NOTIFY. Every change another host should react to sends a NOTIFY on `<schema>_fleet`
 * with a small JSON payload (see doorbell.ts); the tables stay the only truth.
 *
 * Privileges. Every function that writes is revoked from PUBLIC (the two pure helpers the
 * views call stay callable, as a view's reader needs them); the role that runs the hosts
 * owns the schema (it ran the migration). Operators get EXECUTE on fleet_declare/fleet_remove,
 * writers EXECUTE on fleet_fence, readers SELECT on the views (README: Fleet).
 */
import { checkSchemaName, type Migration } from '../pg/migrate.js';
import { InvalidOptionError } from '../errors.js';
import { DECLARE_SQL } from './sql-declare.js';
import { LEASES_SQL } from './sql-leases.js';

/** The component name under which migrate.ts records the fleet's schema versions. */
export const FLEET_COMPONENT = 'fleet';

/** The LISTEN/NOTIFY channel of a fleet in `schema`. */
export function fleetChannel(schema: string): string {
  const channel = `${checkSchemaName(schema)}_fleet`;
  if (channel.length > 63) throw new InvalidOptionError(`schema "${schema}" is too long for a fleet: its channel name must fit 63 bytes`);
  return channel;
}

const TABLES_SQL = `
CREATE TABLE {schema}.fleet_state (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO {schema}.fleet_state DEFAULT VALUES;

CREATE TABLE {schema}.fleet_members (
  id text PRIMARY KEY,
  seq int GENERATED ALWAYS AS IDENTITY UNIQUE,
  hostname text NOT NULL,
  pid int NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
  capacity int NOT NULL CHECK (capacity >= 0),
  lease_ms int NOT NULL CHECK (lease_ms > 0),
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'leaving', 'gone')),
  left_at timestamptz
);

CREATE TABLE {schema}.fleet_workers (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  registration jsonb NOT NULL CHECK (jsonb_typeof(registration) = 'object'),
  replicas int NOT NULL CHECK (replicas >= -1),
  placement jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(placement) = 'object'),
  version bigint NOT NULL DEFAULT 1,
  declared_by text NOT NULL DEFAULT current_user,
  declared_at timestamptz NOT NULL DEFAULT now(),
  refused text,
  refused_version bigint,
  refused_by text
);

CREATE TABLE {schema}.fleet_leases (
  worker text NOT NULL,
  replica int NOT NULL CHECK (replica >= -1),
  holder text,
  term bigint NOT NULL DEFAULT 0 CHECK (term >= 0),
  lease_until timestamptz,
  since timestamptz,
  running boolean NOT NULL DEFAULT false,
  version bigint,
  restarts int NOT NULL DEFAULT 0,
  last_exit jsonb,
  PRIMARY KEY (worker, replica)
);
CREATE INDEX fleet_leases_holder ON {schema}.fleet_leases (holder) WHERE holder IS NOT NULL;

CREATE FUNCTION {schema}.fleet_terms_only_grow() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NEW.term < OLD.term THEN
    RAISE EXCEPTION 'fleet lease %#% term may not go back from % to %', OLD.worker, OLD.replica, OLD.term, NEW.term
      USING ERRCODE = 'BW004';
  END IF;
  RETURN NEW;
END $fn$;
CREATE TRIGGER fleet_terms_only_grow BEFORE UPDATE OF term ON {schema}.fleet_leases
  FOR EACH ROW EXECUTE FUNCTION {schema}.fleet_terms_only_grow();

CREATE FUNCTION {schema}.fleet_desired_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_name text := CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END;
BEGIN
  UPDATE {schema}.fleet_state SET version = version + 1;
  PERFORM pg_notify('{channel}', json_build_object('kind', lower(TG_OP), 'worker', v_name)::text);
  RETURN NULL;
END $fn$;
CREATE TRIGGER fleet_desired_changed AFTER INSERT OR DELETE OR UPDATE OF registration, replicas, placement
  ON {schema}.fleet_workers FOR EACH ROW EXECUTE FUNCTION {schema}.fleet_desired_changed();
`;

const VIEWS_SQL = `
CREATE FUNCTION {schema}.fleet_placement_matches(p_placement jsonb, p_labels jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT NOT EXISTS (
    SELECT 1 FROM jsonb_each(p_placement) AS c(key, want)
     WHERE NOT coalesce(CASE jsonb_typeof(c.want)
                          WHEN 'string' THEN p_labels -> c.key = c.want
                          ELSE c.want @> jsonb_build_array(p_labels -> c.key) END, false))
$fn$;

CREATE FUNCTION {schema}.fleet_member_live(p_state text, p_heartbeat_at timestamptz, p_lease_ms int) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT p_state = 'active' AND p_heartbeat_at + p_lease_ms * interval '1 millisecond' >= now()
$fn$;

CREATE VIEW {schema}.fleet_member_status AS
SELECT m.id, m.seq, m.hostname, m.pid, m.labels, m.capacity, m.started_at, m.heartbeat_at,
       CASE WHEN m.state <> 'active' THEN m.state
            WHEN {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms) THEN 'active'
            ELSE 'dead' END AS state,
       (SELECT count(*) FROM {schema}.fleet_leases l WHERE l.holder = m.id AND l.lease_until >= now())::int AS leases
  FROM {schema}.fleet_members m
 WHERE m.state <> 'gone' OR m.left_at > now() - interval '1 hour';

CREATE VIEW {schema}.fleet_status AS
WITH desired AS (
  SELECT w.name AS worker, g.replica, w.version, w.refused, w.refused_version
    FROM {schema}.fleet_workers w CROSS JOIN LATERAL generate_series(0, w.replicas - 1) AS g(replica)
  UNION ALL
  SELECT w.name, m.seq, w.version, w.refused, w.refused_version
    FROM {schema}.fleet_workers w
    JOIN {schema}.fleet_members m
      ON w.replicas = -1 AND {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms)
     AND {schema}.fleet_placement_matches(w.placement, m.labels)
)
SELECT 'replica'::text AS kind, d.worker, d.replica, l.holder, m.hostname,
       CASE WHEN l.holder IS NOT NULL AND l.lease_until < now() THEN 'expired'
            WHEN l.holder IS NOT NULL AND l.running THEN 'running'
            WHEN l.holder IS NOT NULL THEN 'starting'
            WHEN d.refused IS NOT NULL AND d.refused_version = d.version THEN 'refused'
            ELSE 'pending' END AS state,
       coalesce(l.term, 0) AS term, l.since, l.lease_until, coalesce(l.restarts, 0) AS restarts, l.last_exit,
       d.version AS desired_version, l.version AS running_version,
       CASE WHEN d.refused_version = d.version THEN d.refused END AS refused
  FROM desired d
  LEFT JOIN {schema}.fleet_leases l ON l.worker = d.worker AND l.replica = d.replica
  LEFT JOIN {schema}.fleet_members m ON m.id = l.holder
UNION ALL
SELECT 'singleton', l.worker, l.replica, l.holder, NULL,
       CASE WHEN l.holder IS NULL THEN 'free' WHEN l.lease_until < now() THEN 'expired' ELSE 'running' END,
       l.term, l.since, l.lease_until, l.restarts, l.last_exit, NULL, NULL, NULL
  FROM {schema}.fleet_leases l
 WHERE l.replica = -1;
`;

/** The fleet's migrations for `schema`: `{schema}` is filled in by migrate.ts, the channel here. */
export function fleetMigrations(schema: string): Migration[] {
  const channel = fleetChannel(schema);
  const sql = [TABLES_SQL, VIEWS_SQL, LEASES_SQL, DECLARE_SQL].join('\n').replaceAll('{channel}', channel);
  return [{ version: 1, sql }];
}
