/**
 * Errors in a form that survives postMessage.
 *
 * Structured clone keeps an Error's name, message and stack but drops its class and custom
 * properties such as `code` (nodejs/node #26692), so an error thrown in a worker is sent as
 * a plain object and rebuilt on the host: a BgwError comes back as the same subclass; any
 * other error keeps name, message, stack and a string `code` if it had one (pg's
 * DatabaseError keeps its SQLSTATE that way). Causes travel as a chain.
 */
import { errorClassFor } from '../error-catalogue.js';

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: WireError;
}

const MAX_CAUSE_DEPTH = 8;

export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const wire: WireError = { name: err.name, message: err.message };
  if (err.stack !== undefined) wire.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) wire.cause = toWire(err.cause, depth + 1);
  return wire;
}

export function fromWire(wire: WireError): Error {
  const options = wire.cause ? { cause: fromWire(wire.cause) } : undefined;
  const cls = wire.code ? errorClassFor(wire.code) : undefined;
  const err: Error = cls ? new cls(wire.message, options) : new Error(wire.message, options);
  if (!cls) {
    err.name = wire.name;
    if (wire.code) Object.defineProperty(err, 'code', { value: wire.code, enumerable: true });
  }
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}
