/**
 * Schedules declared from SQL: a granted role declares, alters and removes schedules with
 * schedule(), alter_schedule() and unschedule(); the host declares the allowed ones as fleet
 * schedules and writes why it refused the others; a role without the grants is refused by
 * PostgreSQL; who declared a row cannot be forged.
 */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS, attachSqlSchedules, silentLogger } from '../../dist/lib/index.js';
import { pollUntil } from '../helpers/deadline.js';
import { database, requirePg } from '../helpers/pg.js';
import { finishes, job, scheduleHost } from '../helpers/schedule.js';

const SCHEMA = 'bgw_sql_sched';
const ROLE = 'bgw_sched_declarer';

t.test('declare, alter and remove schedules from SQL', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.query(`DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN EXECUTE 'DROP OWNED BY ${ROLE}'; DROP ROLE ${ROLE}; END IF; END $$`);
  await client.query(`CREATE ROLE ${ROLE}`);
  const pm = await scheduleHost(t, { database });
  const sql = await attachSqlSchedules(pm, { schema: SCHEMA, allow: { job: { worker: { module: job, flags: BGWORKER_SHMEM_ACCESS } } } }, silentLogger);
  t.teardown(() => sql.close());
  await t.rejects(client.query(`SET ROLE ${ROLE}; SELECT ${SCHEMA}.schedule('nope', 'job', interval '1 hour')`), { code: '42501' }, 'no grants: permission denied');
  await client.query('RESET ROLE');
  for (const grant of [
    `GRANT USAGE ON SCHEMA ${SCHEMA} TO ${ROLE}`,
    `GRANT SELECT, INSERT, DELETE ON ${SCHEMA}.schedules TO ${ROLE}`,
    `GRANT UPDATE (type, arg, every, cron, time_zone, options, scheduled) ON ${SCHEMA}.schedules TO ${ROLE}`,
    `GRANT EXECUTE ON FUNCTION ${SCHEMA}.schedule(text, text, interval, text, text, jsonb, jsonb), ${SCHEMA}.alter_schedule(text, boolean, jsonb), ${SCHEMA}.unschedule(text) TO ${ROLE}`,
  ]) await client.query(grant);
  await client.query(`SET ROLE ${ROLE}`);
  await client.query(`SELECT ${SCHEMA}.schedule('sql tick', 'job', interval '200 milliseconds', options => '{"maxRetries": 0}')`);
  await client.query(`SELECT ${SCHEMA}.schedule('not here', 'unknown_type', interval '1 hour')`);
  await client.query(`SELECT ${SCHEMA}.schedule('bad cron', 'job', cron => '61 * * * *')`);
  await client.query(`INSERT INTO ${SCHEMA}.schedules (name, type, every, declared_by) VALUES ('forged', 'job', interval '1 hour', 'postgres')`);
  const { rows: [forged] } = await client.query(`SELECT declared_by FROM ${SCHEMA}.schedules WHERE name = 'forged'`);
  t.equal(forged.declared_by, ROLE, 'declared_by is stamped by the trigger, whatever the caller wrote');
  await client.query('RESET ROLE');
  const named = (n: string) => sql.schedules().find((w) => w.name === n);
  await pollUntil(() => named('sql tick') !== undefined, 'the host to declare "sql tick"');
  const [run] = await finishes(named('sql tick')!, 1, 'a run of the schedule declared from SQL');
  t.equal(run!.status, 'success');
  t.equal(named('sql tick')!.fleetSchema, SCHEMA, 'declared fleet-wide in the schema');
  t.equal(named('not here'), undefined, 'a type this host does not allow is left to others');
  const errorOf = async (n: string) => (await client.query<{ error: string | null }>(`SELECT error FROM ${SCHEMA}.schedules WHERE name = $1`, [n])).rows[0]?.error;
  await sql.settled();
  t.match(await errorOf('bad cron'), /61/, 'the reason a row was refused is in its error column');
  t.equal(await errorOf('sql tick'), null);
  const { rows: [who] } = await client.query(`SELECT declared_by FROM ${SCHEMA}.schedules WHERE name = 'sql tick'`);
  t.equal(who.declared_by, ROLE);
  await client.query(`SET ROLE ${ROLE}`);
  await client.query(`SELECT ${SCHEMA}.alter_schedule('sql tick', scheduled => false)`);
  await client.query('RESET ROLE');
  await pollUntil(() => named('sql tick')?.stats().scheduled === false, 'the schedule to be paused from SQL');
  await client.query(`SET ROLE ${ROLE}`);
  const { rows: [gone] } = await client.query(`SELECT ${SCHEMA}.unschedule('sql tick') AS gone`);
  await client.query('RESET ROLE');
  t.equal(gone.gone, true);
  await pollUntil(() => named('sql tick') === undefined, 'the schedule to be removed from SQL');
  t.notOk(pm.schedules().some((w) => w.name === 'sql tick'));
  await sql.close();
  await client.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  await client.query(`DROP OWNED BY ${ROLE}`);
  await client.query(`DROP ROLE ${ROLE}`);
});
