/**
 * Property: whatever a dynamic registration holds — names of any Unicode and length, control
 * characters included, flags, start and restart times, extra, mainArg with functions and
 * symbols, notify pids — or if it is no object at all, it ends in a handle (or null: no free
 * slot) or a BgwError whose stable code names one of the fields that break a rule (or the
 * registration itself); and after every batch the slot array keeps its invariants: the
 * activity list holds exactly the accepted registrations, with their names, and once they
 * are terminated every slot can be registered again.
 *
 * The host runs with { ready: false }, so workers registered for RecoveryFinished never
 * start; accepted workers with an earlier start time run graceful-sigterm until terminated.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import fc from 'fast-check';
import {
  BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_CLASS_PARALLEL, BGWORKER_INTERRUPTIBLE, BGWORKER_KNOWN_FLAGS,
  BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwError, type ActivityRow, type BackgroundWorker,
  type BackgroundWorkerHandle, type Postmaster,
} from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';
import { recordingLogger } from '../helpers/log.js';

const SLOTS = 4;
const MAIN_ARG_BYTES = 4096;
const utf8Bytes = (s: string): number => Buffer.byteLength(s);
/** The slot stores flags and pids as Int32: anything wider must be refused. */
const isInt32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31;
const module = fixture('graceful-sigterm');
const validModuleForms = [module, new URL(module), new URL(module).pathname] as const;

// ---- the rules, field by field: the code a value earns, or null ---------------------------

/** C0, DEL, C1 and the Unicode line and paragraph separators: what a terminal or a log reader obeys. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const nameCode = (v: unknown): string | null => {
  if (typeof v !== 'string' || v.length === 0) return 'BGW_ERR_NAME_TOO_LONG';
  if (CONTROL.test(v)) return 'BGW_ERR_INVALID_NAME';
  return utf8Bytes(v) <= 95 ? null : 'BGW_ERR_NAME_TOO_LONG';
};
const optionalNameCode = (v: unknown): string | null => (v === undefined ? null : nameCode(v));
const typeCode = (v: unknown): string | null => (v === undefined || v === '' ? null : nameCode(v));

function flagsAndTimesCodes(w: Record<string, unknown>): string[] {
  const flags = w['flags'] ?? 0;
  const start = w['startTime'] ?? BgWorkerStartTime.ConsistentState;
  const restart = w['restartTime'] ?? -1;
  const codes: string[] = [];
  const flagsOk = isInt32(flags) && (flags as number) >= 0 && ((flags as number) & ~BGWORKER_KNOWN_FLAGS) === 0;
  const startOk = ([0, 1, 2] as unknown[]).includes(start);
  const restartOk = Number.isInteger(restart) && ((restart as number) === -1 || ((restart as number) >= 0 && (restart as number) <= 86_400_000));
  if (!flagsOk) codes.push('BGW_ERR_INVALID_FLAGS');
  if (!startOk) codes.push('BGW_ERR_INVALID_START_TIME');
  if (!restartOk) codes.push('BGW_ERR_INVALID_RESTART_INTERVAL');
  if (!flagsOk) return codes;
  const f = flags as number;
  if (f & BGWORKER_BACKEND_DATABASE_CONNECTION && !(f & BGWORKER_SHMEM_ACCESS)) codes.push('BGW_ERR_INVALID_FLAGS');
  if (f & BGWORKER_BACKEND_DATABASE_CONNECTION && start === 0) codes.push('BGW_ERR_INVALID_FLAGS');
  if (f & BGWORKER_INTERRUPTIBLE && !(f & BGWORKER_BACKEND_DATABASE_CONNECTION)) codes.push('BGW_ERR_INVALID_FLAGS');
  if (f & BGWORKER_CLASS_PARALLEL && restartOk && restart !== -1) codes.push('BGW_ERR_PARALLEL_RESTART');
  return codes;
}

function mainArgCode(v: unknown): string | null {
  try {
    return serialize(v).length > MAIN_ARG_BYTES ? 'BGW_ERR_MAIN_ARG_TOO_LARGE' : null;
  } catch {
    return 'BGW_ERR_MAIN_ARG_NOT_CLONABLE';
  }
}

/** Every code the registration may fail with; empty when it must be accepted. */
function expectedCodes(w: Record<string, unknown>): Set<string> {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) return new Set(['BGW_ERR_INVALID_REGISTRATION']);
  const extra = w['extra'];
  const notify = w['notifyPid'];
  const codes = [
    nameCode(w['name']),
    typeCode(w['type']),
    optionalNameCode(w['function']),
    (validModuleForms as readonly unknown[]).includes(w['module']) ? null : 'BGW_ERR_MODULE_NOT_FOUND',
    ...flagsAndTimesCodes(w),
    extra === undefined || (extra instanceof Uint8Array && extra.length <= 128) ? null : 'BGW_ERR_EXTRA_TOO_LONG',
    mainArgCode(w['mainArg']),
    notify === undefined || notify === null || (isInt32(notify) && (notify as number) >= 0) ? null : 'BGW_ERR_INVALID_OPTION',
  ];
  return new Set(codes.filter((c): c is string => c !== null));
}

// ---- arbitraries ----------------------------------------------------------------------------

/** Mostly values a rule accepts, sometimes ones it refuses: a batch then mixes both. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: invalid });

/** A name with control characters spliced in (and sometimes too long as well: the control check comes first). */
const withControl = fc
  .tuple(
    fc.string({ unit: 'grapheme', maxLength: 100 }),
    fc.array(fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }), fc.constantFrom(0x2028, 0x2029)), { minLength: 1, maxLength: 3 }),
    fc.nat(),
  )
  .map(([s, codes, at]) => {
    const i = s.length === 0 ? 0 : at % s.length;
    return s.slice(0, i) + String.fromCharCode(...codes) + s.slice(i);
  });
const anyName = mostly(
  fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.constantFrom('é'.repeat(47), '\u{1F600}'.repeat(23), 'x'.repeat(95), '\uD800', 'a\uDC00b', 'nbsp\u00a0and\u200bzwsp'),
  ),
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 60, maxLength: 120 }).filter((s) => utf8Bytes(s) > 95),
    fc.constantFrom('', 'é'.repeat(48), '\u{1F600}'.repeat(24), 'x'.repeat(96), 42, null, ['a'], { toString: () => 'x' }),
    withControl,
  ),
);
const anyModule = mostly(fc.constantFrom(...validModuleForms), fc.constantFrom('/no/such/module.js', 'https://example.com/w.js', '', `/${'d'.repeat(1100)}.js`, 7, null));
const anyFlags = mostly(
  fc.constantFrom(
    0, BGWORKER_SHMEM_ACCESS, BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
    BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_INTERRUPTIBLE, BGWORKER_CLASS_PARALLEL,
    BGWORKER_SHMEM_ACCESS | BGWORKER_CLASS_PARALLEL, null,
  ),
  fc.oneof(fc.integer({ min: -4, max: 64 }), fc.constantFrom(BGWORKER_INTERRUPTIBLE, 1.5, Number.NaN, '1', 2 ** 32 + BGWORKER_SHMEM_ACCESS, 2 ** 53)),
);
const anyStartTime = mostly(fc.constantFrom(0, 1, 2, null), fc.constantFrom(-1, 3, 0.5, '1'));
const anyRestartTime = mostly(
  fc.oneof(fc.constantFrom(-1, 0, 1, 86_400_000, null), fc.integer({ min: 0, max: 86_400_000 })),
  fc.constantFrom(-2, 86_400_001, 2.5, Number.NaN, Infinity, '5'),
);
const anyExtra = mostly(fc.uint8Array({ maxLength: 128 }), fc.oneof(fc.uint8Array({ minLength: 129, maxLength: 200 }), fc.constantFrom([1, 2, 3], 'bytes', null)));
const anyMainArg = mostly(
  fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withBoxedValues: true, withNullPrototype: true, withSparseArray: true }),
  fc.oneof(fc.func(fc.integer()), fc.constant(Symbol('not clonable')), fc.record({ handler: fc.func(fc.integer()) }), fc.string({ minLength: 4100, maxLength: 4200 })),
);
const anyNotifyPid = mostly(fc.oneof(fc.constantFrom(null, 0), fc.integer({ min: 1, max: 2 ** 31 - 1 })), fc.constantFrom(-1, 1.5, '3', 2 ** 31, 2 ** 32 + 7));
const anyFunction = mostly(fc.constant('main'), fc.constantFrom('', 'f'.repeat(96), 42, 'ma\nin', 'main\u001b'));

const anyRecord = fc.record(
  {
    name: anyName, type: anyName, function: anyFunction, module: anyModule, flags: anyFlags, startTime: anyStartTime,
    restartTime: anyRestartTime, extra: anyExtra, mainArg: anyMainArg, notifyPid: anyNotifyPid,
  },
  { requiredKeys: ['name', 'module'] },
);
/** Now and then not an object at all; typed as a record, as a caller without types might pass it. */
const notARecord = fc.constantFrom(null, 'worker', 42, [{ name: 'w', module }]) as fc.Arbitrary<unknown> as fc.Arbitrary<Record<string, unknown>>;
const anySpec = mostly(anyRecord, notARecord);

// ---- the slot array seen from the host --------------------------------------------------------

/** Slots the host's list holds, kept current by its registered/unregistered events. */
function trackSlots(pm: Postmaster): { has(slot: number): boolean; until(slot: number, listed: boolean): Promise<unknown> } {
  const listed = new Set<number>();
  pm.on('registered', (r) => listed.add(r.slot));
  pm.on('unregistered', (r) => listed.delete(r.slot));
  return {
    has: (slot) => listed.has(slot),
    until: (slot, want) =>
      listed.has(slot) === want
        ? Promise.resolve()
        : nextEvent<[ActivityRow]>(pm, want ? 'registered' : 'unregistered', `slot ${slot} to be ${want ? 'listed' : 'freed'}`, (r) => r.slot === slot),
  };
}

/** A spec's registration: the handle or null, or the code it was refused with (twice, the same). */
async function register(pm: Postmaster, w: Record<string, unknown>): Promise<BackgroundWorkerHandle | null | string> {
  try {
    return await pm.registerDynamicBackgroundWorker(w as unknown as BackgroundWorker);
  } catch (err) {
    assert.ok(err instanceof BgwError, `a typed error, not ${String(err)}`);
    const again = await pm.registerDynamicBackgroundWorker(w as unknown as BackgroundWorker).catch((e: BgwError) => e.code);
    assert.equal(again, err.code, 'the same spec is refused with the same code');
    return err.code;
  }
}

t.test('registration specs: a handle or a typed error, and the slot array invariants after every batch', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: SLOTS, mainArgBytes: MAIN_ARG_BYTES });
  await pm.start({ ready: false });
  const slots = trackSlots(pm);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

  await fc.assert(
    fc.asyncProperty(fc.array(anySpec, { minLength: 1, maxLength: 8 }), async (specs) => {
      const accepted: Array<{ h: BackgroundWorkerHandle; w: Record<string, unknown> }> = [];
      for (const w of specs) {
        const expected = expectedCodes(w);
        const got = await register(pm, w);
        if (typeof got === 'string') {
          assert.ok(expected.has(got), `refused with ${got}; the spec breaks ${[...expected].join(', ') || 'no rule'}`);
          count(got);
          continue;
        }
        assert.equal(expected.size, 0, `accepted, yet it breaks ${[...expected].join(', ')}`);
        count(got ? 'accepted' : 'no free slot');
        if (got) accepted.push({ h: got, w });
      }
      await Promise.all(accepted.map(({ h }) => slots.until(h.slot, true)));
      const rows = pm.activity();
      assert.deepEqual(rows.map((r) => r.slot).sort(), accepted.map(({ h }) => h.slot).sort(), 'the list holds exactly the accepted registrations');
      for (const { h, w } of accepted) {
        const row = rows.find((r) => r.slot === h.slot)!;
        assert.equal(row.name, (w['name'] as string).toWellFormed(), 'the name as registered (lone surrogates become U+FFFD)');
      }
      await Promise.all(accepted.map(({ h }) => h.terminate()));
      await Promise.all(accepted.map(({ h }) => slots.until(h.slot, false)));
      assert.deepEqual(pm.activity(), [], 'terminated: every slot is free');
      await fillEverySlot(pm, slots);
    }),
    { numRuns: 100 },
  );
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.ok(outcomes.get('accepted'), 'some specs were accepted');
  t.ok(outcomes.size > 6, 'and many rules were exercised');
});

/** maxWorkerProcesses registrations of a valid worker succeed, one more gets null; then all are terminated. */
async function fillEverySlot(pm: Postmaster, slots: ReturnType<typeof trackSlots>): Promise<void> {
  const w = { name: 'filler', module, startTime: BgWorkerStartTime.RecoveryFinished };
  const handles: BackgroundWorkerHandle[] = [];
  for (let i = 0; i < SLOTS; i++) {
    const h = await pm.registerDynamicBackgroundWorker(w);
    assert.ok(h, `registration ${i + 1} of ${SLOTS} finds a free slot`);
    handles.push(h);
  }
  assert.equal(await pm.registerDynamicBackgroundWorker(w), null, 'one more finds none');
  await Promise.all(handles.map((h) => slots.until(h.slot, true)));
  await Promise.all(handles.map((h) => h.terminate()));
  await Promise.all(handles.map((h) => slots.until(h.slot, false)));
}

// The slot stores Int32s: values beyond them must be refused, not truncated (2**32 + 1 would
// otherwise become BGWORKER_SHMEM_ACCESS, and notifyPid 2**32 + 7 thread 7).
t.test('flags and notifyPid beyond 32 bits are refused or reach the worker unchanged', async (t) => {
  const log = recordingLogger();
  const pm = makeHost(t, { logger: log });
  await pm.start();
  for (const fields of [{ flags: 2 ** 32 + BGWORKER_SHMEM_ACCESS }, { notifyPid: 2 ** 32 + 7 }, { notifyPid: 2 ** 31 }]) {
    log.lines.length = 0;
    const h = await pm.registerDynamicBackgroundWorker({ name: 'reporter', module: fixture('log-entry'), ...fields }).catch((e: BgwError) => e.code);
    if (typeof h === 'string') {
      t.pass(`${JSON.stringify(fields)} refused with ${h}`);
      continue;
    }
    // Lines are recorded from the reset above, so the worker's line is found even if it came first.
    const seen = log.waitFor(/^entry /, `the worker registered with ${JSON.stringify(fields)} to log its entry`);
    const entry = JSON.parse((await seen).slice('entry '.length)) as Record<string, number>;
    t.match(entry, fields, `${JSON.stringify(fields)}: the worker sees ${JSON.stringify(entry)}`);
  }
});
