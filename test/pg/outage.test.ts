/**
 * A database outage is not a worker bug: workers that lose their connection, or cannot
 * connect while the server is down, back off and retry for as long as the outage lasts,
 * never counted against the restart brake and never marked failed; the host reports itself
 * degraded meanwhile, and the workers connect again when the server is back.
 */
import t from 'tap';
import { BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS, type ActivityRow } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvents } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';
import { database, localCluster, requirePg, stopServer } from '../helpers/pg.js';

const OUTAGE_CODES = ['BGW_ERR_DB_CONNECTION_LOST', 'BGW_ERR_DB_CONNECT_FAILED'];

t.test('an outage longer than the restart brake allows: back off, never failed, connect again', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const cluster = localCluster();
  if (!cluster) {
    t.plan(0, 'needs root and pg_ctlcluster to stop the server');
    return;
  }
  client.on('error', () => {}); // this test's own connection dies with the server
  const log = recordingLogger();
  const pm = makeHost(t, {
    database,
    logger: log,
    // The brake's default limit (5 relaunches in 30 s) would mark the worker failed within seconds.
    restartIntensity: { outageBackoffBaseMs: 20, outageBackoffMaxMs: 200 },
  });
  let failed = 0;
  pm.on('failed', () => failed++);
  await pm.start();
  await pm.registerDynamicBackgroundWorker({
    name: 'db', module: fixture('db-connect'), restartTime: 0,
    flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, mainArg: { then: 'wait' },
  });
  await log.waitFor(/^connected as/, 'the worker to connect before the outage');
  const outageExits = nextEvents<[ActivityRow]>(pm, 'stopped', 12, 'twelve exits for want of the database',
    (r) => OUTAGE_CODES.includes(r.lastExit?.error?.code ?? ''));
  const startServer = stopServer(t, cluster);
  const rows = await outageExits;
  t.ok(rows.every(([r]) => r.lastExit?.kind === 'error'), 'each an error exit (exit code 1), as PostgreSQL would have it');
  t.equal(failed, 0, 'twelve relaunches, more than the brake admits for errors, and never marked failed');
  const health = pm.health();
  t.equal(health.status, 'degraded', 'the host is degraded, not healthy, during the outage');
  t.match(health.reasons.join('\n'), /waiting for the database/);
  log.lines.length = 0;
  startServer();
  await log.waitFor(/^connected as/, 'the worker to connect again once the server is back');
  t.equal(failed, 0);
  t.equal(pm.activity()[0]?.state, 'running');
});
