/**
 * The schedules as a fixed-width text table, beside formatActivity's: name, rule, state,
 * next start, runs, failures, skipped, last status and duration. Cells are escaped
 * (printable.ts): a schedule's name is the operator's, but an error text is a worker's.
 */
import { printable } from '../printable.js';
import type { ScheduledWorker } from './scheduled-worker.js';

const COLUMNS = ['schedule', 'rule', 'state', 'next start', 'runs', 'ok', 'failed', 'skipped', 'last', 'last ms'] as const;

export function ruleOf(w: ScheduledWorker): string {
  const s = w.spec;
  const rule = s.cron !== undefined ? `cron ${s.cron}${s.timeZone ? ` ${s.timeZone}` : ''}` : `every ${String(s.every)}${s.fixed === false ? ' after finish' : ''}`;
  return w.fleetSchema ? `${rule} (fleet)` : rule;
}

export function formatSchedules(schedules: readonly ScheduledWorker[]): string {
  const cells = schedules.map((w) => {
    const s = w.stats();
    const state = !s.scheduled ? 'paused' : s.running > 0 ? `running ${s.running}` : 'waiting';
    return [
      s.name, ruleOf(w), state, s.nextStart?.toISOString() ?? '', String(s.totalRuns), String(s.totalSuccesses),
      String(s.totalFailures + s.totalTimeouts), String(s.totalSkipped), s.lastRunStatus ?? '', s.lastDurationMs === null ? '' : String(Math.round(s.lastDurationMs)),
    ].map(printable);
  });
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n');
}
