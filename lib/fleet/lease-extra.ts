/**
 * How a fleet copy knows its lease: the fleet owns the registration's `extra` bytes
 * (bgw_extra) of every copy it registers, and writes there
 *
 *   offset 0  uint32  FLEET_EXTRA_MAGIC ("FLT1"), big-endian
 *   offset 4  int32   the replica number
 *   offset 8  int64   the lease's term (the fencing token)
 *
 * 16 bytes of the 128 BGW_EXTRALEN allows, so a copy can read its term without a round
 * trip to anyone; its worker name is the registration's name up to the last '#'
 * (`<worker>#<replica>`). A declaration cannot set `extra` itself. This file imports
 * nothing from the host, so that the worker side (ctx.fleetLease()) can use it.
 */
import type { BackgroundWorkerEntry } from '../types.js';

export const FLEET_EXTRA_MAGIC = 0x464c5431;
export const FLEET_EXTRA_BYTES = 16;

/** A copy's lease, as the copy reads it. */
export interface FleetLease {
  worker: string;
  replica: number;
  /** The fencing token: put it into writes checked by `<schema>.fleet_fence(worker, replica, term)`. */
  term: number;
}

export function encodeLeaseExtra(replica: number, term: number): Uint8Array {
  const bytes = new Uint8Array(FLEET_EXTRA_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, FLEET_EXTRA_MAGIC);
  view.setInt32(4, replica);
  view.setBigInt64(8, BigInt(term));
  return bytes;
}

/** The lease of a fleet copy, or null for any other worker. */
export function fleetLeaseOf(entry: Pick<BackgroundWorkerEntry, 'name' | 'extra'>): FleetLease | null {
  const { extra, name } = entry;
  if (extra.length !== FLEET_EXTRA_BYTES) return null;
  const view = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  if (view.getUint32(0) !== FLEET_EXTRA_MAGIC) return null;
  const replica = view.getInt32(4);
  const hash = name.lastIndexOf('#');
  if (hash <= 0 || name.slice(hash + 1) !== String(replica)) return null;
  return { worker: name.slice(0, hash), replica, term: Number(view.getBigInt64(8)) };
}
