/**
 * Once per fleet, on real host processes sharing one database: three hosts declare one
 * schedule, and each tick runs exactly once (the runs count themselves in a table); kill
 * the host that ran the last tick and the next ticks are still claimed, each by one live
 * host. The database holds the outcomes and statistics any host reads.
 */
import t from 'tap';
import type pg from 'pg';
import { childEnv, runProcess, type CliRun } from '../helpers/cli.js';
import { database, requirePg } from '../helpers/pg.js';
import { fileURLToPath } from 'node:url';

const hostScript = fileURLToPath(new URL('../../dist/test/fixtures/schedule-host.js', import.meta.url));
const SCHEMA = 'bgw_fleet_test';
const TABLE = 'bgw_fleet_hits';
const EVERY = 400;

function pgEnv(): NodeJS.ProcessEnv {
  const extra: Record<string, string> = {};
  if (database.connectionString) extra['DATABASE_URL'] = database.connectionString;
  if (database.host) extra['PGHOST'] = database.host;
  if (database.port) extra['PGPORT'] = String(database.port);
  if (database.user) extra['PGUSER'] = database.user;
  if (database.database) extra['PGDATABASE'] = database.database;
  return childEnv(extra);
}

async function ticks(client: pg.Client): Promise<Array<{ tick: string; n: number; labels: string[] }>> {
  const { rows } = await client.query<{ tick: string; n: string; labels: string[] }>(
    `SELECT tick::text, count(*) AS n, array_agg(label) AS labels FROM ${TABLE} GROUP BY tick ORDER BY tick`,
  );
  return rows.map((r) => ({ tick: r.tick, n: Number(r.n), labels: r.labels }));
}

t.test('three hosts, one fleet schedule: each tick runs once, also after the last runner is killed', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.query(`CREATE TABLE ${TABLE} (tick timestamptz, label text)`);
  const hosts = new Map<string, CliRun>();
  for (const label of ['a', 'b', 'c']) hosts.set(label, runProcess(t, process.execPath, [hostScript, label, SCHEMA, TABLE, String(EVERY)], { env: pgEnv() }));
  for (const [label, h] of hosts) await h.waitFor((s) => s.includes('ready'), `host ${label} to declare the schedule`);
  const until = async <T>(probe: () => Promise<T | null>, what: string, ms = 60_000): Promise<T> => {
    for (const deadline = Date.now() + ms; ;) {
      const v = await probe();
      if (v !== null) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const successes = async (after: Date, n: number): Promise<Array<{ at: Date; host: string }> | null> => {
    const { rows } = await client.query<{ at: Date; host: string }>(
      `SELECT scheduled_at AS at, host_id AS host FROM ${SCHEMA}.schedule_runs WHERE schedule = 'fleet tick' AND status = 'success' AND scheduled_at > $1 ORDER BY scheduled_at`,
      [after],
    );
    return rows.length >= n ? rows : null;
  };
  const before = await until(() => successes(new Date(0), 6), 'six successful ticks across the fleet');
  const { rows: [{ label: last }] } = await client.query<{ label: string }>(`SELECT label FROM ${TABLE} WHERE tick = $1`, [before.at(-1)!.at]);
  const killedAt = new Date();
  hosts.get(last!)!.child.kill('SIGKILL');
  await hosts.get(last!)!.exitStatus(`host ${last} to die`);
  const after = await until(() => successes(killedAt, 4), 'four successful ticks after the kill');
  for (const r of await ticks(client)) t.equal(r.n, 1, `tick ${r.tick} ran once (${r.labels.join(',')})`);
  // Claims after the kill: every tick of the grid, none by the dead host (a tick it had claimed before dying is lost with it).
  const { rows: claims } = await client.query<{ at: Date; host: string; status: string }>(
    `SELECT scheduled_at AS at, host_id AS host, status FROM ${SCHEMA}.schedule_runs WHERE schedule = 'fleet tick' AND scheduled_at > $1 AND scheduled_at <= $2 ORDER BY scheduled_at`,
    [new Date(killedAt.getTime() + EVERY), after.at(-1)!.at],
  );
  const deadHost = before.at(-1)!.host;
  claims.forEach((c, i) => {
    if (i > 0) t.equal(c.at.getTime() - claims[i - 1]!.at.getTime(), EVERY, 'no tick after the kill went unclaimed');
    t.not(c.host, deadHost, 'claimed by a live host');
  });
  const { rows: stats } = await client.query(`SELECT * FROM ${SCHEMA}.schedule_stats WHERE schedule = 'fleet tick'`);
  t.ok(Number(stats[0].total_successes) >= before.length + after.length, 'the statistics in the database count the runs of every host');
  t.ok(stats[0].next_start instanceof Date);
  for (const [label, h] of hosts) if (label !== last) h.child.kill('SIGTERM');
  for (const [label, h] of hosts) if (label !== last) t.equal(await h.exitStatus(`host ${label} to stop`), 0);
  await client.query(`DROP TABLE ${TABLE}`);
});

