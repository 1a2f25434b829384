/**
 * joinFleet's options, checked and resolved before anything connects.
 *
 * Defaults, and why:
 *   schema          'bgworker'
 *   leaseMs         15 000: how long a lease outlives its last renewal. The failover time
 *                   after a host dies is at most leaseMs + heartbeatMs + the launch.
 *   heartbeatMs     leaseMs / 3: one statement per heartbeat (the idle load of a host).
 *   fenceMarginMs   leaseMs / 5: how long before its lease could be taken a host stops its
 *                   copies when it cannot renew (lease-deadline.ts); the time a copy has
 *                   to honour SIGTERM without overlapping its successor.
 *   capacity        half of the host's slots (maxWorkerProcesses / 2, at least 1): the
 *                   other half stays for the host's own workers and the copies' children.
 *   movesPerTick    ceil(capacity / 4), at least 1: copies a host gives up (to a member
 *                   the placement now prefers) or rolls (to a new registration) per tick.
 *                   A joining host so takes its share at a bounded rate, and a change of
 *                   membership never stops everything at once.
 *   relaunchDelayMs 1 000: a copy that ended for good while its lease is held is
 *                   registered again after this long (or its restartTime, if longer).
 * heartbeatMs must leave room for two renewals before the deadline:
 * heartbeatMs <= (leaseMs − fenceMarginMs) / 2.
 */
import { InvalidOptionError } from '../errors.js';
import type { DatabaseSettings } from '../pg/connect.js';
import { checkSchemaName } from '../pg/migrate.js';
import type { Logger } from '../types.js';
import { checkLabels, type Labels } from './labels.js';
import { fleetChannel } from './schema.js';

export interface FleetOptions {
  /** Connection settings for the fleet's queries; the host's LISTEN connection must reach the same database. */
  database?: DatabaseSettings;
  schema?: string;
  capacity?: number;
  labels?: Labels;
  leaseMs?: number;
  heartbeatMs?: number;
  fenceMarginMs?: number;
  movesPerTick?: number;
  relaunchDelayMs?: number;
  logger?: Logger;
}

export interface ResolvedFleetOptions {
  database: DatabaseSettings;
  schema: string;
  channel: string;
  capacity: number;
  labels: Labels;
  leaseMs: number;
  heartbeatMs: number;
  fenceMarginMs: number;
  movesPerTick: number;
  relaunchDelayMs: number;
}

function int(name: string, v: unknown, dflt: number, min: number, max = 2 ** 31 - 1): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new InvalidOptionError(`fleet option ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v as number;
}

/** @param slots the host's maxWorkerProcesses */
export function resolveFleetOptions(o: FleetOptions, slots: number): ResolvedFleetOptions {
  const schema = checkSchemaName(o.schema ?? 'bgworker');
  const leaseMs = int('leaseMs', o.leaseMs, 15_000, 100);
  const fenceMarginMs = int('fenceMarginMs', o.fenceMarginMs, Math.floor(leaseMs / 5), 0, leaseMs - 1);
  const heartbeatMs = int('heartbeatMs', o.heartbeatMs, Math.floor(leaseMs / 3), 10);
  if (heartbeatMs > (leaseMs - fenceMarginMs) / 2) {
    throw new InvalidOptionError(`fleet option heartbeatMs (${heartbeatMs}) must be at most (leaseMs - fenceMarginMs) / 2 = ${(leaseMs - fenceMarginMs) / 2}: two renewals must fit before the deadline`);
  }
  const capacity = int('capacity', o.capacity, Math.max(1, Math.floor(slots / 2)), 0, slots);
  return {
    database: { ...o.database },
    schema,
    channel: fleetChannel(schema),
    capacity,
    labels: checkLabels(o.labels, 'fleet option labels'),
    leaseMs,
    heartbeatMs,
    fenceMarginMs,
    movesPerTick: int('movesPerTick', o.movesPerTick, Math.max(1, Math.ceil(capacity / 4)), 1),
    relaunchDelayMs: int('relaunchDelayMs', o.relaunchDelayMs, 1_000, 0),
  };
}
