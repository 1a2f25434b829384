/**
 * What a schedule is declared with (ScheduleSpec) and its check (checkSchedule): a
 * registration — the fields of a BackgroundWorker that every run is registered with — plus
 * a time rule and the policies, after TimescaleDB's jobs (add_job / alter_job).
 *
 * The check runs before anything is armed, and the first problem throws a typed error
 * naming the field: exactly one of `every` and `cron`; a duration above 0 (duration.ts); a
 * cron expression that parses and fires, in a known zone (cron.ts); policies in range; no
 * field this file does not know (a misspelt policy would otherwise be a silent default);
 * and maxRuntimeMs not below the host's terminateGraceMs. That last one because a run past
 * its deadline gets SIGTERM and is hard-stopped only terminateGraceMs later: a max run time
 * shorter than the grace would let an overrunning run hold its slot for more than twice as
 * long as asked, the grace being the larger part. The registration itself is checked by
 * the host's own rules (sanity.ts) through the host's hook, under a run's name.
 *
 * Defaults: fixed (drift-free) ticks, overlap 'skip', misfire 'run_once' with a grace of
 * 1000 ms, maxRetries -1 (for ever), retryPeriodMs = the schedule's period, no max run
 * time, time zone UTC, a history of 20 runs, scheduled (not paused), host scope.
 */
import { ScheduleInvalidError } from '../errors.js';
import type { BackgroundWorker } from '../types.js';
import { CronRule, checkTimeZone } from './cron.js';
import { parseDuration } from './duration.js';
import type { TimeRule } from './time-rule.js';

export type OverlapPolicy = 'skip' | 'queue' | 'parallel';
export type MisfirePolicy = 'run_once' | 'skip';

/** The registration every run gets; runs are named `<schedule> @ <tick time>` (runName), typed by `type` or the schedule's name. */
export type ScheduleRegistration<A = unknown> = Omit<BackgroundWorker<A>, 'name' | 'restartTime' | 'notifyPid' | 'maxRuntimeMs'>;

export interface SchedulePolicies {
  /**
   * Ticks on a grid (true, the default: drift-free, aligned to the interval from
   * initialStart or the epoch, or to the cron times), or `every` after the previous run
   * finished (false; intervals only, host scope only).
   */
  fixed?: boolean;
  /** The first tick, and the origin of a fixed interval's grid. Default: the epoch's grid (fixed), declaration + every (after finish). */
  initialStart?: Date | number | string;
  /** TimescaleDB's max_runtime: SIGTERM at the deadline, the hard stop terminateGraceMs later; the run's status is 'timeout'. Unset: none. */
  maxRuntimeMs?: number;
  /** Retries after a failed or timed-out run: -1 for ever (the default), 0 none. */
  maxRetries?: number;
  /** TimescaleDB's retry_period (backoff.ts). Default: the schedule's period. */
  retryPeriodMs?: number | string;
  /** When a tick comes while a run is still going: skip it (default, counted), queue one, or run in parallel up to maxParallel. */
  overlap?: OverlapPolicy;
  /** With overlap 'parallel': runs at once at most. Default 2. */
  maxParallel?: number;
  /** Ticks missed (the host was down, or its event loop stalled): run once to catch up (default), or skip to the next. */
  misfire?: MisfirePolicy;
  /** How late a tick may be reached and still count as on time. Default 1000 ms. */
  misfireGraceMs?: number;
  /** false: declared paused. Default true. */
  scheduled?: boolean;
  /** Runs kept in the history. Default 20. */
  historySize?: number;
}

export interface ScheduleSpec<A = unknown> extends ScheduleRegistration<A>, SchedulePolicies {
  /** The schedule's name: unique on the host (and in its fleet schema); at most 63 bytes. */
  name: string;
  /** A fixed interval: milliseconds, or a duration such as '5m' (duration.ts). */
  every?: number | string;
  /** A cron expression (cron.ts), in `timeZone`. */
  cron?: string;
  /** The cron expression's IANA time zone. Default 'UTC'. */
  timeZone?: string;
  /** Once per fleet: each tick runs once across every host that declares it, through the database (fleet-store.ts). */
  fleet?: boolean | { schema?: string };
}

export interface CheckedSchedule {
  name: string;
  registration: ScheduleRegistration;
  rule: TimeRule;
  maxRuntimeMs: number;
  maxRetries: number;
  /** null: the schedule's period. */
  retryPeriodMs: number | null;
  overlap: OverlapPolicy;
  maxParallel: number;
  misfire: MisfirePolicy;
  misfireGraceMs: number;
  scheduled: boolean;
  historySize: number;
  /** The fleet schema, or null for host scope. */
  fleetSchema: string | null;
  /** The spec as given, for update()'s merge. */
  spec: ScheduleSpec;
}

/** What the check needs of the host. */
export interface ScheduleHostRules {
  terminateGraceMs: number;
  /** The host's registration rules (sanity.ts); throws its typed error. */
  checkRegistration(w: BackgroundWorker): void;
}

const REGISTRATION_FIELDS = ['module', 'function', 'mainArg', 'flags', 'resourceLimits', 'type', 'extra', 'readiness', 'startTime'] as const;
const KNOWN = new Set<string>([
  ...REGISTRATION_FIELDS, 'name', 'every', 'cron', 'timeZone', 'fixed', 'initialStart', 'maxRuntimeMs', 'maxRetries', 'retryPeriodMs',
  'overlap', 'maxParallel', 'misfire', 'misfireGraceMs', 'scheduled', 'historySize', 'fleet',
]);
const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'queue', 'parallel'];
const MISFIRES: readonly MisfirePolicy[] = ['run_once', 'skip'];
const NAME_MAX_BYTES = 63;

/** @throws {BGW_ERR_SCHEDULE_INVALID} {BGW_ERR_CRON_INVALID} {BGW_ERR_TIME_ZONE_UNKNOWN}, or the host's registration error */
export function checkSchedule(spec: ScheduleSpec, host: ScheduleHostRules, nowMs = Date.now()): CheckedSchedule {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ScheduleInvalidError('a schedule must be an object');
  const name = checkName(spec.name);
  const where = `schedule "${name}"`;
  for (const k of Object.keys(spec)) if (!KNOWN.has(k)) throw new ScheduleInvalidError(`${where}: unknown field "${k}"`);
  const registration = pickRegistration(spec);
  host.checkRegistration({ type: name, ...registration, name: `${name} @ ${new Date(0).toISOString()}` });
  const fleetSchema = fleetOf(spec.fleet, where);
  const rule = timeRule(spec, where, nowMs, fleetSchema !== null);
  const overlap = oneOf(spec.overlap ?? 'skip', OVERLAPS, `${where}: overlap`);
  if (spec.maxParallel !== undefined && overlap !== 'parallel') throw new ScheduleInvalidError(`${where}: maxParallel applies to overlap 'parallel' only`);
  return {
    name,
    registration,
    rule,
    maxRuntimeMs: maxRuntime(spec.maxRuntimeMs, host.terminateGraceMs, where),
    maxRetries: integer(spec.maxRetries ?? -1, -1, Number.MAX_SAFE_INTEGER, `${where}: maxRetries (-1 for ever)`),
    retryPeriodMs: spec.retryPeriodMs === undefined ? null : parseDuration(spec.retryPeriodMs, `${where}: retryPeriodMs`),
    overlap,
    maxParallel: overlap === 'parallel' ? integer(spec.maxParallel ?? 2, 1, 1000, `${where}: maxParallel`) : 1,
    misfire: oneOf(spec.misfire ?? 'run_once', MISFIRES, `${where}: misfire`),
    misfireGraceMs: integer(spec.misfireGraceMs ?? 1000, 0, Number.MAX_SAFE_INTEGER, `${where}: misfireGraceMs`),
    scheduled: boolean(spec.scheduled ?? true, `${where}: scheduled`),
    historySize: integer(spec.historySize ?? 20, 1, 10_000, `${where}: historySize`),
    fleetSchema,
    spec,
  };
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > NAME_MAX_BYTES) {
    throw new ScheduleInvalidError(`a schedule's name must be a string of 1 to ${NAME_MAX_BYTES} bytes, got ${JSON.stringify(name)}`);
  }
  return name;
}

function pickRegistration(spec: ScheduleSpec): ScheduleRegistration {
  const r: Record<string, unknown> = {};
  for (const k of REGISTRATION_FIELDS) if (spec[k] !== undefined) r[k] = spec[k];
  return r as unknown as ScheduleRegistration;
}

function timeRule(spec: ScheduleSpec, where: string, nowMs: number, fleet: boolean): TimeRule {
  const hasEvery = spec.every !== undefined;
  const hasCron = spec.cron !== undefined;
  if (hasEvery === hasCron) throw new ScheduleInvalidError(`${where}: give exactly one of every (an interval) and cron, got ${hasEvery ? 'both' : 'neither'}`);
  const fixed = boolean(spec.fixed ?? true, `${where}: fixed`);
  const initial = spec.initialStart === undefined ? null : instant(spec.initialStart, `${where}: initialStart`);
  if (hasCron) {
    if (!fixed) throw new ScheduleInvalidError(`${where}: cron schedules are fixed; fixed: false applies to intervals`);
    if (initial !== null) throw new ScheduleInvalidError(`${where}: initialStart applies to intervals; a cron expression fixes its own times`);
    return { kind: 'cron', cron: new CronRule(spec.cron!, checkTimeZone(spec.timeZone ?? 'UTC')) };
  }
  if (spec.timeZone !== undefined) throw new ScheduleInvalidError(`${where}: timeZone applies to cron schedules`);
  const everyMs = parseDuration(spec.every, `${where}: every`);
  if (fixed) return { kind: 'fixed', everyMs, originMs: initial ?? 0 };
  // Every host must compute the same ticks, which a finish time on one host does not give.
  if (fleet) throw new ScheduleInvalidError(`${where}: a fleet schedule must be fixed (its ticks must be the same on every host)`);
  return { kind: 'after_finish', everyMs, firstMs: initial ?? nowMs + everyMs };
}

function fleetOf(fleet: ScheduleSpec['fleet'], where: string): string | null {
  if (fleet === undefined || fleet === false) return null;
  if (fleet === true) return 'bgworker';
  if (typeof fleet === 'object' && fleet !== null) {
    const schema = fleet.schema ?? 'bgworker';
    if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new ScheduleInvalidError(`${where}: fleet.schema must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
    }
    return schema;
  }
  throw new ScheduleInvalidError(`${where}: fleet must be true, false or { schema }, got ${JSON.stringify(fleet)}`);
}

function maxRuntime(v: unknown, graceMs: number, where: string): number {
  if (v === undefined) return 0;
  const ms = integer(v, 1, Number.MAX_SAFE_INTEGER, `${where}: maxRuntimeMs`);
  if (ms < graceMs) {
    throw new ScheduleInvalidError(
      `${where}: maxRuntimeMs (${ms}) is below the host's terminateGraceMs (${graceMs}): a run past its deadline is hard-stopped only a grace period later, so the limit would not bound it; raise maxRuntimeMs or lower terminateGraceMs`,
    );
  }
  return ms;
}

function instant(v: unknown, field: string): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new ScheduleInvalidError(`${field} must be a Date, epoch milliseconds or an ISO 8601 string, got ${JSON.stringify(v)}`);
  return ms;
}

function integer(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ScheduleInvalidError(`${field} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new ScheduleInvalidError(`${field} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(v as T)) throw new ScheduleInvalidError(`${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}
