/**
 * worker_spi, as PostgreSQL's t/001_worker_spi.pl checks it (docs/semantics.md §7.5), against the
 * real server: a dynamic launch creates schema4.counted, a reload makes it fold at once
 * (total|1), a shorter naptime takes effect after SIGHUP, static workers run on the
 * configured database, dynamic ones on a given database and role, and SIGTERM ends them.
 */
import t from 'tap';
import { BgwHandleStatus, type ActivityRow, type Postmaster } from '../../dist/lib/index.js';
import { registerWorkerSpi, setWorkerSpiNaptime, workerSpiLaunch, workerSpiShmem } from '../../dist/workers/worker_spi/launch.js';
import { within } from '../helpers/deadline.js';
import { makeHost, nextEvent } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

const inMainLoop = (pm: Postmaster, name: string) =>
  nextEvent<[ActivityRow]>(pm, 'activity', `"${name}" to enter its main loop`, (r) => r.name === name && r.activity === 'WorkerSpiMain');

t.test('dynamic worker 4: schema, fold on reload, naptime reload, SIGTERM', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query('DROP SCHEMA IF EXISTS schema4 CASCADE');
  t.teardown(() => client.query('DROP SCHEMA IF EXISTS schema4 CASCADE'));
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log, shmem: workerSpiShmem });
  await pm.start();
  const ready = inMainLoop(pm, 'worker_spi dynamic worker 4');
  const pid = await within(workerSpiLaunch(pm, 4), 'worker_spi_launch(4) to return');
  t.type(pid, 'number', 'worker_spi_launch(4) IS NOT NULL');
  await ready;
  t.match(await log.waitFor(/initialized with schema4.counted/, 'worker 4 to initialize schema4.counted'), 'worker_spi dynamic worker 4 initialized with schema4.counted');
  const tables = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'schema4' AND table_name = 'counted'");
  t.equal(tables.rowCount, 1, 'schema4.counted exists');

  await client.query("INSERT INTO schema4.counted VALUES ('total', 0), ('delta', 1)");
  pm.reloadConfig(); // the SIGHUP wakes the latch: a pass at once instead of after the 10 s nap
  await log.waitFor(/count in schema4.counted is now 1$/, 'the pass that the SIGHUP wakes to fold the deltas');
  const { rows } = await client.query('SELECT type, value FROM schema4.counted');
  t.same(rows, [{ type: 'total', value: 1 }], 'exactly total|1');

  setWorkerSpiNaptime(pm, 50);
  pm.reloadConfig();
  await log.waitFor(/is now 1$/, 'the pass after the naptime reload');
  await client.query("INSERT INTO schema4.counted VALUES ('delta', 5)");
  const folded = log.waitFor(/count in schema4.counted is now 6$/, 'a pass after the shorter naptime to fold the new delta');
  await t.resolves(folded, 'the shorter naptime, reread after SIGHUP, folds without another signal');

  const [row] = pm.activity();
  const h = pm.handleFrom({ slot: row!.slot, generation: 1n });
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', 'worker 4 to stop on terminate');
  await h.terminate();
  t.match((await stopped)[0].lastExit, { code: 1, error: { code: 'BGW_ERR_ADMIN_SHUTDOWN' } }, 'SIGTERM: FATAL, exit 1');
  t.equal(h.status().status, BgwHandleStatus.Stopped);
  t.same(pm.activity(), [], 'never restarted');
});

t.test('static workers on the configured database; dynamic ones by database and role', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const cleanUp = async () => {
    await client.query('DROP SCHEMA IF EXISTS schema11 CASCADE'); // owned by the role
    await client.query('DROP DATABASE IF EXISTS bgw_spi_mydb WITH (FORCE)');
    await client.query('DROP ROLE IF EXISTS bgw_spi_role');
  };
  await cleanUp();
  await client.query('CREATE DATABASE bgw_spi_mydb');
  await client.query('CREATE ROLE bgw_spi_role SUPERUSER LOGIN');
  t.teardown(cleanUp);
  const pm = makeHost(t, { database, shmem: workerSpiShmem, maxWorkerProcesses: 32 });
  registerWorkerSpi(pm, 3, { database: 'bgw_spi_mydb' });
  const statics = [1, 2, 3].map((i) => inMainLoop(pm, `worker_spi worker ${i}`));
  await pm.start();
  await Promise.all(statics);
  const dyn = [inMainLoop(pm, 'worker_spi dynamic worker 10'), inMainLoop(pm, 'worker_spi dynamic worker 11')];
  await within(workerSpiLaunch(pm, 10, { database: 'bgw_spi_mydb', role: 'bgw_spi_role' }), 'worker_spi_launch(10) to return');
  await within(workerSpiLaunch(pm, 11, { database: database.database ?? 'test', role: 'bgw_spi_role' }), 'worker_spi_launch(11) to return');
  await Promise.all(dyn);
  const { rows } = await client.query(
    "SELECT datname, usename, count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'bgworker: worker_spi%' GROUP BY 1, 2 ORDER BY 1, 2",
  );
  const user = (await client.query('SELECT current_user AS u')).rows[0].u as string;
  t.same(rows, [
    { datname: 'bgw_spi_mydb', usename: 'bgw_spi_role', n: 1 },
    { datname: 'bgw_spi_mydb', usename: user, n: 3 },
    { datname: database.database ?? 'test', usename: 'bgw_spi_role', n: 1 },
  ].sort((a, b) => (a.datname + a.usename).localeCompare(b.datname + b.usename)));
  await pm.shutdown('fast');
});
