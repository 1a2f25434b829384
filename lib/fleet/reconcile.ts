/**
 * One tick's plan: what a host changes so that what it runs moves towards the assignment.
 * A pure function of the snapshot, the assignment and the host's own copies; fleet.ts
 * carries it out.
 *
 *   stop     copies no longer desired (their worker was removed, scaled below them, or a
 *            per-host worker's placement no longer matches this member): stopped now and
 *            their leases given back. Not rate-limited: removal stops a worker everywhere.
 *   release  copies the assignment now gives to another live member: stopped, then given
 *            back so that member takes them (a NOTIFY rings it). At most movesPerTick.
 *   roll     copies started under an older version of their registration: stopped and
 *            started again, under the same lease and term. At most movesPerTick.
 *   acquire  replicas assigned here that this host does not run, not refused here at
 *            their current version, within capacity (counting the copies still running).
 *
 * A copy the assignment gives to nobody (no capacity or placement for it anywhere else) is
 * kept: a running copy is never given up for nothing. Copies already stopping are left out.
 */
import { placementMatches, type Labels } from './labels.js';
import type { Assignment, MemberView } from './assignment.js';
import type { DeclaredWorker } from './queries.js';

export interface CopyView {
  key: string;
  worker: string;
  replica: number;
  term: number;
  version: number;
  stopping: boolean;
}

export interface PlanInput {
  me: string;
  mySeq: number;
  myLabels: Labels;
  capacity: number;
  movesPerTick: number;
  assignment: Assignment;
  workers: ReadonlyMap<string, DeclaredWorker>;
  members: ReadonlyMap<string, MemberView>;
  copies: readonly CopyView[];
  /** worker → the registration version this host refused to run. */
  refused: ReadonlyMap<string, number>;
}

export interface Plan {
  stop: CopyView[];
  release: CopyView[];
  roll: CopyView[];
  acquire: Array<{ worker: string; replica: number }>;
}

/** `<worker>#<replica>` back into its parts. */
export function splitKey(key: string): { worker: string; replica: number } {
  const i = key.lastIndexOf('#');
  return { worker: key.slice(0, i), replica: Number(key.slice(i + 1)) };
}

function desired(c: CopyView, p: PlanInput): DeclaredWorker | null {
  const w = p.workers.get(c.worker);
  if (!w) return null;
  if (w.replicas >= 0) return c.replica < w.replicas ? w : null;
  return c.replica === p.mySeq && placementMatches(w.placement, p.myLabels) ? w : null;
}

export function plan(p: PlanInput): Plan {
  const out: Plan = { stop: [], release: [], roll: [], acquire: [] };
  const live = [...p.copies].filter((c) => !c.stopping).sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const c of live) {
    const w = desired(c, p);
    if (!w) {
      out.stop.push(c);
      continue;
    }
    const owner = p.assignment.get(c.key);
    if (owner !== undefined && owner !== p.me && p.members.has(owner)) {
      if (out.release.length < p.movesPerTick) out.release.push(c);
    } else if (c.version !== w.version && out.roll.length < p.movesPerTick) {
      out.roll.push(c);
    }
  }
  const running = new Set(p.copies.map((c) => c.key));
  let room = p.capacity - p.copies.length;
  const mine = [...p.assignment].filter(([key, owner]) => owner === p.me && !running.has(key)).map(([key]) => key).sort();
  for (const key of mine) {
    if (room <= 0) break;
    const { worker, replica } = splitKey(key);
    const w = p.workers.get(worker);
    if (!w || p.refused.get(worker) === w.version) continue;
    out.acquire.push({ worker, replica });
    room--;
  }
  return out;
}
