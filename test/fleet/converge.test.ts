/**
 * Three real host processes on one database: declared replicas spread within ±1 of even;
 * declaring, scaling up, scaling down, rolling to a new registration, per-host workers,
 * placement by labels and removal all converge, as the SQL view fleet_status shows.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { requirePg } from '../helpers/pg.js';
import { FAST, declare, freshSchema, perMember, pollUntil, replicas, replicaModule, startFleetHost, type FleetHost, type ReplicaRow } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_converge';
const registration = { module: replicaModule };

const allRunning = (n: number) => (rows: ReplicaRow[]): boolean => rows.length === n && rows.every((r) => r.state === 'running');
const spread = (counts: number[]): number => Math.max(...counts) - Math.min(...counts);

/** The importer's replicas once holders and terms read the same twice, 2 heartbeats apart. */
async function settled(client: Parameters<typeof replicas>[0]): Promise<ReplicaRow[]> {
  const key = (rows: ReplicaRow[]): string => rows.map((r) => `${r.holder}:${r.term}`).join(',');
  let last = '';
  return pollUntil(
    async () => {
      await sleep(2 * FAST.heartbeatMs);
      return replicas(client, SCHEMA, 'importer');
    },
    (rows) => {
      const k = key(rows);
      const same = k === last && allRunning(4)(rows);
      last = k;
      return same;
    },
    'the importer assignment to hold still for two heartbeats',
  );
}

t.test('three hosts: declare, scale up, scale down, roll, per-host, placement, remove', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  const labels = [{ zone: 'a' }, { zone: 'b' }, { zone: 'a' }];
  const hosts: FleetHost[] = [];
  for (const [i, l] of labels.entries()) hosts.push(await startFleetHost(t, `h${i}`, { schema: SCHEMA, capacity: 6, labels: l, ...FAST }));
  const members = hosts.map((h) => h.member);

  await declare(client, SCHEMA, 'importer', registration, 5);
  let rows = await pollUntil(() => replicas(client, SCHEMA, 'importer'), allRunning(5), '5 importer replicas running');
  t.ok(spread(perMember(rows, members)) <= 1, `5 replicas on 3 hosts within ±1: ${perMember(rows, members)}`);
  t.ok(rows.every((r) => members.includes(r.holder!)), 'every holder is a member');

  await declare(client, SCHEMA, 'importer', registration, 9);
  rows = await pollUntil(() => replicas(client, SCHEMA, 'importer'), (r) => allRunning(9)(r) && spread(perMember(r, members)) <= 1, 'scaled up to 9 running, spread');
  t.same(perMember(rows, members), [3, 3, 3], '9 replicas on 3 hosts: 3 each');

  await declare(client, SCHEMA, 'importer', registration, 4);
  await pollUntil(
    async () => (await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_leases WHERE worker = 'importer' AND replica >= 4 AND holder IS NOT NULL`)).rows[0].n,
    (n) => n === 0,
    'replicas 4..8 stopped and given back',
  );
  rows = await pollUntil(() => replicas(client, SCHEMA, 'importer'), (r) => allRunning(4)(r) && spread(perMember(r, members)) <= 1, 'scaled down to 4, spread');
  t.pass(`scaled down: ${perMember(rows, members)}`);
  // Spread within ±1 can be reached before the placement's own answer is: a last move may
  // still be under way. The roll is judged on an assignment that held for two heartbeats.
  rows = await settled(client);

  const before = rows.map((r) => r.term);
  await declare(client, SCHEMA, 'importer', { ...registration, mainArg: { beatMs: 25 } }, 4);
  rows = await pollUntil(
    () => replicas(client, SCHEMA, 'importer'),
    (r) => allRunning(4)(r) && r.every((x) => x.running_version === '2' && x.desired_version === '2'),
    'every replica rolled to version 2',
  );
  t.ok(rows.every((r) => Number(r.restarts) >= 0), 'rolled');
  t.same(rows.map((r) => r.term), before, 'a roll keeps each lease and its term');

  await declare(client, SCHEMA, 'cache', registration, -1);
  rows = await pollUntil(() => replicas(client, SCHEMA, 'cache'), allRunning(3), 'one cache per host');
  t.same([...new Set(rows.map((r) => r.holder))].sort(), [...members].sort(), 'one copy on each member');

  await declare(client, SCHEMA, 'zoned', registration, 2, { zone: 'b' });
  rows = await pollUntil(() => replicas(client, SCHEMA, 'zoned'), allRunning(2), 'zoned replicas running');
  t.ok(rows.every((r) => r.holder === hosts[1]!.member), 'placement zone=b: only on the zone b host');

  for (const name of ['importer', 'cache', 'zoned']) {
    await client.query(`SELECT ${SCHEMA}.fleet_remove($1)`, [name]);
  }
  await pollUntil(
    async () => (await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_leases WHERE holder IS NOT NULL`)).rows[0].n,
    (n) => n === 0,
    'every lease given back after removal',
  );
  t.same(await replicas(client, SCHEMA), [], 'nothing is desired any more');
  const { rows: terms } = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_leases WHERE term > 0`);
  t.ok(terms[0].n > 0, 'lease rows (and their terms) outlive their workers');
});
