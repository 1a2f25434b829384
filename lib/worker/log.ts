/**
 * A worker's logger: pino-shaped calls that travel to the host's logger, which adds the
 * worker's name, type, slot and pid. Messages are posted, never written from the thread,
 * so log lines of all workers come out of one place in order of arrival.
 */
import type { LogMessage } from '../protocol/messages.js';
import type { Logger } from '../types.js';
import { postToHost } from './to-host.js';

function send(level: LogMessage['level'], obj: object | string, msg?: string): void {
  const m: LogMessage =
    typeof obj === 'string'
      ? { type: 'log', level, msg: obj }
      : { type: 'log', level, msg: msg ?? '', fields: toFields(obj) };
  try {
    postToHost(m);
  } catch {
    // A field that cannot be cloned must not turn a log call into a crash.
    postToHost({ type: 'log', level, msg: m.msg, fields: { unclonable: String(m.fields) } });
  }
}

function toFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  return out;
}

export const workerLog: Logger = {
  debug: (o, m) => send('debug', o, m),
  info: (o, m) => send('info', o, m),
  warn: (o, m) => send('warn', o, m),
  error: (o, m) => send('error', o, m),
};
