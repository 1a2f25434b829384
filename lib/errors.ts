/**
 * The error catalogue: every error bgworker throws is a BgwError with a stable `code`.
 *
 * Match on `err.code`, never on message text. Each code has its own subclass so that
 * `instanceof` works too, and every class carries a `Symbol.for` brand so the check holds
 * across two copies of the package in one thread. Codes are never reused once retired; the
 * README's error table is kept in sync with CATALOGUE by test/errors.test.ts.
 *
 * Errors that cross a thread travel in their wire form (protocol/wire-error.ts), because
 * structured clone keeps only name, message and stack.
 */

const kBgwError = Symbol.for('bgworker.error');

export class BgwError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BgwError';
  }
  get [kBgwError](): true {
    return true;
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === BgwError) return typeof value === 'object' && value !== null && kBgwError in value;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Every code with the situation it names; the README table mirrors this. */
export const CATALOGUE = {
  BGW_ERR_INVALID_OPTION: 'A host option is out of range or of the wrong type.',
  BGW_ERR_CONFIG_INVALID: "The CLI's command line is wrong, or its config file cannot be read, is not JSON, or has an unknown field or one of the wrong type.",
  BGW_ERR_NAME_TOO_LONG: 'A name, type or function name is empty or longer than BGW_MAXLEN - 1 bytes.',
  BGW_ERR_EXTRA_TOO_LONG: '`extra` is longer than BGW_EXTRALEN bytes or not a Uint8Array.',
  BGW_ERR_MAIN_ARG_NOT_CLONABLE: '`mainArg` cannot be structured-cloned.',
  BGW_ERR_MAIN_ARG_TOO_LARGE: "`mainArg`'s clone is larger than the host's mainArgBytes.",
  BGW_ERR_INVALID_FLAGS: 'Unknown flag bits, or a combination PostgreSQL forbids.',
  BGW_ERR_INVALID_START_TIME: 'startTime is not one of BgWorkerStartTime.',
  BGW_ERR_INVALID_RESTART_INTERVAL: 'restartTime is not -1 or an integer in 0..86,400,000.',
  BGW_ERR_PARALLEL_RESTART: 'A parallel-class worker was configured for restart.',
  BGW_ERR_MODULE_NOT_FOUND: 'The worker module does not exist or its path is too long.',
  BGW_ERR_FUNCTION_NOT_FOUND: 'The worker module has no such exported function (reported by the worker at start).',
  BGW_ERR_STATIC_NOTIFY: 'A static registration asked for start/stop notification.',
  BGW_ERR_TOO_MANY_WORKERS: 'More static registrations than maxWorkerProcesses.',
  BGW_ERR_STATIC_AFTER_START: 'A static registration was made after start().',
  BGW_ERR_NOT_STARTED: 'The host has not been started yet.',
  BGW_ERR_POSTMASTER_STOPPED: 'The host has shut down (or died); it takes no more work.',
  BGW_ERR_SHUTTING_DOWN: 'A shutdown is in progress; no new sessions are accepted.',
  BGW_ERR_NO_SHMEM_ACCESS: 'A worker registered without BGWORKER_SHMEM_ACCESS used shared memory.',
  BGW_ERR_ADMIN_SHUTDOWN: 'The worker was terminated by a SIGTERM (terminate(), shutdown).',
  BGW_ERR_QUERY_CANCELED: 'The worker received a SIGINT (cancel) and had no handler for it.',
  BGW_ERR_LOCK_NOT_HELD: 'A lock was released by a thread that does not hold it.',
  BGW_ERR_LOCK_ALREADY_HELD: 'A thread tried to take a lock it already holds (it would deadlock).',
  BGW_ERR_TOO_MANY_LWLOCKS: 'A thread holds MAX_SIMUL_LWLOCKS locks already.',
  BGW_ERR_UNKNOWN_SHMEM: 'No shared-memory region or lock of that name was requested at start.',
  BGW_ERR_NOT_IN_WORKER: 'A worker-side API was called outside a bgworker thread.',
  BGW_ERR_SHM_BAD_MAGIC: 'A buffer is not a bgworker segment of this layout version.',
  BGW_ERR_DB_NOT_REQUESTED: 'A worker registered without BGWORKER_BACKEND_DATABASE_CONNECTION asked for a connection.',
  BGW_ERR_DB_ALREADY_CONNECTED: 'A worker asked for its database connection a second time; it connects once.',
  BGW_ERR_DB_NOT_CONNECTED: 'A database helper was used before initializeConnection().',
  BGW_ERR_DB_CONNECT_FAILED: "The database refused the worker's connection; the server's error is the cause.",
  BGW_ERR_DB_CONNECTION_LOST: "The worker's database connection was lost; the worker exits 1 and its restart policy applies.",
  BGW_ERR_INVALID_RESOURCE_LIMITS: 'A resource limit is unknown, not a whole number of MB, or out of range.',
  BGW_ERR_DSM_INVALID_SIZE: 'A dynamic shared-memory segment was asked for with a size out of range.',
  BGW_ERR_HOST_LATCHES_EXHAUSTED: "Every host latch is handed out; release endpoints or raise the host's hostLatches.",
  BGW_ERR_MQ_INVALID_ARG: 'A queue was given a bad buffer, offset, proc number or role.',
  BGW_ERR_MQ_TOO_SMALL: 'A queue size below the minimum: its ring would be empty.',
  BGW_ERR_MQ_BAD_MAGIC: 'No queue was created at that offset.',
  BGW_ERR_MQ_ALREADY_SET: "A queue's sender or receiver was set a second time; queues are not reused.",
  BGW_ERR_MQ_NOT_PARTICIPANT: 'A thread attached to a queue end that is not its own.',
  BGW_ERR_MQ_ALREADY_ATTACHED: 'A second handle on the same end of a queue.',
  BGW_ERR_MQ_WRONG_END: "A send on the receiver's handle, or a receive on the sender's.",
  BGW_ERR_MQ_MESSAGE_TOO_LARGE: 'A message larger than 1 GiB - 1 bytes.',
  BGW_ERR_MQ_INVALID_MESSAGE_SIZE: 'The ring holds a length word over 1 GiB - 1: the queue is corrupt.',
  BGW_ERR_MQ_RETRY_MISMATCH: 'A send retried after would_block with a different message.',
  BGW_ERR_MQ_BLOCKING_ON_HOST: 'A blocking queue call would sleep on the host thread; use the async or nowait form.',
  BGW_ERR_TOC_INVALID_ARG: 'A table of contents was given a bad region, offset, size, key or address.',
  BGW_ERR_TOC_OUT_OF_MEMORY: 'Out of shared memory: the region has no room for the chunk or entry.',
  BGW_ERR_TOC_KEY_NOT_FOUND: 'A table-of-contents lookup found no such key.',
  BGW_ERR_TOC_DUPLICATE_KEY: 'A table-of-contents key was inserted twice.',
} as const;

export type BgwErrorCode = keyof typeof CATALOGUE;

/** The base of every coded error class: fixes `code` and `name` for its subclass. */
function coded(code: BgwErrorCode, name: string) {
  return class extends BgwError {
    static readonly code: BgwErrorCode = code;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
  };
}

export class InvalidOptionError extends coded('BGW_ERR_INVALID_OPTION', 'InvalidOptionError') {}
export class ConfigInvalidError extends coded('BGW_ERR_CONFIG_INVALID', 'ConfigInvalidError') {}
export class NameTooLongError extends coded('BGW_ERR_NAME_TOO_LONG', 'NameTooLongError') {}
export class ExtraTooLongError extends coded('BGW_ERR_EXTRA_TOO_LONG', 'ExtraTooLongError') {}
export class MainArgNotClonableError extends coded('BGW_ERR_MAIN_ARG_NOT_CLONABLE', 'MainArgNotClonableError') {}
export class MainArgTooLargeError extends coded('BGW_ERR_MAIN_ARG_TOO_LARGE', 'MainArgTooLargeError') {}
export class InvalidFlagsError extends coded('BGW_ERR_INVALID_FLAGS', 'InvalidFlagsError') {}
export class InvalidStartTimeError extends coded('BGW_ERR_INVALID_START_TIME', 'InvalidStartTimeError') {}
export class InvalidRestartIntervalError extends coded('BGW_ERR_INVALID_RESTART_INTERVAL', 'InvalidRestartIntervalError') {}
export class ParallelRestartError extends coded('BGW_ERR_PARALLEL_RESTART', 'ParallelRestartError') {}
export class ModuleNotFoundError extends coded('BGW_ERR_MODULE_NOT_FOUND', 'ModuleNotFoundError') {}
export class FunctionNotFoundError extends coded('BGW_ERR_FUNCTION_NOT_FOUND', 'FunctionNotFoundError') {}
export class StaticNotifyError extends coded('BGW_ERR_STATIC_NOTIFY', 'StaticNotifyError') {}
export class TooManyWorkersError extends coded('BGW_ERR_TOO_MANY_WORKERS', 'TooManyWorkersError') {}
export class StaticAfterStartError extends coded('BGW_ERR_STATIC_AFTER_START', 'StaticAfterStartError') {}
export class NotStartedError extends coded('BGW_ERR_NOT_STARTED', 'NotStartedError') {}
export class PostmasterStoppedError extends coded('BGW_ERR_POSTMASTER_STOPPED', 'PostmasterStoppedError') {}
export class ShuttingDownError extends coded('BGW_ERR_SHUTTING_DOWN', 'ShuttingDownError') {}
export class NoShmemAccessError extends coded('BGW_ERR_NO_SHMEM_ACCESS', 'NoShmemAccessError') {}
export class AdminShutdownError extends coded('BGW_ERR_ADMIN_SHUTDOWN', 'AdminShutdownError') {}
export class QueryCanceledError extends coded('BGW_ERR_QUERY_CANCELED', 'QueryCanceledError') {}
export class LockNotHeldError extends coded('BGW_ERR_LOCK_NOT_HELD', 'LockNotHeldError') {}
export class LockAlreadyHeldError extends coded('BGW_ERR_LOCK_ALREADY_HELD', 'LockAlreadyHeldError') {}
export class TooManyLWLocksError extends coded('BGW_ERR_TOO_MANY_LWLOCKS', 'TooManyLWLocksError') {}
export class UnknownShmemError extends coded('BGW_ERR_UNKNOWN_SHMEM', 'UnknownShmemError') {}
export class NotInWorkerError extends coded('BGW_ERR_NOT_IN_WORKER', 'NotInWorkerError') {}
export class ShmBadMagicError extends coded('BGW_ERR_SHM_BAD_MAGIC', 'ShmBadMagicError') {}
export class DbNotRequestedError extends coded('BGW_ERR_DB_NOT_REQUESTED', 'DbNotRequestedError') {}
export class DbAlreadyConnectedError extends coded('BGW_ERR_DB_ALREADY_CONNECTED', 'DbAlreadyConnectedError') {}
export class DbNotConnectedError extends coded('BGW_ERR_DB_NOT_CONNECTED', 'DbNotConnectedError') {}
export class DbConnectFailedError extends coded('BGW_ERR_DB_CONNECT_FAILED', 'DbConnectFailedError') {}
export class DbConnectionLostError extends coded('BGW_ERR_DB_CONNECTION_LOST', 'DbConnectionLostError') {}
export class InvalidResourceLimitsError extends coded('BGW_ERR_INVALID_RESOURCE_LIMITS', 'InvalidResourceLimitsError') {}
export class DsmInvalidSizeError extends coded('BGW_ERR_DSM_INVALID_SIZE', 'DsmInvalidSizeError') {}
export class HostLatchesExhaustedError extends coded('BGW_ERR_HOST_LATCHES_EXHAUSTED', 'HostLatchesExhaustedError') {}
export class MqInvalidArgError extends coded('BGW_ERR_MQ_INVALID_ARG', 'MqInvalidArgError') {}
export class MqTooSmallError extends coded('BGW_ERR_MQ_TOO_SMALL', 'MqTooSmallError') {}
export class MqBadMagicError extends coded('BGW_ERR_MQ_BAD_MAGIC', 'MqBadMagicError') {}
export class MqAlreadySetError extends coded('BGW_ERR_MQ_ALREADY_SET', 'MqAlreadySetError') {}
export class MqNotParticipantError extends coded('BGW_ERR_MQ_NOT_PARTICIPANT', 'MqNotParticipantError') {}
export class MqAlreadyAttachedError extends coded('BGW_ERR_MQ_ALREADY_ATTACHED', 'MqAlreadyAttachedError') {}
export class MqWrongEndError extends coded('BGW_ERR_MQ_WRONG_END', 'MqWrongEndError') {}
export class MqMessageTooLargeError extends coded('BGW_ERR_MQ_MESSAGE_TOO_LARGE', 'MqMessageTooLargeError') {}
export class MqInvalidMessageSizeError extends coded('BGW_ERR_MQ_INVALID_MESSAGE_SIZE', 'MqInvalidMessageSizeError') {}
export class MqRetryMismatchError extends coded('BGW_ERR_MQ_RETRY_MISMATCH', 'MqRetryMismatchError') {}
export class MqBlockingOnHostError extends coded('BGW_ERR_MQ_BLOCKING_ON_HOST', 'MqBlockingOnHostError') {}
export class TocInvalidArgError extends coded('BGW_ERR_TOC_INVALID_ARG', 'TocInvalidArgError') {}
export class TocOutOfMemoryError extends coded('BGW_ERR_TOC_OUT_OF_MEMORY', 'TocOutOfMemoryError') {}
export class TocKeyNotFoundError extends coded('BGW_ERR_TOC_KEY_NOT_FOUND', 'TocKeyNotFoundError') {}
export class TocDuplicateKeyError extends coded('BGW_ERR_TOC_DUPLICATE_KEY', 'TocDuplicateKeyError') {}

const classes = new Map<string, typeof InvalidOptionError>(
  [
    InvalidOptionError,
    ConfigInvalidError,
    NameTooLongError,
    ExtraTooLongError,
    MainArgNotClonableError,
    MainArgTooLargeError,
    InvalidFlagsError,
    InvalidStartTimeError,
    InvalidRestartIntervalError,
    ParallelRestartError,
    ModuleNotFoundError,
    FunctionNotFoundError,
    StaticNotifyError,
    TooManyWorkersError,
    StaticAfterStartError,
    NotStartedError,
    PostmasterStoppedError,
    ShuttingDownError,
    NoShmemAccessError,
    AdminShutdownError,
    QueryCanceledError,
    LockNotHeldError,
    LockAlreadyHeldError,
    TooManyLWLocksError,
    UnknownShmemError,
    NotInWorkerError,
    ShmBadMagicError,
    DbNotRequestedError,
    DbAlreadyConnectedError,
    DbNotConnectedError,
    DbConnectFailedError,
    DbConnectionLostError,
    InvalidResourceLimitsError,
    DsmInvalidSizeError,
    HostLatchesExhaustedError,
    MqInvalidArgError,
    MqTooSmallError,
    MqBadMagicError,
    MqAlreadySetError,
    MqNotParticipantError,
    MqAlreadyAttachedError,
    MqWrongEndError,
    MqMessageTooLargeError,
    MqInvalidMessageSizeError,
    MqRetryMismatchError,
    MqBlockingOnHostError,
    TocInvalidArgError,
    TocOutOfMemoryError,
    TocKeyNotFoundError,
    TocDuplicateKeyError,
  ].map((c) => [c.code, c]),
);

/** The class for a code, for rebuilding errors that crossed a thread. */
export function errorClassFor(code: string): typeof InvalidOptionError | undefined {
  return classes.get(code);
}
