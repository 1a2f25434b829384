/**
 * The public surface, pinned: every name each entry point exports, with its kind (class,
 * function, object, number, string). An export added or removed by accident fails here;
 * a deliberate one updates this list. The error classes are listed apart, since every
 * error code has one (test/errors.test.ts checks them against the catalogue).
 */
import t from 'tap';
import * as host from '../dist/lib/index.js';
import * as worker from '../dist/lib/worker/index.js';

type Kind = 'class' | 'function' | 'object' | 'number' | 'string';

const HOST: Record<string, Kind> = {
  BGWORKER_BACKEND_DATABASE_CONNECTION: 'number',
  BGWORKER_CLASS_PARALLEL: 'number',
  BGWORKER_INTERRUPTIBLE: 'number',
  BGWORKER_KNOWN_FLAGS: 'number',
  BGWORKER_SHMEM_ACCESS: 'number',
  BGW_DEFAULT_RESTART_INTERVAL: 'number',
  BGW_EXTRALEN: 'number',
  BGW_MAXLEN: 'number',
  BGW_MAX_RESTART_TIME: 'number',
  BGW_NEVER_RESTART: 'number',
  BackgroundWorkerHandle: 'class',
  BgWorkerStartTime: 'object',
  BgwError: 'class',
  BgwHandleStatus: 'object',
  CATALOGUE: 'object',
  CHANNELS: 'object',
  ControlChannel: 'class',
  DEFAULT_MAX_WORKER_PROCESSES: 'number',
  DsmSegment: 'class',
  FLEET_CHANNELS: 'object',
  Fleet: 'class',
  HostLWLock: 'class',
  Listener: 'class',
  MAXPGPATH: 'number',
  MAX_BGWORKERS_TO_LAUNCH: 'number',
  MAX_MESSAGE_BYTES: 'number',
  METRICS_CONTENT_TYPE: 'string',
  POSTMASTER_PID: 'number',
  Postmaster: 'class',
  ShmMq: 'class',
  ShmMqHandle: 'class',
  ShmToc: 'class',
  ShmTocEstimator: 'class',
  ScheduledWorker: 'class',
  ShmemStruct: 'class',
  SqlSchedules: 'class',
  attachControlChannel: 'function',
  attachSqlSchedules: 'function',
  consoleLogger: 'function',
  dashboard: 'function',
  errorClassFor: 'function',
  fleetMetrics: 'function',
  formatActivity: 'function',
  formatFleetStatus: 'function',
  formatSchedules: 'function',
  healthHandler: 'function',
  isBgwError: 'function',
  joinFleet: 'function',
  observeFleet: 'function',
  observePostmaster: 'function',
  metricsHandler: 'function',
  postmasterMetrics: 'function',
  scheduleMetrics: 'function',
  silentLogger: 'object',
};

const WORKER: Record<string, Kind> = {
  BGWORKER_BACKEND_DATABASE_CONNECTION: 'number',
  BGWORKER_CLASS_PARALLEL: 'number',
  BGWORKER_INTERRUPTIBLE: 'number',
  BGWORKER_KNOWN_FLAGS: 'number',
  BGWORKER_SHMEM_ACCESS: 'number',
  BGW_EXTRALEN: 'number',
  BGW_MAXLEN: 'number',
  BGW_NEVER_RESTART: 'number',
  BgWorkerStartTime: 'object',
  BgwError: 'class',
  BgwHandleStatus: 'object',
  CATALOGUE: 'object',
  DsmSegment: 'class',
  MAX_MESSAGE_BYTES: 'number',
  POSTMASTER_PID: 'number',
  ShmMq: 'class',
  ShmMqHandle: 'class',
  ShmToc: 'class',
  ShmTocEstimator: 'class',
  ShmemStruct: 'class',
  WL_EXIT_ON_PM_DEATH: 'number',
  WL_LATCH_SET: 'number',
  WL_POSTMASTER_DEATH: 'number',
  WL_SOCKET_READABLE: 'number',
  WL_SOCKET_WRITEABLE: 'number',
  WL_TIMEOUT: 'number',
  WorkerBackgroundWorkerHandle: 'class',
  WorkerContext: 'class',
  errorClassFor: 'function',
  isBgwError: 'function',
};

/** Every error class, exported by both entry points. */
const ERRORS = [
  'AdminShutdownError',
  'ConfigInvalidError',
  'CronInvalidError',
  'DbAlreadyConnectedError',
  'DbConnectFailedError',
  'DbConnectionLostError',
  'DbNotConnectedError',
  'DbNotRequestedError',
  'DeadlineExceededError',
  'DsmInvalidSizeError',
  'ExtraTooLongError',
  'FleetInvalidDeclarationError',
  'FleetInvalidLabelsError',
  'FleetInvalidNotificationError',
  'FleetLeaseLostError',
  'FleetLeftError',
  'FleetUnknownLabelError',
  'FunctionNotFoundError',
  'HostLatchesExhaustedError',
  'InvalidFlagsError',
  'InvalidLockModeError',
  'InvalidNameError',
  'InvalidOptionError',
  'InvalidRegistrationError',
  'InvalidResourceLimitsError',
  'InvalidRestartIntervalError',
  'InvalidStartTimeError',
  'LockAlreadyHeldError',
  'LockNotHeldError',
  'MainArgNotClonableError',
  'MainArgTooLargeError',
  'ModuleNotFoundError',
  'MqAlreadyAttachedError',
  'MqAlreadySetError',
  'MqBadMagicError',
  'MqBlockingOnHostError',
  'MqInvalidArgError',
  'MqInvalidMessageSizeError',
  'MqMessageTooLargeError',
  'MqNotParticipantError',
  'MqRetryMismatchError',
  'MqTooSmallError',
  'MqWrongEndError',
  'NameTooLongError',
  'NoShmemAccessError',
  'NotInWorkerError',
  'NotStartedError',
  'ParallelRestartError',
  'PostmasterDeathError',
  'PostmasterStoppedError',
  'QueryCanceledError',
  'ScheduleExistsError',
  'ScheduleInvalidError',
  'ScheduleRemovedError',
  'ShmBadMagicError',
  'ShmemInitFailedError',
  'ShuttingDownError',
  'StaticAfterStartError',
  'StaticNotifyError',
  'ThreadStartFailedError',
  'TimeZoneUnknownError',
  'TocDuplicateKeyError',
  'TocInvalidArgError',
  'TocKeyNotFoundError',
  'TocOutOfMemoryError',
  'TooManyLWLocksError',
  'TooManyWorkersError',
  'TsLoaderMissingError',
  'UnknownShmemError',
];

function kindOf(v: unknown): Kind | 'other' {
  if (typeof v === 'function') return /^class\b/.test(Function.prototype.toString.call(v)) ? 'class' : 'function';
  if (typeof v === 'object' && v !== null) return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function surface(m: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(m).filter((k) => !ERRORS.includes(k)).sort().map((k) => [k, kindOf(m[k])]));
}

function errorNames(m: Record<string, unknown>): string[] {
  return Object.keys(m).filter((k) => k.endsWith('Error') && k !== 'BgwError' && kindOf(m[k]) === 'class').sort();
}

t.test('the host entry exports exactly these names, of these kinds', async (t) => {
  t.same(surface(host), HOST);
  t.same(errorNames(host), ERRORS);
});

t.test('the worker entry exports exactly these names, of these kinds', async (t) => {
  t.same(surface(worker), WORKER);
  t.same(errorNames(worker), ERRORS);
});

t.test('neither side exports the other side\'s API', async (t) => {
  t.notOk('WorkerContext' in host, 'no worker-side API on the host entry');
  t.notOk('Postmaster' in worker, 'no host API on the worker entry');
});
