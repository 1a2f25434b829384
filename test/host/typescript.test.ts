/**
 * TypeScript worker modules with no set-up: a .ts module registered from a host started with
 * no loader at all runs (the thread registers tsx for itself); a thread that runs JavaScript
 * never gets a TypeScript loader; preloaded TypeScript modules, static workers and reused
 * threads take the same path.
 */
import t, { type Test } from 'tap';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow, type BackgroundWorker } from '../../dist/lib/index.js';
import { PROBE_UNKNOWN_EXTENSION, TS_PROBE } from '../../dist/test/fixtures/ts-probe.js';
import { TS_LOADED } from '../../dist/test/fixtures/typed.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

/** The fixture's source file, as a user registers a module they have not compiled. */
const typedSource = new URL('../fixtures/typed.ts', import.meta.url);
const S = BGWORKER_SHMEM_ACCESS;
const typed = (value: number, extra: Partial<BackgroundWorker> = {}): BackgroundWorker =>
  ({ name: `typed ${value}`, module: typedSource, flags: S, mainArg: { value }, ...extra });

async function runToEnd(t: Test, pm: ReturnType<typeof makeHost>, w: BackgroundWorker): Promise<ActivityRow> {
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', `"${w.name}" to run and stop`, (r) => r.name === w.name);
  const h = await pm.registerDynamicBackgroundWorker(w);
  t.ok(h, `"${w.name}" got a slot`);
  const [row] = await stopped;
  return row;
}

t.test('a .ts module registered from a host with no loader runs', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, execArgv: [] });
  await pm.start();
  const row = await runToEnd(t, pm, typed(42));
  t.match(row.lastExit, { kind: 'normal', code: 0 }, 'the TypeScript worker ended normally');
  t.equal(pm.shmem('test').int32[TS_LOADED], 42, 'its code ran');
});

t.test('a JavaScript worker\'s thread has no TypeScript loader', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 } });
  await pm.start();
  const row = await runToEnd(t, pm, { name: 'probe', module: fixture('ts-probe'), flags: S, mainArg: { module: typedSource.href } });
  t.match(row.lastExit, { kind: 'normal' });
  t.equal(pm.shmem('test').int32[TS_PROBE], PROBE_UNKNOWN_EXTENSION, 'Node refused the .ts extension in that thread');
  t.equal(pm.shmem('test').int32[TS_LOADED], 0, 'the TypeScript module never ran');
});

t.test('static, preloaded and reused: every path loads TypeScript', async (t) => {
  const pm = makeHost(t, { shmem: { test: 64 }, preload: [typedSource], spareThreads: 2 });
  pm.registerBackgroundWorker(typed(7, { name: 'static typed', restartTime: -1 }));
  const first = nextEvent<[ActivityRow]>(pm, 'stopped', 'the static TypeScript worker to stop', (r) => r.name === 'static typed');
  await pm.start();
  t.match((await first)[0].lastExit, { kind: 'normal' });
  t.equal(pm.shmem('test').int32[TS_LOADED], 7, 'the static worker ran');
  const pids = [];
  for (const v of [8, 9]) {
    const started = nextEvent<[ActivityRow]>(pm, 'started', `reusable typed ${v} to start`, (r) => r.name === `typed ${v}`);
    await runToEnd(t, pm, typed(v, { reusable: true }));
    pids.push((await started)[0].pid);
    t.equal(pm.shmem('test').int32[TS_LOADED], v, `life ${v} ran`);
  }
  t.equal(pids[0], pids[1], 'the second reusable life ran in the thread that had loaded it');
});
