/**
 * Launch from SQL, the database side: the requests table, its triggers and launch(), and the
 * queries the host runs on them. PostgreSQL's own privilege system decides who may ask.
 *
 * Objects, in the schema the user names (created by migrate(), component "control"):
 *
 *   launch_requests   one row per request. A caller writes type, name, arg and an optional
 *                     reply_channel; everything else is the trigger's or the host's.
 *   launch(type, arg, name, reply_channel) → bigint
 *                     inserts one row and returns its id (SECURITY INVOKER: the caller's own
 *                     INSERT privilege is what is checked).
 *
 * Who may ask. Nothing is granted to PUBLIC (functions are EXECUTE-able by PUBLIC unless
 * revoked, so launch() is revoked explicitly). The operator grants, per role: USAGE on the
 * schema, INSERT on launch_requests, USAGE on its sequence (the trigger draws the id), and
 * EXECUTE on launch(); SELECT on launch_requests lets a role poll its own rows. Nobody but
 * the owner (the host's role) may UPDATE or DELETE.
 *
 * Who asked cannot be forged. A BEFORE INSERT trigger, running as the inserting role,
 * overwrites every column the caller does not own: requested_by := current_user (the role
 * whose privilege the INSERT used, SET ROLE and SECURITY DEFINER included), session_role :=
 * session_user (who logged in), status := 'pending', the id from the sequence (a caller
 * choosing ids could take ones the sequence will hand out later), the time, and no outcome.
 * Row-level security adds a second check on INSERT (requested_by = current_user) and shows
 * a role only its own rows on SELECT; the owner is not subject to it. The column is
 * session_role, not session_user, because SESSION_USER is a reserved word: a bare
 * `SELECT session_user FROM …` would return the function, not the column.
 *
 * NOTIFY is only the doorbell. An AFTER INSERT trigger sends the new id on the doorbell
 * channel (fixed per schema when the schema is created; TG_ARGV[0] of the trigger). The
 * notification is delivered when the inserting transaction commits, which is when the row
 * becomes visible; its payload is never trusted, it only says "look at the table".
 *
 * Taking requests (TAKE_PENDING). A host takes pending rows in id order, FOR UPDATE SKIP
 * LOCKED, in a transaction that also writes their outcomes (RECORD_OUTCOMES) and sends the
 * replies (SEND_REPLIES), then commits: several hosts on one database each take a request
 * once, and a reply is delivered exactly when the row shows its outcome. A host that dies
 * before committing leaves its rows pending, for the next host to take.
 *
 * Every function sets search_path to pg_catalog, pg_temp, and names the schema's objects in
 * full: a caller's search_path cannot substitute a function of its own inside the triggers.
 */
import { InvalidOptionError } from '../errors.js';
import { checkSchemaName, quoteIdent, type Migration } from './migrate.js';
import type { PgClient } from './connect.js';

export const CONTROL_COMPONENT = 'control';

/** Channel names the library accepts: plain lower-case identifiers, spliced into SQL only after this check. */
export const CHANNEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The migrations of the control component; `channel` is the doorbell channel a new schema rings. */
export function controlMigrations(channel: string): Migration[] {
  if (!CHANNEL_NAME.test(channel)) throw new InvalidOptionError(`channel must be a lower-case SQL identifier of at most 63 characters, got ${JSON.stringify(channel)}`);
  return [{ version: 1, sql: V1.replaceAll('{channel}', channel) }];
}

const V1 = `
CREATE SEQUENCE {schema}.launch_requests_id_seq;
-- No DEFAULT on id: the BEFORE trigger draws it, whatever the caller supplied.
CREATE TABLE {schema}.launch_requests (
  id              bigint PRIMARY KEY,
  type            text NOT NULL,
  name            text,
  arg             jsonb,
  reply_channel   text CHECK (reply_channel ~ '^[a-z_][a-z0-9_]{0,62}$'),
  requested_by    name NOT NULL DEFAULT current_user,
  session_role    name NOT NULL DEFAULT session_user,
  requested_at    timestamptz NOT NULL DEFAULT now(),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'launched', 'refused')),
  reply           jsonb,
  handled_at      timestamptz,
  handled_by_host text
);
ALTER SEQUENCE {schema}.launch_requests_id_seq OWNED BY {schema}.launch_requests.id;
CREATE INDEX launch_requests_pending ON {schema}.launch_requests (id) WHERE status = 'pending';

CREATE FUNCTION {schema}.launch_requests_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.id := nextval('{schema}.launch_requests_id_seq');
  NEW.requested_by := current_user;
  NEW.session_role := session_user;
  NEW.requested_at := now();
  NEW.status := 'pending';
  NEW.reply := NULL;
  NEW.handled_at := NULL;
  NEW.handled_by_host := NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER launch_requests_stamp BEFORE INSERT ON {schema}.launch_requests
  FOR EACH ROW EXECUTE FUNCTION {schema}.launch_requests_stamp();

CREATE FUNCTION {schema}.launch_requests_doorbell() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER launch_requests_doorbell AFTER INSERT ON {schema}.launch_requests
  FOR EACH ROW EXECUTE FUNCTION {schema}.launch_requests_doorbell('{channel}');

ALTER TABLE {schema}.launch_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY launch_requests_insert_own ON {schema}.launch_requests FOR INSERT WITH CHECK (requested_by = current_user);
CREATE POLICY launch_requests_select_own ON {schema}.launch_requests FOR SELECT USING (requested_by = current_user);

-- currval, not RETURNING: RETURNING would need SELECT on the table, which a launcher need not have.
CREATE FUNCTION {schema}.launch(type text, arg jsonb DEFAULT NULL, name text DEFAULT NULL, reply_channel text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO {schema}.launch_requests (type, name, arg, reply_channel)
    VALUES (launch.type, launch.name, launch.arg, launch.reply_channel);
  RETURN currval('{schema}.launch_requests_id_seq');
END $$;

REVOKE ALL ON TABLE {schema}.launch_requests FROM PUBLIC;
REVOKE ALL ON SEQUENCE {schema}.launch_requests_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.launch(text, jsonb, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.launch_requests_stamp() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.launch_requests_doorbell() FROM PUBLIC;
`;

/** A pending row as the host reads it. */
export interface PendingRequest {
  id: string;
  type: string;
  name: string | null;
  arg: unknown;
  /** The byte length of arg's JSON text, null when there is no arg. */
  arg_bytes: number | null;
  reply_channel: string | null;
  requested_by: string;
  session_role: string;
}

/** An outcome to write back into the request's row. */
export interface Outcome {
  id: string;
  status: 'launched' | 'refused';
  reply: object;
  replyChannel: string | null;
}

/** The SQL a host runs on one schema's requests table. */
export class ControlSql {
  private readonly table: string;

  constructor(readonly schema: string) {
    this.table = `${quoteIdent(checkSchemaName(schema))}.launch_requests`;
  }

  /** The channel the schema's doorbell rings, or null when the trigger is missing. */
  async doorbellChannel(client: PgClient): Promise<string | null> {
    const { rows } = await client.query<{ channel: string }>(
      `SELECT convert_from(substring(tgargs FROM 1 FOR length(tgargs) - 1), 'UTF8') AS channel
         FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'launch_requests_doorbell'`,
      [this.table],
    );
    return rows[0]?.channel ?? null;
  }

  /** Lock up to `limit` pending requests no other host holds, oldest first (in the caller's transaction). */
  async takePending(client: PgClient, limit: number): Promise<PendingRequest[]> {
    const { rows } = await client.query<PendingRequest>(
      `SELECT id::text, type, name, arg, octet_length(arg::text) AS arg_bytes, reply_channel, requested_by::text, session_role::text
         FROM ${this.table} WHERE status = 'pending' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows;
  }

  /** Write each outcome into its row and send the replies that were asked for, in one round trip each. */
  async recordOutcomes(client: PgClient, host: string, outcomes: readonly Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await client.query(
      `UPDATE ${this.table} AS r SET status = o.status, reply = o.reply, handled_at = now(), handled_by_host = $4
         FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) AS o(id, status, reply) WHERE r.id = o.id`,
      [outcomes.map((o) => o.id), outcomes.map((o) => o.status), outcomes.map((o) => JSON.stringify(o.reply)), host],
    );
    const replies = outcomes.filter((o) => o.replyChannel !== null);
    if (replies.length === 0) return;
    // The id goes into the notification: a caller may have several requests answering on one channel.
    await client.query('SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS u(c, p)', [
      replies.map((o) => o.replyChannel),
      replies.map((o) => JSON.stringify({ id: o.id, ...o.reply })),
    ]);
  }
}
