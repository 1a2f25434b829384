/**
 * Failover and hand-over between real host processes:
 *   - SIGKILL a host: each of its replicas runs again on another host within the stated
 *     bound, leaseMs + heartbeatMs + S (README: Fleet), with S, the acquisition and the
 *     copy's launch, allowed LAUNCH_ALLOWANCE_MS on this shared machine;
 *   - a smart and a fast shutdown hand over: the replica runs elsewhere well before the
 *     stopped host's lease would have run out (leaseMs − heartbeatMs after the stop at the
 *     earliest), so it was given back, not left to expire.
 */
import t from 'tap';
import { requirePg } from '../helpers/pg.js';
import {
  FAST, declare, freshSchema, pollUntil, replicas, replicaModule, startFleetHost, stopHost, type FleetHost, type Line,
} from '../helpers/fleet.js';

const LAUNCH_ALLOWANCE_MS = 1000;
const wall = (): number => performance.timeOrigin + performance.now();

/** The first start of `key` on any host but `not`, after `since`. */
function restartedAt(hosts: FleetHost[], not: FleetHost, worker: string, replica: number, since: number): Line | undefined {
  return hosts
    .filter((h) => h !== not)
    .flatMap((h) => h.events())
    .filter((l) => l.event === 'started' && l['worker'] === worker && l['replica'] === replica && l.at > since)
    .sort((a, b) => a.at - b.at)[0];
}

async function waitRestarted(hosts: FleetHost[], gone: FleetHost, worker: string, replica: number, since: number, what: string): Promise<Line> {
  return pollUntil(async () => restartedAt(hosts, gone, worker, replica, since), (l) => l !== undefined, what).then((l) => l!);
}

t.test('SIGKILL of a host: its replicas run elsewhere within leaseMs + heartbeatMs + S', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const schema = 'bgw_fleet_kill';
  await freshSchema(t, client, schema);
  const hosts: FleetHost[] = [];
  for (let i = 0; i < 3; i++) hosts.push(await startFleetHost(t, `h${i}`, { schema, capacity: 4, ...FAST }));
  await declare(client, schema, 'svc', { module: replicaModule }, 6);
  const rows = await pollUntil(() => replicas(client, schema), (r) => r.length === 6 && r.every((x) => x.state === 'running'), '6 replicas running');
  const victim = hosts.find((h) => rows.some((r) => r.holder === h.member))!;
  const mine = rows.filter((r) => r.holder === victim.member);
  const killedAt = wall();
  victim.run.child.kill('SIGKILL');
  const bound = FAST.leaseMs + FAST.heartbeatMs + LAUNCH_ALLOWANCE_MS;
  for (const r of mine) {
    const l = await waitRestarted(hosts, victim, r.worker, r.replica, killedAt, `svc#${r.replica} to run elsewhere`);
    const ms = l.at - killedAt;
    t.ok(ms <= bound, `svc#${r.replica} ran again after ${ms.toFixed(0)} ms (bound ${bound} ms)`);
    t.ok(Number(l['term']) > Number(r.term), 'under a higher term');
  }
  const after = await pollUntil(() => replicas(client, schema), (r) => r.every((x) => x.state === 'running' && x.holder !== victim.member), 'converged without the victim');
  t.equal(after.length, 6);
});

for (const mode of ['smart', 'fast'] as const) {
  t.test(`${mode} shutdown of a host hands its replicas over, not by timeout`, async (t) => {
    const client = await requirePg(t);
    if (!client) return;
    const schema = `bgw_fleet_handover_${mode}`;
    await freshSchema(t, client, schema);
    const settings = { leaseMs: 6000, heartbeatMs: 1000, fenceMarginMs: 1000 };
    const a = await startFleetHost(t, 'a', { schema, capacity: 4, ...settings });
    const b = await startFleetHost(t, 'b', { schema, capacity: 4, ...settings });
    await declare(client, schema, 'svc', { module: replicaModule }, 4);
    const rows = await pollUntil(() => replicas(client, schema), (r) => r.length === 4 && r.every((x) => x.state === 'running'), '4 replicas running');
    const onA = rows.filter((r) => r.holder === a.member);
    t.ok(onA.length > 0, 'host a runs some');
    const stoppedAt = wall();
    t.equal(await stopHost(a, mode === 'smart' ? 'SIGTERM' : 'SIGINT'), 0, 'host a exits cleanly');
    t.ok(a.events().some((l) => l.event === 'released'), 'host a gave its leases back');
    const notBefore = settings.leaseMs - settings.heartbeatMs;
    for (const r of onA) {
      const l = await waitRestarted([a, b], a, r.worker, r.replica, stoppedAt, `svc#${r.replica} on host b`);
      const ms = l.at - stoppedAt;
      t.ok(ms < notBefore, `svc#${r.replica} handed over in ${ms.toFixed(0)} ms, before its lease could have expired (${notBefore} ms)`);
    }
    const { rows: members } = await client.query(`SELECT state FROM ${schema}.fleet_member_status WHERE id = $1`, [a.member]);
    t.same(members, [{ state: 'gone' }], 'host a is marked gone');
  });
}
