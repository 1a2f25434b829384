/**
 * Soak: for BGW_SOAK_SECONDS (default 20) every slot of a host cycles through register →
 * run → exit, terminate or restart, while two adders and the host add to a lock-guarded
 * counter, two workers play latch ping-pong and test_shm_mq round trips go through a ring
 * (test/fixtures/soak-load.ts). At the end the counter and the ping-pong are exact, every
 * slot is free and all maxWorkerProcesses registrations succeed again, the shutdown leaves
 * no thread, and RSS has grown by less than a generous bound.
 *
 * Then shutdown under that load in each mode, each in a process of its own
 * (test/fixtures/load-host.ts): the shutdown completes and the process exits by itself.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BGWORKER_SHMEM_ACCESS, type ShutdownMode } from '../../dist/lib/index.js';
import { Load, loadHostOptions } from '../../dist/test/fixtures/soak-load.js';
import { within } from '../helpers/deadline.js';
import { fixture, makeHost } from '../helpers/host.js';
import { osThreadCount, settledThreadCount } from '../helpers/threads.js';

const SECONDS = Number(process.env['BGW_SOAK_SECONDS'] ?? 20);
const SLOTS = 16;
/** RSS may grow by this much over the soak: far above what warm-up costs, far below a per-cycle leak. */
const RSS_GROWTH_BOUND_MB = 192;
const MB = 1024 * 1024;
/** A load host starts, cycles its lanes and shuts down in seconds; a minute means it hangs. */
const LOAD_HOST_MS = 60_000;

t.setTimeout((SECONDS + 90) * 1000);

t.test(`soak: ${SECONDS} s of slot cycling under lock, latch and queue load`, async (t) => {
  const threadsBefore = osThreadCount();
  const rssBefore = process.memoryUsage.rss();
  const pm = makeHost(t, loadHostOptions(SLOTS));
  await pm.start();
  const load = new Load(pm, SLOTS);
  await within(load.start(), 'the adders to count and the ping-pong to play');
  const t0 = performance.now();
  await sleep(SECONDS * 1000); // the soak's length, not a synchronisation
  const alive = within(load.pingPongAlive(), 'the ping-pong to play its next rounds');
  const laneErrors = await within(load.stopLanes(), 'the lanes to finish their current cycles');
  t.same(laneErrors, [], 'no lane failed: every registration found a free slot, every cycle completed');
  await t.resolves(alive, 'the ping-pong still plays at the end: no wake-up was lost');
  await within(load.stopWorkers(), 'the adders and the ping-pong to stop on terminate');
  const seconds = (performance.now() - t0) / 1000;
  const f = load.figures();
  t.equal(f.counter[0], f.adderTallies + f.hostAdds, `counter exact: ${f.counter[0]} = adders ${f.adderTallies} + host ${f.hostAdds}`);
  t.equal(f.counter[1], f.counter[0], 'both words under the lock agree');
  t.equal(f.pingPongRounds[0] - f.pingPongRounds[1], f.turn, `ping-pong exact: ${f.pingPongRounds.join(' / ')} rounds, turn ${f.turn}`);
  t.same(pm.activity(), [], 'every slot is free again');

  const refill = { module: fixture('wait-for-terminate'), flags: BGWORKER_SHMEM_ACCESS };
  const handles = [];
  for (let i = 0; i < SLOTS; i++) handles.push(await pm.registerDynamicBackgroundWorker({ name: `refill ${i}`, ...refill }));
  t.ok(handles.every((h) => h !== null), `all ${SLOTS} registrations succeed again: no slot leaked`);
  t.equal(await pm.registerDynamicBackgroundWorker({ name: 'one too many', ...refill }), null, 'and not one more');
  await Promise.all(handles.map((h) => h!.terminate()));
  await within(Promise.all(handles.map((h) => h!.waitForShutdown())), 'the refill workers to stop on terminate');

  await pm.shutdown('fast');
  t.same(pm.activity(), [], 'activity() is empty after shutdown');
  const leaked = threadsBefore === null ? null : (await settledThreadCount(threadsBefore))! - threadsBefore;
  if (leaked !== null) t.equal(leaked, 0, 'no thread left');
  const rssAfter = process.memoryUsage.rss();
  const ops = f.cycles + f.queueRoundTrips + f.counter[0] + f.pingPongRounds[0] + f.pingPongRounds[1];
  t.comment(
    `soak ${seconds.toFixed(1)} s: ${f.cycles} slot cycles, ${f.queueRoundTrips} queue round trips, ${f.counter[0]} locked additions, ` +
      `${f.pingPongRounds[0] + f.pingPongRounds[1]} latch hand-overs (${ops} operations); leaked slots 0, leaked threads ${leaked ?? 'n/a'}; ` +
      `RSS ${(rssBefore / MB).toFixed(0)} MB → ${(rssAfter / MB).toFixed(0)} MB`,
  );
  t.ok(rssAfter - rssBefore < RSS_GROWTH_BOUND_MB * MB, `RSS grew by less than ${RSS_GROWTH_BOUND_MB} MB`);
});

/** Run load-host.js in its own process, killed with the test; resolves with its report and how it ended. */
async function loadHost(t: Test, mode: ShutdownMode): Promise<{ report: Record<string, unknown>; code: number | null; exitAfterReportMs: number }> {
  const child = spawn(process.execPath, [fileURLToPath(fixture('load-host')), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  let out = '';
  let reportedAt = 0;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) reportedAt ||= performance.now();
  });
  const [code] = await within(exited, `the ${mode} load host to report and exit by itself`, LOAD_HOST_MS);
  return { report: JSON.parse(out || '{}'), code, exitAfterReportMs: performance.now() - reportedAt };
}

for (const mode of ['smart', 'fast', 'immediate'] as const) {
  t.test(`shutdown under load, ${mode}${mode === 'smart' ? ' with no sessions' : ''}: it completes and the process exits by itself`, async (t) => {
    const { report, code, exitAfterReportMs } = await loadHost(t, mode);
    t.comment(JSON.stringify(report));
    t.equal(report['state'], 'stopped', 'the shutdown completed');
    t.equal(report['stillRunning'], 0, 'no worker runs after it');
    t.ok((report['cycles'] as number) >= 10, 'it was under load: the lanes had cycled');
    t.equal(code, 0, 'the process exited by itself, with status 0');
    t.ok(exitAfterReportMs < 5000, `and promptly (${exitAfterReportMs.toFixed(0)} ms after its report)`);
  });
}
