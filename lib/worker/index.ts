/**
 * bgworker, worker side (`bgworker/worker`): what a worker module imports.
 *
 *   import { type WorkerContext, WL_LATCH_SET, WL_TIMEOUT, WL_EXIT_ON_PM_DEATH } from 'bgworker/worker';
 *   export async function main(ctx: WorkerContext) { ... }
 */
export { WorkerContext } from './context.js';
export type { WorkerLatch } from './context.js';
export { WorkerBackgroundWorkerHandle } from './handle.js';
export type { CatchableSignal, StopReason } from './interrupts.js';
export {
  WL_LATCH_SET, WL_SOCKET_READABLE, WL_SOCKET_WRITEABLE, WL_TIMEOUT, WL_POSTMASTER_DEATH, WL_EXIT_ON_PM_DEATH,
} from './wait-latch.js';
export type { WaitOptions } from './wait-latch.js';
export type { Notification, NotificationEvent } from './notifications.js';
export type { ClusterSingletonLease, ClusterSingletonOptions } from './cluster-singleton.js';
export type { FleetLease } from '../fleet/lease-extra.js';
export type { DatabaseSettings, PgClient } from '../pg/connect.js';
export type { PidStatus } from '../bgworker/registration.js';
export { ShmemStruct } from '../shm/shmem-struct.js';
export { DsmSegment } from '../shm/dsm-segment.js';
export { ShmMq, ShmMqHandle, MAX_MESSAGE_BYTES } from '../shm/shm-mq.js';
export type { ShmMqEndpoint, ShmMqReceived, ShmMqResult, ShmMqRole } from '../shm/shm-mq.js';
export { ShmToc, ShmTocEstimator } from '../shm/shm-toc.js';
export type { LWLock, LWLockMode } from '../shm/lwlock.js';
export * from '../types.js';
export * from '../errors.js';
export * from '../error-catalogue.js';
export { BGW_MAXLEN, BGW_EXTRALEN, BGW_NEVER_RESTART, POSTMASTER_PID } from '../constants.js';
