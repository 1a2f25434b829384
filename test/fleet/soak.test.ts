/**
 * The larger fleet run, off by default: BGW_FLEET_SOAK=1 runs BGW_FLEET_HOSTS (default 12)
 * host processes and BGW_FLEET_REPLICAS (default 100) replicas: they spread within ±1;
 * two hosts are killed and the rest take their replicas; two more hosts join and take
 * their share at a bounded rate; every host then leaves gracefully and every lease is
 * given back.
 */
import t from 'tap';
import { requirePg } from '../helpers/pg.js';
import { declare, freshSchema, perMember, pollUntil, replicas, replicaModule, startFleetHost, stopHost, type FleetHost } from '../helpers/fleet.js';

const ON = process.env['BGW_FLEET_SOAK'] === '1';
const HOSTS = Number(process.env['BGW_FLEET_HOSTS'] ?? 12);
const REPLICAS = Number(process.env['BGW_FLEET_REPLICAS'] ?? 100);
const SCHEMA = 'bgw_fleet_soak';
const SETTINGS = { leaseMs: 3000, heartbeatMs: 600, fenceMarginMs: 600 };
const capacity = Math.ceil((REPLICAS * 2) / HOSTS);

t.setTimeout(600_000);

t.test(`fleet soak: ${HOSTS} hosts × ${REPLICAS} replicas`, async (t) => {
  if (!ON) {
    t.plan(0, 'set BGW_FLEET_SOAK=1 to run the larger fleet run (BGW_FLEET_HOSTS, BGW_FLEET_REPLICAS)');
    return;
  }
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  const config = { schema: SCHEMA, capacity, slots: capacity + 2, ...SETTINGS };
  let hosts: FleetHost[] = await Promise.all(Array.from({ length: HOSTS }, (_, i) => startFleetHost(t, `h${i}`, config)));
  const live = (): string[] => hosts.map((h) => h.member);
  const converged = (what: string) =>
    pollUntil(
      () => replicas(client, SCHEMA),
      (r) => r.length === REPLICAS && r.every((x) => x.state === 'running' && live().includes(x.holder!)) && spread(perMember(r, live())) <= 1,
      what,
      180_000,
    );
  const spread = (c: number[]): number => Math.max(...c) - Math.min(...c);

  const t0 = performance.now();
  await declare(client, SCHEMA, 'soak', { module: replicaModule }, REPLICAS);
  let rows = await converged(`${REPLICAS} replicas running, spread`);
  t.comment(`declared → converged in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${perMember(rows, live())}`);

  const victims = hosts.slice(0, 2);
  for (const v of victims) v.run.child.kill('SIGKILL');
  hosts = hosts.slice(2);
  const t1 = performance.now();
  rows = await converged('the replicas of two killed hosts taken over');
  t.comment(`two hosts killed → converged in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

  const tj = performance.now();
  hosts.push(...(await Promise.all([startFleetHost(t, 'n0', config, 120_000), startFleetHost(t, 'n1', config, 120_000)])));
  t.comment(`two hosts joined in ${((performance.now() - tj) / 1000).toFixed(1)} s`);
  const t2 = performance.now();
  rows = await converged('two joining hosts took their share');
  t.comment(`two hosts joined → converged in ${((performance.now() - t2) / 1000).toFixed(1)} s: ${perMember(rows, live())}`);

  for (const h of hosts) t.equal(await stopHost(h, 'SIGTERM', 60_000), 0, `${h.label} left cleanly`);
  const { rows: held } = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_leases WHERE holder IS NOT NULL`);
  t.equal(held[0].n, 0, 'every lease given back');
});
