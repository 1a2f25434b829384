/**
 * The error classes: every error bgworker throws is a BgwError with a stable `code`.
 *
 * Match on `err.code` (or isBgwError), never on message text. Each code has its own class,
 * declared once: the class carries its code and its one-line meaning, and the base takes
 * `code` and `name` from the class being constructed. CATALOGUE and the code-to-class
 * lookup are collected from these classes (error-catalogue.ts), so a new class is all a new
 * code needs. Codes are never reused once retired; the README's error table is kept in sync
 * with CATALOGUE by test/errors.test.ts.
 *
 * Brands. Two copies of the package loaded in one thread have two sets of classes, so
 * `instanceof` would fail across them. Every instance therefore carries `Symbol.for` brands,
 * which are the same in every copy: Symbol.for('bgworker.error') for BgwError and
 * Symbol.for('bgworker.error.<code>') for its class, and `instanceof` checks the brand.
 *
 * Errors that cross a thread travel in their wire form (protocol/wire-error.ts), because
 * structured clone keeps only name, message and stack.
 */
import type { BgwErrorCode } from './error-catalogue.js';

const kBgwError = Symbol.for('bgworker.error');

/** The brand of the class that declares `code`: the same symbol in every copy of the package. */
const brandOf = (code: string): symbol => Symbol.for(`bgworker.error.${code}`);

/** The code a class declares itself; a subclass of an error class inherits one but declares none. */
function declaredCode(cls: object): string | undefined {
  return Object.hasOwn(cls, 'code') ? (cls as { code: string }).code : undefined;
}

export abstract class BgwError extends Error {
  readonly code: BgwErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    const cls = new.target as unknown as { readonly code: BgwErrorCode; readonly name: string };
    this.code = cls.code;
    this.name = cls.name;
    Object.defineProperty(this, brandOf(cls.code), { value: true });
  }
  get [kBgwError](): true {
    return true;
  }
  /**
   * BgwError and each class that declares a code check the brand, so instances of another
   * copy pass; further subclasses (a caller's own) keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if (this === BgwError) return kBgwError in value;
    const code = declaredCode(this);
    if (code !== undefined) return brandOf(code) in value;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Whether `e` is a BgwError of any copy of the package, and with `code` when one is given. */
export function isBgwError<C extends BgwErrorCode>(e: unknown, code?: C): e is BgwError & { readonly code: C } {
  if (typeof e !== 'object' || e === null) return false;
  return code === undefined ? kBgwError in e : brandOf(code) in e;
}

export class InvalidOptionError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_OPTION';
  static readonly meaning = 'A host option is out of range or of the wrong type.';
  declare readonly code: typeof InvalidOptionError.code;
}

export class ConfigInvalidError extends BgwError {
  static readonly code = 'BGW_ERR_CONFIG_INVALID';
  static readonly meaning = "The CLI's command line is wrong, or its config file cannot be read, is not JSON, or has an unknown field or one of the wrong type.";
  declare readonly code: typeof ConfigInvalidError.code;
}

export class InvalidRegistrationError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_REGISTRATION';
  static readonly meaning = 'A registration is not an object.';
  declare readonly code: typeof InvalidRegistrationError.code;
}

export class NameTooLongError extends BgwError {
  static readonly code = 'BGW_ERR_NAME_TOO_LONG';
  static readonly meaning = 'A name, type or function name is empty or longer than BGW_MAXLEN - 1 bytes.';
  declare readonly code: typeof NameTooLongError.code;
}

export class ExtraTooLongError extends BgwError {
  static readonly code = 'BGW_ERR_EXTRA_TOO_LONG';
  static readonly meaning = '`extra` is longer than BGW_EXTRALEN bytes or not a Uint8Array.';
  declare readonly code: typeof ExtraTooLongError.code;
}

export class MainArgNotClonableError extends BgwError {
  static readonly code = 'BGW_ERR_MAIN_ARG_NOT_CLONABLE';
  static readonly meaning = '`mainArg` cannot be structured-cloned.';
  declare readonly code: typeof MainArgNotClonableError.code;
}

export class MainArgTooLargeError extends BgwError {
  static readonly code = 'BGW_ERR_MAIN_ARG_TOO_LARGE';
  static readonly meaning = "`mainArg`'s clone is larger than the host's mainArgBytes.";
  declare readonly code: typeof MainArgTooLargeError.code;
}

export class InvalidFlagsError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_FLAGS';
  static readonly meaning = 'Unknown flag bits, or a combination PostgreSQL forbids.';
  declare readonly code: typeof InvalidFlagsError.code;
}

export class InvalidStartTimeError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_START_TIME';
  static readonly meaning = 'startTime is not one of BgWorkerStartTime.';
  declare readonly code: typeof InvalidStartTimeError.code;
}

export class InvalidRestartIntervalError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_RESTART_INTERVAL';
  static readonly meaning = 'restartTime is not -1 or an integer in 0..86,400,000.';
  declare readonly code: typeof InvalidRestartIntervalError.code;
}

export class ParallelRestartError extends BgwError {
  static readonly code = 'BGW_ERR_PARALLEL_RESTART';
  static readonly meaning = 'A parallel-class worker was configured for restart.';
  declare readonly code: typeof ParallelRestartError.code;
}

export class ModuleNotFoundError extends BgwError {
  static readonly code = 'BGW_ERR_MODULE_NOT_FOUND';
  static readonly meaning = 'The worker module does not exist, is not a regular file, or its path is too long.';
  declare readonly code: typeof ModuleNotFoundError.code;
}

export class TsLoaderMissingError extends BgwError {
  static readonly code = 'BGW_ERR_TS_LOADER_MISSING';
  static readonly meaning = 'The worker module is TypeScript, Node does not strip types here, and tsx is not installed: install tsx or compile the worker.';
  declare readonly code: typeof TsLoaderMissingError.code;
}

export class FunctionNotFoundError extends BgwError {
  static readonly code = 'BGW_ERR_FUNCTION_NOT_FOUND';
  static readonly meaning = 'The worker module has no such exported function (reported by the worker at start).';
  declare readonly code: typeof FunctionNotFoundError.code;
}

export class StaticNotifyError extends BgwError {
  static readonly code = 'BGW_ERR_STATIC_NOTIFY';
  static readonly meaning = 'A static registration asked for start/stop notification.';
  declare readonly code: typeof StaticNotifyError.code;
}

export class TooManyWorkersError extends BgwError {
  static readonly code = 'BGW_ERR_TOO_MANY_WORKERS';
  static readonly meaning = 'More static registrations than maxWorkerProcesses.';
  declare readonly code: typeof TooManyWorkersError.code;
}

export class StaticAfterStartError extends BgwError {
  static readonly code = 'BGW_ERR_STATIC_AFTER_START';
  static readonly meaning = 'A static registration was made after start().';
  declare readonly code: typeof StaticAfterStartError.code;
}

export class NotStartedError extends BgwError {
  static readonly code = 'BGW_ERR_NOT_STARTED';
  static readonly meaning = 'The host has not been started yet.';
  declare readonly code: typeof NotStartedError.code;
}

export class PostmasterStoppedError extends BgwError {
  static readonly code = 'BGW_ERR_POSTMASTER_STOPPED';
  static readonly meaning = 'The host has shut down (or died); it takes no more work.';
  declare readonly code: typeof PostmasterStoppedError.code;
}

export class ShuttingDownError extends BgwError {
  static readonly code = 'BGW_ERR_SHUTTING_DOWN';
  static readonly meaning = 'A shutdown is in progress; no new sessions are accepted.';
  declare readonly code: typeof ShuttingDownError.code;
}

export class NoShmemAccessError extends BgwError {
  static readonly code = 'BGW_ERR_NO_SHMEM_ACCESS';
  static readonly meaning = 'A worker registered without BGWORKER_SHMEM_ACCESS used shared memory.';
  declare readonly code: typeof NoShmemAccessError.code;
}

export class AdminShutdownError extends BgwError {
  static readonly code = 'BGW_ERR_ADMIN_SHUTDOWN';
  static readonly meaning = 'The worker was terminated by a SIGTERM (terminate(), shutdown).';
  declare readonly code: typeof AdminShutdownError.code;
}

export class DeadlineExceededError extends BgwError {
  static readonly code = 'BGW_ERR_DEADLINE_EXCEEDED';
  static readonly meaning = "The worker reached its maxRuntimeMs: SIGTERM, then the hard stop; the exit's kind is timeout.";
  declare readonly code: typeof DeadlineExceededError.code;
}

export class PostmasterDeathError extends BgwError {
  static readonly code = 'BGW_ERR_POSTMASTER_DEATH';
  static readonly meaning = "The host died while the worker ran; the worker's abort signal carries it.";
  declare readonly code: typeof PostmasterDeathError.code;
}

export class QueryCanceledError extends BgwError {
  static readonly code = 'BGW_ERR_QUERY_CANCELED';
  static readonly meaning = 'The worker received a SIGINT (cancel) and had no handler for it.';
  declare readonly code: typeof QueryCanceledError.code;
}

export class LockNotHeldError extends BgwError {
  static readonly code = 'BGW_ERR_LOCK_NOT_HELD';
  static readonly meaning = 'A lock was released by a thread that does not hold it.';
  declare readonly code: typeof LockNotHeldError.code;
}

export class LockAlreadyHeldError extends BgwError {
  static readonly code = 'BGW_ERR_LOCK_ALREADY_HELD';
  static readonly meaning = 'A thread tried to take a lock it already holds (it would deadlock).';
  declare readonly code: typeof LockAlreadyHeldError.code;
}

export class TooManyLWLocksError extends BgwError {
  static readonly code = 'BGW_ERR_TOO_MANY_LWLOCKS';
  static readonly meaning = 'A thread holds MAX_SIMUL_LWLOCKS locks already.';
  declare readonly code: typeof TooManyLWLocksError.code;
}

export class InvalidLockModeError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_LOCK_MODE';
  static readonly meaning = "A lock mode is not 'shared' or 'exclusive'.";
  declare readonly code: typeof InvalidLockModeError.code;
}

export class UnknownShmemError extends BgwError {
  static readonly code = 'BGW_ERR_UNKNOWN_SHMEM';
  static readonly meaning = 'No shared-memory region or lock of that name was requested at start.';
  declare readonly code: typeof UnknownShmemError.code;
}

export class NotInWorkerError extends BgwError {
  static readonly code = 'BGW_ERR_NOT_IN_WORKER';
  static readonly meaning = 'A worker-side API was called outside a bgworker thread.';
  declare readonly code: typeof NotInWorkerError.code;
}

export class ShmBadMagicError extends BgwError {
  static readonly code = 'BGW_ERR_SHM_BAD_MAGIC';
  static readonly meaning = 'A buffer is not a bgworker segment of this layout version.';
  declare readonly code: typeof ShmBadMagicError.code;
}

export class ShmemInitFailedError extends BgwError {
  static readonly code = 'BGW_ERR_SHMEM_INIT_FAILED';
  static readonly meaning = "A shmem region's init callback threw; the callback's error is the cause.";
  declare readonly code: typeof ShmemInitFailedError.code;
}

export class DbNotRequestedError extends BgwError {
  static readonly code = 'BGW_ERR_DB_NOT_REQUESTED';
  static readonly meaning = 'A worker registered without BGWORKER_BACKEND_DATABASE_CONNECTION asked for a connection.';
  declare readonly code: typeof DbNotRequestedError.code;
}

export class DbAlreadyConnectedError extends BgwError {
  static readonly code = 'BGW_ERR_DB_ALREADY_CONNECTED';
  static readonly meaning = 'A worker asked for its database connection a second time; it connects once.';
  declare readonly code: typeof DbAlreadyConnectedError.code;
}

export class DbNotConnectedError extends BgwError {
  static readonly code = 'BGW_ERR_DB_NOT_CONNECTED';
  static readonly meaning = 'A database helper was used before initializeConnection().';
  declare readonly code: typeof DbNotConnectedError.code;
}

export class DbConnectFailedError extends BgwError {
  static readonly code = 'BGW_ERR_DB_CONNECT_FAILED';
  static readonly meaning = "The database refused the worker's connection; the server's error is the cause.";
  declare readonly code: typeof DbConnectFailedError.code;
}

export class DbConnectionLostError extends BgwError {
  static readonly code = 'BGW_ERR_DB_CONNECTION_LOST';
  static readonly meaning = "The worker's database connection was lost; the worker exits 1 and its restart policy applies.";
  declare readonly code: typeof DbConnectionLostError.code;
}

export class InvalidResourceLimitsError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_RESOURCE_LIMITS';
  static readonly meaning = 'A resource limit is unknown, not a whole number of MB, or out of range.';
  declare readonly code: typeof InvalidResourceLimitsError.code;
}

export class DsmInvalidSizeError extends BgwError {
  static readonly code = 'BGW_ERR_DSM_INVALID_SIZE';
  static readonly meaning = 'A dynamic shared-memory segment was asked for with a size out of range.';
  declare readonly code: typeof DsmInvalidSizeError.code;
}

export class HostLatchesExhaustedError extends BgwError {
  static readonly code = 'BGW_ERR_HOST_LATCHES_EXHAUSTED';
  static readonly meaning = "Every host latch is handed out; release endpoints or raise the host's hostLatches.";
  declare readonly code: typeof HostLatchesExhaustedError.code;
}

export class MqInvalidArgError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_INVALID_ARG';
  static readonly meaning = 'A queue was given a bad buffer, offset, proc number or role.';
  declare readonly code: typeof MqInvalidArgError.code;
}

export class MqTooSmallError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_TOO_SMALL';
  static readonly meaning = 'A queue size below the minimum: its ring would be empty.';
  declare readonly code: typeof MqTooSmallError.code;
}

export class MqBadMagicError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_BAD_MAGIC';
  static readonly meaning = 'No queue was created at that offset.';
  declare readonly code: typeof MqBadMagicError.code;
}

export class MqAlreadySetError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_ALREADY_SET';
  static readonly meaning = "A queue's sender or receiver was set a second time; queues are not reused.";
  declare readonly code: typeof MqAlreadySetError.code;
}

export class MqNotParticipantError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_NOT_PARTICIPANT';
  static readonly meaning = 'A thread attached to a queue end that is not its own.';
  declare readonly code: typeof MqNotParticipantError.code;
}

export class MqAlreadyAttachedError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_ALREADY_ATTACHED';
  static readonly meaning = 'A second handle on the same end of a queue.';
  declare readonly code: typeof MqAlreadyAttachedError.code;
}

export class MqWrongEndError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_WRONG_END';
  static readonly meaning = "A send on the receiver's handle, or a receive on the sender's.";
  declare readonly code: typeof MqWrongEndError.code;
}

export class MqMessageTooLargeError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_MESSAGE_TOO_LARGE';
  static readonly meaning = 'A message larger than 1 GiB - 1 bytes.';
  declare readonly code: typeof MqMessageTooLargeError.code;
}

export class MqInvalidMessageSizeError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_INVALID_MESSAGE_SIZE';
  static readonly meaning = 'The ring holds a length word over 1 GiB - 1: the queue is corrupt.';
  declare readonly code: typeof MqInvalidMessageSizeError.code;
}

export class MqRetryMismatchError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_RETRY_MISMATCH';
  static readonly meaning = 'A send retried after would_block with a different message.';
  declare readonly code: typeof MqRetryMismatchError.code;
}

export class MqBlockingOnHostError extends BgwError {
  static readonly code = 'BGW_ERR_MQ_BLOCKING_ON_HOST';
  static readonly meaning = 'A blocking queue call would sleep on the host thread; use the async or nowait form.';
  declare readonly code: typeof MqBlockingOnHostError.code;
}

export class TocInvalidArgError extends BgwError {
  static readonly code = 'BGW_ERR_TOC_INVALID_ARG';
  static readonly meaning = 'A table of contents was given a bad region, offset, size, key or address.';
  declare readonly code: typeof TocInvalidArgError.code;
}

export class TocOutOfMemoryError extends BgwError {
  static readonly code = 'BGW_ERR_TOC_OUT_OF_MEMORY';
  static readonly meaning = 'Out of shared memory: the region has no room for the chunk or entry.';
  declare readonly code: typeof TocOutOfMemoryError.code;
}

export class TocKeyNotFoundError extends BgwError {
  static readonly code = 'BGW_ERR_TOC_KEY_NOT_FOUND';
  static readonly meaning = 'A table-of-contents lookup found no such key.';
  declare readonly code: typeof TocKeyNotFoundError.code;
}

export class TocDuplicateKeyError extends BgwError {
  static readonly code = 'BGW_ERR_TOC_DUPLICATE_KEY';
  static readonly meaning = 'A table-of-contents key was inserted twice.';
  declare readonly code: typeof TocDuplicateKeyError.code;
}

export class InvalidNameError extends BgwError {
  static readonly code = 'BGW_ERR_INVALID_NAME';
  static readonly meaning = 'A name, type or function name contains control characters.';
  declare readonly code: typeof InvalidNameError.code;
}

export class ThreadStartFailedError extends BgwError {
  static readonly code = 'BGW_ERR_THREAD_START_FAILED';
  static readonly meaning = "A worker thread could not be started (Node refused its execArgv or resource limits, or the thread failed before it was ready); the cause says why.";
  declare readonly code: typeof ThreadStartFailedError.code;
}

export class FleetInvalidDeclarationError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_INVALID_DECLARATION';
  static readonly meaning = 'A fleet worker declaration has a bad name, replica count, placement or registration; nothing was written.';
  declare readonly code: typeof FleetInvalidDeclarationError.code;
}

export class FleetInvalidLabelsError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_INVALID_LABELS';
  static readonly meaning = "A member's labels or a placement's label keys or values are not of the allowed form.";
  declare readonly code: typeof FleetInvalidLabelsError.code;
}

export class FleetUnknownLabelError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_UNKNOWN_LABEL';
  static readonly meaning = 'A placement names a label key that no active fleet member carries.';
  declare readonly code: typeof FleetUnknownLabelError.code;
}

export class FleetInvalidNotificationError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_INVALID_NOTIFICATION';
  static readonly meaning = "A NOTIFY on the fleet's channel had a payload of the wrong form; it was ignored.";
  declare readonly code: typeof FleetInvalidNotificationError.code;
}

export class FleetLeaseLostError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_LEASE_LOST';
  static readonly meaning = 'A lease could not be renewed before its local deadline, or was found taken: its holder stops.';
  declare readonly code: typeof FleetLeaseLostError.code;
}

export class FleetLeftError extends BgwError {
  static readonly code = 'BGW_ERR_FLEET_LEFT';
  static readonly meaning = 'The host has left the fleet (or was never started in it); join again with a new Fleet.';
  declare readonly code: typeof FleetLeftError.code;
}

export class ScheduleInvalidError extends BgwError {
  static readonly code = 'BGW_ERR_SCHEDULE_INVALID';
  static readonly meaning = 'A schedule is invalid: no time rule or two, a zero, negative or unreadable interval, a policy value out of range, or maxRuntimeMs below the host\'s terminateGraceMs.';
  declare readonly code: typeof ScheduleInvalidError.code;
}

export class CronInvalidError extends BgwError {
  static readonly code = 'BGW_ERR_CRON_INVALID';
  static readonly meaning = 'A cron expression cannot be parsed, or it never fires.';
  declare readonly code: typeof CronInvalidError.code;
}

export class TimeZoneUnknownError extends BgwError {
  static readonly code = 'BGW_ERR_TIME_ZONE_UNKNOWN';
  static readonly meaning = 'A schedule names a time zone that is not an IANA zone this Node.js knows.';
  declare readonly code: typeof TimeZoneUnknownError.code;
}

export class ScheduleExistsError extends BgwError {
  static readonly code = 'BGW_ERR_SCHEDULE_EXISTS';
  static readonly meaning = 'A schedule of that name is already declared on this host.';
  declare readonly code: typeof ScheduleExistsError.code;
}

export class ScheduleRemovedError extends BgwError {
  static readonly code = 'BGW_ERR_SCHEDULE_REMOVED';
  static readonly meaning = 'The schedule was removed (or its host stopped); it takes no more calls but stats().';
  declare readonly code: typeof ScheduleRemovedError.code;
}
