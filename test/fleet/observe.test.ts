/**
 * One host in this process, seen from the host API: fleet.declare/status/remove, its events
 * on node:diagnostics_channel (FLEET_CHANNELS), its metrics, and leave() on a smart
 * shutdown of the host, which waits for the hand-over.
 */
import t from 'tap';
import diagnosticsChannel from 'node:diagnostics_channel';
import { FLEET_CHANNELS, fleetMetrics, formatFleetStatus, joinFleet, observeFleet, silentLogger } from '../../dist/lib/index.js';
import { makeHost } from '../helpers/host.js';
import { database, requirePg } from '../helpers/pg.js';
import { FAST, freshSchema, pollUntil, replicaModule, within } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_observe';

t.test('declare, status, events, metrics, remove, and leave on a smart shutdown', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  const pm = makeHost(t, { database, maxWorkerProcesses: 6, spareThreads: 1 });
  await pm.start();
  const fleet = joinFleet(pm, { database, schema: SCHEMA, labels: { zone: 'x' }, logger: silentLogger, ...FAST });
  t.equal(observeFleet(fleet), observeFleet(fleet), 'observing twice attaches once');
  const seen: Array<{ channel: string; message: Record<string, unknown> }> = [];
  const subs = Object.values(FLEET_CHANNELS).map((name) => {
    const fn = (message: unknown): void => void seen.push({ channel: name, message: message as Record<string, unknown> });
    diagnosticsChannel.subscribe(name, fn);
    return () => diagnosticsChannel.unsubscribe(name, fn);
  });
  t.teardown(() => subs.forEach((u) => u()));
  t.equal(fleet.options.capacity, 3, 'half the slots');
  await fleet.start();
  t.equal(fleet.phase, 'active');
  t.ok(fleet.seq > 0);

  t.equal(await fleet.declare('svc', { registration: { module: replicaModule }, replicas: 2, placement: { zone: 'x' } }), 1, 'version 1');
  t.equal(await fleet.declare('svc', { registration: { module: replicaModule }, replicas: 2, placement: { zone: 'x' } }), 1, 'the same again changes nothing');
  const st = await pollUntil(() => fleet.status(), (s) => s.replicas.length === 2 && s.replicas.every((r) => r.state === 'running'), 'both replicas running');
  t.same(st.members.map((m) => [m.id, m.state, m.capacity, m.labels]), [[fleet.id, 'active', 3, { zone: 'x' }]]);
  t.same(st.replicas.map((r) => [r.worker, r.replica, r.holder, r.term]), [['svc', 0, fleet.id, 1], ['svc', 1, fleet.id, 1]]);
  t.match(formatFleetStatus(st), /svc +\| 0 +\| running/);
  t.same(fleet.held().map((h) => [h.worker, h.replica, h.running]), [['svc', 0, true], ['svc', 1, true]]);
  t.same(pm.activity().map((r) => [r.name, r.type]).sort(), [['svc#0', 'svc'], ['svc#1', 'svc']], 'ordinary bgworkers named <worker>#<replica>');

  const channels = new Set(seen.map((s) => s.channel));
  for (const c of [FLEET_CHANNELS.joined, FLEET_CHANNELS.acquired, FLEET_CHANNELS.started, FLEET_CHANNELS.rebalanced]) t.ok(channels.has(c), c);
  t.ok(seen.every((s) => s.message['fleet'] === fleet), 'every message names its fleet');
  t.match(seen.find((s) => s.channel === FLEET_CHANNELS.acquired)!.message, { lease: { worker: 'svc', term: 1 } });

  const text = await fleetMetrics(fleet).render();
  t.match(text, /^bgworker_fleet_member_up 1$/m);
  t.match(text, /^bgworker_fleet_leases_held 2$/m);
  t.match(text, /^bgworker_fleet_capacity 3$/m);
  t.match(text, /^bgworker_fleet_leases_acquired_total 2$/m);
  t.match(text, /^bgworker_fleet_heartbeats_total\{result="ok"\} \d+$/m);
  t.ok(fleet.stats().queries > 0);

  t.equal(await fleet.remove('svc'), true);
  t.equal(await fleet.remove('svc'), false, 'nothing of that name any more');
  await pollUntil(async () => fleet.held().length, (n) => n === 0, 'both copies stopped and given back');
  t.ok(seen.some((s) => s.channel === FLEET_CHANNELS.released));

  await fleet.declare('svc', { registration: { module: replicaModule }, replicas: 1 });
  await pollUntil(async () => fleet.held().filter((h) => h.running).length, (n) => n === 1, 'svc running again');
  const left = new Promise<void>((res) => fleet.once('left', () => res()));
  await within(pm.shutdown('smart'), 'the smart shutdown, held by the fleet until it has handed over', 15_000);
  await within(left, 'the fleet to have left', 5_000);
  t.equal(fleet.phase, 'left');
  const { rows } = await client.query(`SELECT state FROM ${SCHEMA}.fleet_member_status WHERE id = $1`, [fleet.id]);
  t.same(rows, [{ state: 'gone' }]);
  const { rows: held } = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_leases WHERE holder IS NOT NULL`);
  t.equal(held[0].n, 0, 'its lease was given back');
  await t.rejects(fleet.status(), { code: 'BGW_ERR_FLEET_LEFT' });
  t.match(await fleetMetrics(fleet).render(), /^bgworker_fleet_member_up 0$/m);
});
