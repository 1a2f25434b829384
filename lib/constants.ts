/**
 * Limits and defaults, with PostgreSQL's names where a reader would look for them.
 *
 * Values follow PostgreSQL 17+ (bgworker.h, bgworker_internals.h, postmaster.c) unless a
 * comment says why a Node process needs another one.
 */

/** Byte size of bgw_name, bgw_type and bgw_function_name, NUL included: 95 usable bytes. */
export const BGW_MAXLEN = 96;
/** Bytes of opaque `extra` a registration may carry (bgw_extra). */
export const BGW_EXTRALEN = 128;
/** Byte size of bgw_library_name (MAXPGPATH); here a module URL. */
export const MAXPGPATH = 1024;
/** bgw_restart_time value meaning "never restart". */
export const BGW_NEVER_RESTART = -1;
/** A convenience value only; nothing applies it automatically. */
export const BGW_DEFAULT_RESTART_INTERVAL = 60;
/** Upper bound of bgw_restart_time, in seconds (PostgreSQL's "microseconds per day / 1000"). */
export const BGW_MAX_RESTART_TIME = 86_400_000;

/** max_worker_processes default. */
export const DEFAULT_MAX_WORKER_PROCESSES = 8;
/** max_parallel_workers default and its upper bound. */
export const DEFAULT_MAX_PARALLEL_WORKERS = 8;
export const MAX_PARALLEL_WORKER_LIMIT = 1024;
/** A hard ceiling on slots: each slot owns a latch word and ~1.5 KiB of segment. */
export const MAX_BACKENDS = 4096;

/** Launches per supervisor pass (MAX_BGWORKERS_TO_LAUNCH); the loop goes round again at once. */
export const MAX_BGWORKERS_TO_LAUNCH = 100;
/** Longest supervisor sleep (DetermineSleepTime caps at 60 s). */
export const MAX_SERVER_LOOP_SLEEP_MS = 60_000;
/** SIGQUIT → hard stop, as SIGKILL_CHILDREN_AFTER_SECS. */
export const SIGKILL_CHILDREN_AFTER_MS = 5_000;
/** SIGTERM → hard stop. PostgreSQL waits forever; a service cannot. */
export const DEFAULT_TERMINATE_GRACE_MS = 5_000;

/** Bytes reserved in each slot for the structured-clone form of mainArg (bgw_main_arg). */
export const DEFAULT_MAIN_ARG_BYTES = 4_096;
/** Warm threads kept ready so that a dynamic launch does not pay for a thread start. */
export const DEFAULT_SPARE_THREADS = 2;
/** Latches the host thread can hand to its shared-memory queue endpoints, one each. */
export const DEFAULT_HOST_LATCHES = 16;
/** LWLocks one thread may hold at once (MAX_SIMUL_LWLOCKS). */
export const MAX_SIMUL_LWLOCKS = 200;

/** The pid that stands for the host thread itself (Node's main thread has threadId 0). */
export const POSTMASTER_PID = 0;
/** The notify pid that means "nobody" (PostgreSQL uses 0, which is the host's pid here). */
export const NO_NOTIFY_PID = -1;
/** Slot pid of a registered worker that the supervisor has not launched yet (InvalidPid). */
export const InvalidPid = -1;
