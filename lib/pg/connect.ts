/**
 * The one place that builds `pg` clients. Connection settings come, in order, from the
 * call, the host's `database` option, then pg's own defaults (PGHOST, PGPORT, PGUSER,
 * PGDATABASE, PGPASSWORD, … and DATABASE_URL, which pg does not read by itself).
 *
 * Every client carries an application_name naming its bgworker, so a DBA reading
 * pg_stat_activity sees which worker holds which backend.
 */
import type pg from 'pg';

export interface DatabaseSettings {
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
}

/** NAMEDATALEN - 1: what the server keeps of an application_name. */
const APPLICATION_NAME_MAX = 63;

export function clientConfig(base: DatabaseSettings, over: DatabaseSettings, applicationName: string): pg.ClientConfig {
  const connectionString = over.connectionString ?? base.connectionString ?? process.env['DATABASE_URL'];
  const pick = <K extends keyof DatabaseSettings>(k: K) => over[k] ?? base[k];
  const cfg: pg.ClientConfig = { application_name: applicationName.slice(0, APPLICATION_NAME_MAX) };
  if (connectionString) cfg.connectionString = connectionString;
  for (const k of ['host', 'port', 'database', 'user', 'password'] as const) {
    const v = pick(k);
    if (v !== undefined) (cfg as Record<string, unknown>)[k] = v;
  }
  return cfg;
}

/**
 * pg is loaded on first use, not when the worker runtime loads: every bgworker thread
 * imports this file, and most never connect (loading pg costs a thread tens of ms and MiBs).
 */
export async function connectClient(config: pg.ClientConfig): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client(config);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

export type { Client as PgClient, ClientConfig as PgClientConfig } from 'pg';
