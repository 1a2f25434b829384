/**
 * Prometheus metrics for a host's schedules, in the text exposition format of
 * lib/host/metrics.ts (mount render() beside postmasterMetrics' output). Everything is
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
import type { Postmaster } from '../host/postmaster.js';
import type { ScheduleStats, SkipReason } from './job-stats.js';

const STATUSES = ['success', 'failed', 'timeout', 'cancelled', 'skipped'] as const;
const REASONS: readonly SkipReason[] = ['overlap', 'misfire', 'backoff', 'unclaimed'];

export interface ScheduleMetrics {
  render(): string;
}

export function scheduleMetrics(pm: Postmaster): ScheduleMetrics {
  return { render: () => render(pm.schedules().map((w) => w.stats())) };
}

function render(all: ScheduleStats[]): string {
  const per = (f: (s: ScheduleStats) => number | null): string[] =>
    all.flatMap((s) => {
      const v = f(s);
      return v === null ? [] : [sample({ schedule: s.name }, v)];
    });
  const byStatus = (s: ScheduleStats, status: (typeof STATUSES)[number]): number =>
    ({ success: s.totalSuccesses, failed: s.totalFailures, timeout: s.totalTimeouts, cancelled: s.totalCancelled, skipped: s.totalSkipped })[status];
  return [
    ...metric('bgworker_schedule_runs_total', 'counter', 'Runs and skipped ticks of each schedule, by final status.',
      all.flatMap((s) => STATUSES.map((status) => sample({ schedule: s.name, status }, byStatus(s, status))))),
    ...metric('bgworker_schedule_skipped_total', 'counter', 'Ticks that did not run, by reason: overlap, misfire, backoff, unclaimed.',
      all.flatMap((s) => REASONS.map((reason) => sample({ schedule: s.name, reason }, s.skippedBy[reason])))),
    ...metric('bgworker_schedule_missed_ticks_total', 'counter', 'Ticks passed over by the misfire rule (the host was down or stalled).', per((s) => s.missedTicks)),
    ...metric('bgworker_schedule_slot_delays_total', 'counter', 'Runs that found no free slot and waited for one.', per((s) => s.slotDelays)),
    ...metric('bgworker_schedule_consecutive_failures', 'gauge', 'Failed or timed-out runs since the last success.', per((s) => s.consecutiveFailures)),
    ...metric('bgworker_schedule_running', 'gauge', 'Runs going now, those waiting for a slot included.', per((s) => s.running)),
    ...metric('bgworker_schedule_next_start_seconds', 'gauge', 'The next tick, as a Unix time; absent while paused.', per((s) => (s.nextStart ? s.nextStart.getTime() / 1000 : null))),
    ...metric('bgworker_schedule_last_duration_seconds', 'gauge', 'How long the last run took, launch to exit.', per((s) => (s.lastDurationMs === null ? null : s.lastDurationMs / 1000))),
    ...metric('bgworker_schedule_scheduled', 'gauge', '1 for a schedule that ticks, 0 while paused.', per((s) => (s.scheduled ? 1 : 0))),
  ].join('\n') + '\n';
}

function metric(name: string, kind: 'gauge' | 'counter', help: string, samples: string[]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...samples.map((s) => `${name}${s}`)];
}

function sample(labels: Record<string, string>, value: number): string {
  const set = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${set.join(',')}} ${value}`;
}
