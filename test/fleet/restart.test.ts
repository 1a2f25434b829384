/**
 * PostgreSQL restarts under a running fleet, down for longer than a lease: the hosts fence
 * their copies at their local deadline (no renewal can succeed), reconnect when the server
 * is back, and the fleet converges again. No replica ran twice beyond the stated rule —
 * copies of one replica on two hosts overlap by at most max(0, T_stop − fenceMarginMs),
 * T_stop ≤ terminateGraceMs — and the fenced writes never go back to an older term.
 * The server is started again in every outcome.
 */
import t from 'tap';
import pg from 'pg';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { database, requirePg } from '../helpers/pg.js';
import { FAST, declare, freshSchema, pollUntil, replicas, replicaModule, startFleetHost, type FleetHost } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_restart';
const TERMINATE_GRACE_MS = 1000;
const OUTAGE_MS = 3000;
const BGWORKER_SHMEM_ACCESS = 1;
const BGWORKER_BACKEND_DATABASE_CONNECTION = 2;

function cluster(): string | null {
  if (process.getuid?.() !== 0 || !existsSync('/etc/postgresql')) return null;
  return readdirSync('/etc/postgresql')[0] ?? null;
}

const ctl = (version: string, ...args: string[]): void => void execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', ...args], { stdio: 'ignore' });

function ensureRunning(version: string): void {
  try {
    ctl(version, 'status');
  } catch {
    ctl(version, 'start');
  }
}

/** Intervals during which a copy of each replica ran, per host, from the hosts' events. */
function intervals(hosts: FleetHost[]): Map<string, Array<{ host: string; term: number; from: number; to: number }>> {
  const out = new Map<string, Array<{ host: string; term: number; from: number; to: number }>>();
  for (const h of hosts) {
    const open = new Map<string, { term: number; from: number }>();
    for (const l of h.events()) {
      const key = `${String(l['worker'])}#${String(l['replica'])}`;
      if (l.event === 'started') open.set(key, { term: Number(l['term']), from: l.at });
      if (l.event !== 'stopped' || !open.has(key)) continue;
      const o = open.get(key)!;
      open.delete(key);
      out.set(key, [...(out.get(key) ?? []), { host: h.label, term: o.term, from: o.from, to: l.at }]);
    }
    for (const [key, o] of open) out.set(key, [...(out.get(key) ?? []), { host: h.label, term: o.term, from: o.from, to: Infinity }]);
  }
  return out;
}

t.test('a server restart longer than the lease: fenced, reconnected, converged, never twice', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const version = cluster();
  if (!version) {
    t.plan(0, 'needs root and pg_ctlcluster to restart the server');
    return;
  }
  t.teardown(() => ensureRunning(version));
  await freshSchema(t, client, SCHEMA);
  const hosts: FleetHost[] = [];
  for (let i = 0; i < 3; i++) hosts.push(await startFleetHost(t, `h${i}`, { schema: SCHEMA, capacity: 2, terminateGraceMs: TERMINATE_GRACE_MS, ...FAST }));
  await client.query(`CREATE TABLE ${SCHEMA}.writes (worker text, replica int, term bigint, pid int, at timestamptz)`);
  const mainArg = { schema: SCHEMA, table: `${SCHEMA}.writes`, beatMs: 20 };
  await declare(client, SCHEMA, 'writer', { module: replicaModule, flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, mainArg }, 3);
  await pollUntil(() => replicas(client, SCHEMA), (r) => r.length === 3 && r.every((x) => x.state === 'running'), '3 writers running');

  client.on('error', () => undefined);
  ctl(version, 'stop', '-m', 'fast');
  await new Promise((res) => setTimeout(res, OUTAGE_MS));
  ctl(version, 'start');
  const fresh = new pg.Client(database);
  await fresh.connect();
  // The first client died with the server; this one drops the schema at the end.
  t.teardown(() => fresh.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).finally(() => fresh.end()));

  for (const h of hosts) await h.waitEvent((l) => l.event === 'fenced', 'the host to fence its copies during the outage', 20_000);
  const rows = await pollUntil(() => replicas(fresh, SCHEMA), (r) => r.length === 3 && r.every((x) => x.state === 'running'), '3 writers running again', 30_000);
  const { rows: members } = await fresh.query(`SELECT state FROM ${SCHEMA}.fleet_member_status`);
  t.same(members.map((m) => m.state), ['active', 'active', 'active'], 'every host reconnected and heartbeats');
  t.ok(rows.every((r) => Number(r.term) >= 2), 'every replica was taken again under a new term');

  const bound = Math.max(0, TERMINATE_GRACE_MS - FAST.fenceMarginMs);
  let worst = 0;
  for (const [key, list] of intervals(hosts)) {
    for (const a of list) {
      for (const b of list) {
        if (a === b || a.host === b.host) continue;
        worst = Math.max(worst, Math.min(a.to, b.to) - Math.max(a.from, b.from));
      }
    }
    t.ok(list.length >= 1, `${key}: ${list.length} runs`);
  }
  t.comment(`largest overlap of two copies of one replica: ${worst.toFixed(1)} ms`);
  t.ok(worst <= bound, `copies of one replica overlapped at most ${worst.toFixed(1)} ms (rule: max(0, terminateGraceMs − fenceMarginMs) = ${bound} ms)`);

  await pollUntil(
    async () => (await fresh.query(`SELECT count(DISTINCT (w.replica))::int AS n FROM ${SCHEMA}.writes w JOIN ${SCHEMA}.fleet_leases l
                                      ON l.worker = w.worker AND l.replica = w.replica AND l.term = w.term`)).rows[0].n,
    (n) => n === 3,
    'every writer to write under its current term',
  );
  const { rows: writes } = await fresh.query<{ replica: number; term: string }>(`SELECT replica, term FROM ${SCHEMA}.writes ORDER BY at`);
  for (const replica of [0, 1, 2]) {
    const terms = writes.filter((w) => w.replica === replica).map((w) => Number(w.term));
    t.equal(terms.findIndex((x, i) => i > 0 && x < terms[i - 1]!), -1, `writer#${replica}: the terms of its ${terms.length} writes never go back`);
  }
});
