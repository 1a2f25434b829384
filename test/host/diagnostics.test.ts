/** Postmaster events on node:diagnostics_channel: one channel per event, every event published. */
import t, { type Test } from 'tap';
import diagnosticsChannel from 'node:diagnostics_channel';
import { BGWORKER_SHMEM_ACCESS, CHANNELS, observePostmaster, type PostmasterEvents } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

type Seen = { channel: string; message: Record<string, unknown> };

/** Subscribe to every channel for the rest of the test. */
function record(t: Test): Seen[] {
  const seen: Seen[] = [];
  for (const name of Object.values(CHANNELS)) {
    const fn = (message: unknown): void => void seen.push({ channel: name, message: message as Record<string, unknown> });
    diagnosticsChannel.subscribe(name, fn);
    t.teardown(() => diagnosticsChannel.unsubscribe(name, fn));
  }
  return seen;
}

t.test('every Postmaster event has a channel, named bgworker:host:* or bgworker:worker:*', async (t) => {
  const events: Array<keyof PostmasterEvents> = ['phase', 'shutdown', 'registered', 'unregistered', 'started', 'activity', 'stopped', 'crash', 'failed', 'reinitialized', 'exit', 'callbackError', 'ready'];
  t.same(Object.keys(CHANNELS).sort(), [...events].sort());
  for (const name of Object.values(CHANNELS)) t.match(name, /^bgworker:(host|worker):[a-z_]+$/);
});

t.test('a host run is published in order, each message naming the host', async (t) => {
  const seen = record(t);
  const pm = makeHost(t);
  observePostmaster(pm);
  t.equal(observePostmaster(pm), observePostmaster(pm), 'observing twice attaches once');
  pm.registerBackgroundWorker({ name: 'once', module: fixture('exit-zero'), flags: BGWORKER_SHMEM_ACCESS });
  const stopped = nextEvent(pm, 'stopped', 'worker "once" to run and stop');
  await pm.start();
  await stopped;
  await pm.shutdown('fast');
  t.ok(seen.every((s) => s.message['postmaster'] === pm));
  t.same(seen.map((s) => s.channel), [
    CHANNELS.registered, CHANNELS.phase, CHANNELS.phase, CHANNELS.started, CHANNELS.phase, CHANNELS.ready,
    CHANNELS.unregistered, CHANNELS.stopped, CHANNELS.shutdown, CHANNELS.phase, CHANNELS.phase, CHANNELS.exit,
  ]);
  t.match(seen.find((s) => s.channel === CHANNELS.shutdown)!.message, { mode: 'fast' });
  t.match(seen.find((s) => s.channel === CHANNELS.stopped)!.message, { row: { name: 'once', lastExit: { kind: 'normal', code: 0 } } });
  t.same(seen.filter((s) => s.channel === CHANNELS.phase).map((s) => s.message['state']), ['startup', 'hot_standby', 'run', 'wait_backends', 'stopped']);
  t.match(seen.at(-1)!.message, { status: 0 });
});

t.test('a crash-restart cycle: crash, then reinitialized', async (t) => {
  const seen = record(t);
  const pm = makeHost(t);
  observePostmaster(pm);
  pm.registerBackgroundWorker({ name: 'crasher', module: fixture('process-exit'), flags: BGWORKER_SHMEM_ACCESS, mainArg: { code: 3 } });
  const reinitialized = nextEvent(pm, 'reinitialized', 'the crash-restart cycle after the crasher');
  await pm.start();
  await reinitialized;
  const crash = seen.find((s) => s.channel === CHANNELS.crash);
  t.match(crash?.message, { row: { name: 'crasher' } });
  t.ok(seen.some((s) => s.channel === CHANNELS.reinitialized));
});

t.test('the returned function detaches: nothing more is published', async (t) => {
  const seen = record(t);
  const pm = makeHost(t);
  const detach = observePostmaster(pm);
  detach();
  await pm.start();
  await pm.shutdown('fast');
  t.same(seen, []);
  t.not(observePostmaster(pm), detach, 'a host can be observed again after detaching');
});

