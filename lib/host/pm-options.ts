/**
 * The host's options (PostgreSQL's postmaster GUCs that matter to bgworkers, plus what a
 * Node service needs), checked and resolved once, in the Postmaster's constructor, before
 * anything is allocated: a bad option is a typed error at `new Postmaster()`, never a
 * half-built host.
 */
import {
  DEFAULT_HOST_LATCHES, DEFAULT_MAIN_ARG_BYTES, DEFAULT_MAX_PARALLEL_WORKERS, DEFAULT_MAX_WORKER_PROCESSES,
  DEFAULT_SPARE_THREADS, DEFAULT_TERMINATE_GRACE_MS, MAX_BACKENDS, MAX_PARALLEL_WORKER_LIMIT, SIGKILL_CHILDREN_AFTER_MS,
} from '../constants.js';
import { InvalidOptionError } from '../errors.js';
import { sanityCheckBackgroundWorker } from '../bgworker/sanity.js';
import type { DatabaseSettings } from '../pg/connect.js';
import type { ShmemStruct } from '../shm/shmem-struct.js';
import type { Logger } from '../types.js';
import type { RestartIntensityOptions } from './restart-intensity.js';
import type { Launcher } from './thread-launcher.js';

export type ShmemRequest = number | { size: number; init?: (region: ShmemStruct) => void };

export interface PostmasterOptions {
  /** max_worker_processes: slots for static and dynamic workers together. Default 8. */
  maxWorkerProcesses?: number;
  /**
   * Beyond PostgreSQL (where max_worker_processes needs a restart): slots reserved in shared
   * memory, up to which pm.setMaxWorkerProcesses(n) can raise the usable number at run
   * time. Default: maxWorkerProcesses (nothing to raise to).
   */
  reservedWorkerProcesses?: number;
  /** max_parallel_workers: live BGWORKER_CLASS_PARALLEL workers at most. Default 8. */
  maxParallelWorkers?: number;
  /** Named shared-memory regions (bytes, or bytes and an init callback run at each (re)initialization). */
  shmem?: Record<string, ShmemRequest>;
  /** Named LWLocks. */
  locks?: string[];
  /** SIGTERM → hard stop of a thread that ignores it. Default 5000 ms. */
  terminateGraceMs?: number;
  /** SIGQUIT → hard stop (SIGKILL_CHILDREN_AFTER_SECS). Default 5000 ms. */
  quitGraceMs?: number;
  /** restart_after_crash. Default true. */
  restartAfterCrash?: boolean;
  /**
   * Beyond PostgreSQL: a hard stop of a worker that held no LWLock (nor waited for one),
   * had no queue or dsm segment attached and was not in a critical section is not a crash:
   * only that worker ends (lastExit hard_stop). Default true; false makes every hard stop of
   * a shared-memory worker a crash, as a SIGKILLed backend is in PostgreSQL.
   */
  safeHardStop?: boolean;
  /** Warm threads kept ready for launches. Default 2. */
  spareThreads?: number;
  /** Bytes reserved per slot for mainArg's structured clone. Default 4096. */
  mainArgBytes?: number;
  /** Latches the host can hand to its shm_mq endpoints (mqEndpoint()). Default 16. */
  hostLatches?: number;
  /** Database settings: defaults for workers' initializeConnection() and the LISTEN connection. */
  database?: DatabaseSettings;
  /** The restart brake (restart-intensity.ts); false restarts forever, as PostgreSQL does. */
  restartIntensity?: RestartIntensityOptions | false;
  /** Modules to load into every thread ahead of need (shared_preload_libraries). */
  preload?: Array<string | URL>;
  logger?: Logger;
  /** Node flags for worker threads; by default they inherit the host's (loaders included). */
  execArgv?: string[];
  /** Fault-injection seam: wrap the thread launcher (tests simulate fork failures with it). */
  wrapLauncher?: (launcher: Launcher) => Launcher;
}

/** The numeric options, resolved to their values. */
export interface ResolvedOptions {
  maxWorkerProcesses: number;
  reservedWorkerProcesses: number;
  maxParallelWorkers: number;
  terminateGraceMs: number;
  quitGraceMs: number;
  restartAfterCrash: boolean;
  safeHardStop: boolean;
  spareThreads: number;
  mainArgBytes: number;
  hostLatches: number;
  shmem: Array<[string, ShmemRequest]>;
  locks: string[];
  /** Module URLs, as a registration would resolve them. */
  preload: string[];
}

export function resolveOptions(o: PostmasterOptions): ResolvedOptions {
  const shmem = Object.entries(o.shmem ?? {});
  for (const [name, req] of shmem) checkShmemRequest(name, req);
  const maxWorkerProcesses = intOption('maxWorkerProcesses', o.maxWorkerProcesses, DEFAULT_MAX_WORKER_PROCESSES, 1, MAX_BACKENDS);
  return {
    maxWorkerProcesses,
    reservedWorkerProcesses: intOption('reservedWorkerProcesses', o.reservedWorkerProcesses, maxWorkerProcesses, maxWorkerProcesses, MAX_BACKENDS),
    maxParallelWorkers: intOption('maxParallelWorkers', o.maxParallelWorkers, DEFAULT_MAX_PARALLEL_WORKERS, 0, MAX_PARALLEL_WORKER_LIMIT),
    terminateGraceMs: intOption('terminateGraceMs', o.terminateGraceMs, DEFAULT_TERMINATE_GRACE_MS, 0, 2 ** 31 - 1),
    quitGraceMs: intOption('quitGraceMs', o.quitGraceMs, SIGKILL_CHILDREN_AFTER_MS, 0, 2 ** 31 - 1),
    restartAfterCrash: o.restartAfterCrash ?? true,
    safeHardStop: o.safeHardStop ?? true,
    spareThreads: intOption('spareThreads', o.spareThreads, DEFAULT_SPARE_THREADS, 0, 64),
    mainArgBytes: intOption('mainArgBytes', o.mainArgBytes, DEFAULT_MAIN_ARG_BYTES, 16, 1 << 24),
    hostLatches: intOption('hostLatches', o.hostLatches, DEFAULT_HOST_LATCHES, 0, 1024),
    shmem,
    locks: checkLockNames(o.locks ?? []),
    preload: (o.preload ?? []).map((u) => moduleUrl(u)),
  };
}

function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(`option ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function checkShmemRequest(name: string, req: ShmemRequest): void {
  const size = typeof req === 'number' ? req : req?.size;
  if (!Number.isInteger(size) || size! < 0 || size! > 2 ** 31) {
    throw new InvalidOptionError(`shmem region "${name}" needs a size in bytes (an integer in 0..2^31)`);
  }
}

function checkLockNames(names: string[]): string[] {
  if (!Array.isArray(names) || new Set(names).size !== names.length || names.some((n) => typeof n !== 'string' || !n)) {
    throw new InvalidOptionError('locks must be an array of distinct non-empty names');
  }
  return names;
}

/** A preload module, checked and resolved by the same rules as a registration's module. */
function moduleUrl(u: string | URL): string {
  return sanityCheckBackgroundWorker({ name: 'preload', module: u }, { dynamic: false, registrantPid: 0, mainArgBytes: 16 }).entry.libraryName;
}
