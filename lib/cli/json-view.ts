/**
 * The CLI's output when stdout is not a terminal: one JSON object per line, for log
 * collectors. Two kinds of line share one shape, `{ time, level, msg, ...fields }`:
 *
 *   log records   the host's and the workers' (workers' carry worker, type, pid, slot)
 *   host events   every Postmaster event, with `event` naming it and the worker's
 *                 ActivityRow fields (slot, name, type, state, pid, restarts, lastExit, …)
 *   schedule events  `event` "schedule.run", "schedule.finish", "schedule.skip",
 *                 "schedule.queued", "schedule.delayed" with the run's record (schedule,
 *                 kind, scheduledAt, status, reason, …), "schedule.retry" and "schedule.misfire"
 *
 *   {"time":"…","level":"info","msg":"worker \"ticker\" started","event":"started","slot":3,"name":"ticker",…}
 *
 * Debug lines (log records, and `activity` events, which come with every unit of work a
 * worker reports) are written only when BGWORKER_DEBUG is set, as with the console logger.
 * No control character is written raw: JSON.stringify escapes C0, and DEL, C1 and
 * U+2028/U+2029, which it leaves as they are, become \u escapes; a line still parses to the
 * exact text, and is safe to `tail` on a terminal.
 */
import type { Postmaster } from '../host/postmaster.js';
import { jsonPrintable } from '../printable.js';
import type { RunRecord } from '../schedule/job-stats.js';
import type { ScheduledWorker } from '../schedule/scheduled-worker.js';
import type { ActivityRow, Logger } from '../types.js';
import type { HostView } from './host-view.js';

type Level = keyof Logger;

export function jsonView(out: NodeJS.WritableStream, debug = process.env['BGWORKER_DEBUG'] !== undefined): HostView {
  const write = (level: Level, fields: object, msg: string): void => {
    if (level === 'debug' && !debug) return;
    out.write(jsonPrintable(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, errorsAsObjects)) + '\n');
  };
  const record = (level: Level) => (obj: object | string, msg?: string): void => {
    if (typeof obj === 'string') write(level, {}, obj);
    else write(level, obj, msg ?? '');
  };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  return {
    logger,
    attach: (pm) => attachEvents(pm, write),
    attachSchedule: (w) => attachScheduleEvents(w, write),
    close: () => {},
  };
}

type Write = (level: Level, fields: object, msg: string) => void;

function attachEvents(pm: Postmaster, write: Write): void {
  const row = (event: string, level: Level, text: (r: ActivityRow) => string) => (r: ActivityRow) => write(level, { event, ...r }, text(r));
  pm.on('phase', (state) => write('info', { event: 'phase', state }, `host phase ${state}`));
  pm.on('registered', row('registered', 'info', (r) => `worker "${r.name}" registered in slot ${r.slot}`));
  pm.on('unregistered', row('unregistered', 'info', (r) => `worker "${r.name}" unregistered from slot ${r.slot}`));
  pm.on('started', row('started', 'info', (r) => `worker "${r.name}" started`));
  pm.on('activity', row('activity', 'debug', (r) => `worker "${r.name}": ${r.activity ?? 'idle'}`));
  pm.on('stopped', row('stopped', 'info', (r) => `worker "${r.name}" stopped${r.lastExit ? ` (${r.lastExit.kind}, exit code ${r.lastExit.code})` : ''}`));
  pm.on('crash', row('crash', 'warn', (r) => `worker "${r.name}" crashed`));
  pm.on('failed', row('failed', 'error', (r) => `worker "${r.name}" failed: past its restart intensity, not restarted`));
  pm.on('reinitialized', () => write('info', { event: 'reinitialized' }, 'shared memory reinitialized'));
  pm.on('exit', (status) => write(status === 0 ? 'info' : 'error', { event: 'exit', status }, `host exited with status ${status}`));
}

function attachScheduleEvents(w: ScheduledWorker, write: Write): void {
  const rec = (event: string, level: Level, text: (r: RunRecord) => string) => (r: RunRecord) => write(level, { event: `schedule.${event}`, ...r }, text(r));
  w.on('run', rec('run', 'info', (r) => `schedule "${r.schedule}": run for ${r.scheduledAt.toISOString()} started`));
  w.on('finish', rec('finish', 'info', (r) => `schedule "${r.schedule}": run for ${r.scheduledAt.toISOString()} ended ${r.status}`));
  w.on('skip', rec('skip', 'info', (r) => `schedule "${r.schedule}": tick ${r.scheduledAt.toISOString()} skipped (${r.reason ?? 'overlap'})`));
  w.on('queued', rec('queued', 'info', (r) => `schedule "${r.schedule}": tick ${r.scheduledAt.toISOString()} queued`));
  w.on('delayed', rec('delayed', 'warn', (r) => `schedule "${r.schedule}": no free slot for tick ${r.scheduledAt.toISOString()}; waiting`));
  w.on('retry', (i) => write('warn', { event: 'schedule.retry', schedule: w.name, ...i }, `schedule "${w.name}": retry ${i.failures} at ${i.at.toISOString()}`));
  w.on('misfire', (i) => write('warn', { event: 'schedule.misfire', schedule: w.name, ...i }, `schedule "${w.name}": ${i.missed} ticks missed${i.ran ? '; catching up once' : ''}`));
}

/** JSON.stringify replacer: an Error becomes { name, message, code }, not {}. */
function errorsAsObjects(_key: string, v: unknown): unknown {
  if (!(v instanceof Error)) return v;
  const code = (v as { code?: unknown }).code;
  return code === undefined ? { name: v.name, message: v.message } : { name: v.name, message: v.message, code };
}
