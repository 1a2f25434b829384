/**
 * Prometheus metrics for a host's schedules, through prom-client, registered in the
 * service's Registry (or one of their own; lib/host/scraped-metrics.ts). Everything is
 * read from pm.schedules() at render time, so schedules declared later are included and
 * nothing is kept here:
 *
 *   bgworker_schedule_runs_total{schedule,status}   runs and skipped ticks by final status
 *   bgworker_schedule_skipped_total{schedule,reason} skipped ticks by reason
 *   bgworker_schedule_missed_ticks_total{schedule}  ticks passed over by the misfire rule
 *   bgworker_schedule_slot_delays_total{schedule}   runs that waited for a free slot
 *   bgworker_schedule_consecutive_failures{schedule}
 *   bgworker_schedule_running{schedule}             runs going now (waiting for a slot included)
 *   bgworker_schedule_next_start_seconds{schedule}  the next tick, as a Unix time (absent when paused)
 *   bgworker_schedule_last_duration_seconds{schedule}
 *   bgworker_schedule_scheduled{schedule}           1 unless paused
 *
 * Labels are schedule names, which the operator chooses and which are few, unlike the
 * names of the runs' workers. The counts are this host's (a fleet schedule's runs on other
 * hosts are in its schedule_stats view).
 */
import type { Registry } from 'prom-client';
import type { Postmaster } from '../host/postmaster.js';
import { scrapedMetrics, type Samples, type ScrapedMetrics } from '../host/scraped-metrics.js';
import type { ScheduleStats, SkipReason } from './job-stats.js';

const STATUSES = ['success', 'failed', 'timeout', 'cancelled', 'skipped'] as const;
const REASONS: readonly SkipReason[] = ['overlap', 'misfire', 'backoff', 'unclaimed'];

export type ScheduleMetrics = ScrapedMetrics;

export function scheduleMetrics(pm: Postmaster, options: { registry?: Registry } = {}): ScheduleMetrics {
  const all = (): ScheduleStats[] => pm.schedules().map((w) => w.stats());
  const per = (f: (s: ScheduleStats) => number | null) => (): Samples =>
    all().flatMap((s) => {
      const v = f(s);
      return v === null ? [] : [[{ schedule: s.name }, v]];
    });
  const byStatus = (s: ScheduleStats, status: (typeof STATUSES)[number]): number =>
    ({ success: s.totalSuccesses, failed: s.totalFailures, timeout: s.totalTimeouts, cancelled: s.totalCancelled, skipped: s.totalSkipped })[status];
  const schedule = ['schedule'];
  return scrapedMetrics([
    { name: 'bgworker_schedule_runs_total', type: 'counter', help: 'Runs and skipped ticks of each schedule, by final status.', labelNames: ['schedule', 'status'],
      read: () => all().flatMap((s) => STATUSES.map((status): [Record<string, string>, number] => [{ schedule: s.name, status }, byStatus(s, status)])) },
    { name: 'bgworker_schedule_skipped_total', type: 'counter', help: 'Ticks that did not run, by reason: overlap, misfire, backoff, unclaimed.', labelNames: ['schedule', 'reason'],
      read: () => all().flatMap((s) => REASONS.map((reason): [Record<string, string>, number] => [{ schedule: s.name, reason }, s.skippedBy[reason]])) },
    { name: 'bgworker_schedule_missed_ticks_total', type: 'counter', help: 'Ticks passed over by the misfire rule (the host was down or stalled).', labelNames: schedule, read: per((s) => s.missedTicks) },
    { name: 'bgworker_schedule_slot_delays_total', type: 'counter', help: 'Runs that found no free slot and waited for one.', labelNames: schedule, read: per((s) => s.slotDelays) },
    { name: 'bgworker_schedule_consecutive_failures', type: 'gauge', help: 'Failed or timed-out runs since the last success.', labelNames: schedule, read: per((s) => s.consecutiveFailures) },
    { name: 'bgworker_schedule_running', type: 'gauge', help: 'Runs going now, those waiting for a slot included.', labelNames: schedule, read: per((s) => s.running) },
    { name: 'bgworker_schedule_next_start_seconds', type: 'gauge', help: 'The next tick, as a Unix time; absent while paused.', labelNames: schedule, read: per((s) => (s.nextStart ? s.nextStart.getTime() / 1000 : null)) },
    { name: 'bgworker_schedule_last_duration_seconds', type: 'gauge', help: 'How long the last run took, launch to exit.', labelNames: schedule, read: per((s) => (s.lastDurationMs === null ? null : s.lastDurationMs / 1000)) },
    { name: 'bgworker_schedule_scheduled', type: 'gauge', help: '1 for a schedule that ticks, 0 while paused.', labelNames: schedule, read: per((s) => (s.scheduled ? 1 : 0)) },
  ], options.registry);
}
