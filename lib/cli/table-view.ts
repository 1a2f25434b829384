/**
 * The CLI's output on a terminal: a `top`-like screen redrawn every interval and at every
 * host event, coalesced into one redraw per turn of the event loop. It shows the host's
 * state, slots used, uptime, the activity table (slot, name, type, state, thread id,
 * uptime, restarts, last exit), the schedules when there are any (formatSchedules), the
 * last log lines and the keys that stop the host. When
 * the host exits, the last screen is printed once more, without clearing, so it stays in
 * the terminal's scrollback. The screen clear is the only control sequence it writes: log
 * lines and the table are escaped (printable.ts), so a worker's text cannot redraw the
 * screen or forge a line.
 */
import { formatActivity } from '../host/activity-table.js';
import type { Postmaster } from '../host/postmaster.js';
import { printable } from '../printable.js';
import { formatSchedules } from '../schedule/schedule-table.js';
import type { Logger } from '../types.js';
import type { HostView } from './host-view.js';

const CLEAR = '\x1b[H\x1b[2J';
const KEYS = 'Ctrl-C fast shutdown · Ctrl-\\ immediate · SIGTERM smart · SIGHUP reload';

export interface TableViewOptions {
  title: string;
  intervalMs: number;
  /** maxWorkerProcesses, for "slots used/total". */
  slots: number;
  /** Log lines kept under the table. Default 8. */
  keep?: number;
  debug?: boolean;
}

export function tableView(out: NodeJS.WritableStream, o: TableViewOptions): HostView {
  const lines: string[] = [];
  const logger = recentLines(lines, o.keep ?? 8, o.debug ?? process.env['BGWORKER_DEBUG'] !== undefined);
  let pm: Postmaster | null = null;
  let timer: NodeJS.Timeout | null = null;
  let pending = false;
  const since = Date.now();
  const frame = (): string => screen(pm!, o, lines, since);
  const draw = (): void => {
    pending = false;
    if (timer) out.write(CLEAR + frame());
  };
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    setImmediate(draw);
  };
  return {
    logger,
    attach: (host) => {
      pm = host;
      timer = setInterval(draw, o.intervalMs).unref();
      for (const e of ['phase', 'registered', 'unregistered', 'started', 'stopped', 'crash', 'failed', 'reinitialized'] as const) host.on(e, schedule);
    },
    attachSchedule: (w) => {
      for (const e of ['finish', 'skip', 'queued'] as const) w.on(e, schedule);
    },
    close: (status) => {
      if (timer) clearInterval(timer);
      timer = null;
      out.write(`${frame()}host exited with status ${status}\n`);
    },
  };
}

function screen(pm: Postmaster, o: TableViewOptions, lines: string[], since: number): string {
  const now = Date.now();
  const rows = pm.activity();
  const head = `bgworker — ${printable(o.title)} — host ${pm.pmState} — slots ${rows.length}/${o.slots} used — up ${duration(now - since)}`;
  const schedules = pm.schedules();
  const table = schedules.length > 0 ? ['', formatSchedules(schedules)] : [];
  return [head, '', formatActivity(rows, now), ...table, '', ...lines, '', KEYS, ''].join('\n');
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** A logger that keeps the last `keep` records as one-line text. */
function recentLines(lines: string[], keep: number, debug: boolean): Logger {
  const push = (level: string) => (obj: object | string, msg?: string): void => {
    if (level === 'DEBUG' && !debug) return;
    const text = typeof obj === 'string' ? obj : msg ?? '';
    const who = typeof obj === 'object' && 'worker' in obj ? `[${String(obj.worker)}] ` : '';
    lines.push(printable(`${level.padEnd(5)} ${who}${text}`));
    if (lines.length > keep) lines.shift();
  };
  return { debug: push('DEBUG'), info: push('INFO'), warn: push('WARN'), error: push('ERROR') };
}
