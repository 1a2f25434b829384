/**
 * The host's options (PostgreSQL's postmaster GUCs that matter to bgworkers, plus what a
 * Node service needs), checked and resolved once, in the Postmaster's constructor, before
 * anything is allocated: a bad option is a typed error at `new Postmaster()`, never a
 * half-built host, nor a RangeError or TypeError from deep inside it later.
 *
 * That includes the segment's total size (layout.ts adds it up; it must stay below
 * MAX_SEGMENT_BYTES), the logger's shape, and execArgv as far as it can be checked without
 * starting a thread: every flag must be one Node takes in NODE_OPTIONS. Worker threads refuse
 * some of those too (V8 options such as --expose-gc); Node only says so when a thread is
 * made, and thread-launcher.ts turns that into a typed error at start().
 */
import {
  DEFAULT_HOST_LATCHES, DEFAULT_MAIN_ARG_BYTES, DEFAULT_MAX_PARALLEL_WORKERS, DEFAULT_MAX_WORKER_PROCESSES,
  DEFAULT_SPARE_THREADS, DEFAULT_TERMINATE_GRACE_MS, MAX_BACKENDS, MAX_PARALLEL_WORKER_LIMIT, SIGKILL_CHILDREN_AFTER_MS,
} from '../constants.js';
import { InvalidOptionError } from '../errors.js';
import { sanityCheckBackgroundWorker } from '../bgworker/sanity.js';
import type { DatabaseSettings } from '../pg/connect.js';
import { printable } from '../printable.js';
import { computeLayout, MAX_SEGMENT_BYTES, type SegmentLayout } from '../shm/layout.js';
import type { ShmemStruct } from '../shm/shmem-struct.js';
import type { Logger } from '../types.js';
import { checkRestartIntensity, type RestartIntensityOptions } from './restart-intensity.js';
import type { Launcher, ThreadPolicy } from './thread-launcher.js';

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
  /**
   * Warm threads kept ready while launches come. Default 2. Once no launch came for
   * spareIdleMs (default 30 s), spares are retired down to minSpareThreads (default 1); the
   * next launches bring them back, one spare per launch.
   */
  spareThreads?: number;
  minSpareThreads?: number;
  spareIdleMs?: number;
  /**
   * Beyond PostgreSQL: thread reuse for workers registered `reusable`. A thread is retired
   * instead of reused after maxLives lives (default 1000) or once its used heap passed
   * maxHeapMb (default 64, after tinypool's maxMemoryLimitBeforeRecycle); at most maxIdle
   * threads (default 4) wait for a next life, each for idleMs (default 10 s).
   */
  reuse?: { maxLives?: number; maxHeapMb?: number; maxIdle?: number; idleMs?: number };
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
  threads: ThreadPolicy;
  mainArgBytes: number;
  hostLatches: number;
  shmem: Array<[string, ShmemRequest]>;
  locks: string[];
  /** Module URLs, as a registration would resolve them. */
  preload: string[];
}

export function resolveOptions(o: PostmasterOptions): ResolvedOptions {
  checkLogger(o.logger);
  checkRestartIntensity(o.restartIntensity);
  checkExecArgv(o.execArgv);
  const maxWorkerProcesses = intOption('maxWorkerProcesses', o.maxWorkerProcesses, DEFAULT_MAX_WORKER_PROCESSES, 1, MAX_BACKENDS);
  const resolved: ResolvedOptions = {
    maxWorkerProcesses,
    reservedWorkerProcesses: intOption('reservedWorkerProcesses', o.reservedWorkerProcesses, maxWorkerProcesses, maxWorkerProcesses, MAX_BACKENDS),
    maxParallelWorkers: intOption('maxParallelWorkers', o.maxParallelWorkers, DEFAULT_MAX_PARALLEL_WORKERS, 0, MAX_PARALLEL_WORKER_LIMIT),
    terminateGraceMs: intOption('terminateGraceMs', o.terminateGraceMs, DEFAULT_TERMINATE_GRACE_MS, 0, 2 ** 31 - 1),
    quitGraceMs: intOption('quitGraceMs', o.quitGraceMs, SIGKILL_CHILDREN_AFTER_MS, 0, 2 ** 31 - 1),
    restartAfterCrash: boolOption('restartAfterCrash', o.restartAfterCrash, true),
    safeHardStop: boolOption('safeHardStop', o.safeHardStop, true),
    spareThreads: intOption('spareThreads', o.spareThreads, DEFAULT_SPARE_THREADS, 0, 64),
    threads: threadPolicy(o),
    mainArgBytes: intOption('mainArgBytes', o.mainArgBytes, DEFAULT_MAIN_ARG_BYTES, 16, 1 << 24),
    hostLatches: intOption('hostLatches', o.hostLatches, DEFAULT_HOST_LATCHES, 0, 1024),
    shmem: shmemRequests(o.shmem),
    locks: checkLockNames(o.locks ?? []),
    preload: (o.preload ?? []).map((u) => moduleUrl(u)),
  };
  checkSegmentSize(resolved);
  return resolved;
}

/** The segment's layout for these options: what SharedMemory creates. */
export function segmentLayout(o: ResolvedOptions): SegmentLayout {
  const sizes = o.shmem.map(([n, r]): [string, number] => [n, typeof r === 'number' ? r : r.size]);
  return computeLayout(o.reservedWorkerProcesses, o.hostLatches, o.mainArgBytes, o.locks, sizes);
}

function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(`option ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function boolOption(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidOptionError(`option ${name} must be true or false, got ${printable(String(v))}`);
  return v;
}

function shmemRequests(shmem: unknown): Array<[string, ShmemRequest]> {
  if (shmem === undefined) return [];
  if (typeof shmem !== 'object' || shmem === null || Array.isArray(shmem)) {
    throw new InvalidOptionError('shmem must be an object of named regions: { name: bytes } or { name: { size, init } }');
  }
  const requests = Object.entries(shmem as Record<string, ShmemRequest>);
  for (const [name, req] of requests) checkShmemRequest(printable(name), req);
  return requests;
}

function checkShmemRequest(name: string, req: ShmemRequest): void {
  const size = typeof req === 'number' ? req : req?.size;
  if (!Number.isInteger(size) || size! < 0 || size! > MAX_SEGMENT_BYTES) {
    throw new InvalidOptionError(`shmem region "${name}" needs a size in bytes (an integer in 0..${MAX_SEGMENT_BYTES}), got ${String(size)}`);
  }
  if (typeof req === 'object' && req.init !== undefined && typeof req.init !== 'function') {
    throw new InvalidOptionError(`shmem region "${name}": init must be a function (region) => void, run at each (re)initialization`);
  }
}

/** The parts must fit one SharedArrayBuffer whose offsets the `>>` index arithmetic can take. */
function checkSegmentSize(o: ResolvedOptions): void {
  const layout = segmentLayout(o);
  if (layout.byteLength <= MAX_SEGMENT_BYTES) return;
  const slots = layout.totalSlots * layout.slotBytes;
  const regions = layout.regions.reduce((n, r) => n + r.byteLength, 0);
  throw new InvalidOptionError(
    `the shared memory segment would be ${layout.byteLength} bytes, and at most ${MAX_SEGMENT_BYTES} fit: ` +
      `lower the shmem region sizes (${regions} bytes together) or maxWorkerProcesses × mainArgBytes (${slots} bytes of slots)`,
  );
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function checkLogger(logger: unknown): void {
  if (logger === undefined) return;
  const o = (typeof logger === 'object' && logger !== null) || typeof logger === 'function' ? (logger as Record<string, unknown>) : {};
  const lacks = LOG_LEVELS.filter((level) => typeof o[level] !== 'function');
  if (lacks.length > 0) {
    throw new InvalidOptionError(
      `logger must have debug, info, warn and error functions; it lacks ${lacks.join(', ')}; pass a pino logger or an object of those four methods`,
    );
  }
}

/**
 * Each entry a flag Node takes in NODE_OPTIONS (`--flag` or `--flag=value`), or the value
 * after a flag written without `=`: a worker thread is started with these.
 */
function threadPolicy(o: PostmasterOptions): ThreadPolicy {
  const spareThreads = intOption('spareThreads', o.spareThreads, DEFAULT_SPARE_THREADS, 0, 64);
  const r = o.reuse ?? {};
  if (typeof r !== 'object' || r === null) throw new InvalidOptionError('reuse must be an object of { maxLives, maxHeapMb, maxIdle, idleMs }');
  const unknown = Object.keys(r).filter((k) => !['maxLives', 'maxHeapMb', 'maxIdle', 'idleMs'].includes(k));
  if (unknown.length > 0) throw new InvalidOptionError(`unknown reuse option(s): ${unknown.map((k) => printable(k)).join(', ')}`);
  return {
    spareThreads,
    minSpareThreads: intOption('minSpareThreads', o.minSpareThreads, Math.min(1, spareThreads), 0, spareThreads),
    spareIdleMs: intOption('spareIdleMs', o.spareIdleMs, 30_000, 100, 2 ** 31 - 1),
    maxLives: intOption('reuse.maxLives', r.maxLives, 1000, 1, 2 ** 31 - 1),
    maxHeapMb: intOption('reuse.maxHeapMb', r.maxHeapMb, 64, 1, 1 << 20),
    maxIdle: intOption('reuse.maxIdle', r.maxIdle, 4, 0, 1024),
    idleMs: intOption('reuse.idleMs', r.idleMs, 10_000, 1, 2 ** 31 - 1),
  };
}

function checkExecArgv(execArgv: unknown): void {
  if (execArgv === undefined) return;
  if (!Array.isArray(execArgv)) throw new InvalidOptionError('execArgv must be an array of strings: Node flags for the worker threads');
  let valueMayFollow = false;
  execArgv.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string') throw new InvalidOptionError(`execArgv[${i}] must be a string`);
    if (!arg.startsWith('-')) {
      if (!valueMayFollow) {
        throw new InvalidOptionError(`execArgv[${i}] "${printable(arg)}" is a value without a flag before it; write --flag=value or put the flag first`);
      }
      valueMayFollow = false;
      return;
    }
    const flag = arg.split('=', 1)[0]!;
    if (!process.allowedNodeEnvironmentFlags.has(flag)) {
      throw new InvalidOptionError(
        `execArgv[${i}] "${printable(arg)}" is not a Node flag that worker threads accept (process.allowedNodeEnvironmentFlags lists them)`,
      );
    }
    valueMayFollow = !arg.includes('=');
  });
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
