/**
 * The host must not die of the user's callbacks (lib/host/contained.ts): a listener that
 * throws or rejects, a logger that throws, a handle listener that throws, and a shmem
 * region init that throws at start or when a crash cycle rebuilds shared memory. Each is
 * reported ('callbackError', the count) and the host goes on in a defined state.
 */
import t from 'tap';
import { BGWORKER_SHMEM_ACCESS, type ActivityRow } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent, nextEvents, stoppedRow } from '../helpers/host.js';

const S = BGWORKER_SHMEM_ACCESS;
const once = { module: fixture('exit-zero'), flags: S };

t.test('listeners that throw or reject are contained; the others still run', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  const seen: string[] = [];
  pm.on('stopped', () => {
    throw new Error('listener bug');
  });
  pm.on('stopped', async () => {
    throw new Error('async listener bug');
  });
  pm.on('stopped', (r) => void seen.push(r.name));
  const reported = nextEvents<[unknown, string]>(pm, 'callbackError', 2, 'both listener errors to be reported');
  await pm.registerDynamicBackgroundWorker({ ...once, name: 'a' });
  const errors = await reported;
  t.same(errors.map(([e]) => (e as Error).message).sort(), ['async listener bug', 'listener bug']);
  t.match(errors[0]![1], /"stopped" listener/);
  t.same(seen, ['a'], 'the listener after the throwing ones ran');
  const b = stoppedRow(pm, 'b');
  await pm.registerDynamicBackgroundWorker({ ...once, name: 'b' });
  await b;
  t.pass('the host goes on launching and reaping');
  t.ok(pm.callbackErrorCount >= 4, 'every failure is counted');
});

t.test('a throwing logger and a throwing handle listener do not stop the host', async (t) => {
  const bad = () => {
    throw new Error('logger bug');
  };
  const pm = makeHost(t, { logger: { debug: bad, info: bad, warn: bad, error: bad } });
  await pm.start();
  const h = await pm.registerDynamicBackgroundWorker({ name: 'w', module: fixture('wait-for-terminate'), flags: S });
  h!.on('stopped', () => {
    throw new Error('handle listener bug');
  });
  const reported = nextEvent<[unknown, string]>(pm, 'callbackError', 'the handle listener error', (e) => (e as Error).message === 'handle listener bug');
  await within(h!.waitForStartup(), 'worker "w" to start');
  await h!.terminate();
  const [, where] = await reported;
  t.match(where, /"stopped" listener of a handle/);
  t.equal((await within(h!.waitForShutdown(), 'the handle wait')).status, 'stopped');
  const again = await pm.registerDynamicBackgroundWorker({ ...once, name: 'after' });
  t.ok(again, 'registrations still work with a logger that throws on every line');
});

t.test('a region init that throws at start: start() rejects cleanly, nothing runs', async (t) => {
  const pm = makeHost(t, { shmem: { r: { size: 64, init: () => { throw new Error('init bug'); } } } });
  pm.registerBackgroundWorker({ ...once, name: 'static' });
  await t.rejects(pm.start(), { code: 'BGW_ERR_SHMEM_INIT_FAILED', cause: { message: 'init bug' } });
  t.equal(pm.pmState, 'stopped');
  t.equal(pm.health().status, 'failed');
  await t.rejects(pm.registerDynamicBackgroundWorker({ ...once, name: 'x' }), { code: 'BGW_ERR_POSTMASTER_STOPPED' });
  await pm.shutdown('fast');
  t.same(pm.activity(), [], 'no worker was started');
});

t.test('a region init that throws when a crash cycle rebuilds shared memory: the host dies, the process does not', async (t) => {
  let inits = 0;
  const pm = makeHost(t, {
    shmem: {
      r: {
        size: 64,
        init: () => {
          if (++inits > 1) throw new Error('reinit bug');
        },
      },
    },
  });
  await pm.start();
  const exit = nextEvent<[number]>(pm, 'exit', 'the host to give up');
  const reported = nextEvent<[unknown, string]>(pm, 'callbackError', 'the init error');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), mainArg: { code: 2 }, flags: S });
  const [err, where] = await reported;
  t.equal((err as Error).message, 'reinit bug');
  t.match(where, /shmem region init/);
  t.same(await exit, [1], 'exit status 1: dead');
  t.equal(pm.pmState, 'dead');
  t.equal(pm.health().status, 'failed');
});

t.test('the crash row of a contained listener failure still reaches later listeners', async (t) => {
  const pm = makeHost(t);
  await pm.start();
  pm.once('crash', () => {
    throw new Error('once listener bug');
  });
  const crash = nextEvent<[ActivityRow]>(pm, 'crash', 'the crash event');
  await pm.registerDynamicBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), mainArg: { code: 2 }, flags: S, restartTime: -1 });
  t.equal((await crash)[0].name, 'crasher');
  t.equal(pm.listenerCount('crash'), 0, 'the once listener removed itself even though it threw');
});
