/**
 * The host's side of the SQL functions of sql-leases.ts: one method per function, each one
 * statement on the fleet's connection, with its arguments encoded and its answer decoded
 * into plain types. Nothing here decides anything; fleet.ts does.
 */
import { quoteIdent } from '../pg/migrate.js';
import type { LastExit } from '../types.js';
import type { MemberView, WorkerView } from './assignment.js';
import type { FleetConnection } from './connection.js';
import type { Labels } from './labels.js';

export interface HeldLease {
  worker: string;
  replica: number;
  term: number;
}

/** A declaration as hosts read it. */
export interface DeclaredWorker extends WorkerView {
  registration: Record<string, unknown>;
  /** The registration's version: a copy started under another one is rolled. */
  version: number;
}

export interface Snapshot {
  members: MemberView[];
  workers: DeclaredWorker[];
}

export type MemberState = 'active' | 'leaving' | 'gone';

export interface HeartbeatResult {
  state: MemberState;
  digest: string | null;
  /** The leases renewed, of those the host said it runs. */
  held: HeldLease[];
  /** Present when the digest moved. */
  snapshot: Snapshot | null;
}

/** What a host tells the database about its copies, with the next heartbeat. */
export type Report =
  | { worker: string; replica: number; term: number; running?: boolean; restarts?: number; version?: number; lastExit?: LastExit }
  | { refuse: string; version: number; reason: string };

export interface Acquired extends HeldLease {
  version: number;
  registration: Record<string, unknown>;
}

export interface Released extends HeldLease {
  lastExit?: LastExit | null;
}

export class FleetQueries {
  private readonly s: string;

  constructor(private readonly conn: FleetConnection, schema: string) {
    this.s = quoteIdent(schema);
  }

  async join(id: string, hostname: string, pid: number, labels: Labels, capacity: number, leaseMs: number): Promise<number> {
    const rows = await this.conn.query<{ seq: number }>(`SELECT ${this.s}.fleet_join($1, $2, $3, $4, $5, $6) AS seq`, [
      id, hostname, pid, JSON.stringify(labels), capacity, leaseMs,
    ]);
    return rows[0]!.seq;
  }

  async heartbeat(member: string, leaseMs: number, known: string | null, held: HeldLease[], reports: Report[]): Promise<HeartbeatResult> {
    const rows = await this.conn.query<{ r: RawHeartbeat }>(`SELECT ${this.s}.fleet_heartbeat($1, $2, $3, $4, $5) AS r`, [
      member, leaseMs, known, JSON.stringify(held.map((h) => [h.worker, h.replica, h.term])), JSON.stringify(reports),
    ]);
    const r = rows[0]!.r;
    return {
      state: r.state,
      digest: r.digest ?? null,
      held: (r.held ?? []).map(([worker, replica, term]) => ({ worker, replica, term })),
      snapshot: r.snapshot ? decodeSnapshot(r.snapshot) : null,
    };
  }

  async acquire(member: string, leaseMs: number, wanted: Array<{ worker: string; replica: number }>): Promise<Acquired[]> {
    if (wanted.length === 0) return [];
    const rows = await this.conn.query<{ worker: string; replica: number; term: string; version: string; registration: Record<string, unknown> }>(
      `SELECT * FROM ${this.s}.fleet_acquire($1, $2, $3)`,
      [member, leaseMs, JSON.stringify(wanted.map((w) => [w.worker, w.replica]))],
    );
    return rows.map((r) => ({ worker: r.worker, replica: r.replica, term: Number(r.term), version: Number(r.version), registration: r.registration }));
  }

  async release(member: string, released: Released[]): Promise<number> {
    if (released.length === 0) return 0;
    const list = released.map((r) => [r.worker, r.replica, r.term, r.lastExit ?? null]);
    const rows = await this.conn.query<{ n: number }>(`SELECT ${this.s}.fleet_release($1, $2) AS n`, [member, JSON.stringify(list)]);
    return rows[0]!.n;
  }

  async leaveBegin(member: string): Promise<void> {
    await this.conn.query(`SELECT ${this.s}.fleet_leave_begin($1)`, [member]);
  }

  async leave(member: string): Promise<void> {
    await this.conn.query(`SELECT ${this.s}.fleet_leave($1)`, [member]);
  }
}

interface RawHeartbeat {
  state: MemberState;
  digest?: string;
  held?: Array<[string, number, number]>;
  snapshot?: { members: MemberView[]; workers: Array<DeclaredWorker & { placement: WorkerView['placement'] }> } | null;
}

function decodeSnapshot(raw: NonNullable<RawHeartbeat['snapshot']>): Snapshot {
  return {
    members: raw.members.map((m) => ({ id: m.id, seq: m.seq, capacity: m.capacity, labels: m.labels ?? {} })),
    workers: raw.workers.map((w) => ({
      name: w.name, replicas: w.replicas, placement: w.placement ?? {}, registration: w.registration, version: Number(w.version),
    })),
  };
}
