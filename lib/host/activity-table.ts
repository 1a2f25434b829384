/**
 * The activity list as a fixed-width text table, the way psql prints pg_stat_activity:
 * slot, name, type, state, pid, uptime, restarts and how the last run ended. Every cell is
 * escaped (printable.ts), since a worker's error message can hold anything, and the column
 * widths are those of the escaped text.
 */
import { printable } from '../printable.js';
import type { ActivityRow } from '../types.js';

const COLUMNS = ['slot', 'name', 'type', 'state', 'pid', 'uptime', 'restarts', 'last exit'] as const;

function uptime(row: ActivityRow, now: number): string {
  if (!row.startedAt) return '';
  const s = Math.floor((now - row.startedAt.getTime()) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function lastExit(row: ActivityRow): string {
  const e = row.lastExit;
  if (!e) return '';
  return `${e.kind} (${e.code})${e.error ? `: ${e.error.message}` : ''}`;
}

export function formatActivity(rows: ActivityRow[], now = Date.now()): string {
  const cells = rows.map((r) =>
    [String(r.slot), r.name, r.type, r.state, r.pid === null ? '' : String(r.pid), uptime(r, now), String(r.restarts), lastExit(r)].map(printable),
  );
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(COLUMNS), sep, ...cells.map(line), `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`].join('\n');
}
