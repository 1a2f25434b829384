/**
 * Cluster-wide singleton workers across real host processes sharing one database: exactly
 * one runs; kill its host and another takes over once the lease has run out (leaseMs 1000,
 * pollMs 50: within leaseMs + pollMs + a restart of the worker, asserted against 5 s), under
 * a higher term; the fenced heartbeat table never shows two at once.
 */
import t from 'tap';
import pg from 'pg';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/deadline.js';
import '../helpers/host.js';
import { database, requirePg } from '../helpers/pg.js';

const hostScript = fileURLToPath(new URL('../../dist/test/fixtures/singleton-host.js', import.meta.url));

function pgEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (database.connectionString) env['DATABASE_URL'] = database.connectionString;
  if (database.host) env['PGHOST'] = database.host;
  if (database.port) env['PGPORT'] = String(database.port);
  if (database.user) env['PGUSER'] = database.user;
  if (database.database) env['PGDATABASE'] = database.database;
  return env;
}

const SCHEMA = 'bgw_singleton_test';

function startHost(label: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [hostScript, label, SCHEMA], { env: pgEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  return within(once(child.stdout!, 'data'), `host ${label} to print "ready"`).then(() => child);
}

t.test('one singleton among three hosts; failover when its host is killed', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query('DROP TABLE IF EXISTS bgw_singleton_beats');
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  t.teardown(() => client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`));
  await client.query('CREATE TABLE bgw_singleton_beats (label text, term bigint, at timestamptz)');
  await client.query('LISTEN bgw_singleton');
  const announcements: Array<{ label: string; term: number; at: number }> = [];
  let onAnnounce: (() => void) | null = null;
  client.on('notification', (n: pg.Notification) => {
    const [label, term] = n.payload!.split(':');
    announcements.push({ label: label!, term: Number(term), at: performance.now() });
    onAnnounce?.();
  });
  const nextAnnouncement = (count: number, what: string) =>
    within(new Promise<void>((res) => (announcements.length >= count ? res() : (onAnnounce = () => announcements.length >= count && res()))), what);

  const hosts = new Map<string, ChildProcess>();
  for (const label of ['a', 'b', 'c']) hosts.set(label, await startHost(label));
  t.teardown(() => {
    for (const h of hosts.values()) h.kill('SIGKILL');
  });
  await nextAnnouncement(1, 'a first singleton to announce itself');
  const first = announcements[0]!.label;

  const killedAt = performance.now();
  const holder = hosts.get(first)!;
  const gone = within(once(holder, 'exit'), `the killed host ${first} to exit`);
  holder.kill('SIGKILL');
  await gone;
  await nextAnnouncement(2, `another host's singleton to take over from ${first}`);
  const second = announcements[1]!;
  t.not(second.label, first, `${second.label} took over from ${first}`);
  t.ok(second.term > announcements[0]!.term, `under a higher term (${announcements[0]!.term} → ${second.term})`);
  const failoverMs = second.at - killedAt;
  t.ok(failoverMs < 5000, `failover within the bound (${failoverMs.toFixed(0)} ms)`);
  t.comment(`failover: ${failoverMs.toFixed(0)} ms`);

  const { rows } = await client.query<{ label: string }>('SELECT label FROM bgw_singleton_beats ORDER BY at');
  const runs = rows.map((r) => r.label).filter((l, i, a) => i === 0 || a[i - 1] !== l);
  t.same(runs, [first, second.label], 'the heartbeats show one holder, then the other, never interleaved');
  t.equal(announcements.length, 2, 'the third host never ran it');
  const others = [...hosts].filter(([l]) => l !== first).map(([, h]) => h);
  const othersGone = within(Promise.all(others.map((h) => once(h, 'exit'))), 'the other hosts to shut down on SIGTERM');
  for (const h of others) h.kill('SIGTERM');
  await othersGone;
});
