/**
 * LISTEN/NOTIFY into worker latches through the host's one listener: delivery to async and
 * blocking waits, per-worker subscriptions, non-JSON payloads, and the resync a worker gets
 * after the listener's backend is killed and after a server restart.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { BGWORKER_SHMEM_ACCESS as SHM, type ActivityRow } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

async function listeningHost(t: Parameters<typeof makeHost>[0], workers: Array<{ name: string; channel: string; blocking?: boolean }>) {
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log });
  await pm.start();
  for (const w of workers) {
    const listening = nextEvent<[ActivityRow]>(pm, 'activity', `worker "${w.name}" to listen on ${w.channel}`, (r) => r.name === w.name && r.activity === 'listening');
    await pm.registerDynamicBackgroundWorker({ name: w.name, module: fixture('db-listener'), flags: SHM, mainArg: { channel: w.channel, blocking: w.blocking } });
    await listening;
  }
  return { pm, log };
}

t.test('a NOTIFY sets the subscribed worker latch and the payload arrives, async and blocking', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const { log } = await listeningHost(t, [
    { name: 'async', channel: 'bgw_a' },
    { name: 'blocking', channel: 'bgw_b', blocking: true },
  ]);
  await client.query("NOTIFY bgw_a, 'not json {'");
  t.equal(await log.waitFor(/^notify bgw_a/, 'the async waiter to log the bgw_a notification'), 'notify bgw_a: not json {', 'a plain-string payload');
  await client.query("NOTIFY bgw_b, 'to the blocking waiter'");
  t.equal(await log.waitFor(/^notify bgw_b/, 'the blocking waiter to log the bgw_b notification'), 'notify bgw_b: to the blocking waiter');
  t.equal(log.lines.filter((l) => l.startsWith('notify')).length, 2, 'each worker heard only its channel');
});

t.test("killing the listener's backend: reconnect, subscriptions kept, workers told to resync", async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const { log } = await listeningHost(t, [{ name: 'w', channel: 'bgw_gap' }]);
  await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bgworker: listener'");
  await log.waitFor(/^resync$/, 'the worker to be told to resync after the listener reconnected');
  await client.query("NOTIFY bgw_gap, 'after the gap'");
  t.equal(await log.waitFor(/^notify bgw_gap/, 'the notification sent after the reconnect'), 'notify bgw_gap: after the gap', 'still subscribed after reconnecting');
});

t.test('a server restart longer than pg-listen\'s default 3 s retry window: the listener comes back', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const cluster = execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n')[0];
  if (process.getuid?.() !== 0 || !cluster) {
    t.plan(0, 'needs root and pg_ctlcluster to restart the server');
    return;
  }
  const { log } = await listeningHost(t, [{ name: 'w', channel: 'bgw_restart' }]);
  client.on('error', () => {}); // this test's own connection dies with the server
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'stop', '-m', 'fast']);
  // Kept down past pg-listen's default 3 s give-up; the host retries with backoff.
  await new Promise((res) => setTimeout(res, 4000));
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'start']);
  await log.waitFor(/^resync$/, 'the worker to be told to resync after the server came back');
  const fresh = new (await import('pg')).default.Client(database);
  await fresh.connect();
  await fresh.query("NOTIFY bgw_restart, 'after the restart'");
  await fresh.end();
  t.equal(await log.waitFor(/^notify bgw_restart/, 'the notification sent after the restart'), 'notify bgw_restart: after the restart');
});
