/**
 * Launch from SQL in table mode (the default): PostgreSQL's privileges decide who may ask,
 * the row records who did and what came of it, NOTIFY only rings the doorbell.
 *
 * Two roles made here for the file: `launcher`, granted exactly the README's GRANT lines,
 * and `outsider`, granted only USAGE on the schema (so what refuses it is the table's and
 * the function's privileges, not the schema's). Names carry the process id: other
 * developers' runs share the server. Roles and schemas are dropped at the end.
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import { attachControlChannel, BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART, ControlChannel, silentLogger, type ControlChannelOptions, type Postmaster } from '../../dist/lib/index.js';
import { fixture, makeHost } from '../helpers/host.js';
import { recordingLogger, type RecordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

const TAG = process.pid;
const LAUNCHER = `bgw_launcher_${TAG}`;
const OUTSIDER = `bgw_outsider_${TAG}`;
const WAIT_MS = 10_000;

const allow = {
  waiter: {
    worker: { type: 'waiter', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART },
    checkArg: (a: unknown) => a === undefined || (typeof a === 'object' && a !== null && Number.isInteger((a as { cell?: unknown }).cell)),
  },
  thrower: {
    worker: { type: 'thrower', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART },
    checkArg: (): boolean => {
      throw 'a check that throws a string';
    },
  },
};

function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

interface Row {
  id: string;
  type: string;
  name: string | null;
  requested_by: string;
  session_role: string;
  status: string;
  reply: { ok: boolean; pid?: number; slot?: number; generation?: string; error?: string } | null;
  handled_by_host: string | null;
  handled_at: Date | null;
}

// ---- the file's roles, and one schema per test ----------------------------------------------

let admin: pg.Client | null = null;
const schemas: string[] = [];

t.before(async () => {
  if (!(await requirePg(t))) return;
  admin = new pg.Client(database);
  await admin.connect();
  for (const role of [LAUNCHER, OUTSIDER]) await admin.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN`);
});

t.teardown(async () => {
  if (!admin) return;
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  for (const role of [LAUNCHER, OUTSIDER]) await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
  await admin.end();
});

/** A connection as `role` (the server trusts 127.0.0.1), closed with the test. */
async function connectAs(t: Test, role: string): Promise<pg.Client> {
  const c = new pg.Client({ ...database, user: role });
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

/** The README's GRANT lines for `role` on `schema`. */
async function grantLauncher(schema: string, role: string): Promise<void> {
  await admin!.query(`
    GRANT USAGE ON SCHEMA ${schema} TO ${role};
    GRANT INSERT ON ${schema}.launch_requests TO ${role};
    GRANT USAGE ON SEQUENCE ${schema}.launch_requests_id_seq TO ${role};
    GRANT EXECUTE ON FUNCTION ${schema}.launch(text, jsonb, text, text) TO ${role};
    GRANT SELECT ON ${schema}.launch_requests TO ${role};`);
}

/** Replies arriving on `channel` at `client`, looked up by request id. */
async function inbox(client: pg.Client, channel: string): Promise<(id: string) => Promise<Row['reply'] & { id: string }>> {
  const got = new Map<string, Row['reply'] & { id: string }>();
  const waiting = new Map<string, (r: Row['reply'] & { id: string }) => void>();
  client.on('notification', (n) => {
    if (n.channel !== channel) return;
    const r = JSON.parse(n.payload ?? '');
    got.set(r.id, r);
    waiting.get(r.id)?.(r);
  });
  await client.query(`LISTEN ${channel}`);
  return (id) => {
    const r = got.get(id);
    return r ? Promise.resolve(r) : within(new Promise((res) => waiting.set(id, res)), WAIT_MS, `the reply to request ${id} on ${channel}`);
  };
}

interface Setup {
  pm: Postmaster;
  log: RecordingLogger;
  control: ControlChannel;
  schema: string;
  /** Connected as the granted role, and listening on its reply channel. */
  launcher: pg.Client;
  reply: (id: string) => Promise<Row['reply'] & { id: string }>;
  row: (id: string) => Promise<Row>;
}

let schemaCount = 0;

/** A started host with the control channel attached on a fresh schema, and the launcher granted on it. */
async function setup(t: Test, opts: Partial<ControlChannelOptions> = {}, maxWorkerProcesses = 8): Promise<Setup> {
  const schema = `bgw_ctl_${TAG}_${++schemaCount}`;
  schemas.push(schema);
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log, shmem: { test: 64 }, maxWorkerProcesses });
  await pm.start();
  const control = await attachControlChannel(pm, { schema, channel: `${schema}_bell`, allow, ...opts }, log);
  await grantLauncher(schema, LAUNCHER);
  const launcher = await connectAs(t, LAUNCHER);
  const reply = await inbox(launcher, `${schema}_reply`);
  const row = async (id: string): Promise<Row> => (await admin!.query<Row>(`SELECT * FROM ${schema}.launch_requests WHERE id = $1`, [id])).rows[0]!;
  return { pm, log, control, schema, launcher, reply, row };
}

const launch = async (c: pg.Client, schema: string, args: string, params: unknown[] = []): Promise<string> =>
  (await c.query<{ id: string }>(`SELECT ${schema}.launch(${args}) AS id`, params)).rows[0]!.id;

// ---- who may launch --------------------------------------------------------------------------

t.test('a granted role launches; the row, the reply and the log line say who asked and what started', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { pm, log, control, schema, launcher, reply, row } = await setup(t, { hostId: 'host-1' });
  t.equal(control.mode, 'table', 'table mode is the default');
  t.equal(control.schema, schema);

  const id = await launch(launcher, schema, `'waiter', '{"cell": 1}', 'from sql', $1`, [`${schema}_reply`]);
  const r = await reply(id);
  t.match(r, { id, ok: true, pid: Number, slot: Number, generation: String }, 'the reply names the worker');
  const rec = await row(id);
  t.match(rec, { status: 'launched', requested_by: LAUNCHER, session_role: LAUNCHER, handled_by_host: 'host-1', handled_at: Date }, 'the row records who asked and who handled it');
  t.same(rec.reply, { ok: true, pid: r.pid, slot: r.slot, generation: r.generation }, 'and the outcome');
  t.equal(pm.activity().find((a) => a.name === 'from sql')?.pid, r.pid, 'the worker runs');
  t.match(await within(log.waitFor(/worker launched/), WAIT_MS, 'the launch logged'), `control channel: worker launched for "${LAUNCHER}" (request ${id})`, 'the log line names the role');

  const direct = await launcher.query<{ id: string }>(`INSERT INTO ${schema}.launch_requests (type, name, reply_channel) VALUES ('waiter', 'by insert', $1) RETURNING id`, [`${schema}_reply`]);
  t.match(await reply(direct.rows[0]!.id), { ok: true }, 'a plain INSERT is a request too');
  const own = await launcher.query<Row>(`SELECT id, status FROM ${schema}.launch_requests ORDER BY id`);
  t.same(own.rows.map((x) => x.status), ['launched', 'launched'], 'the launcher can poll its own rows');
});

t.test('a role without the grants is refused by PostgreSQL, and nothing launches', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { pm, schema, launcher, reply } = await setup(t);
  await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${OUTSIDER}`);
  const outsider = await connectAs(t, OUTSIDER);
  await t.rejects(launch(outsider, schema, `'waiter'`), { code: '42501', message: /permission denied for function launch/ }, 'EXECUTE on launch() is not granted to PUBLIC');
  await t.rejects(outsider.query(`INSERT INTO ${schema}.launch_requests (type) VALUES ('waiter')`), { code: '42501', message: /permission denied for table launch_requests/ }, 'nor INSERT');
  await t.rejects(outsider.query(`SELECT * FROM ${schema}.launch_requests`), { code: '42501' }, 'nor SELECT');
  await t.rejects(outsider.query(`SELECT nextval('${schema}.launch_requests_id_seq')`), { code: '42501' }, 'nor the sequence');

  // The launcher's request is handled after the outsider's attempts: had those left a row, it would be older.
  const id = await launch(launcher, schema, `'waiter', NULL, NULL, $1`, [`${schema}_reply`]);
  await reply(id);
  const { rows } = await admin.query(`SELECT requested_by FROM ${schema}.launch_requests`);
  t.same(rows, [{ requested_by: LAUNCHER }], "the outsider's attempts left no row");
  t.equal(pm.activity().length, 1, "only the launcher's worker exists");
});

t.test('who asked cannot be forged: not by the columns, not by UPDATE; SET ROLE is recorded as both roles', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { schema, launcher, reply, row } = await setup(t);
  const forged = await launcher.query<{ id: string }>(
    `INSERT INTO ${schema}.launch_requests (id, type, reply_channel, requested_by, session_role, requested_at, status, reply, handled_at, handled_by_host)
       VALUES (424242, 'waiter', $1, 'postgres', 'postgres', '2000-01-01', 'refused', '{"ok": true}', '2000-01-01', 'nobody') RETURNING id, requested_at`,
    [`${schema}_reply`],
  );
  const id = forged.rows[0]!.id;
  t.not(id, '424242', 'the id comes from the sequence');
  await reply(id);
  t.match(await row(id), { requested_by: LAUNCHER, session_role: LAUNCHER, status: 'launched', reply: { ok: true, pid: Number } }, 'the trigger overwrote every forged column and the request ran as any other');
  await t.rejects(launcher.query(`UPDATE ${schema}.launch_requests SET requested_by = 'postgres'`), { code: '42501' }, 'a launcher cannot UPDATE');
  await t.rejects(launcher.query(`DELETE FROM ${schema}.launch_requests`), { code: '42501' }, 'nor DELETE');

  const asAdmin = await connectAs(t, 'postgres');
  await asAdmin.query(`SET ROLE ${LAUNCHER}`);
  const viaSetRole = await launch(asAdmin, schema, `'waiter', NULL, NULL, $1`, [`${schema}_reply`]);
  await reply(viaSetRole);
  t.match(await row(viaSetRole), { requested_by: LAUNCHER, session_role: 'postgres' }, 'the current role asks; the session role is recorded beside it');
  const seen = await asAdmin.query(`SELECT count(*)::int AS n FROM ${schema}.launch_requests`);
  t.equal(seen.rows[0].n, 2, 'row-level security shows a role only its own rows');
});

// ---- hosts -----------------------------------------------------------------------------------

t.test('a request inserted while no host is attached is handled when one attaches', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const first = await setup(t);
  await first.pm.shutdown('fast');
  const id = await launch(first.launcher, first.schema, `'waiter', NULL, 'left waiting', $1`, [`${first.schema}_reply`]);
  t.equal((await first.row(id)).status, 'pending', 'nobody took it');

  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log });
  await pm.start();
  await attachControlChannel(pm, { schema: first.schema, channel: `${first.schema}_bell`, allow, hostId: 'late host' }, log);
  t.match(await first.reply(id), { ok: true }, 'launched on attach');
  t.match(await first.row(id), { status: 'launched', handled_by_host: 'late host' });
  t.equal(pm.activity().find((a) => a.name === 'left waiting')?.state, 'running');
});

t.test("the control channel's connection is killed: the next request is still handled", async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { schema, launcher, reply, log } = await setup(t);
  const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`bgworker: control ${schema}`]);
  t.equal(killed.rowCount, 1, "the channel's own backend, found by its application_name");
  await within(log.waitFor(/control channel: connection lost/), WAIT_MS, 'the host noticed the lost connection');
  const id = await launch(launcher, schema, `'waiter', NULL, NULL, $1`, [`${schema}_reply`]);
  t.match(await reply(id), { ok: true }, 'handled on a new connection');
});

t.test('two hosts attached to one database launch each request once', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  // More than one host's batch: while one host launches its batch, the other takes the rest.
  const N = 40;
  const a = await setup(t, { hostId: 'host-a', rateLimit: false }, N);
  const log = recordingLogger();
  const pmB = makeHost(t, { database, logger: log, maxWorkerProcesses: N });
  await pmB.start();
  await attachControlChannel(pmB, { schema: a.schema, channel: `${a.schema}_bell`, allow, hostId: 'host-b', rateLimit: false }, log);

  const { rows } = await a.launcher.query<{ id: string }>(
    `SELECT ${a.schema}.launch('waiter', NULL, 'w' || i, $1) AS id FROM generate_series(1, ${N}) AS i`,
    [`${a.schema}_reply`],
  );
  const replies = await Promise.all(rows.map((r) => a.reply(r.id)));
  t.ok(replies.every((r) => r.ok), 'every request launched');
  const handled = await admin.query<{ handled_by_host: string; n: number }>(
    `SELECT handled_by_host, count(*)::int AS n FROM ${a.schema}.launch_requests WHERE status = 'launched' GROUP BY 1 ORDER BY 1`,
  );
  t.comment(`split between the hosts: ${JSON.stringify(handled.rows)}`);
  t.equal(handled.rows.reduce((s, r) => s + r.n, 0), N, 'every row launched, by one host or the other');
  const names = [...a.pm.activity(), ...pmB.activity()].map((r) => r.name).sort();
  t.same(names, Array.from({ length: N }, (_, i) => `w${i + 1}`).sort(), 'each request started exactly one worker, on one host');
  for (const [pm, host] of [[a.pm, 'host-a'], [pmB, 'host-b']] as const) {
    t.equal(pm.activity().length, handled.rows.find((r) => r.handled_by_host === host)?.n ?? 0, `${host} runs what its rows say it launched`);
  }
});

// ---- what is refused -------------------------------------------------------------------------

t.test('the rate limit refuses the excess per role, with the reason in the row', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  // A refill this slow adds nothing during the test: the outcome depends on the burst only.
  const { schema, launcher, reply, row, log } = await setup(t, { rateLimit: { perSecond: 0.001, burst: 3 } });
  const { rows } = await launcher.query<{ id: string }>(`SELECT ${schema}.launch('waiter', NULL, 'r' || i, $1) AS id FROM generate_series(1, 5) AS i`, [
    `${schema}_reply`,
  ]);
  const replies = await Promise.all(rows.map((r) => reply(r.id)));
  t.same(replies.map((r) => r.ok), [true, true, true, false, false], 'the burst is taken in id order, the rest refused');
  t.same((await row(rows[4]!.id)).reply, { ok: false, error: 'rate limited' }, 'the row says why');
  t.match(await within(log.waitFor(/rejected/), WAIT_MS, 'the refusal logged'), `launch request rejected for "${LAUNCHER}"`);

  const asAdmin = await connectAs(t, 'postgres');
  const other = await launch(asAdmin, schema, `'waiter', NULL, 'another role', $1`, [`${schema}_reply`]);
  t.match(await reply(other), { ok: true }, 'another role has its own bucket');
});

t.test('invalid types, arguments and names are refused with their reasons in the row, and launch nothing', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { pm, schema, launcher, reply, row } = await setup(t);
  // launch(type, arg, name, reply_channel); $1 is the reply channel.
  const cases: Array<[string, unknown[], RegExp]> = [
    [`'hello_world', NULL, NULL, $1`, [], /type "hello_world" may not be launched from SQL/],
    [`'__proto__', NULL, NULL, $1`, [], /type "__proto__" may not be launched from SQL/],
    [`'toString', NULL, NULL, $1`, [], /type "toString" may not be launched from SQL/],
    [`'waiter', '{"cell": "x"}', NULL, $1`, [], /argument refused for type "waiter"/],
    [`'waiter', 'null', NULL, $1`, [], /argument refused for type "waiter"/],
    [`'waiter', NULL, $2, $1`, ['n'.repeat(120)], /at most 95 UTF-8 bytes/],
    [`'waiter', NULL, '', $1`, [], /must be a non-empty string/],
    [`'waiter', $2::jsonb, NULL, $1`, [JSON.stringify({ cell: 1, pad: 'x'.repeat(2000) })], /request is longer than 1024 bytes/],
    [`'thrower', '{}', NULL, $1`, [], /a check that throws a string/],
  ];
  for (const [args, params, why] of cases) {
    const id = await launch(launcher, schema, args, [`${schema}_reply`, ...params]);
    const r = await reply(id);
    t.equal(r.ok, false, `refused: ${args}`);
    const rec = await row(id);
    t.equal(rec.status, 'refused');
    t.match(rec.reply?.error, why, why.source);
  }
  await t.rejects(launch(launcher, schema, `'waiter', NULL, NULL, 'Robert''); DROP TABLE x;--'`), { code: '23514' }, 'a reply channel that is no identifier fails the INSERT');
  t.equal(pm.activity().length, 0, 'nothing was registered');
});

// ---- options ---------------------------------------------------------------------------------

t.test('options are checked, and a schema keeps the doorbell channel it was created with', async (t) => {
  if (!admin) return t.plan(0, 'no PostgreSQL');
  const { pm, schema } = await setup(t);
  const bad: Array<[Partial<ControlChannelOptions>, RegExp]> = [
    [{ mode: 'nope' as 'table' }, /mode must be/],
    [{ channel: 'Bad Channel' }, /channel must be/],
    [{ schema: 'x;drop' }, /schema must be/],
    [{ maxPayloadBytes: 0 }, /maxPayloadBytes/],
    [{ rateLimit: { perSecond: 0 } }, /perSecond/],
    [{ rateLimit: { burst: 1.5 } }, /burst/],
  ];
  for (const [o, why] of bad) t.throws(() => new ControlChannel(pm, { allow, ...o }, silentLogger), { code: 'BGW_ERR_INVALID_OPTION', message: why }, why.source);
  await t.rejects(attachControlChannel(pm, { schema, channel: 'another_bell', allow }, silentLogger), { code: 'BGW_ERR_INVALID_OPTION', message: /rings its doorbell on channel "bgw_ctl_\d+_\d+_bell"/ });
});
