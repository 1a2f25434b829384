/**
 * The one view of a fleet: every member and every replica, read from the SQL views
 * `<schema>.fleet_member_status` and `<schema>.fleet_status` (schema.ts), and printed as
 * psql would print them. fleet.status(), `bgworker fleet status` and a plain SELECT show
 * the same rows, because they read the same views.
 *
 * Replica states: running (its holder reported the copy started), starting (leased, not
 * yet reported), pending (no holder), expired (its holder stopped renewing; the next
 * member assigned to it takes it), refused (a host could not run the registration: see
 * `refused`); singletons are running, expired or free.
 */
import { quoteIdent } from '../pg/migrate.js';
import type { Labels } from './labels.js';
import type { SqlRunner } from './admin.js';

export interface FleetMemberStatus {
  id: string;
  seq: number;
  hostname: string;
  pid: number;
  labels: Labels;
  capacity: number;
  startedAt: Date;
  heartbeatAt: Date;
  state: 'active' | 'leaving' | 'gone' | 'dead';
  /** Live leases it holds. */
  leases: number;
}

export interface FleetReplicaStatus {
  kind: 'replica' | 'singleton';
  worker: string;
  replica: number;
  holder: string | null;
  hostname: string | null;
  state: 'running' | 'starting' | 'pending' | 'expired' | 'refused' | 'free';
  term: number;
  since: Date | null;
  leaseUntil: Date | null;
  restarts: number;
  lastExit: { kind: string; code: number; error?: { message: string } } | null;
  desiredVersion: number | null;
  runningVersion: number | null;
  refused: string | null;
}

export interface FleetStatus {
  members: FleetMemberStatus[];
  replicas: FleetReplicaStatus[];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function readFleetStatus(run: SqlRunner, schema: string): Promise<FleetStatus> {
  const s = quoteIdent(schema);
  const members = await run<Record<string, unknown>>(`SELECT * FROM ${s}.fleet_member_status ORDER BY started_at, id`, []);
  const replicas = await run<Record<string, unknown>>(`SELECT * FROM ${s}.fleet_status ORDER BY kind, worker, replica`, []);
  return {
    members: members.map((m) => ({
      id: m['id'] as string, seq: m['seq'] as number, hostname: m['hostname'] as string, pid: m['pid'] as number,
      labels: m['labels'] as Labels, capacity: m['capacity'] as number, startedAt: m['started_at'] as Date,
      heartbeatAt: m['heartbeat_at'] as Date, state: m['state'] as FleetMemberStatus['state'], leases: m['leases'] as number,
    })),
    replicas: replicas.map((r) => ({
      kind: r['kind'] as FleetReplicaStatus['kind'], worker: r['worker'] as string, replica: r['replica'] as number,
      holder: (r['holder'] as string | null) ?? null, hostname: (r['hostname'] as string | null) ?? null,
      state: r['state'] as FleetReplicaStatus['state'], term: Number(r['term']), since: (r['since'] as Date | null) ?? null,
      leaseUntil: (r['lease_until'] as Date | null) ?? null, restarts: Number(r['restarts']),
      lastExit: (r['last_exit'] as FleetReplicaStatus['lastExit']) ?? null, desiredVersion: num(r['desired_version']),
      runningVersion: num(r['running_version']), refused: (r['refused'] as string | null) ?? null,
    })),
  };
}

function table(columns: readonly string[], cells: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(columns), sep, ...cells.map(line), `(${cells.length} ${cells.length === 1 ? 'row' : 'rows'})`].join('\n');
}

function ago(d: Date | null, now: number): string {
  if (!d) return '';
  const s = Math.max(0, (now - d.getTime()) / 1000);
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** Both views as text tables: members, then replicas. */
export function formatFleetStatus(st: FleetStatus, now = Date.now()): string {
  const members = table(
    ['member', 'state', 'capacity', 'leases', 'labels', 'heartbeat'],
    st.members.map((m) => [m.id, m.state, String(m.capacity), String(m.leases), JSON.stringify(m.labels), `${ago(m.heartbeatAt, now)} ago`]),
  );
  const replicas = table(
    ['worker', 'replica', 'state', 'host', 'term', 'since', 'restarts', 'last exit'],
    st.replicas.map((r) => [
      r.kind === 'singleton' ? `${r.worker} (singleton)` : r.worker, r.kind === 'singleton' ? '' : String(r.replica), r.state,
      r.hostname ?? r.holder ?? '', String(r.term), ago(r.since, now), String(r.restarts),
      r.refused ? `refused: ${r.refused}` : r.lastExit ? `${r.lastExit.kind} (${r.lastExit.code})` : '',
    ]),
  );
  return `${members}\n\n${replicas}`;
}
