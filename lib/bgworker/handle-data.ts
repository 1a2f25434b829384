/**
 * A handle's plain form, {slot, generation}, as it comes back from outside: a mainArg, a
 * JSON reply, a pair of shared-memory cells. pm.handleFrom and ctx.handle check it here,
 * before any slot is read: the slot must be one of the segment's, and the generation what
 * a slot's int64 generation counter can hold — a bigint or a decimal string (toJSON's form)
 * from 0 to 2^63 - 1, or a safe integer.
 */
import { InvalidOptionError } from '../errors.js';
import { printable } from '../printable.js';
import type { HandleData } from './registration.js';

const MAX_GENERATION = 2n ** 63n - 1n;
const DECIMAL = /^[0-9]{1,19}$/;

/** @throws {BGW_ERR_INVALID_OPTION} unless `data` names a slot of `totalSlots` and a generation */
export function checkHandleData(data: unknown, totalSlots: number): HandleData {
  if (typeof data !== 'object' || data === null) {
    throw new InvalidOptionError(`a handle's plain form is { slot, generation }, as handle.toJSON() gives it; got ${describe(data)}`);
  }
  const { slot, generation } = data as Record<string, unknown>;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= totalSlots) {
    throw new InvalidOptionError(`no slot ${describe(slot)}: slots are 0..${totalSlots - 1}`);
  }
  const g = toGeneration(generation);
  if (g === null) {
    throw new InvalidOptionError(
      `generation must be a non-negative integer below 2^63 (a bigint, or a decimal string as handle.toJSON() gives it), got ${describe(generation)}`,
    );
  }
  return { slot, generation: g };
}

function toGeneration(v: unknown): bigint | null {
  let g: bigint;
  if (typeof v === 'bigint') g = v;
  else if (typeof v === 'string' && DECIMAL.test(v)) g = BigInt(v);
  else if (typeof v === 'number' && Number.isSafeInteger(v)) g = BigInt(v);
  else return null;
  return g >= 0n && g <= MAX_GENERATION ? g : null;
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return `"${printable(v)}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  return `a value of type ${typeof v}`;
}
