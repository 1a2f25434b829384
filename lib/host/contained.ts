/**
 * Containment of the user's callbacks on the host thread: event listeners and the logger.
 *
 * The host runs user code in its own control flow — every event is emitted from inside a
 * server-loop pass, every log line from inside whatever the host was doing. A listener
 * that throws (or an async one that rejects) would otherwise unwind the pass half-done or
 * end the process as an unhandled rejection. So:
 *
 *   - `emitContained` calls each listener on its own: one that throws or rejects does not
 *     keep the others from running, and its error goes to the sink;
 *   - `containLogger` wraps each logger method: a logger that throws writes nothing, its
 *     error goes to the sink, and the host goes on.
 *
 * The sink (the host's callbackFailed) logs, counts and emits 'callbackError'; it must not
 * throw itself, and a 'callbackError' listener that throws is only written to stderr.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../types.js';

export type CallbackErrorSink = (err: unknown, where: string) => void;

/** EventEmitter.emit, with every listener contained. */
export function emitContained(emitter: EventEmitter, event: string | symbol, args: unknown[], sink: CallbackErrorSink): boolean {
  // rawListeners includes `once` wrappers, which remove themselves when called, as emit does.
  const listeners = emitter.rawListeners(event) as Array<(...a: unknown[]) => unknown>;
  for (const fn of listeners) {
    try {
      const r = fn.apply(emitter, args);
      if (isThenable(r)) r.then(undefined, (err: unknown) => sink(err, `a "${String(event)}" listener`));
    } catch (err) {
      sink(err, `a "${String(event)}" listener`);
    }
  }
  return listeners.length > 0;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** The user's logger, each call contained. */
export function containLogger(log: Logger, sink: CallbackErrorSink): Logger {
  const wrap = (level: 'debug' | 'info' | 'warn' | 'error') => (obj: object | string, msg?: string): void => {
    try {
      log[level](obj, msg);
    } catch (err) {
      sink(err, `the logger's ${level}()`);
    }
  };
  const contained: Logger = { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
  if (typeof log.child === 'function') contained.child = (bindings) => containLogger(log.child!(bindings), sink);
  return contained;
}

/** Last resort for an error the sink itself cannot report. */
export function writeStderr(what: string, err: unknown): void {
  try {
    process.stderr.write(`bgworker: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
  } catch {
    // Nothing is left to report to.
  }
}
