/**
 * Schema migrations the library runs itself (lib/pg/migrate.ts): applied once and in order,
 * once only when two hosts start at the same moment on an empty database, and never half.
 */
import t from 'tap';
import pg from 'pg';
import { migrate } from '../../dist/lib/pg/migrate.js';
import { database, requirePg } from '../helpers/pg.js';

const SCHEMA = 'bgw_migrate_test';
const MIGRATIONS = [
  { version: 2, sql: 'ALTER TABLE {schema}.t ADD COLUMN b int' },
  { version: 1, sql: 'CREATE TABLE {schema}.t (a int); INSERT INTO {schema}.t VALUES (1)' },
];

async function client(t: Parameters<typeof requirePg>[0]): Promise<pg.Client> {
  const c = new pg.Client(database);
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

t.test('two hosts migrating an empty database at once create the schema once, in order', async (t) => {
  const admin = await requirePg(t);
  if (!admin) return;
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  t.teardown(() => admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`));
  const [a, b] = [await client(t), await client(t)];
  const results = await Promise.all([migrate(a, SCHEMA, 'test', MIGRATIONS), migrate(b, SCHEMA, 'test', MIGRATIONS)]);
  t.same(results.flat().sort(), [1, 2], 'each version applied by exactly one of them');
  t.same(results.find((r) => r.length > 0), [1, 2], 'in version order');
  const { rows } = await admin.query(`SELECT a, b FROM ${SCHEMA}.t`);
  t.same(rows, [{ a: 1, b: null }], 'the first migration ran once');
  t.same(await migrate(a, SCHEMA, 'test', MIGRATIONS), [], 'a later start applies nothing');
});

t.test('a failing migration leaves nothing behind', async (t) => {
  const admin = await requirePg(t);
  if (!admin) return;
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_fail CASCADE`);
  t.teardown(() => admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_fail CASCADE`));
  const bad = [MIGRATIONS[1]!, { version: 2, sql: 'ALTER TABLE {schema}.nope ADD COLUMN b int' }];
  await t.rejects(migrate(admin, `${SCHEMA}_fail`, 'test', bad), { code: '42P01' }, 'the server error comes through');
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`, [`${SCHEMA}_fail`]);
  t.equal(rows[0].n, 0, 'not even the schema was created');
});

t.test('schema names are plain identifiers', async (t) => {
  const admin = await requirePg(t);
  if (!admin) return;
  for (const bad of ['Bad', 'a;drop', '', 'x'.repeat(64), 42]) {
    await t.rejects(migrate(admin, bad as string, 'test', MIGRATIONS), { code: 'BGW_ERR_INVALID_OPTION' }, JSON.stringify(bad));
  }
});
