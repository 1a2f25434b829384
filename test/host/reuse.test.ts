/**
 * Thread reuse (beyond PostgreSQL, opt-in per registration): a reusable worker's clean end
 * gives its thread back for another life of the same module, whose state then survives;
 * anything of the old life left (a timer, a held lock) means a fresh thread instead; a
 * thread is retired after reuse.maxLives; a worker that is not reusable always gets a fresh
 * thread; per-life runtime state (the abort signal) starts fresh in a reused thread.
 */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow, type BackgroundWorker } from '../../dist/lib/index.js';
import { LIVES_HERE, SIGNAL_ABORTED_AT_START } from '../../dist/test/fixtures/reuse-counter.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const counter = (end: string, reusable = true): BackgroundWorker => ({ name: `counter ${end}`, module: fixture('reuse-counter'), flags: S, reusable, mainArg: { end } });

/** Register, run to its end, and return the life's pid and the row it stopped with. */
async function oneLife(pm: ReturnType<typeof makeHost>, w: BackgroundWorker): Promise<{ pid: number; row: ActivityRow }> {
  const started = nextEvent<[ActivityRow]>(pm, 'started', `a life of "${w.name}" to start`, (r) => r.name === w.name);
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', `the life of "${w.name}" to end`, (r) => r.name === w.name);
  await pm.registerDynamicBackgroundWorker(w);
  const [s] = await started;
  const [row] = await stopped;
  return { pid: s.pid!, row };
}

const host = (t: Parameters<typeof makeHost>[0], reuse = {}) => makeHost(t, { shmem: { test: 64 }, locks: ['counter'], reuse });

t.test('a reusable worker\'s clean lives run in one thread, and its module state survives', async (t) => {
  const pm = host(t);
  await pm.start();
  const cells = pm.shmem('test').int32;
  const pids = [];
  for (let i = 0; i < 5; i++) {
    const { pid, row } = await oneLife(pm, counter(i % 2 ? 'throw' : 'clean'));
    pids.push(pid);
    t.equal(row.lastExit?.kind, i % 2 ? 'error' : 'normal');
  }
  t.equal(new Set(pids).size, 1, `one thread ran all five lives (${pids.join(', ')})`);
  t.equal(cells[LIVES_HERE], 5, 'the module counted five lives: its state survived');
  t.equal(pm.threadCounts().workers, 0, 'no worker thread is counted between lives');
});

t.test('a worker that is not reusable gets a fresh thread for every life', async (t) => {
  const pm = host(t);
  await pm.start();
  const cells = pm.shmem('test').int32;
  const pids = [];
  for (let i = 0; i < 3; i++) pids.push((await oneLife(pm, counter('clean', false))).pid);
  t.equal(new Set(pids).size, 3, 'three threads');
  t.equal(cells[LIVES_HERE], 1, 'each module instance saw one life');
});

t.test('anything of the old life left means a fresh thread: a timer, a held lock', async (t) => {
  for (const end of ['timer', 'lock']) {
    const pm = host(t);
    await pm.start();
    const first = await oneLife(pm, counter(end));
    const second = await oneLife(pm, counter('clean'));
    t.not(second.pid, first.pid, `after a life that ended with a ${end} left, the next runs in another thread`);
    t.equal(first.row.lastExit?.kind, 'normal', `the ${end} life itself ended normally`);
    if (end === 'lock') {
      await t.resolves(pm.lock('counter').with('exclusive', () => {}), 'and the lock it held was released by the exit path');
    }
    await pm.shutdown('fast');
  }
});

t.test('a thread is retired after reuse.maxLives', async (t) => {
  const pm = host(t, { maxLives: 2 });
  await pm.start();
  const pids = [];
  for (let i = 0; i < 4; i++) pids.push((await oneLife(pm, counter('clean'))).pid);
  t.equal(pids[0], pids[1], 'two lives in the first thread');
  t.not(pids[2], pids[1], 'then a fresh one');
  t.equal(pids[2], pids[3]);
});

t.test('a reused thread starts each life with fresh runtime state', async (t) => {
  const pm = host(t);
  await pm.start();
  const cells = pm.shmem('test').int32;
  const w = counter('wait');
  const started = nextEvent<[ActivityRow]>(pm, 'started', 'the waiting life to start');
  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', 'the waiting life to end');
  const h = await pm.registerDynamicBackgroundWorker(w);
  const [s] = await started;
  await h!.waitForReady();
  await h!.terminate();
  const [row] = await stopped;
  t.equal(row.lastExit?.kind, 'terminated', 'the first life was terminated: its abort signal fired');
  const next = await oneLife(pm, counter('clean'));
  t.equal(next.pid, s.pid, 'the next life ran in the same thread');
  t.equal(cells[LIVES_HERE], 2);
  t.equal(cells[SIGNAL_ABORTED_AT_START], 0, 'with an abort signal of its own, not the terminated life\'s');
});

t.test('a crash of a reusable worker is a crash: its thread is gone, the cycle runs', async (t) => {
  const pm = host(t);
  await pm.start();
  const first = await oneLife(pm, counter('clean'));
  const reinit = nextEvent(pm, 'reinitialized', 'the crash-restart cycle');
  const crashed = await oneLife(pm, { name: 'crasher', module: fixture('process-exit'), mainArg: { code: 2 }, flags: S, reusable: true });
  t.equal(crashed.row.lastExit?.kind, 'crash');
  await reinit;
  const after = await oneLife(pm, counter('clean'));
  t.ok(after.pid !== crashed.pid, 'the crashed thread was not reused');
  t.ok(first.pid > 0);
});
