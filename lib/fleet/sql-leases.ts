/**
 * The SQL functions the hosts call: membership, the heartbeat, taking and giving back
 * leases, fencing, and the cluster singleton's lease. Part of the fleet migration
 * (schema.ts); `{schema}` and `{channel}` are filled in there.
 *
 *   fleet_join(id, hostname, pid, labels, capacity, lease_ms) → seq
 *   fleet_heartbeat(member, lease_ms, known_digest, held, reports) → jsonb
 *       The one statement a host sends per heartbeat. In one transaction it: marks the
 *       member alive; renews exactly the leases the host says it runs ([worker, replica,
 *       term] triples) if each is still its own, under that term, and not yet expired — a
 *       lease that expired is never renewed; frees every other lease the table says the
 *       member holds (a copy it no longer runs, an acquisition whose answer was lost);
 *       applies the host's reports (running, restarts, last exit, refusals); and returns
 *       { state, digest, held, snapshot } where snapshot (the active members and the
 *       declarations) is present only when the digest differs from `known_digest`.
 *   fleet_acquire(member, lease_ms, wanted) → (worker, replica, term, version, registration)
 *       Takes each wanted lease that is free or expired and still desired (replica within
 *       the declared count, or the member's own seq for a per-host worker whose placement
 *       it matches), with term + 1. Rows are locked FOR UPDATE in (worker, replica) order.
 *   fleet_release(member, released) → count, and a NOTIFY per lease, so its next holder
 *       takes it at once. The term stays: the next holder's is one more.
 *   fleet_leave_begin(member), fleet_leave(member): a graceful leave — first out of the
 *       placement (others compute the new assignment), then every lease given back.
 *   fleet_fence(worker, replica, term) → true, or raises SQLSTATE BW001 unless `term` is
 *       the term of a live lease; it share-locks the lease row (FOR KEY SHARE) until the
 *       caller's transaction ends, so no takeover commits between the check and the write.
 *   fleet_singleton_acquire/renew/release(key, holder, …): the same lease for a worker
 *       that runs as a cluster singleton (replica -1), renewed on the worker's own
 *       connection.
 *
 * Every lease time is `now()` of the database: hosts never compare their clocks.
 */

export const LEASES_SQL = `
CREATE FUNCTION {schema}.fleet_join(p_id text, p_hostname text, p_pid int, p_labels jsonb, p_capacity int, p_lease_ms int)
RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_seq int;
BEGIN
  -- Old rows of members long gone, or dead for a day, that hold nothing any more.
  DELETE FROM {schema}.fleet_members m
   WHERE (m.state = 'gone' AND m.left_at < now() - interval '1 day'
          OR m.state <> 'gone' AND m.heartbeat_at < now() - interval '1 day')
     AND NOT EXISTS (SELECT 1 FROM {schema}.fleet_leases l WHERE l.holder = m.id);
  INSERT INTO {schema}.fleet_members (id, hostname, pid, labels, capacity, lease_ms)
  VALUES (p_id, p_hostname, p_pid, p_labels, p_capacity, p_lease_ms)
  RETURNING seq INTO v_seq;
  PERFORM pg_notify('{channel}', json_build_object('kind', 'member')::text);
  RETURN v_seq;
END $fn$;

CREATE FUNCTION {schema}.fleet_snapshot() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT jsonb_build_object(
    'members', coalesce((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'seq', m.seq, 'capacity', m.capacity, 'labels', m.labels) ORDER BY m.id)
                           FROM {schema}.fleet_members m
                          WHERE {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms)), '[]'::jsonb),
    'workers', coalesce((SELECT jsonb_agg(jsonb_build_object('name', w.name, 'registration', w.registration, 'replicas', w.replicas,
                                                             'placement', w.placement, 'version', w.version) ORDER BY w.name)
                           FROM {schema}.fleet_workers w), '[]'::jsonb))
$fn$;

CREATE FUNCTION {schema}.fleet_digest() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT md5(s.version::text || '|' || coalesce(
           (SELECT string_agg(m.id || '/' || m.seq || '/' || m.capacity || '/' || m.labels::text, ',' ORDER BY m.id)
              FROM {schema}.fleet_members m
             WHERE {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms)), ''))
    FROM {schema}.fleet_state s
$fn$;

CREATE FUNCTION {schema}.fleet_heartbeat(p_member text, p_lease_ms int, p_known text, p_held jsonb, p_reports jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_state text;
  v_held jsonb;
  v_freed int;
  v_digest text;
BEGIN
  UPDATE {schema}.fleet_members SET heartbeat_at = now(), lease_ms = p_lease_ms
   WHERE id = p_member AND state IN ('active', 'leaving')
  RETURNING state INTO v_state;
  IF v_state IS NULL THEN
    RETURN jsonb_build_object('state', 'gone');
  END IF;
  PERFORM 1 FROM {schema}.fleet_leases WHERE holder = p_member ORDER BY worker, replica FOR NO KEY UPDATE;
  WITH want AS (
    SELECT e->>0 AS worker, (e->>1)::int AS replica, (e->>2)::bigint AS term FROM jsonb_array_elements(p_held) AS e
  ), renewed AS (
    UPDATE {schema}.fleet_leases l SET lease_until = now() + p_lease_ms * interval '1 millisecond'
      FROM want w
     WHERE l.worker = w.worker AND l.replica = w.replica AND l.term = w.term
       AND l.holder = p_member AND l.lease_until >= now()
    RETURNING l.worker, l.replica, l.term
  )
  SELECT coalesce(jsonb_agg(jsonb_build_array(r.worker, r.replica, r.term)), '[]'::jsonb) INTO v_held FROM renewed r;
  UPDATE {schema}.fleet_leases l SET holder = NULL, lease_until = NULL, running = false
   WHERE l.holder = p_member
     AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_held) e WHERE e->>0 = l.worker AND (e->>1)::int = l.replica);
  GET DIAGNOSTICS v_freed = ROW_COUNT;
  IF v_freed > 0 THEN
    PERFORM pg_notify('{channel}', json_build_object('kind', 'release')::text);
  END IF;
  UPDATE {schema}.fleet_leases l
     SET running = coalesce((r.e->>'running')::boolean, l.running),
         restarts = coalesce((r.e->>'restarts')::int, l.restarts),
         version = coalesce((r.e->>'version')::bigint, l.version),
         last_exit = coalesce(r.e->'lastExit', l.last_exit)
    FROM jsonb_array_elements(p_reports) AS r(e)
   WHERE r.e ? 'term' AND l.worker = r.e->>'worker' AND l.replica = (r.e->>'replica')::int
     AND l.term = (r.e->>'term')::bigint AND l.holder = p_member;
  UPDATE {schema}.fleet_workers w
     SET refused = left(r.e->>'reason', 1000), refused_version = w.version, refused_by = p_member
    FROM jsonb_array_elements(p_reports) AS r(e)
   WHERE r.e ? 'refuse' AND w.name = r.e->>'refuse' AND w.version = (r.e->>'version')::bigint;
  v_digest := {schema}.fleet_digest();
  RETURN jsonb_build_object('state', v_state, 'digest', v_digest, 'held', v_held,
                            'snapshot', CASE WHEN v_digest IS DISTINCT FROM p_known THEN {schema}.fleet_snapshot() END);
END $fn$;

CREATE FUNCTION {schema}.fleet_acquire(p_member text, p_lease_ms int, p_wanted jsonb)
RETURNS TABLE (worker text, replica int, term bigint, version bigint, registration jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
  v_seq int;
  v_labels jsonb;
BEGIN
  SELECT m.seq, m.labels INTO v_seq, v_labels FROM {schema}.fleet_members m WHERE m.id = p_member AND m.state = 'active';
  IF v_seq IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO {schema}.fleet_leases (worker, replica)
  SELECT e->>0, (e->>1)::int FROM jsonb_array_elements(p_wanted) AS e ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  RETURN QUERY
  WITH want AS (
    SELECT e->>0 AS worker, (e->>1)::int AS replica FROM jsonb_array_elements(p_wanted) AS e
  ), free AS (
    SELECT l.worker, l.replica
      FROM {schema}.fleet_leases l
      JOIN want w ON w.worker = l.worker AND w.replica = l.replica
      JOIN {schema}.fleet_workers fw ON fw.name = l.worker
     WHERE (l.holder IS NULL OR l.lease_until < now())
       AND (fw.replicas >= 0 AND l.replica < fw.replicas
            OR fw.replicas = -1 AND l.replica = v_seq AND {schema}.fleet_placement_matches(fw.placement, v_labels))
     ORDER BY l.worker, l.replica
       FOR UPDATE OF l
  )
  UPDATE {schema}.fleet_leases l
     SET holder = p_member, term = l.term + 1, lease_until = now() + p_lease_ms * interval '1 millisecond',
         since = now(), running = false, restarts = 0, last_exit = NULL, version = fw.version
    FROM free f, {schema}.fleet_workers fw
   WHERE l.worker = f.worker AND l.replica = f.replica AND fw.name = l.worker
  RETURNING l.worker, l.replica, l.term, fw.version, fw.registration;
END $fn$;

CREATE FUNCTION {schema}.fleet_release(p_member text, p_released jsonb)
RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_row record;
  v_count int := 0;
BEGIN
  PERFORM 1 FROM {schema}.fleet_leases l
    JOIN jsonb_array_elements(p_released) AS e ON e->>0 = l.worker AND (e->>1)::int = l.replica
   WHERE l.holder = p_member ORDER BY l.worker, l.replica FOR NO KEY UPDATE OF l;
  FOR v_row IN
    UPDATE {schema}.fleet_leases l
       SET holder = NULL, lease_until = NULL, running = false, last_exit = coalesce(e->3, l.last_exit)
      FROM jsonb_array_elements(p_released) AS e
     WHERE l.worker = e->>0 AND l.replica = (e->>1)::int AND l.term = (e->>2)::bigint AND l.holder = p_member
    RETURNING l.worker, l.replica
  LOOP
    v_count := v_count + 1;
    PERFORM pg_notify('{channel}', json_build_object('kind', 'release', 'worker', v_row.worker, 'replica', v_row.replica)::text);
  END LOOP;
  RETURN v_count;
END $fn$;

CREATE FUNCTION {schema}.fleet_leave_begin(p_member text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  UPDATE {schema}.fleet_members SET state = 'leaving' WHERE id = p_member AND state = 'active';
  IF FOUND THEN
    PERFORM pg_notify('{channel}', json_build_object('kind', 'member')::text);
  END IF;
END $fn$;

CREATE FUNCTION {schema}.fleet_leave(p_member text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM 1 FROM {schema}.fleet_leases WHERE holder = p_member ORDER BY worker, replica FOR NO KEY UPDATE;
  UPDATE {schema}.fleet_leases SET holder = NULL, lease_until = NULL, running = false WHERE holder = p_member;
  UPDATE {schema}.fleet_members SET state = 'gone', left_at = now() WHERE id = p_member AND state <> 'gone';
  PERFORM pg_notify('{channel}', json_build_object('kind', 'member')::text);
END $fn$;

CREATE FUNCTION {schema}.fleet_fence(p_worker text, p_replica int, p_term bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_live boolean;
BEGIN
  SELECT l.holder IS NOT NULL AND l.term = p_term AND l.lease_until >= clock_timestamp() INTO v_live
    FROM {schema}.fleet_leases l WHERE l.worker = p_worker AND l.replica = p_replica
     FOR KEY SHARE;
  IF v_live IS NOT TRUE THEN
    RAISE EXCEPTION 'fleet lease %#% is not held under term %', p_worker, p_replica, p_term
      USING ERRCODE = 'BW001', HINT = 'a newer holder has the lease, or it expired: this copy is stale and must stop';
  END IF;
  RETURN true;
END $fn$;

CREATE FUNCTION {schema}.fleet_singleton_acquire(p_key text, p_holder text, p_lease_ms int)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_term bigint;
BEGIN
  INSERT INTO {schema}.fleet_leases (worker, replica) VALUES (p_key, -1) ON CONFLICT DO NOTHING;
  PERFORM 1 FROM {schema}.fleet_leases l
   WHERE l.worker = p_key AND l.replica = -1 AND (l.holder IS NULL OR l.lease_until < now())
     FOR UPDATE;
  UPDATE {schema}.fleet_leases l
     SET holder = p_holder, term = l.term + 1, lease_until = now() + p_lease_ms * interval '1 millisecond',
         since = now(), running = true, restarts = 0, last_exit = NULL
   WHERE l.worker = p_key AND l.replica = -1 AND (l.holder IS NULL OR l.lease_until < now())
  RETURNING l.term INTO v_term;
  RETURN v_term;
END $fn$;

CREATE FUNCTION {schema}.fleet_singleton_renew(p_key text, p_holder text, p_term bigint, p_lease_ms int)
RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  WITH renewed AS (
    UPDATE {schema}.fleet_leases l SET lease_until = now() + p_lease_ms * interval '1 millisecond'
     WHERE l.worker = p_key AND l.replica = -1 AND l.holder = p_holder AND l.term = p_term AND l.lease_until >= now()
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM renewed)
$fn$;

CREATE FUNCTION {schema}.fleet_singleton_release(p_key text, p_holder text, p_term bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  UPDATE {schema}.fleet_leases l SET holder = NULL, lease_until = NULL, running = false
   WHERE l.worker = p_key AND l.replica = -1 AND l.holder = p_holder AND l.term = p_term
$fn$;

REVOKE ALL ON FUNCTION {schema}.fleet_join(text, text, int, jsonb, int, int), {schema}.fleet_snapshot(), {schema}.fleet_digest(),
  {schema}.fleet_heartbeat(text, int, text, jsonb, jsonb), {schema}.fleet_acquire(text, int, jsonb),
  {schema}.fleet_release(text, jsonb), {schema}.fleet_leave_begin(text), {schema}.fleet_leave(text),
  {schema}.fleet_fence(text, int, bigint), {schema}.fleet_singleton_acquire(text, text, int),
  {schema}.fleet_singleton_renew(text, text, bigint, int), {schema}.fleet_singleton_release(text, text, bigint) FROM PUBLIC;
`;
