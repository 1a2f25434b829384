/**
 * PostgreSQL for tests: the server from the PG* variables / DATABASE_URL, defaulting to
 * 127.0.0.1:5432, user postgres, database test. When it does not answer, tests skip with a
 * reason on a developer's machine, and fail under CI=true so CI never hides them.
 */
import { execFileSync } from 'node:child_process';
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

/** The local cluster's name, when this machine can stop and start the server (root with pg_ctlcluster). */
export function localCluster(): string | null {
  if (process.getuid?.() !== 0) return null;
  try {
    return execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n')[0] || null;
  } catch {
    return null;
  }
}

/**
 * Stop the server (fast mode); it is started again by the returned function, and in every
 * outcome at the end of the test, so that no later test finds it down.
 */
export function stopServer(t: Test, cluster: string): () => void {
  const ctl = (action: 'start' | 'stop'): void => {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', action, ...(action === 'stop' ? ['-m', 'fast'] : [])]);
  };
  let down = true;
  const start = (): void => {
    if (!down) return;
    down = false;
    ctl('start');
  };
  t.teardown(start);
  ctl('stop');
  return start;
}
