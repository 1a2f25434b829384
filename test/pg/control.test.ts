/**
 * Launch from SQL in the NOTIFY-payload mode (mode: 'notify', for trusted databases): an
 * allowed type starts and the caller gets its pid back; everything else is rejected with a
 * logged reason and no side effect. A flood of valid requests, far more than there are
 * slots or than a lock word could count as waiters, gets a reply for every request and
 * leaves BackgroundWorkerLock idle.
 */
import t from 'tap';
import pg from 'pg';
import { attachControlChannel, BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART, silentLogger } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost } from '../helpers/host.js';
import { hex, lockWords } from '../helpers/lock-words.js';
import { recordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

t.test('in notify mode the control channel launches allowed types only', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log });
  await pm.start();
  const allow = {
    waiter: {
      worker: { type: 'waiter', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART },
      checkArg: (a: unknown) => a === undefined || (typeof a === 'object' && a !== null && Number.isInteger((a as { cell?: unknown }).cell)),
    },
  };
  const control = await within(attachControlChannel(pm, { mode: 'notify', channel: 'bgw_control_test', allow }, log), 'the control channel to listen');
  t.equal(control.channel, 'bgw_control_test');
  t.equal(control.mode, 'notify');
  t.equal(control.schema, null, 'no table in notify mode');

  const next = (what: string) =>
    within(new Promise<string>((res) => client.once('notification', (n: pg.Notification) => res(n.payload ?? ''))), what);
  await client.query('LISTEN bgw_reply');
  const send = async (payload: string) => {
    const got = next(`the reply on bgw_reply to ${payload.slice(0, 60)}`);
    await client.query('SELECT pg_notify($1, $2)', ['bgw_control_test', payload]);
    return got;
  };

  const ok = JSON.parse(await send('{"type": "waiter", "name": "from sql", "reply": "bgw_reply"}'));
  t.match(ok, { ok: true, pid: Number, slot: Number, generation: String }, 'launched, pid returned');
  t.equal(pm.activity().find((r) => r.name === 'from sql')?.pid, ok.pid, 'the worker runs');

  const rejected: Array<[string, RegExp]> = [
    ['{"type": "hello_world", "reply": "bgw_reply"}', /may not be launched from SQL/],
    ['{"type": "waiter", "arg": {"cell": "x"}, "reply": "bgw_reply"}', /argument refused/],
    ['{"type": "waiter", "module": "/tmp/evil.js", "reply": "bgw_reply"}', /unknown field\(s\): module/],
    ['{"type": "waiter", "name": "' + 'n'.repeat(120) + '", "reply": "bgw_reply"}', /at most 95 UTF-8 bytes/],
    ['{"type": 7, "reply": "bgw_reply"}', /"type" must be a string/],
    ['{"type": "waiter", "name": "evil\\u001b[2J\\ninjected", "reply": "bgw_reply"}', /name "evil\\x1b\[2J\\ninjected" contains control characters/],
  ];
  for (const [payload, why] of rejected) {
    const r = JSON.parse(await send(payload));
    t.equal(r.ok, false);
    t.match(r.error, why, why.source);
  }
  for (const bad of ['not json', '[1,2]', `{"type": "waiter", "arg": "${'x'.repeat(2000)}"}`, '{"type": "waiter", "reply": "Robert\'); DROP TABLE x;--"}']) {
    log.lines.length = 0;
    await client.query('SELECT pg_notify($1, $2)', ['bgw_control_test', bad]);
    t.match(await log.waitFor(/launch request rejected/, `the rejection of ${bad.slice(0, 30)} to be logged`), /rejected/, `rejected and logged: ${bad.slice(0, 30)}`);
  }
  t.equal(pm.activity().length, 1, 'no side effect: only the one launched worker exists');
});

t.test('a flood of 3000 valid launch requests: every one gets its reply, and BackgroundWorkerLock ends idle', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const slots = 4;
  const pm = makeHost(t, { database, maxWorkerProcesses: slots });
  await pm.start();
  const worker = { type: 'waiter', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART };
  await attachControlChannel(pm, { mode: 'notify', channel: 'bgw_flood', allow: { waiter: { worker } } }, silentLogger);
  const n = 3000;
  const replies: Array<{ ok: boolean; error?: string }> = [];
  let allReplied: () => void = () => {};
  const replied = new Promise<void>((res) => (allReplied = res));
  client.on('notification', (m: pg.Notification) => {
    if (m.channel !== 'bgw_flood_reply') return;
    replies.push(JSON.parse(m.payload ?? 'null'));
    if (replies.length === n) allReplied();
  });
  await client.query('LISTEN bgw_flood_reply');
  // One transaction: the requests arrive together, each distinct (NOTIFY folds duplicates).
  await client.query(
    "SELECT pg_notify('bgw_flood', json_build_object('type', 'waiter', 'name', 'flood ' || i, 'reply', 'bgw_flood_reply')::text) FROM generate_series(1, $1) AS i",
    [n],
  );
  await within(replied, `a reply to each of ${n} launch requests`, 120_000).catch((err: Error) => {
    throw new Error(`${err.message} (${replies.length} replies came)`);
  });
  t.equal(replies.filter((r) => r.ok).length, slots, 'one launch per slot');
  t.same(new Set(replies.filter((r) => !r.ok).map((r) => r.error)), new Set(['no free background worker slot']), 'the rest are refused for want of a slot');
  const bgwLock = lockWords(pm, 0);
  t.equal(hex(bgwLock.state()), hex(0), 'BackgroundWorkerLock is idle');
  t.equal(bgwLock.sleepers(), 0, 'nobody sleeps on it');
});
