/**
 * PostgreSQL for tests: the server from the PG* variables / DATABASE_URL, defaulting to
 * 127.0.0.1:5432, user postgres, database test. When it does not answer, tests skip with a
 * reason on a developer's machine, and fail under CI=true so CI never hides them.
 */
import pg from 'pg';
import type { Test } from 'tap';
import type { DatabaseSettings } from '../../dist/lib/index.js';

export const database: DatabaseSettings = process.env['DATABASE_URL']
  ? { connectionString: process.env['DATABASE_URL'] }
  : {
      host: process.env['PGHOST'] ?? '127.0.0.1',
      port: Number(process.env['PGPORT'] ?? 5432),
      user: process.env['PGUSER'] ?? 'postgres',
      database: process.env['PGDATABASE'] ?? 'test',
    };

/** A connected client closed with the test, or null (the test was skipped) when there is no server. */
export async function requirePg(t: Test): Promise<pg.Client | null> {
  const client = new pg.Client(database);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const why = `PostgreSQL is not reachable (${(err as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${why}; CI needs it`);
    t.plan(0, `${why}; start it to run this test`);
    return null;
  }
  t.teardown(() => client.end());
  return client;
}
