/**
 * Bad input, from every door: declarations with invalid registrations, labels of the wrong
 * form or unknown to every member, replica counts below 0, hostile names — from the host
 * API, from SQL and in NOTIFY payloads — are refused with typed errors (SQLSTATEs BW002,
 * BW003, BW005 from SQL), and nothing is half-written. Who may declare from SQL is decided
 * by PostgreSQL's privileges. A registration SQL accepts but a host cannot run is refused
 * by the host with its reason recorded, and nothing runs.
 */
import t from 'tap';
import type pg from 'pg';
import { joinFleet, silentLogger, type Fleet } from '../../dist/lib/index.js';
import { makeHost } from '../helpers/host.js';
import { database, requirePg } from '../helpers/pg.js';
import { FAST, freshSchema, pollUntil, replicas, replicaModule } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_decl';

async function joined(t: Parameters<typeof makeHost>[0], client: pg.Client): Promise<Fleet> {
  await freshSchema(t, client, SCHEMA);
  const pm = makeHost(t, { database, maxWorkerProcesses: 4, spareThreads: 0 });
  await pm.start();
  const fleet = joinFleet(pm, { database, schema: SCHEMA, labels: { zone: 'a' }, logger: silentLogger, ...FAST });
  t.teardown(() => fleet.leave());
  await fleet.start();
  return fleet;
}

async function nothingWritten(t: Parameters<typeof makeHost>[0], client: pg.Client, what: string): Promise<void> {
  const { rows } = await client.query(`SELECT (SELECT count(*)::int FROM ${SCHEMA}.fleet_workers) AS workers, (SELECT version::int FROM ${SCHEMA}.fleet_state) AS version`);
  t.same(rows[0], { workers: 0, version: 0 }, `${what}: nothing was written`);
}

const HOSTILE_NAMES = ["x'; DROP TABLE fleet_workers; --", '', 'a'.repeat(64), 'ünïcode', 'name#1', ' lead', '-dash', 'a b', 'a\u0000b'];

t.test('the host API refuses bad declarations with typed errors and writes nothing', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const fleet = await joined(t, client);
  const ok = { registration: { module: replicaModule }, replicas: 1 };
  for (const name of [...HOSTILE_NAMES, null, 42]) {
    await t.rejects(fleet.declare(name as string, ok), { code: 'BGW_ERR_FLEET_INVALID_DECLARATION' }, `name ${JSON.stringify(name)}`);
  }
  const badRegistrations: Array<[unknown, string]> = [
    [{ module: 'relative/path.js' }, 'a relative module'],
    [{ module: '/no/such/module.js' }, 'a module that does not exist here'],
    [{ module: replicaModule, flags: 4 }, 'interruptible without a database connection'],
    [{ module: replicaModule, flags: 0x20 }, 'unknown flag bits'],
    [{ module: replicaModule, restartTime: 1.5 }, 'a fractional restart time'],
    [{ module: replicaModule, extra: 'AAAA' }, 'extra, which the fleet owns'],
    [{ module: replicaModule, startTime: 0 }, 'a start time'],
    [{ module: replicaModule, mainArg: { when: new Date() } }, 'a mainArg that is not plain JSON'],
    [{ module: replicaModule, mainArg: 10n }, 'a BigInt mainArg'],
    [{ module: replicaModule, resourceLimits: { stackSizeMb: 0 } }, 'a resource limit out of range'],
    [null, 'no registration'],
    [[replicaModule], 'an array'],
  ];
  for (const [registration, what] of badRegistrations) {
    await t.rejects(fleet.declare('w', { registration, replicas: 1 } as never), { code: 'BGW_ERR_FLEET_INVALID_DECLARATION' }, what);
  }
  const missing = await fleet.declare('w', { registration: { module: '/no/such/module.js' }, replicas: 1 }).catch((e: Error) => e);
  t.match(missing, { cause: { code: 'BGW_ERR_MODULE_NOT_FOUND' } }, "sanity.ts's own error is the cause");
  for (const replicasValue of [-1, -2, 1.5, 'two', null, 2 ** 31]) {
    await t.rejects(fleet.declare('w', { ...ok, replicas: replicasValue as number }), { code: 'BGW_ERR_FLEET_INVALID_DECLARATION' }, `replicas ${String(replicasValue)}`);
  }
  for (const placement of [{ Zone: 'a' }, { zone: 'a b' }, { zone: [] }, { zone: 5 }, { zone: ['a', 7] }, 'zone=a']) {
    await t.rejects(fleet.declare('w', { ...ok, placement: placement as never }), { code: 'BGW_ERR_FLEET_INVALID_LABELS' }, `placement ${JSON.stringify(placement)}`);
  }
  await t.rejects(fleet.declare('w', { ...ok, placement: { zoen: 'a' } }), { code: 'BGW_ERR_FLEET_UNKNOWN_LABEL' }, 'a label key no member carries');
  await nothingWritten(t, client, 'the host API');
});

t.test('member labels and options are checked at joinFleet()', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 4, spareThreads: 0 });
  await pm.start();
  t.throws(() => joinFleet(pm, { labels: { Zone: 'a' } }), { code: 'BGW_ERR_FLEET_INVALID_LABELS' });
  t.throws(() => joinFleet(pm, { labels: { zone: 'a;b' } }), { code: 'BGW_ERR_FLEET_INVALID_LABELS' });
  t.throws(() => joinFleet(pm, { labels: ['zone'] as never }), { code: 'BGW_ERR_FLEET_INVALID_LABELS' });
  t.throws(() => joinFleet(pm, { schema: 'Bad Schema' }), { code: 'BGW_ERR_INVALID_OPTION' });
  t.throws(() => joinFleet(pm, { leaseMs: 1000, heartbeatMs: 900 }), { code: 'BGW_ERR_INVALID_OPTION' }, 'two heartbeats must fit before the deadline');
  t.throws(() => joinFleet(pm, { capacity: 5 }), { code: 'BGW_ERR_INVALID_OPTION' }, 'no more capacity than slots');
  t.equal(joinFleet(pm).options.capacity, 2, 'capacity defaults to half the slots');
});

t.test('SQL refuses bad declarations with its SQLSTATEs, and writes nothing', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await joined(t, client);
  const declare = (name: unknown, reg: unknown, replicas: unknown, placement: unknown = {}) =>
    client.query(`SELECT ${SCHEMA}.fleet_declare($1, $2, $3, $4)`, [name, JSON.stringify(reg), replicas, JSON.stringify(placement)]);
  const mod = { module: replicaModule };
  for (const name of HOSTILE_NAMES.filter((n) => !n.includes('\u0000'))) await t.rejects(declare(name, mod, 1), { code: 'BW002' }, `name ${JSON.stringify(name)}`);
  await t.rejects(declare(null, mod, 1), { code: 'BW002' }, 'a null name');
  await t.rejects(declare('w', mod, -2), { code: 'BW002' }, 'replicas -2');
  await t.rejects(declare('w', [], 1), { code: 'BW002' }, 'a registration that is an array');
  await t.rejects(declare('w', { module: 'rel.js' }, 1), { code: 'BW002' }, 'a relative module');
  await t.rejects(declare('w', { ...mod, flags: 4 }, 1), { code: 'BW002' }, 'interruptible without a database connection');
  await t.rejects(declare('w', { ...mod, flags: 16, restartTime: 5 }, 1), { code: 'BW002' }, 'a restarting parallel worker');
  await t.rejects(declare('w', { ...mod, extra: 'x' }, 1), { code: 'BW002' }, 'an unknown field');
  await t.rejects(declare('w', { ...mod, flags: 1.5 }, 1), { code: 'BW002' }, 'fractional flags');
  await t.rejects(declare('w', { ...mod, resourceLimits: { heapMb: 8 } }, 1), { code: 'BW002' }, 'an unknown resource limit');
  await t.rejects(declare('w', mod, 1, { 'Zone!': 'a' }), { code: 'BW005' }, 'a label key of the wrong form');
  await t.rejects(declare('w', mod, 1, { zone: 5 }), { code: 'BW005' }, 'a label value of the wrong form');
  await t.rejects(declare('w', mod, 1, { zoen: 'a' }), { code: 'BW003' }, 'a label no member carries');
  await nothingWritten(t, client, 'SQL');
});

t.test('who may declare from SQL is a matter of GRANT EXECUTE', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await joined(t, client);
  const role = 'bgw_fleet_decl_operator';
  await client.query(`DROP ROLE IF EXISTS ${role}`);
  await client.query(`CREATE ROLE ${role} NOLOGIN`);
  t.teardown(() => client.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined));
  await client.query(`GRANT USAGE ON SCHEMA ${SCHEMA} TO ${role}`);
  const asRole = async (sql: string): Promise<void> => {
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL ROLE ${role}`);
      await client.query(sql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  };
  const declareSql = `SELECT ${SCHEMA}.fleet_declare('w', '{"module": "${replicaModule}"}', 0)`;
  await t.rejects(asRole(declareSql), { code: '42501' }, 'refused without EXECUTE');
  await t.rejects(asRole(`INSERT INTO ${SCHEMA}.fleet_workers (name, registration, replicas) VALUES ('w', '{}', 1)`), { code: '42501' }, 'the tables are not writable');
  await nothingWritten(t, client, 'a role without EXECUTE');
  await client.query(`GRANT EXECUTE ON FUNCTION ${SCHEMA}.fleet_declare(text, jsonb, int, jsonb), ${SCHEMA}.fleet_remove(text) TO ${role}`);
  await asRole(declareSql);
  const { rows } = await client.query(`SELECT declared_by FROM ${SCHEMA}.fleet_workers WHERE name = 'w'`);
  t.same(rows, [{ declared_by: 'postgres' }], 'declared, recording the role that logged in (session_user)');
  await asRole(`SELECT ${SCHEMA}.fleet_remove('w')`);
});

t.test('a registration SQL accepts but the host cannot run is refused by the host, with its reason recorded', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const fleet = await joined(t, client);
  const refused = new Promise<[string, string]>((res) => fleet.once('refused', (w, why) => res([w, why])));
  await client.query(`SELECT ${SCHEMA}.fleet_declare('ghost', '{"module": "/no/such/module.js"}', 1)`);
  const [worker, why] = await refused;
  t.equal(worker, 'ghost');
  t.match(why, /does not exist/);
  const rows = await pollUntil(() => replicas(client, SCHEMA, 'ghost'), (r) => r.length === 1 && r[0]!.state === 'refused', 'the replica shown as refused');
  t.equal(rows[0]!.holder, null, 'nothing holds it');
  t.same(fleet.held(), [], 'nothing runs');
});

t.test('NOTIFY payloads on the fleet channel are checked: hostile ones are refused and ignored', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const fleet = await joined(t, client);
  const ignored: Error[] = [];
  fleet.on('ignored', (e) => ignored.push(e));
  const hostile = [
    'not json', '[]', '{"kind":"drop table"}', '{"kind":"release","worker":"x; drop","replica":1}', '{"kind":"release","worker":"w","replica":-1}',
    '{"kind":"member","worker":"w"}', '{"kind":"insert"}', '{"kind":"insert","worker":"w","extra":1}', JSON.stringify({ kind: 'member', pad: 'x'.repeat(600) }),
  ];
  for (const p of hostile) await client.query('SELECT pg_notify($1, $2)', [`${SCHEMA}_fleet`, p]);
  await pollUntil(async () => ignored.length, (n) => n === hostile.length, 'every hostile payload refused');
  t.ok(ignored.every((e) => (e as { code?: string }).code === 'BGW_ERR_FLEET_INVALID_NOTIFICATION'), 'each with a typed error');
  t.equal(fleet.stats().notificationsRefused, hostile.length);
  await nothingWritten(t, client, 'hostile NOTIFYs');
  t.equal(fleet.phase, 'active', 'the fleet carries on');
});
