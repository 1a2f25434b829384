/**
 * The default host logger: one line per record on stderr, pino's call shape, `info` and
 * above unless BGWORKER_DEBUG is set. Any pino logger can replace it as-is. Records carry
 * workers' text (their log lines, their errors), so the message and every field are
 * escaped (printable.ts): a record stays one line and cannot drive the terminal.
 */
import { printable } from '../printable.js';
import type { Logger } from '../types.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

function format(level: Level, obj: object | string, msg?: string): string {
  if (typeof obj === 'string') return `${level.toUpperCase()}: ${printable(obj)}`;
  const fields = Object.entries(obj)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${level.toUpperCase()}: ${printable(msg ?? '')}${fields ? `  (${printable(fields)})` : ''}`;
}

export function consoleLogger(debug = process.env['BGWORKER_DEBUG'] !== undefined): Logger {
  const write = (level: Level) => (obj: object | string, msg?: string) => {
    if (level === 'debug' && !debug) return;
    process.stderr.write(format(level, obj, msg) + '\n');
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
