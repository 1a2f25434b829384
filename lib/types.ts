/**
 * Public types shared by the host and worker sides: the registration record
 * (struct BackgroundWorker), its flags and start times, handle statuses, shutdown modes,
 * the logger interface and the activity row.
 *
 * Flags and start times keep PostgreSQL's numeric values so that a reader can match them
 * with bgworker.h; statuses and modes are strings because they are read by people.
 */

/** bgw_flags bits. */
export const BGWORKER_SHMEM_ACCESS = 0x0001;
export const BGWORKER_BACKEND_DATABASE_CONNECTION = 0x0002;
export const BGWORKER_INTERRUPTIBLE = 0x0004;
export const BGWORKER_CLASS_PARALLEL = 0x0010;
export const BGWORKER_KNOWN_FLAGS =
  BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_INTERRUPTIBLE | BGWORKER_CLASS_PARALLEL;

/** bgw_start_time: the host phase from which a worker may be launched. */
export const BgWorkerStartTime = {
  /** As soon as the host has created shared memory. */
  PostmasterStart: 0,
  /** Once shared memory is initialized (PostgreSQL: consistent state / hot standby). */
  ConsistentState: 1,
  /** Once the host is declared ready (PostgreSQL: recovery finished, normal running). */
  RecoveryFinished: 2,
} as const;
export type BgWorkerStartTime = (typeof BgWorkerStartTime)[keyof typeof BgWorkerStartTime];

/** BgwHandleStatus. */
export const BgwHandleStatus = {
  Started: 'started',
  NotYetStarted: 'not_yet_started',
  Stopped: 'stopped',
  PostmasterDied: 'postmaster_died',
} as const;
export type BgwHandleStatus = (typeof BgwHandleStatus)[keyof typeof BgwHandleStatus];

export type ShutdownMode = 'smart' | 'fast' | 'immediate';

/** What a registration says: PostgreSQL's struct BackgroundWorker as a plain object. */
export interface BackgroundWorker<A = unknown> {
  /** bgw_name: per-instance name, at most 95 UTF-8 bytes. */
  name: string;
  /** bgw_type: grouping name; defaults to `name`. */
  type?: string;
  /** bgw_flags; BGWORKER_SHMEM_ACCESS is optional here (PostgreSQL 9.4–14 semantics). */
  flags?: number;
  /** bgw_start_time; default ConsistentState. */
  startTime?: BgWorkerStartTime;
  /** bgw_restart_time in seconds, or BGW_NEVER_RESTART (-1, the default). */
  restartTime?: number;
  /** bgw_library_name: the worker module, as a file path or a file: URL. */
  module: string | URL;
  /** bgw_function_name: the export to call; default "main". */
  function?: string;
  /** bgw_main_arg: any structured-clonable value. */
  mainArg?: A;
  /** bgw_extra: up to 128 opaque bytes. */
  extra?: Uint8Array;
  /** Limits the worker's thread enforces; hitting one is a crash, reported in lastExit. */
  resourceLimits?: WorkerResourceLimits;
  /**
   * Beyond PostgreSQL (after TimescaleDB's max_runtime): the longest one life may run, in
   * ms. At the deadline the worker gets SIGTERM (ctx.signal aborts with reason 'deadline'),
   * then the hard stop after terminateGraceMs; the exit's kind is `timeout`, which counts
   * for the restart policy as an error exit. Unset: no deadline.
   */
  maxRuntimeMs?: number;
  /**
   * Beyond PostgreSQL: when the worker counts as ready (handle.waitForReady(), the 'ready'
   * event): 'entry' (the default) once its entry function has begun, 'declared' once it
   * calls ctx.ready() (systemd's READY=1).
   */
  readiness?: Readiness;
  /**
   * Beyond PostgreSQL (where every backend is a fresh process): after a clean end, this
   * worker's thread may run its next life, or another reusable worker's life of the same
   * module, instead of a fresh thread. The module's own state then survives between lives.
   * Default false: a fresh thread per life, as PostgreSQL's fresh process.
   */
  reusable?: boolean;
  /**
   * bgw_notify_pid: who is told of start and stop. Dynamic registrations default to the
   * registrant (the host is pid 0); `null` asks for no notification. Static workers must leave it unset.
   */
  notifyPid?: number | null;
}

/** A registration after validation: every field present, as the worker sees it (MyBgworkerEntry). */
export interface BackgroundWorkerEntry {
  name: string;
  type: string;
  flags: number;
  startTime: BgWorkerStartTime;
  restartTime: number;
  libraryName: string;
  functionName: string;
  extra: Uint8Array;
  notifyPid: number;
  resourceLimits: WorkerResourceLimits;
  /** 0: no deadline. */
  maxRuntimeMs: number;
  readiness: Readiness;
  reusable: boolean;
}

export type Readiness = 'entry' | 'declared';

/** worker_threads' resourceLimits, in MB, as whole numbers; unset means Node's default. */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/**
 * The logger interface: pino's, so pino works as-is. A logger with `child` (pino's) gives
 * each worker life a child bound to { worker, type, pid, slot }; without one those go into
 * every line's fields.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

/**
 * `stopped`: not running and never started again by this host (it is shutting down or gone).
 * `failed`: it exceeded its restart intensity and is not restarted; terminate it to free its slot.
 */
export type WorkerState = 'not_yet_started' | 'running' | 'stopping' | 'waiting_restart' | 'terminated' | 'stopped' | 'failed';

/**
 * How a worker's run ended. The first four are what the worker did; the rest are stops the
 * host or a registrant asked for, whatever exit code the worker left with:
 *   normal       it returned (exit 0)
 *   error        it threw or exited 1 (PostgreSQL's ERROR/FATAL)
 *   crash        anything else: another exit code, an uncaught error outside the entry, out
 *                of memory; decided by the dead-man switch
 *   hard_stop    it ignored SIGTERM/SIGQUIT for its grace period and its thread was terminated
 *   terminated   it left after a terminate() of its handle (TerminateBackgroundWorker)
 *   shutdown     it left after the SIGTERM of a smart or fast shutdown
 *   immediate    it left (or was made to) by the SIGQUIT of an immediate shutdown
 *   crash_restart  it was stopped because another worker crashed (the crash-restart cycle)
 *   timeout      it was stopped at its maxRuntimeMs deadline (SIGTERM, then the hard stop)
 * Only error, crash and timeout count for the restart brake (restart-intensity.ts); a
 * timeout is restarted by the restart policy as an error exit is.
 */
export type ExitKind = 'normal' | 'error' | 'crash' | 'hard_stop' | 'terminated' | 'shutdown' | 'immediate' | 'crash_restart' | 'timeout';

/** Stops the host or a registrant asks for: what the exit is called when the worker complies. */
export type StopRequest = Extract<ExitKind, 'terminated' | 'shutdown' | 'immediate' | 'crash_restart' | 'timeout'>;

/** How a worker's last run ended. */
export interface LastExit {
  /** The thread's exit code, as PostgreSQL's would be (0, 1, or what a crash left). */
  code: number;
  kind: ExitKind;
  error?: { name: string; message: string; code?: string };
  at: Date;
}

/** One row of the activity list (pg_stat_activity for bgworkers). */
export interface ActivityRow {
  slot: number;
  name: string;
  type: string;
  dynamic: boolean;
  state: WorkerState;
  pid: number | null;
  startedAt: Date | null;
  /** Beyond PostgreSQL: when this life became ready (its readiness, see BackgroundWorker), or null. */
  readyAt: Date | null;
  /** What the worker reported doing last (its transaction helper reports it), like pg_stat_activity.query. */
  activity: string | null;
  restarts: number;
  lastExit: LastExit | null;
}
