/**
 * A host paused past its lease (SIGSTOP), then resumed (SIGCONT): the replica runs on the
 * other host meanwhile under a higher term, and the resumed host stops its stale copy at
 * once. The overlap window — from the resumption to the stale copy's exit, while the new
 * copy runs — is measured and held to the stated rule: after a pause, a stale copy runs at
 * most T_stop, which the host caps at terminateGraceMs. With fencing, the database never
 * accepts a write of the stale term once the new term exists: in commit order, the terms
 * of the replica's writes never go back.
 */
import t from 'tap';
import { requirePg } from '../helpers/pg.js';
import { FAST, declare, freshSchema, pollUntil, replicas, replicaModule, startFleetHost, type FleetHost } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_fencing';
const TERMINATE_GRACE_MS = 1000;
const BGWORKER_SHMEM_ACCESS = 1;
const BGWORKER_BACKEND_DATABASE_CONNECTION = 2;
const wall = (): number => performance.timeOrigin + performance.now();

t.test('SIGSTOP past the lease, then SIGCONT: the stale copy stops, its writes are refused', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  const hosts: FleetHost[] = [];
  for (const label of ['a', 'b']) hosts.push(await startFleetHost(t, label, { schema: SCHEMA, capacity: 2, terminateGraceMs: TERMINATE_GRACE_MS, ...FAST }));
  await client.query(`CREATE TABLE ${SCHEMA}.writes (worker text, replica int, term bigint, pid int, at timestamptz)`);
  const mainArg = { schema: SCHEMA, table: `${SCHEMA}.writes`, beatMs: 10 };
  await declare(client, SCHEMA, 'writer', { module: replicaModule, flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, mainArg }, 1);
  const [first] = await pollUntil(() => replicas(client, SCHEMA), (r) => r.length === 1 && r[0]!.state === 'running', 'the writer running');
  const stale = hosts.find((h) => h.member === first!.holder)!;
  const other = hosts.find((h) => h !== stale)!;
  const staleTerm = Number(first!.term);
  await pollUntil(async () => (await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.writes WHERE term = $1`, [staleTerm])).rows[0].n, (n) => n > 0, 'the first writes');

  t.teardown(() => void stale.run.child.kill('SIGCONT'));
  stale.run.child.kill('SIGSTOP');
  const taken = await other.waitEvent((l) => l.event === 'started' && l['worker'] === 'writer' && Number(l['term']) > staleTerm, 'the writer to start on the other host', 20_000);
  const newTerm = Number(taken['term']);
  await pollUntil(async () => (await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.writes WHERE term = $1`, [newTerm])).rows[0].n, (n) => n > 0, 'writes under the new term');

  const resumedAt = wall();
  stale.run.child.kill('SIGCONT');
  const fenced = await stale.waitEvent((l) => (l.event === 'fenced' || l.event === 'lost') && l.at >= resumedAt - 1, 'the resumed host to give up its lease');
  const stopped = await stale.waitEvent((l) => l.event === 'stopped' && l['worker'] === 'writer' && Number(l['term']) === staleTerm, 'the stale copy to stop');
  const overlapMs = stopped.at - resumedAt;
  t.comment(`overlap window after SIGCONT: ${overlapMs.toFixed(1)} ms (stale copy gave up at +${(fenced.at - resumedAt).toFixed(1)} ms, by "${fenced.event}")`);
  t.ok(overlapMs <= TERMINATE_GRACE_MS, `the stale copy ran ${overlapMs.toFixed(1)} ms after its host resumed (rule: at most terminateGraceMs = ${TERMINATE_GRACE_MS} ms)`);

  const { rows } = await client.query<{ term: string; at: Date }>(`SELECT term, at FROM ${SCHEMA}.writes ORDER BY at`);
  const terms = rows.map((r) => Number(r.term));
  const wentBack = terms.findIndex((x, i) => i > 0 && x < terms[i - 1]!);
  t.equal(wentBack, -1, `no write of an older term after a newer one, over ${rows.length} writes`);
  t.ok(terms.includes(staleTerm) && terms.includes(newTerm), 'both terms wrote');
  const refusals = stale.events().filter((l) => l.event === 'log' && String(l['msg']).startsWith('fence refused')).length;
  t.comment(`writes of the stale term refused by fleet_fence after the resume: ${refusals}`);

  const after = await pollUntil(() => replicas(client, SCHEMA), (r) => r.length === 1 && r[0]!.state === 'running', 'one writer running again', 20_000);
  t.ok(Number(after[0]!.term) >= newTerm, 'terms only grew');
});
