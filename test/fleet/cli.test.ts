/**
 * `bgworker fleet declare | status | remove` from a shell: the built bin against a fleet
 * with one real host, the database from the PG* variables; bad command lines and
 * declarations exit 2 with the error's code, and write nothing.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cliMain, runProcess } from '../helpers/cli.js';
import { requirePg } from '../helpers/pg.js';
import { FAST, freshSchema, pgEnv, pollUntil, replicas, replicaModule, startFleetHost, within } from '../helpers/fleet.js';

const SCHEMA = 'bgw_fleet_cli';

async function fleetCli(t: Parameters<typeof runProcess>[0], ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const run = runProcess(t, process.execPath, [cliMain, 'fleet', ...args], { env: pgEnv() });
  const code = await run.exitStatus(`bgworker fleet ${args.join(' ')}`, 20_000);
  return { code, out: run.stdout(), err: run.stderr() };
}

t.test('declare, status (table and JSON), remove', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  const host = await startFleetHost(t, 'h', { schema: SCHEMA, capacity: 4, ...FAST });
  const dir = t.testdir();
  const file = join(dir, 'registration.json');
  writeFileSync(file, JSON.stringify({ module: relative(dir, replicaModule), mainArg: { beatMs: 50 } }));
  const d = await fleetCli(t, 'declare', 'svc', '--registration', file, '--replicas', '2', '--schema', SCHEMA);
  t.equal(d.code, 0, d.err);
  t.match(d.out, /declared "svc" \(version 1\)/);
  const p = await fleetCli(t, 'declare', 'cache', '--registration', JSON.stringify({ module: replicaModule }), '--replicas', 'per-host', '--schema', SCHEMA);
  t.equal(p.code, 0, p.err);
  await pollUntil(() => replicas(client, SCHEMA), (r) => r.length === 3 && r.every((x) => x.state === 'running'), 'svc×2 and cache running');

  const json = await fleetCli(t, 'status', '--output', 'json', '--schema', SCHEMA);
  t.equal(json.code, 0, json.err);
  const st = JSON.parse(json.out) as { members: Array<{ id: string; state: string }>; replicas: Array<{ worker: string; state: string; holder: string }> };
  t.same(st.members.map((m) => [m.id, m.state]), [[host.member, 'active']]);
  t.same(st.replicas.map((r) => [r.worker, r.state, r.holder]), [['cache', 'running', host.member], ['svc', 'running', host.member], ['svc', 'running', host.member]]);
  const table = await fleetCli(t, 'status', '--schema', SCHEMA);
  t.equal(table.code, 0, table.err);
  t.match(table.out, /member +\| state +\| capacity/);
  t.match(table.out, /svc +\| 1 +\| running/);

  const r = await fleetCli(t, 'remove', 'svc', '--schema', SCHEMA);
  t.equal(r.code, 0);
  t.match(r.out, /removed "svc"/);
  t.match((await fleetCli(t, 'remove', 'svc', '--schema', SCHEMA)).out, /no fleet worker "svc"/);
  await pollUntil(() => replicas(client, SCHEMA, 'svc'), (x) => x.length === 0, 'svc gone from the view');
});

t.test('bad command lines and declarations exit 2 and write nothing', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await freshSchema(t, client, SCHEMA);
  await startFleetHost(t, 'h', { schema: SCHEMA, ...FAST });
  const reg = JSON.stringify({ module: replicaModule });
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /BGW_ERR_CONFIG_INVALID/],
    [['declare', 'svc'], /needs --registration/],
    [['declare', 'bad name', '--registration', reg], /BGW_ERR_FLEET_INVALID_DECLARATION/],
    [['declare', 'svc', '--registration', '{"module": "/no/such.js"}'], /BGW_ERR_FLEET_INVALID_DECLARATION/],
    [['declare', 'svc', '--registration', reg, '--replicas=-3'], /BGW_ERR_FLEET_INVALID_DECLARATION/],
    [['declare', 'svc', '--registration', reg, '--placement', 'Zone=a'], /BGW_ERR_FLEET_INVALID_LABELS/],
    [['declare', 'svc', '--registration', reg, '--placement', 'zone=a'], /BGW_ERR_FLEET_UNKNOWN_LABEL/],
    [['declare', 'svc', '--registration', '{not json'], /not JSON/],
    [['status', '--schema', 'Bad-Schema'], /BGW_ERR_INVALID_OPTION/],
    [['status', 'extra'], /takes no argument/],
  ];
  for (const [args, err] of cases) {
    const r = await fleetCli(t, ...args, ...(args.includes('--schema') ? [] : ['--schema', SCHEMA]));
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.err, err);
  }
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.fleet_workers`);
  t.equal(rows[0].n, 0, 'nothing declared');
  const help = await fleetCli(t, '--help');
  t.equal(help.code, 0);
  t.match(help.out, /usage: bgworker fleet/);
});
