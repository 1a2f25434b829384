/**
 * Declaring fleet workers from SQL: `fleet_declare(name, registration, replicas, placement)`
 * and `fleet_remove(name)`, for an operator or a migration that has no Node at hand. Part of
 * the fleet migration (schema.ts).
 *
 * Authorization is PostgreSQL's: both functions are SECURITY DEFINER (they write tables no
 * one else may write) and revoked from PUBLIC, so a role may declare exactly when the
 * operator has granted it EXECUTE. declared_by records session_user, the role that logged
 * in: inside a SECURITY DEFINER function current_user is the function's owner.
 *
 * Everything SQL can check is checked before anything is written, in the order of
 * declaration.ts (which checks the same on the host, with typed errors): the name, the
 * replica count (-1 = one per host), the placement (label keys an active member carries,
 * when any member is active), and the registration's shape and PostgreSQL's rules (the
 * fields, their types and ranges, the flag combinations SanityCheckBackgroundWorker
 * refuses). A refusal raises SQLSTATE BW002 (declaration), BW003 (unknown label) or BW005
 * (a label key or value of the wrong form) with the reason; the statement's transaction rolls back and nothing is half-written. What only a
 * host can see (the module file exists there, mainArg fits its mainArgBytes) the host
 * checks with sanity.ts before it runs anything, and records the reason it refused in
 * fleet_workers.refused (shown by fleet_status).
 *
 * Declaring is idempotent by name: the same declaration again changes nothing (no version
 * bump, no NOTIFY); a new registration bumps `version` (the hosts roll their copies); new
 * replicas or placement rescale without a roll.
 */

export const DECLARE_SQL = `
CREATE FUNCTION {schema}.fleet_check_declaration(p_name text, p_registration jsonb, p_replicas int, p_placement jsonb)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_key text;
  v_val jsonb;
  v_flags bigint;
  v_restart bigint;
  v_bounds jsonb := '{"maxOldGenerationSizeMb": [8, 1048576], "maxYoungGenerationSizeMb": [1, 65536],
                      "codeRangeSizeMb": [1, 4096], "stackSizeMb": [1, 1024]}';
BEGIN
  IF p_name IS NULL OR p_name !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' THEN
    RAISE EXCEPTION 'fleet worker name must be 1 to 63 characters of A-Z a-z 0-9 _ . - starting with a letter or digit'
      USING ERRCODE = 'BW002';
  END IF;
  IF p_replicas IS NULL OR p_replicas < -1 THEN
    RAISE EXCEPTION 'fleet worker "%": replicas must be 0 or more, or -1 for one per host', p_name USING ERRCODE = 'BW002';
  END IF;
  IF p_placement IS NULL OR jsonb_typeof(p_placement) <> 'object' THEN
    RAISE EXCEPTION 'fleet worker "%": placement must be a JSON object of label constraints', p_name USING ERRCODE = 'BW002';
  END IF;
  FOR v_key, v_val IN SELECT * FROM jsonb_each(p_placement) LOOP
    IF v_key !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
      RAISE EXCEPTION 'fleet worker "%": placement label key % is not of the form [a-z][a-z0-9_.-]*', p_name, to_jsonb(v_key) USING ERRCODE = 'BW005';
    END IF;
    IF NOT (jsonb_typeof(v_val) = 'string' AND v_val #>> '{}' ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'
            OR jsonb_typeof(v_val) = 'array' AND jsonb_array_length(v_val) > 0
               AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_val) AS x
                                WHERE jsonb_typeof(x) <> 'string' OR x #>> '{}' !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$')) THEN
      RAISE EXCEPTION 'fleet worker "%": placement.% must be a label value or a non-empty list of them', p_name, v_key USING ERRCODE = 'BW005';
    END IF;
    IF EXISTS (SELECT 1 FROM {schema}.fleet_members m WHERE {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms))
       AND NOT EXISTS (SELECT 1 FROM {schema}.fleet_members m
                        WHERE {schema}.fleet_member_live(m.state, m.heartbeat_at, m.lease_ms) AND m.labels ? v_key) THEN
      RAISE EXCEPTION 'fleet worker "%": no active member has a label "%"', p_name, v_key USING ERRCODE = 'BW003';
    END IF;
  END LOOP;
  IF p_registration IS NULL OR jsonb_typeof(p_registration) <> 'object' THEN
    RAISE EXCEPTION 'fleet worker "%": registration must be a JSON object', p_name USING ERRCODE = 'BW002';
  END IF;
  SELECT k INTO v_key FROM jsonb_object_keys(p_registration) AS k
   WHERE k NOT IN ('module', 'function', 'type', 'mainArg', 'flags', 'restartTime', 'resourceLimits') LIMIT 1;
  IF v_key IS NOT NULL THEN
    RAISE EXCEPTION 'fleet worker "%": registration has an unknown field %', p_name, to_jsonb(v_key) USING ERRCODE = 'BW002';
  END IF;
  IF jsonb_typeof(p_registration->'module') IS DISTINCT FROM 'string'
     OR p_registration->>'module' !~ '^(/|file:///)' OR octet_length(p_registration->>'module') > 1023 THEN
    RAISE EXCEPTION 'fleet worker "%": registration.module must be an absolute path or a file: URL of at most 1023 bytes', p_name
      USING ERRCODE = 'BW002';
  END IF;
  FOREACH v_key IN ARRAY ARRAY['function', 'type'] LOOP
    IF p_registration ? v_key AND (jsonb_typeof(p_registration->v_key) <> 'string'
        OR octet_length(p_registration->>v_key) NOT BETWEEN 1 AND 95) THEN
      RAISE EXCEPTION 'fleet worker "%": registration.% must be a string of 1 to 95 bytes', p_name, v_key USING ERRCODE = 'BW002';
    END IF;
  END LOOP;
  v_flags := {schema}.fleet_json_int(p_registration->'flags', 0, 2147483647, p_name, 'flags');
  IF v_flags & ~23 <> 0 THEN
    RAISE EXCEPTION 'fleet worker "%": unknown flag bits in %', p_name, v_flags USING ERRCODE = 'BW002';
  END IF;
  v_restart := {schema}.fleet_json_int(p_registration->'restartTime', -1, 86400000, p_name, 'restartTime');
  IF v_flags & 4 <> 0 AND v_flags & 2 = 0 THEN
    RAISE EXCEPTION 'fleet worker "%": cannot make background workers interruptible without database access', p_name USING ERRCODE = 'BW002';
  END IF;
  IF v_flags & 16 <> 0 AND coalesce(v_restart, -1) <> -1 THEN
    RAISE EXCEPTION 'fleet worker "%": parallel workers may not be configured for restart', p_name USING ERRCODE = 'BW002';
  END IF;
  IF p_registration ? 'resourceLimits' THEN
    IF jsonb_typeof(p_registration->'resourceLimits') <> 'object' THEN
      RAISE EXCEPTION 'fleet worker "%": registration.resourceLimits must be an object', p_name USING ERRCODE = 'BW002';
    END IF;
    FOR v_key, v_val IN SELECT * FROM jsonb_each(p_registration->'resourceLimits') LOOP
      IF NOT v_bounds ? v_key THEN
        RAISE EXCEPTION 'fleet worker "%": unknown resource limit %', p_name, to_jsonb(v_key) USING ERRCODE = 'BW002';
      END IF;
      PERFORM {schema}.fleet_json_int(v_val, (v_bounds->v_key->>0)::bigint, (v_bounds->v_key->>1)::bigint, p_name, 'resourceLimits.' || v_key);
    END LOOP;
  END IF;
  IF octet_length((p_registration->'mainArg')::text) > 65536 THEN
    RAISE EXCEPTION 'fleet worker "%": registration.mainArg is larger than 64 KiB of JSON', p_name USING ERRCODE = 'BW002';
  END IF;
END $fn$;

CREATE FUNCTION {schema}.fleet_json_int(p_value jsonb, p_min bigint, p_max bigint, p_name text, p_field text)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF p_value IS NULL OR p_value = 'null'::jsonb THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(p_value) <> 'number' OR (p_value #>> '{}')::numeric <> trunc((p_value #>> '{}')::numeric)
     OR (p_value #>> '{}')::numeric NOT BETWEEN p_min AND p_max THEN
    RAISE EXCEPTION 'fleet worker "%": registration.% must be an integer in %..%', p_name, p_field, p_min, p_max USING ERRCODE = 'BW002';
  END IF;
  RETURN (p_value #>> '{}')::bigint;
END $fn$;

CREATE FUNCTION {schema}.fleet_declare(p_name text, p_registration jsonb, p_replicas int, p_placement jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_version bigint;
BEGIN
  PERFORM {schema}.fleet_check_declaration(p_name, p_registration, p_replicas, p_placement);
  INSERT INTO {schema}.fleet_workers AS w (name, registration, replicas, placement, declared_by)
  VALUES (p_name, p_registration, p_replicas, p_placement, session_user)
  ON CONFLICT (name) DO UPDATE
     SET registration = EXCLUDED.registration, replicas = EXCLUDED.replicas, placement = EXCLUDED.placement,
         version = w.version + (w.registration IS DISTINCT FROM EXCLUDED.registration)::int,
         declared_by = EXCLUDED.declared_by, declared_at = now(),
         refused = CASE WHEN w.registration IS DISTINCT FROM EXCLUDED.registration THEN NULL ELSE w.refused END
   WHERE (w.registration, w.replicas, w.placement) IS DISTINCT FROM (EXCLUDED.registration, EXCLUDED.replicas, EXCLUDED.placement);
  SELECT w.version INTO v_version FROM {schema}.fleet_workers w WHERE w.name = p_name;
  RETURN v_version;
END $fn$;

CREATE FUNCTION {schema}.fleet_remove(p_name text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  DELETE FROM {schema}.fleet_workers WHERE name = p_name;
  RETURN FOUND;
END $fn$;

REVOKE ALL ON FUNCTION {schema}.fleet_check_declaration(text, jsonb, int, jsonb), {schema}.fleet_json_int(jsonb, bigint, bigint, text, text),
  {schema}.fleet_declare(text, jsonb, int, jsonb), {schema}.fleet_remove(text) FROM PUBLIC;
`;
