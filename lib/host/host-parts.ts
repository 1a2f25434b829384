/**
 * The host's parts around its shared memory, made once at start() and wired here, so that
 * each part gets only the collaborators it needs and none calls back into the postmaster
 * except through the observers the postmaster hands in:
 *
 *   ThreadLauncher   the threads (spares, reuse)                       ← options
 *   WorkerRequests   what threads ask of the host                      → activity, ready
 *   PmChildren       the live threads                                  ← launcher, requests
 *   BgWorkerList     the registered workers                            ← children, watchers → listChanged
 *   HostEndpoints    the host's own latches for shm_mq
 *   HostLocks        the host's LWLock holds (the crash cycle waits for them) → hostLockIdle
 *   HandleHost       what every host handle shares                     → callbackFailed, gone
 *
 * Host thread only.
 */
import { BackgroundWorkerArray } from '../shm/slot-array.js';
import type { Latch } from '../shm/latch.js';
import type { Logger } from '../types.js';
import { BgWorkerList, type ListChange } from './bgworker-list.js';
import type { DsmRegistry } from './dsm-registry.js';
import type { HandleHost } from './handle.js';
import { HostEndpoints } from './host-endpoints.js';
import { HostLocks } from './host-lock.js';
import { PmChildren } from './pm-child.js';
import type { PostmasterOptions, ResolvedOptions } from './pm-options.js';
import type { RegisteredBgWorker } from './registered-worker.js';
import type { RestartIntensity } from './restart-intensity.js';
import type { SharedMemory } from './shared-memory.js';
import type { SlotWatchers } from './slot-watchers.js';
import { ThreadLauncher } from './thread-launcher.js';
import { WorkerRequests } from './worker-requests.js';

export interface HostParts {
  threads: ThreadLauncher;
  requests: WorkerRequests;
  children: PmChildren;
  list: BgWorkerList;
  endpoints: HostEndpoints;
  hostLocks: HostLocks;
  handleHost: HandleHost;
}

/** What the postmaster keeps itself and lends to the parts. */
export interface HostBase {
  opts: ResolvedOptions;
  options: PostmasterOptions;
  log: Logger;
  dsm: DsmRegistry;
  watchers: SlotWatchers;
  intensity: RestartIntensity;
}

/** What the postmaster reacts to. */
export interface HostObservers {
  activity(rw: RegisteredBgWorker): void;
  ready(rw: RegisteredBgWorker): void;
  listChanged(rw: RegisteredBgWorker, change: ListChange): void;
  callbackFailed(err: unknown, where: string): void;
  /** The host released its last LWLock hold. */
  hostLockIdle(): void;
  gone(): boolean;
}

export function createHostParts(shm: SharedMemory, b: HostBase, on: HostObservers): HostParts {
  const { seg, procs } = shm;
  const array = new BackgroundWorkerArray(seg);
  const database = { ...b.options.database };
  const threads = new ThreadLauncher(seg, b.opts.threads, b.options.execArgv, database);
  const launcher = b.options.wrapLauncher ? b.options.wrapLauncher(threads) : threads;
  const requests = new WorkerRequests({ log: b.log, dsm: b.dsm, procs, database, onActivity: on.activity, onReady: on.ready });
  const { terminateGraceMs, quitGraceMs } = b.opts;
  const children = new PmChildren({ procs, array, launcher, requests, log: b.log, terminateGraceMs, quitGraceMs });
  const list = new BgWorkerList(array, procs, b.intensity, { log: b.log, children, watchers: b.watchers, changed: on.listChanged });
  const hostLocks = new HostLocks(on.hostLockIdle);
  const readyAt = (h: { slot: number; generation: bigint }): Date | null => {
    const rw = list.get(h.slot);
    return rw && rw.generation === h.generation && rw.pid !== 0 ? rw.readyAt : null;
  };
  const handleHost: HandleHost = {
    array,
    bgwLock: hostLocks.for(shm.bgwLock),
    pmSignal: shm.pmSignal,
    watchers: b.watchers,
    gone: on.gone,
    report: (err, where) => on.callbackFailed(err, `${where} of a handle`),
    readyAt,
    latchOf: (slot: number): Latch => procs.latch(slot),
  };
  return { threads, requests, children, list, endpoints: new HostEndpoints(procs), hostLocks, handleHost };
}
