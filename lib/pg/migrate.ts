/**
 * Versioned schema migrations that the library runs itself, in a schema the user names.
 *
 * A component (the control channel, the fleet, the scheduler) owns a list of migrations,
 * each one SQL text applied once, in order. Which ones have been applied is recorded per
 * component in `<schema>.bgworker_migrations` (component, version, applied_at).
 *
 * Two hosts that start at once against an empty database must create the schema once: the
 * whole run happens in one transaction that first takes a transaction-level advisory lock
 * on a key derived from the schema name, so a second host waits for the first to commit,
 * then finds every version recorded and applies nothing. A migration that fails rolls the
 * whole run back; nothing is half-applied.
 *
 * Identifiers: the schema name is checked to be a plain lower-case identifier and quoted
 * where it is spliced into SQL; migration texts name it through the `{schema}` placeholder.
 */
import { InvalidOptionError } from '../errors.js';
import type { PgClient } from './connect.js';

export interface Migration {
  version: number;
  /** SQL run in the migration's transaction; `{schema}` stands for the quoted schema name. */
  sql: string;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema name as the library accepts it: a lower-case SQL identifier. */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENT.test(schema)) {
    throw new InvalidOptionError(`schema must be a lower-case SQL identifier of at most 63 characters (a-z, 0-9, _), got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** `"schema"`: safe once checkSchemaName accepted the name. */
export function quoteIdent(name: string): string {
  return `"${name}"`;
}

/**
 * Apply every migration of `component` that `schema` does not have yet; returns the
 * versions applied by this call (none when another host got there first).
 */
export async function migrate(client: PgClient, schema: string, component: string, migrations: readonly Migration[]): Promise<number[]> {
  const q = quoteIdent(checkSchemaName(schema));
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`bgworker.migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${q}.bgworker_migrations (
         component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (component, version))`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${q}.bgworker_migrations WHERE component = $1`, [component]);
    const have = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (have.has(m.version)) continue;
      await client.query(m.sql.replaceAll('{schema}', q));
      await client.query(`INSERT INTO ${q}.bgworker_migrations (component, version) VALUES ($1, $2)`, [component, m.version]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
