/**
 * Placement (lib/fleet/assignment.ts), a pure function: the same snapshot gives the same
 * assignment whatever the order of its rows; replicas spread within ±1 of even when
 * nothing constrains them; capacity and labels are respected; per-host workers get one
 * copy per eligible member, numbered by its seq; copies of one worker go to distinct
 * members when they can; and a member that joins or leaves moves few replicas.
 */
import t from 'tap';
import fc from 'fast-check';
import { assign, type MemberView, type WorkerView } from '../../dist/lib/fleet/assignment.js';

const members = (n: number, capacity = 1000, labels: (i: number) => Record<string, string> = () => ({})): MemberView[] =>
  Array.from({ length: n }, (_, i) => ({ id: `host-${i}:${100 + i}:${(i * 2654435761) >>> 0}`, seq: i + 1, capacity, labels: labels(i) }));
const loads = (a: Map<string, string>, ms: MemberView[]): number[] => ms.map((m) => [...a.values()].filter((x) => x === m.id).length);

t.test('deterministic: row order does not matter', async (t) => {
  const ms = members(5);
  const ws: WorkerView[] = [{ name: 'a', replicas: 7, placement: {} }, { name: 'b', replicas: 3, placement: {} }];
  const x = assign(ms, ws);
  const y = assign([...ms].reverse(), [...ws].reverse());
  t.same([...x].sort(), [...y].sort());
});

t.test('spread within ±1 of even, every replica placed, when nothing constrains', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }), (n, counts) => {
      const ms = members(n);
      const ws = counts.map((replicas, i) => ({ name: `w${i}`, replicas, placement: {} }));
      const a = assign(ms, ws);
      const l = loads(a, ms);
      return a.size === counts.reduce((s, c) => s + c, 0) && Math.max(...l) - Math.min(...l) <= 1;
    }),
  );
});

t.test('capacity is never exceeded; what fits is placed', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 60 }), (caps, replicas) => {
      const ms = caps.map((capacity, i) => ({ id: `m${i}`, seq: i + 1, capacity, labels: {} }));
      const a = assign(ms, [{ name: 'w', replicas, placement: {} }]);
      const l = loads(a, ms);
      return l.every((n, i) => n <= caps[i]!) && a.size === Math.min(replicas, caps.reduce((s, c) => s + c, 0));
    }),
  );
});

t.test('placement: only members whose labels match', async (t) => {
  const ms = members(6, 1000, (i) => ({ zone: i % 3 === 0 ? 'a' : 'b' }));
  const a = assign(ms, [{ name: 'za', replicas: 5, placement: { zone: 'a' } }, { name: 'any', replicas: 6, placement: {} }, { name: 'ab', replicas: 2, placement: { zone: ['a', 'b'] } }]);
  const zoneA = new Set(ms.filter((m) => m.labels['zone'] === 'a').map((m) => m.id));
  for (let r = 0; r < 5; r++) t.ok(zoneA.has(a.get(`za#${r}`)!), `za#${r} in zone a`);
  t.equal([...a.keys()].length, 13, 'all placed');
  t.equal(assign(ms, [{ name: 'none', replicas: 2, placement: { zone: 'c' } }]).size, 0, 'no member matches: unplaced');
});

t.test('per-host: one copy per eligible member, replica = its seq, before counted replicas', async (t) => {
  const ms = members(4, 2, (i) => ({ role: i === 3 ? 'batch' : 'web' }));
  const a = assign(ms, [{ name: 'cache', replicas: -1, placement: { role: 'web' } }, { name: 'w', replicas: 8, placement: {} }]);
  t.same(
    [...a].filter(([k]) => k.startsWith('cache#')).sort(),
    ms.slice(0, 3).map((m) => [`cache#${m.seq}`, m.id]).sort(),
  );
  t.same(loads(a, ms), [2, 2, 2, 2], 'capacity 2 each: one cache and one w on each web member, two w on the batch one');
});

t.test('copies of one worker go to distinct members when there are enough', async (t) => {
  const ms = members(5);
  const a = assign(ms, [{ name: 'x', replicas: 5, placement: {} }, { name: 'y', replicas: 3, placement: {} }]);
  t.equal(new Set([0, 1, 2, 3, 4].map((r) => a.get(`x#${r}`))).size, 5);
  t.equal(new Set([0, 1, 2].map((r) => a.get(`y#${r}`))).size, 3);
});

t.test('stable: a member joining or leaving moves a small multiple of its share', async (t) => {
  const ws: WorkerView[] = [{ name: 'a', replicas: 60, placement: {} }, { name: 'b', replicas: 40, placement: {} }];
  for (const n of [2, 3, 5, 10, 12]) {
    const before = assign(members(n), ws);
    const after = assign(members(n + 1), ws);
    const moved = [...before].filter(([k, v]) => after.get(k) !== v).length;
    const share = Math.ceil(100 / (n + 1));
    t.ok(moved <= 2 * share, `${n} → ${n + 1} members: ${moved} of 100 moved (share ${share})`);
    const gone = assign(members(n + 1).slice(1), ws);
    const moved2 = [...after].filter(([k, v]) => gone.get(k) !== v).length;
    t.ok(moved2 <= 2 * share, `${n + 1} → ${n} members: ${moved2} of 100 moved`);
  }
});
