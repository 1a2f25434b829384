/**
 * Fleet test helpers: real host processes (test/fixtures/fleet-host.ts) started without
 * tap's loader, their JSON-line events, a fresh schema per test, and waits that poll the
 * SQL views — every wait with a deadline and a label that says what it waited for.
 */
import type pg from 'pg';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { childEnv, jsonLines, runProcess, type CliRun } from './cli.js';
import { database } from './pg.js';

export const fleetHostScript = fileURLToPath(new URL('../../dist/test/fixtures/fleet-host.js', import.meta.url));
export const replicaModule = fileURLToPath(new URL('../../dist/test/fixtures/fleet-replica.js', import.meta.url));

/** Short leases for tests: a host that stops renewing loses its leases within 1.5 s. */
export const FAST = { leaseMs: 1500, heartbeatMs: 300, fenceMarginMs: 300 } as const;

export interface FleetHostConfig {
  schema: string;
  capacity?: number;
  labels?: Record<string, string>;
  leaseMs?: number;
  heartbeatMs?: number;
  fenceMarginMs?: number;
  movesPerTick?: number;
  slots?: number;
  terminateGraceMs?: number;
}

export type Line = Record<string, unknown> & { event: string; at: number };

export interface FleetHost {
  label: string;
  member: string;
  pid: number;
  run: CliRun;
  events(): Line[];
  /** The first event (from the start) that satisfies `pred`. */
  waitEvent(pred: (l: Line) => boolean, what: string, ms?: number): Promise<Line>;
}

/** The PG* variables for children, from the tests' database settings. */
export function pgEnv(): NodeJS.ProcessEnv {
  const extra: Record<string, string> = {};
  if (database.connectionString) extra['DATABASE_URL'] = database.connectionString;
  if (database.host) extra['PGHOST'] = database.host;
  if (database.port) extra['PGPORT'] = String(database.port);
  if (database.user) extra['PGUSER'] = database.user;
  if (database.database) extra['PGDATABASE'] = database.database;
  return childEnv(extra);
}

export { within } from './deadline.js';

/** Poll `read` every 50 ms until `ok` holds; the last value read is in the timeout's message. */
export async function pollUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const until = performance.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (performance.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}; last read: ${JSON.stringify(last)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const lines = (run: CliRun): Line[] => jsonLines(run.stdout()) as Line[];

export async function startFleetHost(t: Test, label: string, config: FleetHostConfig, joinMs = 30_000): Promise<FleetHost> {
  const run = runProcess(t, process.execPath, [fleetHostScript, JSON.stringify(config)], { env: pgEnv() });
  await run.waitFor((s) => jsonLines(s).some((l) => l['event'] === 'ready'), `host ${label} to join`, joinMs);
  const ready = lines(run).find((l) => l.event === 'ready')!;
  const waitEvent = async (pred: (l: Line) => boolean, what: string, ms = 15_000): Promise<Line> => {
    await run.waitFor(() => lines(run).some(pred), `${what} on host ${label}`, ms);
    return lines(run).find(pred)!;
  };
  return { label, member: ready['member'] as string, pid: ready['pid'] as number, run, events: () => lines(run), waitEvent };
}

/** Drop and forget `schema` now and at the end of the test. */
export async function freshSchema(t: Test, client: pg.Client, schema: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  t.teardown(() => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined));
}

export interface ReplicaRow {
  worker: string;
  replica: number;
  state: string;
  holder: string | null;
  term: string;
  running_version: string | null;
  desired_version: string | null;
  restarts: number;
}

export async function replicas(client: pg.Client, schema: string, worker?: string): Promise<ReplicaRow[]> {
  const { rows } = await client.query<ReplicaRow>(
    `SELECT worker, replica, state, holder, term, running_version, desired_version, restarts FROM ${schema}.fleet_status
      WHERE kind = 'replica' AND ($1::text IS NULL OR worker = $1) ORDER BY worker, replica`,
    [worker ?? null],
  );
  return rows;
}

/** Copies per member among `members` (members with none count 0). */
export function perMember(rows: ReplicaRow[], members: string[]): number[] {
  return members.map((m) => rows.filter((r) => r.holder === m).length);
}

/** Wait for a host to exit after a signal; resolves with its exit code. */
export async function stopHost(h: FleetHost, signal: NodeJS.Signals, ms = 15_000): Promise<number | null> {
  h.run.child.kill(signal);
  return h.run.exitStatus(`host ${h.label} to exit after ${signal}`, ms);
}

export async function declare(client: pg.Client, schema: string, name: string, registration: object, replicas: number, placement: object = {}): Promise<void> {
  await client.query(`SELECT ${schema}.fleet_declare($1, $2, $3, $4)`, [name, JSON.stringify(registration), replicas, JSON.stringify(placement)]);
}
