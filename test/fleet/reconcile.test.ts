/**
 * One tick's plan (lib/fleet/reconcile.ts): undesired copies stop at once, moves and rolls
 * are rate-limited, acquisitions stay within capacity and skip refused registrations, and a
 * copy the assignment gives to nobody keeps running.
 */
import t from 'tap';
import { plan, splitKey, type CopyView, type PlanInput } from '../../dist/lib/fleet/reconcile.js';

const copy = (worker: string, replica: number, version = 1): CopyView => ({ key: `${worker}#${replica}`, worker, replica, term: 1, version, stopping: false });
const worker = (name: string, replicas: number, version = 1) => ({ name, replicas, placement: {}, registration: { module: '/m.js' }, version });

function input(over: Partial<PlanInput>): PlanInput {
  return {
    me: 'me', mySeq: 4, myLabels: {}, capacity: 10, movesPerTick: 1, assignment: new Map(), workers: new Map(),
    members: new Map([['me', { id: 'me', seq: 4, capacity: 10, labels: {} }], ['other', { id: 'other', seq: 5, capacity: 10, labels: {} }]]),
    copies: [], refused: new Map(), ...over,
  };
}

t.test('split keys', async (t) => {
  t.same(splitKey('a#b#12'), { worker: 'a#b', replica: 12 });
});

t.test('removed and scaled-down copies stop, all at once', async (t) => {
  const p = plan(input({ workers: new Map([['w', worker('w', 1)]]), copies: [copy('w', 0), copy('w', 1), copy('w', 2), copy('gone', 0)], assignment: new Map([['w#0', 'me']]) }));
  t.same(p.stop.map((c) => c.key), ['gone#0', 'w#1', 'w#2']);
  t.same(p.release, []);
});

t.test('moves and rolls are rate-limited; unassigned copies are kept', async (t) => {
  const assignment = new Map([['w#0', 'other'], ['w#1', 'other'], ['w#2', 'me'], ['w#3', 'me']]);
  const p = plan(input({ workers: new Map([['w', worker('w', 5, 2)]]), copies: [copy('w', 0), copy('w', 1), copy('w', 2), copy('w', 3), copy('w', 4)], assignment }));
  t.same(p.release.map((c) => c.key), ['w#0'], 'one move per tick');
  t.same(p.roll.map((c) => c.key), ['w#2'], 'one roll per tick');
  t.notOk([...p.stop, ...p.release].some((c) => c.key === 'w#4'), 'w#4 is assigned to nobody: kept');
});

t.test('acquisitions: assigned here, within capacity, not refused here', async (t) => {
  const assignment = new Map([['w#0', 'me'], ['w#1', 'me'], ['w#2', 'me'], ['x#0', 'me'], ['w#3', 'other']]);
  const workers = new Map([['w', worker('w', 4)], ['x', worker('x', 1, 3)]]);
  t.same(plan(input({ assignment, workers, capacity: 2, copies: [copy('w', 0)] })).acquire, [{ worker: 'w', replica: 1 }], 'capacity 2, one held');
  t.same(plan(input({ assignment, workers, refused: new Map([['w', 1]]) })).acquire, [{ worker: 'x', replica: 0 }], 'w refused at its version');
  t.equal(plan(input({ assignment, workers, refused: new Map([['x', 2]]) })).acquire.length, 4, 'a refusal of an older version does not count');
});

t.test('per-host copies are desired while the placement matches this member', async (t) => {
  const w = { ...worker('c', -1), placement: { role: 'web' } };
  t.same(plan(input({ workers: new Map([['c', w]]), myLabels: { role: 'web' }, copies: [copy('c', 4)] })).stop, []);
  t.same(plan(input({ workers: new Map([['c', w]]), myLabels: { role: 'batch' }, copies: [copy('c', 4)] })).stop.map((c) => c.key), ['c#4']);
  t.same(plan(input({ workers: new Map([['c', w]]), myLabels: { role: 'web' }, copies: [copy('c', 9)] })).stop.map((c) => c.key), ['c#9'], 'another seq');
});
