/**
 * Fuzzing the control channel's NOTIFY-payload mode (needs PostgreSQL): hostile payloads — random JSON,
 * strings that are not JSON, payloads over the size limit, prototype-pollution keys, names
 * with control characters, fields of the wrong type, Unicode of every kind — sent with
 * pg_notify one at a time. A payload launches a worker if and only if it is a valid request
 * for an allowed type; every other one is logged as rejected and registers nothing; nothing
 * is polluted, and the host keeps working afterwards.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type pg from 'pg';
import { attachControlChannel, BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART, type Postmaster } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost } from '../helpers/host.js';
import { recordingLogger, type RecordingLogger } from '../helpers/log.js';
import { database, requirePg } from '../helpers/pg.js';

const CHANNEL = 'bgw_fuzz';
const MAX_PAYLOAD_BYTES = 1024;
const KEYS = new Set(['type', 'name', 'arg', 'reply']);
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
/** Registration refuses names a terminal would obey (C0, DEL, C1, U+2028/9); JSON carries them as \u escapes. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const isCell = (a: unknown): boolean =>
  typeof a === 'object' && a !== null && !Array.isArray(a) && Object.keys(a).join() === 'cell' && Number.isInteger((a as { cell: unknown }).cell);
const checkArg = (a: unknown): boolean => a === undefined || isCell(a);

const allow = {
  waiter: { worker: { type: 'waiter', module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART }, checkArg },
};

/** The documented contract: what a request must be to launch a worker. */
function launches(payload: string): boolean {
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return false;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return false;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => !KEYS.has(k)) || r['type'] !== 'waiter') return false;
  const name = r['name'];
  if (name !== undefined && (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > 95 || CONTROL.test(name))) return false;
  const reply = r['reply'];
  if (reply !== undefined && (typeof reply !== 'string' || !IDENT.test(reply))) return false;
  return checkArg(r['arg']);
}

// ---- payloads -------------------------------------------------------------------------------

const anyJsonish = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ unit: 'binary', maxLength: 20 }));
const anyRequest = fc
  .record(
    {
      type: fc.oneof({ weight: 3, arbitrary: fc.constant('waiter') }, fc.constantFrom('worker_spi', 'hello_world', '__proto__', 'constructor', 'toString', ''), anyJsonish),
      name: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', minLength: 90, maxLength: 120 }), anyJsonish),
      arg: fc.oneof(fc.record({ cell: fc.integer({ min: 0, max: 15 }) }), fc.record({ cell: anyJsonish }), anyJsonish),
      reply: fc.oneof(fc.constantFrom('fuzz_reply', 'Robert\'); DROP TABLE x;--', 'UPPER', 'x'.repeat(64), ''), anyJsonish),
      module: fc.constantFrom('/tmp/evil.js', fixture('exit-zero')),
    },
    { requiredKeys: [] },
  )
  .map((r) => JSON.stringify(r));
const validRequest = fc
  .record(
    {
      type: fc.constant('waiter'),
      name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
      arg: fc.record({ cell: fc.integer({ min: 0, max: 15 }) }),
      reply: fc.constant('fuzz_reply'),
    },
    { requiredKeys: ['type'] },
  )
  .map((r) => JSON.stringify(r));
const crafted = fc.constantFrom(
  '{"__proto__": {"polluted": true}, "type": "waiter"}',
  '{"type": "waiter", "constructor": {"prototype": {"polluted": true}}}',
  '{"type": "waiter", "arg": {"__proto__": {"cell": 1}}}',
  '{"type": "waiter", "arg": {"cell": 1, "__proto__": {"polluted": true}}}',
  '{"type": "__proto__"}',
  '{"type": "constructor", "arg": {"cell": 1}}',
  '{"type": "hasOwnProperty"}',
  '{"type": "waiter", "name": "\\u0000"}',
  '{"type": "waiter", "name": "a\\u001b[2Jb"}',
  '{"type": "waiter", "name": "line\\u2028break"}',
);
const notJson = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('not json', '{', '[1,2', 'NaN', "{'type': 'waiter'}", '{"type": "waiter",}', 'null', 'true', '"waiter"', '[{"type": "waiter"}]'),
);
const oversized = fc.string({ minLength: MAX_PAYLOAD_BYTES, maxLength: 7000 }).map((s) => JSON.stringify({ type: 'waiter', arg: s }));

/** Payloads NOTIFY can carry: no NUL, under 8000 bytes. */
const anyPayload = fc
  .oneof({ weight: 4, arbitrary: anyRequest }, validRequest, fc.json({ maxDepth: 3 }), crafted, notJson, oversized)
  .filter((p) => !p.includes('\0') && Buffer.byteLength(p) < 8000);

// ---- sending --------------------------------------------------------------------------------

/** NOTIFY one payload and wait until the host has logged what it did with it; returns the workers it registered. */
async function send(client: pg.Client, pm: Postmaster, log: RecordingLogger, payload: string): Promise<{ outcome: string; registered: number }> {
  log.lines.length = 0;
  let registered = 0;
  const count = (): void => void registered++;
  pm.on('registered', count);
  try {
    const outcome = log.waitFor(/control channel: (launch request rejected|worker launched)/, `the outcome of ${JSON.stringify(payload).slice(0, 80)}`);
    await client.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    return { outcome: await outcome, registered };
  } finally {
    pm.off('registered', count);
  }
}

t.test('hostile payloads on the control channel launch nothing, are logged as rejected, and leave the host working', async (t) => {
  const client = await requirePg(t);
  if (!client) return;
  const log = recordingLogger();
  const pm = makeHost(t, { database, logger: log, maxWorkerProcesses: 64, shmem: { test: 64 } });
  await pm.start();
  await within(attachControlChannel(pm, { mode: 'notify', channel: CHANNEL, allow, maxPayloadBytes: MAX_PAYLOAD_BYTES }, log), 'the control channel to listen');
  let launched = 0;
  let rejected = 0;

  await fc.assert(
    fc.asyncProperty(anyPayload, async (payload) => {
      const valid = launches(payload);
      const { outcome, registered } = await send(client, pm, log, payload);
      assert.equal(outcome, valid ? 'control channel: worker launched' : 'control channel: launch request rejected', `outcome for ${payload.slice(0, 80)}`);
      assert.equal(registered, valid ? 1 : 0, 'a worker is registered only for a valid request');
      if (valid) launched++;
      else rejected++;
    }),
    { numRuns: 300 },
  );

  t.comment(`${launched} valid requests launched, ${rejected} payloads rejected`);
  t.ok(rejected > 200, 'most payloads were hostile and rejected');
  t.equal(pm.activity().length, launched, 'the only workers are those valid requests launched');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was not polluted');
  const after = await send(client, pm, log, '{"type": "waiter", "name": "after the fuzz", "arg": {"cell": 3}}');
  t.equal(after.outcome, 'control channel: worker launched', 'a valid request still launches afterwards');
  t.equal(pm.activity().find((r) => r.name === 'after the fuzz')?.state, 'running', 'and its worker runs');
  t.equal(pm.pmState, 'run', 'the host keeps running');
});
