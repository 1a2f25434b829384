/**
 * Placement: which member should hold each replica. Every host computes it for itself
 * from the same snapshot (the live members and the declarations, as fleet_heartbeat
 * returns them), with a pure function of that snapshot, so hosts that read the same state
 * agree without talking to each other. Hosts that read different states (one saw a member
 * die a heartbeat earlier) may disagree for a while; nothing depends on their agreeing,
 * because the leases decide who runs what (queries.ts): a host only ever takes a lease that
 * is free or expired. The assignment only says who should try.
 *
 * The rule, in order:
 *   1. Per-host workers: replica `seq` of each member the placement allows, on that member.
 *   2. Quotas for the counted replicas: R replicas over the members' remaining capacity,
 *      water-filled, so that every quota is floor or ceil of an even share unless capacity
 *      caps it; the members that get the extra one are picked by a hash of their id (the
 *      same members whatever the workers are, so adding a replica moves nothing else).
 *   3. Rendezvous hashing with bounded loads: every (replica, member) pair gets a score,
 *      hash(worker#replica, member id); pairs are taken best score first, replicas with a
 *      placement before those without (they have fewer places to go). Three passes:
 *      within quota and not beside another copy of the same worker (worker by worker, the
 *      most replicas first, so that each finds distinct members while quotas last); within
 *      quota; then anywhere the capacity and placement still allow (a placement can make
 *      ±1 impossible: it wins over evenness).
 * Unplaceable replicas (no capacity, or no member matches) are left out.
 *
 * What this guarantees: without placements and with enough capacity, member loads differ
 * by at most one, and copies of one worker are on distinct members while there are
 * enough; a member that joins or leaves moves a small multiple of the R / members
 * replicas that must move (at most twice that in the tests), the rest keep their member;
 * the result depends only on the snapshot, never on the order rows were read in.
 */
import { type Labels, type Placement, placementMatches } from './labels.js';

export interface MemberView {
  id: string;
  seq: number;
  capacity: number;
  labels: Labels;
}

export interface WorkerView {
  name: string;
  /** -1 = one per member the placement allows. */
  replicas: number;
  placement: Placement;
}

/** `<worker>#<replica>` → member id. */
export type Assignment = Map<string, string>;

export const replicaKey = (worker: string, replica: number): string => `${worker}#${replica}`;

/** FNV-1a over the UTF-16 code units, then a murmur3 finalizer: cheap, well mixed, the same on every host. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

interface Item {
  key: string;
  worker: string;
  constrained: boolean;
  eligible: number[];
}

interface State {
  members: MemberView[];
  load: number[];
  quota: number[];
  workersOn: Array<Set<string>>;
  out: Assignment;
}

export function assign(members: readonly MemberView[], workers: readonly WorkerView[]): Assignment {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const st: State = {
    members: sorted,
    load: sorted.map(() => 0),
    quota: sorted.map(() => 0),
    workersOn: sorted.map(() => new Set()),
    out: new Map(),
  };
  const byName = [...workers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const w of byName) if (w.replicas < 0) placePerHost(st, w);
  const items = countedItems(st, byName);
  st.quota = quotas(st, items.length);
  const constrained = items.filter((i) => i.constrained);
  const free = items.filter((i) => !i.constrained);
  for (const group of [constrained, free]) {
    for (const ofOne of byWorker(group)) take(st, scoredPairs(st, ofOne), (m, it) => st.load[m]! < st.quota[m]! && !st.workersOn[m]!.has(it.worker));
    take(st, scoredPairs(st, group), (m) => st.load[m]! < st.quota[m]!);
  }
  take(st, scoredPairs(st, items), (m) => st.load[m]! < st.members[m]!.capacity);
  return st.out;
}

/** A group's items by worker, the workers with the most replicas first (they need the most distinct members). */
function byWorker(items: readonly Item[]): Item[][] {
  const m = new Map<string, Item[]>();
  for (const it of items) m.set(it.worker, [...(m.get(it.worker) ?? []), it]);
  return [...m.values()].sort((a, b) => b.length - a.length || (a[0]!.worker < b[0]!.worker ? -1 : 1));
}

function placePerHost(st: State, w: WorkerView): void {
  st.members.forEach((m, i) => {
    if (st.load[i]! >= m.capacity || !placementMatches(w.placement, m.labels)) return;
    st.out.set(replicaKey(w.name, m.seq), m.id);
    st.load[i]!++;
    st.workersOn[i]!.add(w.name);
  });
}

function countedItems(st: State, workers: readonly WorkerView[]): Item[] {
  const items: Item[] = [];
  for (const w of workers) {
    if (w.replicas <= 0) continue;
    const eligible = st.members.flatMap((m, i) => (placementMatches(w.placement, m.labels) ? [i] : []));
    const constrained = eligible.length < st.members.length;
    for (let r = 0; r < w.replicas; r++) items.push({ key: replicaKey(w.name, r), worker: w.name, constrained, eligible });
  }
  return items;
}

/** Water-filling of `total` over the members' remaining capacity; the extra ones by hash of id. */
function quotas(st: State, total: number): number[] {
  const room = st.members.map((m, i) => Math.max(0, m.capacity - st.load[i]!));
  const q = room.map(() => 0);
  const tieOrder = st.members.map((m, i) => ({ i, h: hash32(m.id) })).sort((a, b) => a.h - b.h || a.i - b.i).map((x) => x.i);
  let left = total;
  for (;;) {
    const open = tieOrder.filter((i) => q[i]! < room[i]!);
    if (left <= 0 || open.length === 0) break;
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const i of open.slice(0, left)) q[i]!++;
      break;
    }
    for (const i of open) {
      const give = Math.min(share, room[i]! - q[i]!);
      q[i]! += give;
      left -= give;
    }
  }
  return q.map((n, i) => n + st.load[i]!);
}

interface Pair {
  item: Item;
  member: number;
  score: number;
}

function scoredPairs(st: State, items: readonly Item[]): Pair[] {
  const pairs: Pair[] = [];
  for (const item of items) {
    if (st.out.has(item.key)) continue;
    for (const m of item.eligible) pairs.push({ item, member: m, score: hash32(`${item.key}\u0000${st.members[m]!.id}`) });
  }
  return pairs.sort((a, b) => b.score - a.score || a.member - b.member || (a.item.key < b.item.key ? -1 : 1));
}

function take(st: State, pairs: readonly Pair[], allowed: (member: number, item: Item) => boolean): void {
  for (const p of pairs) {
    if (st.out.has(p.item.key) || !allowed(p.member, p.item)) continue;
    st.out.set(p.item.key, st.members[p.member]!.id);
    st.load[p.member]!++;
    st.workersOn[p.member]!.add(p.item.worker);
  }
}
