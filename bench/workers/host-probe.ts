/**
 * A child process for host.eld.256, mem.worker and mem.worker.tinypool, one configuration
 * per process so that neither memory nor threads from one measurement leak into the next:
 *
 *   ours N      a Postmaster (its spare threads up) then N idle dynamic workers, each
 *               running its entry (it counts itself in shared memory)
 *   bare N      N bare worker_threads that posted "up" and idle
 *   tinypool N  a tinypool of N threads, each of which has run one task, then idle
 *
 * It records RSS before and after the N threads (after a settle time, so that spare refills
 * and start-up garbage are done), then the main thread's event-loop delay over a window
 * with everything idle, reports both over IPC and exits. With `countSpares` the first
 * reading is taken before the Postmaster starts, so its spare threads count as ours.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Tinypool } from 'tinypool';
import { BGWORKER_SHMEM_ACCESS, Postmaster, silentLogger } from '../../lib/index.js';
import { HEAP_PARTS } from './heap-spaces.js';

export interface ProbeArgs {
  kind: 'ours' | 'bare' | 'tinypool';
  count: number;
  countSpares?: boolean;
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
  /** One of the threads' heap split (heap-spaces.ts), KiB; ours and bare only. */
  heapKiB: number[];
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
async function startOurs(pm: Postmaster, count: number): Promise<number[]> {
  const up = pm.shmem(REGION).int32;
  for (let i = 0; i < count; i++) {
    const mainArg = { region: REGION, report: i === 0 };
    const h = await pm.registerDynamicBackgroundWorker({ name: `idle ${i}`, module: new URL('./idle.js', import.meta.url), flags: BGWORKER_SHMEM_ACCESS, mainArg });
    if (!h) throw new Error('no free slot for an idle worker');
  }
  for (let n = Atomics.load(up, 0); n < count; n = Atomics.load(up, 0)) {
    const r = Atomics.waitAsync(up, 0, n, 1000);
    if (r.async) await r.value;
  }
  return count > 0 ? Array.from(pm.shmem(REGION).float64.subarray(1, 1 + HEAP_PARTS.length)) : [];
}

async function startBare(count: number): Promise<number[]> {
  const url = new URL('./bare-idle.js', import.meta.url);
  const heaps = await Promise.all(Array.from({ length: count }, () => new Promise<number[]>((resolve) => new Worker(url).once('message', resolve))));
  return heaps[0] ?? [];
}

/** A pool of `count` threads, each kept busy until all have begun a task, then idle. */
async function startTinypool(count: number): Promise<Tinypool> {
  const pool = new Tinypool({ filename: new URL('./tinypool-task.js', import.meta.url).href, minThreads: count, maxThreads: count });
  const up = new SharedArrayBuffer(4);
  await Promise.all(Array.from({ length: count }, () => pool.run({ up, count })));
  return pool;
}

async function probe(a: ProbeArgs): Promise<ProbeResult> {
  let rss0 = process.memoryUsage().rss;
  const pm = a.kind === 'ours' ? await startHost(a.count, a.settleMs) : null;
  if (!a.countSpares) rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let heap: number[] = [];
  if (pm) heap = await startOurs(pm, a.count);
  else if (a.kind === 'tinypool') await startTinypool(a.count);
  else heap = await startBare(a.count);
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
    heapKiB: heap,
  };
}

const result = await probe(JSON.parse(process.argv[2]!) as ProbeArgs);
process.send!(result, () => process.exit(0));
