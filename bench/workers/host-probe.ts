/**
 * A child process for host.eld.256 and mem.worker, one configuration per process so that
 * neither memory nor threads from one measurement leak into the next:
 *
 *   ours N   a Postmaster (its spare threads up) then N idle dynamic workers, each running
 *            its entry (it counts itself in shared memory)
 *   bare N   N bare worker_threads that posted "up" and idle
 *
 * It records RSS before and after the N threads (after a settle time, so that spare refills
 * and start-up garbage are done), then the main thread's event-loop delay over a window
 * with everything idle, reports both over IPC and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { BGWORKER_SHMEM_ACCESS, Postmaster, silentLogger } from '../../lib/index.js';

export interface ProbeArgs {
  kind: 'ours' | 'bare';
  count: number;
  settleMs: number;
  windowMs: number;
}

export interface ProbeResult {
  rssPerWorkerMiB: number;
  rssMiB: number;
  startMs: number;
  eldP50Ms: number;
  eldP99Ms: number;
  eldMaxMs: number;
  eldSamples: number;
}

const REGION = 'bench.idle';
const MiB = 1 << 20;

/** A started host with its spares up and settled. */
async function startHost(count: number, settleMs: number): Promise<Postmaster> {
  const pm = new Postmaster({ logger: silentLogger, maxWorkerProcesses: Math.max(count, 1), shmem: { [REGION]: 64 } });
  await pm.start();
  await sleep(settleMs);
  return pm;
}

/** Register `count` idle workers and wait until each has run its entry. */
async function startOurs(pm: Postmaster, count: number): Promise<void> {
  const up = pm.shmem(REGION).int32;
  for (let i = 0; i < count; i++) {
    const h = await pm.registerDynamicBackgroundWorker({ name: `idle ${i}`, module: new URL('./idle.js', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg: { region: REGION } });
    if (!h) throw new Error('no free slot for an idle worker');
  }
  for (let n = Atomics.load(up, 0); n < count; n = Atomics.load(up, 0)) {
    const r = Atomics.waitAsync(up, 0, n, 1000);
    if (r.async) await r.value;
  }
}

async function startBare(count: number): Promise<void> {
  const url = new URL('./bare-idle.js', import.meta.url);
  await Promise.all(Array.from({ length: count }, () => new Promise((resolve) => new Worker(url).once('message', resolve))));
}

async function probe(a: ProbeArgs): Promise<ProbeResult> {
  const pm = a.kind === 'ours' ? await startHost(a.count, a.settleMs) : null;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  if (pm) await startOurs(pm, a.count);
  else await startBare(a.count);
  const startMs = performance.now() - t0;
  await sleep(a.settleMs);
  const rss1 = process.memoryUsage().rss;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(a.windowMs);
  h.disable();
  return {
    rssPerWorkerMiB: a.count > 0 ? (rss1 - rss0) / a.count / MiB : 0,
    rssMiB: rss1 / MiB,
    startMs,
    eldP50Ms: h.percentile(50) / 1e6,
    eldP99Ms: h.percentile(99) / 1e6,
    eldMaxMs: h.max / 1e6,
    eldSamples: h.count,
  };
}

const result = await probe(JSON.parse(process.argv[2]!) as ProbeArgs);
process.send!(result, () => process.exit(0));
