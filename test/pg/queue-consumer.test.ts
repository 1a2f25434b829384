/** The SKIP LOCKED + LISTEN/NOTIFY queue consumer: two consumers take every job exactly once. */
import t from 'tap';
import { BGWORKER_BACKEND_DATABASE_CONNECTION as DB, BGWORKER_SHMEM_ACCESS as SHM } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { makeHost } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

t.test('300 jobs and a NOTIFY: two consumers drain them, each job taken once', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query('DROP TABLE IF EXISTS bgw_jobs');
  await client.query('CREATE TABLE bgw_jobs (id bigint PRIMARY KEY, payload text, done_by text, done_at timestamptz)');
  t.teardown(() => client.query('DROP TABLE IF EXISTS bgw_jobs'));
  const log = recordingLogger();
  let taken = 0;
  let allTaken: () => void;
  const drained = new Promise<void>((res) => (allTaken = res));
  const info = log.info;
  log.info = (o, m) => {
    info(o, m);
    const n = /took (\d+) jobs$/.exec(m ?? (typeof o === 'string' ? o : ''));
    if (n && (taken += Number(n[1])) === 300) allTaken();
  };
  const pm = makeHost(t, { database, logger: log });
  await pm.start();
  const arg = { table: 'bgw_jobs', channel: 'bgw_jobs', batch: 7, naptimeMs: 60_000 };
  for (const name of ['consumer a', 'consumer b']) {
    await pm.registerDynamicBackgroundWorker({ name, module: new URL('../../dist/workers/queue_consumer/worker.js', import.meta.url), flags: SHM | DB, mainArg: arg });
  }
  await client.query("INSERT INTO bgw_jobs (id, payload) SELECT g, 'job ' || g FROM generate_series(1, 300) g");
  await client.query('NOTIFY bgw_jobs');
  await within(drained, 'the consumers to log 300 jobs taken');
  const { rows } = await client.query('SELECT count(*)::int AS n, count(done_by)::int AS done FROM bgw_jobs');
  t.same(rows[0], { n: 300, done: 300 }, 'every job taken');
  t.equal(taken, 300, 'and taken once: the batches add up to exactly 300');
});
