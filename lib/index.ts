/**
 * bgworker, host side: the public API a Node service embeds. Re-exports only.
 * The worker side is `bgworker/worker` (lib/worker/index.ts).
 */
export { Postmaster } from './host/postmaster.js';
export type { MqQueueStats, MqStats } from './host/mq-stats.js';
export type { HostMqEndpoint, WaitStats, PostmasterOptions, PostmasterEvents, PmState, ShmemRequest } from './host/postmaster.js';
export { BackgroundWorkerHandle } from './host/handle.js';
export type { BackgroundWorkerHandleEvents } from './host/handle.js';
export { HostLWLock } from './host/host-lock.js';
export type { RestartIntensityOptions } from './host/restart-intensity.js';
export { healthHandler } from './host/health.js';
export type { Health, HealthStatus } from './host/health.js';
export { consoleLogger, silentLogger } from './host/logger.js';
export type { Launcher } from './host/thread-launcher.js';
export type { PidStatus } from './bgworker/registration.js';
export { ShmemStruct } from './shm/shmem-struct.js';
export { DsmSegment } from './shm/dsm-segment.js';
export { ShmMq, ShmMqHandle, MAX_MESSAGE_BYTES } from './shm/shm-mq.js';
export type { ShmMqEndpoint, ShmMqReceived, ShmMqResult, ShmMqRole } from './shm/shm-mq.js';
export { ShmToc, ShmTocEstimator } from './shm/shm-toc.js';
export type { LWLockMode } from './shm/lwlock.js';
export * from './types.js';
export * from './errors.js';
export * from './error-catalogue.js';
export {
  BGW_MAXLEN, BGW_EXTRALEN, MAXPGPATH, BGW_NEVER_RESTART, BGW_DEFAULT_RESTART_INTERVAL, BGW_MAX_RESTART_TIME,
  DEFAULT_MAX_WORKER_PROCESSES, MAX_BGWORKERS_TO_LAUNCH, POSTMASTER_PID,
} from './constants.js';
export { Listener } from './pg/listen.js';
export { attachControlChannel, ControlChannel } from './host/control-channel.js';
export type { ControlChannelMode, ControlChannelOptions, LaunchableType, RateLimit } from './host/control-channel.js';
export type { NotificationSink } from './pg/listen.js';
export type { DatabaseSettings } from './pg/connect.js';
export { formatActivity } from './host/activity-table.js';
export { CHANNELS, observePostmaster } from './host/diagnostics.js';
export type { DiagnosticsMessages } from './host/diagnostics.js';
export { METRICS_CONTENT_TYPE, metricsHandler, postmasterMetrics } from './host/metrics.js';
export type { PostmasterMetrics, PostmasterMetricsOptions } from './host/metrics.js';
export { dashboard } from './dashboard/dashboard.js';
export type { Authorize, DashboardAction, DashboardHandler, DashboardOptions } from './dashboard/dashboard.js';
export type { Snapshot as DashboardSnapshot } from './dashboard/snapshot.js';
export { Fleet, joinFleet } from './fleet/fleet.js';
export type { FleetEvents, FleetPhase, FleetStats } from './fleet/fleet.js';
export type { FleetOptions } from './fleet/options.js';
export type { FleetRegistration, FleetWorkerSpec } from './fleet/declaration.js';
export type { Labels, Placement } from './fleet/labels.js';
export type { HeldLease } from './fleet/queries.js';
export type { FleetMemberStatus, FleetReplicaStatus, FleetStatus } from './fleet/status.js';
export { formatFleetStatus } from './fleet/status.js';
export { FLEET_CHANNELS, observeFleet } from './fleet/diagnostics.js';
export { fleetMetrics } from './fleet/metrics.js';
export type { FleetMetrics } from './fleet/metrics.js';
export { ScheduledWorker } from './schedule/scheduled-worker.js';
export type { RetryInfo, ScheduledWorkerEvents } from './schedule/scheduled-worker.js';
export type { MisfirePolicy, OverlapPolicy, SchedulePolicies, ScheduleRegistration, ScheduleSpec } from './schedule/spec.js';
export type { FinalStatus, RunKind, RunRecord, RunStatus, ScheduleStats, SkipReason } from './schedule/job-stats.js';
export type { FleetStats as ScheduleFleetStats } from './schedule/fleet-store.js';
export { scheduleMetrics } from './schedule/metrics.js';
export type { ScheduleMetrics } from './schedule/metrics.js';
export { formatSchedules } from './schedule/schedule-table.js';
export { attachSqlSchedules, SqlSchedules } from './schedule/sql-schedules.js';
export type { SqlSchedulesOptions } from './schedule/sql-schedules.js';
