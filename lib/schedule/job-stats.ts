/**
 * A schedule's statistics on this host, after timescaledb_information.job_stats: the last
 * run's start, finish and status, totals by outcome, consecutive failures, average and
 * last duration, slot delays, ticks skipped and missed, and a bounded history of recent
 * runs (newest first, `historySize` long).
 *
 * Statuses: success (exit 0), failed (an error, a crash, a hard stop, or a registration
 * that failed), timeout (stopped at maxRuntimeMs), cancelled (stopped by the host or a
 * registrant: a shutdown, terminate(), a crash-restart cycle — not the job's fault, so it
 * neither counts as a failure nor resets the failure streak), skipped (a tick that did not
 * run: overlap, misfire, backoff, or a fleet claim that could not be made). A record is
 * 'queued' while it waits for a run to end, and 'running' from its tick until it ends,
 * including any time spent waiting for a free slot.
 *
 * Host only: this lives in the host's memory and starts empty with it. Fleet schedules
 * also write every outcome to the database (fleet-store.ts), where every host reads them.
 */
import type { ExitKind } from '../types.js';

export type RunStatus = 'queued' | 'running' | 'success' | 'failed' | 'timeout' | 'cancelled' | 'skipped';
export type FinalStatus = Exclude<RunStatus, 'queued' | 'running'>;
/** Why a tick ran: its time came, a retry after a failure, a catch-up after missed ticks, or runNow(). */
export type RunKind = 'tick' | 'retry' | 'catch_up' | 'manual';
export type SkipReason = 'overlap' | 'misfire' | 'backoff' | 'unclaimed';

export interface RunRecord {
  schedule: string;
  kind: RunKind;
  /** When the tick was due: the time the scheduler computed, not when it woke. */
  scheduledAt: Date;
  /** Consecutive failures before this run (a retry's attempt number). */
  attempt: number;
  status: RunStatus;
  reason?: SkipReason;
  /** Ticks missed just before this one (misfire), counted here once. */
  missed: number;
  /** It waited for a free slot. */
  slotDelayed: boolean;
  /** The run's worker was launched ('started'), and became ready (its entry began). */
  launchedAt: Date | null;
  readyAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  slot: number | null;
  pid: number | null;
  /** The worker's exit kind, when it ran. */
  exitKind?: ExitKind;
  error?: string;
}

export interface ScheduleStats {
  name: string;
  scheduled: boolean;
  nextStart: Date | null;
  running: number;
  queued: number;
  lastRunStartedAt: Date | null;
  lastRunFinishedAt: Date | null;
  /** The outcome of the latest tick that has one (a skip included). */
  lastRunStatus: FinalStatus | null;
  lastSuccessfulFinish: Date | null;
  totalRuns: number;
  totalSuccesses: number;
  totalFailures: number;
  totalTimeouts: number;
  totalCancelled: number;
  totalSkipped: number;
  skippedBy: Record<SkipReason, number>;
  /** Ticks missed while the host was down or stalled (misfire.ts), whether or not a catch-up ran. */
  missedTicks: number;
  consecutiveFailures: number;
  averageDurationMs: number | null;
  lastDurationMs: number | null;
  /** Runs that waited for a free slot. */
  slotDelays: number;
  history: RunRecord[];
}

export class JobStats {
  private readonly totals = { runs: 0, successes: 0, failures: 0, timeouts: 0, cancelled: 0, skipped: 0, missed: 0, slotDelays: 0, durationMs: 0, timed: 0 };
  private readonly skippedBy: Record<SkipReason, number> = { overlap: 0, misfire: 0, backoff: 0, unclaimed: 0 };
  private history: RunRecord[] = [];
  private lastStarted: Date | null = null;
  private lastFinished: Date | null = null;
  private lastStatus: FinalStatus | null = null;
  private lastSuccess: Date | null = null;
  private lastDuration: number | null = null;
  consecutiveFailures = 0;

  constructor(private readonly name: string, public historySize: number) {}

  /** A record enters the history (queued, running, or already skipped). */
  add(r: RunRecord): void {
    this.history.unshift(r);
    if (this.history.length > this.historySize) this.history.length = this.historySize;
    this.totals.missed += r.missed;
    if (r.status === 'skipped') this.ended(r);
  }

  launched(r: RunRecord): void {
    this.totals.runs++;
    this.lastStarted = r.launchedAt;
  }

  /** Ticks that did not run and have no record of their own (those a retry replaced). */
  skippedTicks(reason: SkipReason, n: number): void {
    this.totals.skipped += n;
    this.skippedBy[reason] += n;
  }

  delayed(): void {
    this.totals.slotDelays++;
  }

  /** A record reached its final status. */
  ended(r: RunRecord): void {
    this.lastStatus = r.status as FinalStatus;
    if (r.status === 'skipped') {
      this.totals.skipped++;
      this.skippedBy[r.reason ?? 'overlap']++;
      return;
    }
    this.lastFinished = r.finishedAt;
    if (r.durationMs !== null) {
      this.lastDuration = r.durationMs;
      this.totals.durationMs += r.durationMs;
      this.totals.timed++;
    }
    if (r.status === 'success') {
      this.totals.successes++;
      this.consecutiveFailures = 0;
      this.lastSuccess = r.finishedAt;
    } else if (r.status === 'failed' || r.status === 'timeout') {
      this.totals[r.status === 'failed' ? 'failures' : 'timeouts']++;
      this.consecutiveFailures++;
    } else {
      this.totals.cancelled++;
    }
  }

  snapshot(live: { scheduled: boolean; nextStart: number | null; running: number; queued: number }): ScheduleStats {
    const t = this.totals;
    return {
      name: this.name,
      scheduled: live.scheduled,
      nextStart: live.nextStart === null ? null : new Date(live.nextStart),
      running: live.running,
      queued: live.queued,
      lastRunStartedAt: this.lastStarted,
      lastRunFinishedAt: this.lastFinished,
      lastRunStatus: this.lastStatus,
      lastSuccessfulFinish: this.lastSuccess,
      totalRuns: t.runs,
      totalSuccesses: t.successes,
      totalFailures: t.failures,
      totalTimeouts: t.timeouts,
      totalCancelled: t.cancelled,
      totalSkipped: t.skipped,
      skippedBy: { ...this.skippedBy },
      missedTicks: t.missed,
      consecutiveFailures: this.consecutiveFailures,
      averageDurationMs: t.timed === 0 ? null : t.durationMs / t.timed,
      lastDurationMs: this.lastDuration,
      slotDelays: t.slotDelays,
      history: this.history.map((r) => ({ ...r })),
    };
  }
}
