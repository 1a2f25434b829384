/**
 * The host's health (lib/host/health.ts), as a service's health check would serve it over
 * HTTP: healthy, degraded while a worker waits to restart after an error, failed once a
 * worker is past its restart intensity (503), healthy again after pm.resetFailed().
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { BGWORKER_SHMEM_ACCESS, healthHandler, type ActivityRow, type Health } from '../../dist/lib/index.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost, nextEvent } from '../helpers/host.js';

async function serve(t: Test, handler: ReturnType<typeof healthHandler>): Promise<() => Promise<{ status: number; body: Health }>> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((res) => server.close(() => res())));
  const { port } = server.address() as { port: number };
  return async () => {
    const res = await within(fetch(`http://127.0.0.1:${port}/health`), 'the health endpoint to answer');
    return { status: res.status, body: (await res.json()) as Health };
  };
}

t.test('healthy, degraded while a worker waits to restart, failed past the brake, healthy after a reset', async (t) => {
  const pm = makeHost(t, { restartIntensity: { maxRestarts: 1, withinSeconds: 60, backoffBaseMs: 5 } });
  const get = await serve(t, healthHandler(pm));
  t.match(await get(), { status: 503, body: { status: 'failed', reasons: [/not running \(state init\)/] } }, 'not started yet');
  await pm.start();
  t.match(await get(), { status: 200, body: { status: 'healthy', reasons: [] } });

  const stopped = nextEvent<[ActivityRow]>(pm, 'stopped', 'the first life to fail');
  await pm.registerDynamicBackgroundWorker({ name: 'slow', module: fixture('process-exit'), mainArg: { code: 1 }, flags: BGWORKER_SHMEM_ACCESS, restartTime: 3600 });
  await stopped;
  t.match(await get(), { status: 200, body: { status: 'degraded', reasons: [/1 worker\(s\) waiting to restart after an error/] } });

  const failed = nextEvent<[ActivityRow]>(pm, 'failed', 'the storm to be marked failed');
  await pm.registerDynamicBackgroundWorker({ name: 'storm', module: fixture('process-exit'), mainArg: { code: 2 }, restartTime: 0 });
  await failed;
  t.match(await get(), { status: 503, body: { status: 'failed', reasons: [/worker "storm" exceeded its restart intensity/] } });

  t.equal(pm.resetFailed('storm'), 1);
  t.not(pm.health().status, 'failed', 'no longer failed once reset (read before the relaunch can run)');
  await pm.shutdown('fast');
  t.match(await get(), { status: 503, body: { status: 'failed', reasons: [/state stopped/] } });
});
