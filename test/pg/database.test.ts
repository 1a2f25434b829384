/**
 * BackgroundWorkerInitializeConnection against the real server: once, only with the flag,
 * refused connections and lost connections as error exits, nothing half-done committed,
 * application_name and activity visible. docs/semantics.md §3.11, checklist 40 and 41.
 */
import t from 'tap';
import { BGWORKER_BACKEND_DATABASE_CONNECTION as DB, BGWORKER_SHMEM_ACCESS as SHM, type ActivityRow } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, startedRow, stoppedRow } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';


t.test('a database worker connects once, as the host configured, and shows in pg_stat_activity', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'db worker', module: fixture('db-connect'), flags: SHM | DB, mainArg: { then: 'wait' } });
  t.match(await log.waitFor(/^connected as /, 'the worker to connect'), new RegExp(`connected as \\S+ to ${database.database ?? ''}`));
  const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'bgworker: db worker'");
  t.equal(rows[0].n, 1, 'its backend is named after the worker');
  t.equal(pm.activity()[0]!.activity, 'idle', 'the activity list shows it idle');
  await h!.terminate();
  await within(h!.waitForShutdown(), 'the database worker to stop on terminate');
});

t.test('connecting twice is a typed error; so is connecting without the flag (checklist 40)', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const pm = makeHost(t, { database });
  await pm.start();
  const twice = stoppedRow(pm, 'twice');
  await pm.registerDynamicBackgroundWorker({ name: 'twice', module: fixture('db-connect'), flags: SHM | DB, mainArg: { then: 'again' } });
  t.match((await twice).lastExit, { code: 1, kind: 'error', error: { code: 'BGW_ERR_DB_ALREADY_CONNECTED' } });
  const noFlag = stoppedRow(pm, 'no flag');
  await pm.registerDynamicBackgroundWorker({ name: 'no flag', module: fixture('db-connect'), flags: SHM, mainArg: { then: 'done' } });
  t.match((await noFlag).lastExit, {
    code: 1,
    error: { code: 'BGW_ERR_DB_NOT_REQUESTED', message: 'database connection requirement not indicated during registration' },
  });
});

t.test("the server's refusals end the worker with exit 1 and the server's message (checklist 41)", async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query('DROP DATABASE IF EXISTS bgw_noconndb');
  await client.query('CREATE DATABASE bgw_noconndb ALLOW_CONNECTIONS false');
  await client.query('DROP ROLE IF EXISTS bgw_nologrole');
  await client.query('CREATE ROLE bgw_nologrole NOLOGIN');
  t.teardown(async () => {
    await client.query('DROP DATABASE IF EXISTS bgw_noconndb');
    await client.query('DROP ROLE IF EXISTS bgw_nologrole');
  });
  const pm = makeHost(t, { database });
  await pm.start();
  const noconn = stoppedRow(pm, 'noconn');
  await pm.registerDynamicBackgroundWorker({ name: 'noconn', module: fixture('db-connect'), flags: SHM | DB, mainArg: { database: 'bgw_noconndb', then: 'done' } });
  t.match((await noconn).lastExit, { code: 1, error: { code: 'BGW_ERR_DB_CONNECT_FAILED', message: /database "bgw_noconndb" is not currently accepting connections/ } });
  const nolog = stoppedRow(pm, 'nolog');
  await pm.registerDynamicBackgroundWorker({ name: 'nolog', module: fixture('db-connect'), flags: SHM | DB, mainArg: { user: 'bgw_nologrole', then: 'done' } });
  t.match((await nolog).lastExit, { code: 1, error: { message: /role "bgw_nologrole" is not permitted to log in/ } });
});

t.test('a killed backend ends the worker with exit 1, restarts it, and commits nothing half-done', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query('CREATE TABLE IF NOT EXISTS bgw_half_done (marker text)');
  const marker = `m${process.pid}-${Date.now()}`;
  const pm = makeHost(t, { database });
  await pm.start();
  const holding = nextEvent<[ActivityRow]>(pm, 'activity', 'the worker to hold its transaction open', (r) => r.activity === 'holding');
  await pm.registerDynamicBackgroundWorker({ name: 'half', module: fixture('db-connect'), flags: SHM | DB, restartTime: 0, mainArg: { then: 'half', marker } });
  await holding;
  const stopped = stoppedRow(pm, 'half');
  const restarted = startedRow(pm, 'half', 1);
  await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bgworker: half'");
  t.match((await stopped).lastExit, { code: 1, kind: 'error', error: { code: 'BGW_ERR_DB_CONNECTION_LOST' } });
  await t.resolves(restarted, 'the restart policy brought it back');
  const { rows } = await client.query('SELECT count(*)::int AS n FROM bgw_half_done WHERE marker = $1', [marker]);
  t.equal(rows[0].n, 0, 'the open transaction died with its backend');
});
