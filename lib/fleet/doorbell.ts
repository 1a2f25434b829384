/**
 * The fleet's doorbell: NOTIFY on `<schema>_fleet` says "look now", never what to do.
 *
 * Anyone who can connect to the database can NOTIFY on any channel, so a payload is
 * untrusted input: it is parsed and checked (size, JSON, a known kind, a well-formed worker
 * name and replica), and a payload that fails is refused — logged, counted and reported
 * with a FleetInvalidNotificationError — and acted on not at all. A valid one only makes the
 * host run its next tick early; the tick reads the tables, which are the truth. A release
 * names its lease, so hosts that are not assigned that replica need not even look.
 *
 * The SQL side sends (sql-leases.ts, schema.ts):
 *   {"kind":"insert"|"update"|"delete","worker":name}   a declaration changed
 *   {"kind":"member"}                                    a member joined, is leaving, or left
 *   {"kind":"release"[,"worker":name,"replica":n]}       a lease became free
 */
import { FleetInvalidNotificationError } from '../errors.js';

export type Doorbell =
  | { kind: 'insert' | 'update' | 'delete'; worker: string }
  | { kind: 'member' }
  | { kind: 'release'; worker?: string; replica?: number };

const MAX_PAYLOAD_BYTES = 512;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const KINDS = new Set(['insert', 'update', 'delete', 'member', 'release']);

function refuse(why: string): never {
  throw new FleetInvalidNotificationError(`fleet notification refused: ${why}`);
}

/** @throws {BGW_ERR_FLEET_INVALID_NOTIFICATION} */
export function parseDoorbell(payload: string): Doorbell {
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) refuse(`payload is longer than ${MAX_PAYLOAD_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    refuse('payload is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) refuse('payload is not a JSON object');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'kind' && k !== 'worker' && k !== 'replica');
  if (extra.length > 0) refuse('payload has unknown fields');
  if (typeof o['kind'] !== 'string' || !KINDS.has(o['kind'])) refuse('unknown kind');
  if (o['worker'] !== undefined && (typeof o['worker'] !== 'string' || !NAME.test(o['worker']))) refuse('worker is not a fleet worker name');
  if (o['replica'] !== undefined && (!Number.isInteger(o['replica']) || (o['replica'] as number) < 0)) refuse('replica is not a replica number');
  if (o['kind'] === 'member' && (o['worker'] !== undefined || o['replica'] !== undefined)) refuse('a member notification names no worker');
  if (['insert', 'update', 'delete'].includes(o['kind']) && (o['worker'] === undefined || o['replica'] !== undefined)) {
    refuse('a declaration notification names its worker and no replica');
  }
  return o as unknown as Doorbell;
}
