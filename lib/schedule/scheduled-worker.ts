/**
 * ScheduledWorker: one schedule on one host — its timer, its policies, its statistics and
 * the handle a caller gets from pm.schedule().
 *
 * The timer. One timeout at a time, armed for the next tick: the next point of a fixed
 * grid or cron after the last tick handled (time-rule.ts), `every` after the last finish
 * for an after-finish schedule (not armed while its run is going), or a pending retry,
 * which replaces the regular ticks before it. Each tick's time is computed, never read
 * off the clock, so a late wake-up does not shift later ticks. A wake-up handles every tick
 * due by then at once, under the misfire rule (misfire.ts): only the latest may run.
 *
 * A due tick becomes a record (job-stats.ts) and is decided by the overlap policy, against
 * the runs still going — those waiting for a slot included:
 *   skip      fewer than 1 running → run; else skipped (counted);
 *   queue     fewer than 1 running → run; else held as the one pending run, launched when
 *             the running one ends; a tick that finds one pending already is skipped;
 *   parallel  fewer than maxParallel running → run; else skipped.
 * A fleet schedule asks the database instead (fleet-store.ts): the claim decides, across
 * every host that declares the schedule, whether this host runs the tick, and with the
 * same policy counted over the fleet's live runs; a host that loses the claim does nothing.
 *
 * After a failed or timed-out run the next start is a retry, after TimescaleDB's backoff
 * (backoff.ts), while maxRetries allows (-1: always); a success ends the streak. Ticks that
 * a retry replaces are counted as skipped for backoff. In a fleet, the host whose run
 * failed schedules its retry (claimed like a tick); the other hosts go on with the ticks.
 *
 * pause()/resume() are alter_job's `scheduled`: paused, no tick is armed (runs going keep
 * going); resumed, the schedule goes on from the next tick after now — ticks while paused
 * are not misfires. runNow() decides a manual tick at once, with the same overlap policy.
 * update() is alter_job: any field but the name and the scope, checked as at declaration.
 * remove() stops the timer, drops a pending run, and lets running ones finish.
 *
 * Events are emitted on the host thread, each listener contained (contained.ts).
 */
import { EventEmitter } from 'node:events';
import { ScheduleInvalidError, ScheduleRemovedError } from '../errors.js';
import { emitContained } from '../host/contained.js';
import type { Logger } from '../types.js';
import { retryBackoff } from './backoff.js';
import { JobStats, type RunKind, type RunRecord, type ScheduleStats, type SkipReason } from './job-stats.js';
import { decideDue } from './misfire.js';
import { ScheduledRun, type RunHost } from './run.js';
import { checkSchedule, type CheckedSchedule, type ScheduleHostRules, type ScheduleSpec } from './spec.js';
import { TickTimer } from './tick-timer.js';
import { dueTicks, nextTick, periodNear } from './time-rule.js';
import type { ClaimOutcome, FleetStats, FleetStore } from './fleet-store.js';

/**
 * A run's bgw_name: the schedule's name and the tick's time, `<name> @ <ISO time>`, unique
 * per tick (in a fleet too), so a run is recognisable in activity() and its worker can read
 * its tick from ctx.entry.name. Its bgw_type is the spec's type, else the schedule's name.
 */
export function runName(schedule: string, scheduledAt: Date): string {
  return `${schedule} @ ${scheduledAt.toISOString()}`;
}

/** How often a fleet host holding a queued run asks whether the fleet's running one has ended. */
const PROMOTE_POLL_MS = 250;

export interface RetryInfo {
  at: Date;
  failures: number;
  baseMs: number;
  delayMs: number;
}

export interface ScheduledWorkerEvents {
  /** A run's worker was launched. */
  run: [record: RunRecord];
  /** A run ended: success, failed, timeout or cancelled. */
  finish: [record: RunRecord];
  /** A tick did not run (record.reason says why). */
  skip: [record: RunRecord];
  /** A tick is held until the running run ends (overlap 'queue'). */
  queued: [record: RunRecord];
  /** A run found no free slot and waits for one. */
  delayed: [record: RunRecord];
  /** A failed run will be retried. */
  retry: [info: RetryInfo];
  /** Ticks were missed (the host was down or stalled); `ran` says whether a catch-up runs. */
  misfire: [info: { missed: number; latest: Date; ran: boolean }];
}

/** What a schedule needs of its scheduler. */
export interface ScheduleContext extends RunHost {
  rules: ScheduleHostRules;
  log: Logger;
  report(err: unknown, where: string): void;
  forget(w: ScheduledWorker): void;
}

export class ScheduledWorker extends EventEmitter<ScheduledWorkerEvents> {
  private cfg: CheckedSchedule;
  private readonly jobStats: JobStats;
  private readonly timer = new TickTimer(() => this.fire());
  private nextAt: number | null = null;
  /** Fixed and cron rules: the last tick handled (ran, queued or skipped). */
  private lastTick: number;
  private lastFinish: number | null = null;
  private retryAt: number | null = null;
  private readonly active = new Set<ScheduledRun>();
  private pending: RunRecord | null = null;
  private promoteTimer: NodeJS.Timeout | null = null;
  private state: 'active' | 'removed' | 'stopped' = 'active';
  private readonly waiters = new Map<RunRecord, (r: RunRecord) => void>();

  /** @param lastTickMs a fleet schedule's last tick from the database; null: the schedule starts from now */
  constructor(private readonly ctx: ScheduleContext, cfg: CheckedSchedule, private readonly store: FleetStore | null, lastTickMs: number | null) {
    super();
    this.cfg = cfg;
    this.jobStats = new JobStats(cfg.name, cfg.historySize);
    this.lastTick = lastTickMs ?? Date.now();
    this.arm();
  }

  override emit<K>(event: keyof ScheduledWorkerEvents | K, ...args: K extends keyof ScheduledWorkerEvents ? ScheduledWorkerEvents[K] : never): boolean {
    return emitContained(this, event as string, args, (err, where) => this.ctx.report(err, `${where} of schedule "${this.cfg.name}"`));
  }

  get name(): string {
    return this.cfg.name;
  }

  /** The database schema of a fleet schedule, or null for host scope. */
  get fleetSchema(): string | null {
    return this.cfg.fleetSchema;
  }

  /** The spec as last declared or updated. */
  get spec(): ScheduleSpec {
    return this.cfg.spec;
  }

  /** A fleet schedule's statistics from the database (<schema>.schedule_stats), as every host sees them; null for host scope or before its first tick. */
  async fleetStats(): Promise<FleetStats | null> {
    return this.store ? this.store.stats(this.cfg.name) : null;
  }

  /** timescaledb_information.job_stats for this schedule, as this host saw it. */
  stats(): ScheduleStats {
    return this.jobStats.snapshot({ scheduled: this.cfg.scheduled && this.state === 'active', nextStart: this.nextAt, running: this.active.size, queued: this.pending ? 1 : 0 });
  }

  /** alter_job(scheduled => false): no more ticks until resume(); runs going keep going. */
  pause(): void {
    this.assertActive();
    this.cfg = { ...this.cfg, scheduled: false, spec: { ...this.cfg.spec, scheduled: false } };
    this.arm();
  }

  /** alter_job(scheduled => true): on from the next tick after now. */
  resume(): void {
    this.assertActive();
    if (this.cfg.scheduled) return;
    this.cfg = { ...this.cfg, scheduled: true, spec: { ...this.cfg.spec, scheduled: true } };
    this.rebase();
    this.arm();
  }

  /** run_job: a manual tick now, decided by the overlap policy; resolves with its record once it has ended (or was skipped). */
  runNow(): Promise<RunRecord> {
    this.assertActive();
    const r = this.newRecord('manual', Date.now(), 0);
    const done = new Promise<RunRecord>((res) => this.waiters.set(r, res));
    void this.decide(r);
    return done;
  }

  /** alter_job: change any field but the name and the scope; checked as at declaration. Returns the new spec. */
  update(patch: Partial<ScheduleSpec>): ScheduleSpec {
    this.assertActive();
    const spec = { ...this.cfg.spec, ...patch } as ScheduleSpec;
    if (spec.name !== this.cfg.name) throw new ScheduleInvalidError(`schedule "${this.cfg.name}": the name cannot be changed; remove it and declare another`);
    const next = checkSchedule(spec, this.ctx.rules);
    if (next.fleetSchema !== this.cfg.fleetSchema) throw new ScheduleInvalidError(`schedule "${this.cfg.name}": the scope (fleet) cannot be changed; remove it and declare another`);
    const ruleChanged = JSON.stringify(this.cfg.spec.every) !== JSON.stringify(spec.every) || this.cfg.spec.cron !== spec.cron
      || this.cfg.spec.timeZone !== spec.timeZone || this.cfg.spec.fixed !== spec.fixed || this.cfg.spec.initialStart !== spec.initialStart;
    const wasScheduled = this.cfg.scheduled;
    this.cfg = next;
    this.jobStats.historySize = next.historySize;
    if (ruleChanged || (!wasScheduled && next.scheduled)) this.rebase();
    this.arm();
    return next.spec;
  }

  /** Remove the schedule: no more ticks; a pending run is dropped, running ones finish. */
  remove(): void {
    if (this.state !== 'active') return;
    this.halt('removed');
    this.ctx.forget(this);
  }

  /** The host is stopping: no more ticks; waits for slots are given up (the host stops the runs). */
  stop(): void {
    if (this.state === 'active') this.halt('stopped');
    for (const run of this.active) if (run.record.launchedAt === null) run.cancel();
  }

  /** Runs still going, for activity views: their records (slot and pid once known). */
  running(): RunRecord[] {
    return [...this.active].map((r) => r.record);
  }

  // ---------------------------------------------------------------- the timer

  private arm(): void {
    this.timer.clear();
    this.nextAt = this.state === 'active' && this.cfg.scheduled ? this.computeNext() : null;
    if (this.nextAt === null || !Number.isFinite(this.nextAt)) return;
    this.timer.arm(this.nextAt);
  }

  private computeNext(): number | null {
    if (this.retryAt !== null) return this.retryAt;
    const rule = this.cfg.rule;
    if (rule.kind !== 'after_finish') return nextTick(rule, this.lastTick);
    if (this.active.size > 0) return null;
    return this.lastFinish === null ? rule.firstMs : this.lastFinish + rule.everyMs;
  }

  /** Ticks before now are not due: the schedule goes on from the next one (resume, a new rule). */
  private rebase(): void {
    const now = Date.now();
    this.lastTick = now;
    const rule = this.cfg.rule;
    if (rule.kind === 'after_finish' && (this.lastFinish === null ? rule.firstMs : this.lastFinish + rule.everyMs) < now) this.lastFinish = now;
  }

  private fire(): void {
    const now = Date.now();
    if (this.retryAt !== null) this.fireRetry(now);
    else if (this.cfg.rule.kind === 'after_finish') this.fireAfterFinish(now);
    else this.fireFixed(now);
    this.arm();
  }

  private fireRetry(now: number): void {
    const at = this.retryAt!;
    this.retryAt = null;
    if (this.cfg.rule.kind !== 'after_finish') {
      const { count, latest } = dueTicks(this.cfg.rule, this.lastTick, now);
      if (latest !== null) this.lastTick = latest;
      this.jobStats.skippedTicks('backoff', count);
    }
    void this.decide(this.newRecord('retry', at, this.jobStats.consecutiveFailures));
  }

  private fireAfterFinish(now: number): void {
    const at = this.nextAt!;
    const late = now - at > this.cfg.misfireGraceMs;
    if (late) this.emit('misfire', { missed: 0, latest: new Date(at), ran: this.cfg.misfire === 'run_once' });
    if (late && this.cfg.misfire === 'skip') {
      this.lastFinish = now;
      return this.skipped(this.newRecord('tick', at, 0), 'misfire');
    }
    void this.decide(this.newRecord(late ? 'catch_up' : 'tick', at, 0));
  }

  private fireFixed(now: number): void {
    const d = decideDue(this.cfg.rule, this.lastTick, now, this.cfg.misfire, this.cfg.misfireGraceMs);
    if (d.latest === null) return;
    this.lastTick = d.latest;
    if (d.catchUp) this.emit('misfire', { missed: d.missed, latest: new Date(d.latest), ran: d.run });
    const r = this.newRecord(d.catchUp && d.run ? 'catch_up' : 'tick', d.latest, 0);
    r.missed = d.missed;
    if (!d.run) return this.skipped(r, 'misfire');
    void this.decide(r);
  }

  // ---------------------------------------------------------------- deciding a tick

  private newRecord(kind: RunKind, scheduledAt: number, attempt: number): RunRecord {
    return {
      schedule: this.cfg.name, kind, scheduledAt: new Date(scheduledAt), attempt, status: 'running', missed: 0, slotDelayed: false,
      launchedAt: null, readyAt: null, finishedAt: null, durationMs: null, slot: null, pid: null,
    };
  }

  private async decide(r: RunRecord): Promise<void> {
    let outcome: ClaimOutcome;
    try {
      outcome = this.store ? await this.store.claim(this.cfg, r) : this.localOutcome();
    } catch (err) {
      this.ctx.log.warn({ schedule: this.cfg.name, err: (err as Error).message }, `schedule "${this.cfg.name}": the tick could not be claimed in the database; skipped`);
      r.error = (err as Error).message;
      outcome = 'unclaimed';
    }
    // Another host has the tick; a manual run cannot be another host's, so it was not claimed.
    if (outcome === 'lost' && r.kind !== 'manual') return this.settle(r);
    if (outcome === 'lost') outcome = 'unclaimed';
    if (this.state !== 'active' && r.kind !== 'manual') outcome = 'unclaimed';
    if (outcome === 'run') return this.launch(r);
    if (outcome === 'queued') return this.hold(r);
    this.skipped(r, outcome === 'unclaimed' ? 'unclaimed' : 'overlap');
  }

  private localOutcome(): ClaimOutcome {
    if (this.active.size < this.cfg.maxParallel) return 'run';
    if (this.cfg.overlap === 'queue' && this.pending === null) return 'queued';
    return 'skipped';
  }

  private skipped(r: RunRecord, reason: SkipReason): void {
    r.status = 'skipped';
    r.reason = reason;
    this.jobStats.add(r);
    this.emit('skip', r);
    this.settle(r);
  }

  private hold(r: RunRecord): void {
    r.status = 'queued';
    this.pending = r;
    this.jobStats.add(r);
    this.emit('queued', r);
    if (this.store) this.pollPromote();
  }

  /** A fleet host holding the queued run asks, now and then, whether the fleet's running one has ended. */
  private pollPromote(): void {
    if (this.promoteTimer) return;
    this.promoteTimer = setTimeout(() => {
      this.promoteTimer = null;
      void this.promotePending();
    }, PROMOTE_POLL_MS);
    this.promoteTimer.unref();
  }

  private async promotePending(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    let promoted = this.active.size === 0 && !this.store;
    if (this.store && this.active.size === 0) {
      promoted = await this.store.promote(this.cfg.name, p).catch((err: unknown) => {
        this.ctx.log.warn({ schedule: this.cfg.name, err: (err as Error).message }, `schedule "${this.cfg.name}": could not promote the queued run`);
        return false;
      });
    }
    if (this.pending !== p) return;
    if (!promoted) return void (this.store ? this.pollPromote() : undefined);
    this.pending = null;
    this.launch(p, false);
  }

  private launch(r: RunRecord, fresh = true): void {
    r.status = 'running';
    const run = new ScheduledRun(this.ctx, ScheduledRun.registration(this.cfg.registration, runName(this.cfg.name, r.scheduledAt), this.cfg.maxRuntimeMs), r, {
      delayed: () => {
        this.jobStats.delayed();
        this.emit('delayed', r);
      },
      launched: () => {
        this.jobStats.launched(r);
        this.emit('run', r);
      },
    });
    this.active.add(run);
    if (fresh) this.jobStats.add(r);
    void run.start().then((rec) => this.finished(run, rec));
  }

  private finished(run: ScheduledRun, r: RunRecord): void {
    this.active.delete(run);
    this.jobStats.ended(r);
    if (this.store) this.store.finish(this.cfg, r).catch((err: unknown) => this.ctx.log.warn({ schedule: this.cfg.name, err: (err as Error).message }, `schedule "${this.cfg.name}": could not record a run's outcome in the database`));
    this.emit('finish', r);
    this.backoff(r);
    if (this.cfg.rule.kind === 'after_finish' && r.kind !== 'manual') this.lastFinish = r.finishedAt!.getTime();
    if (this.pending && this.active.size < this.cfg.maxParallel) void this.promotePending();
    this.settle(r);
    this.arm();
  }

  private backoff(r: RunRecord): void {
    if (r.status === 'success') {
      this.retryAt = null;
      return;
    }
    if (r.status !== 'failed' && r.status !== 'timeout') return;
    const failures = this.jobStats.consecutiveFailures;
    if (this.cfg.maxRetries !== -1 && failures > this.cfg.maxRetries) {
      this.retryAt = null;
      return;
    }
    const finish = r.finishedAt!.getTime();
    const period = periodNear(this.cfg.rule, finish);
    const { baseMs, delayMs } = retryBackoff(failures, this.cfg.retryPeriodMs ?? period, period);
    this.retryAt = finish + delayMs;
    this.emit('retry', { at: new Date(this.retryAt), failures, baseMs, delayMs });
  }

  /** A record reached its final status: a runNow() waiting for it hears it. */
  private settle(r: RunRecord): void {
    const w = this.waiters.get(r);
    if (!w) return;
    this.waiters.delete(r);
    w(r);
  }

  private halt(state: 'removed' | 'stopped'): void {
    this.state = state;
    this.timer.clear();
    if (this.promoteTimer) clearTimeout(this.promoteTimer);
    this.promoteTimer = null;
    this.nextAt = null;
    const p = this.pending;
    this.pending = null;
    if (p) {
      p.status = 'cancelled';
      p.finishedAt = new Date();
      this.jobStats.ended(p);
      this.settle(p);
    }
  }

  private assertActive(): void {
    if (this.state !== 'active') throw new ScheduleRemovedError(`schedule "${this.cfg.name}" was ${this.state === 'removed' ? 'removed' : 'stopped with its host'}`);
  }
}
