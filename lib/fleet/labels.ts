/**
 * Labels and placement: what a member says about itself (`{ zone: "eu-1", role: "batch" }`)
 * and what a fleet worker asks of the members it may run on (`{ zone: ["eu-1", "eu-2"] }`:
 * every key must match, a list means any of its values).
 *
 * Keys are lower-case identifiers ([a-z][a-z0-9_.-]*, at most 63 characters), values short
 * tokens ([A-Za-z0-9][A-Za-z0-9_.:-]*, at most 63): a label travels into SQL, NOTIFY-free
 * JSON and metrics, and a narrow form keeps every one of them plain. The same rules are
 * checked in SQL (sql-declare.ts) for declarations that come from there.
 */
import { FleetInvalidLabelsError } from '../errors.js';

export type Labels = Record<string, string>;
/** Label constraints: each key must be present with the value, or with one of the values. */
export type Placement = Record<string, string | string[]>;

const LABEL_KEY = /^[a-z][a-z0-9_.-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;

function plainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function checkKey(k: string, where: string): void {
  if (!LABEL_KEY.test(k)) throw new FleetInvalidLabelsError(`${where}: label key ${JSON.stringify(k)} is not of the form [a-z][a-z0-9_.-]* (at most 63 characters)`);
}

function isValue(v: unknown): v is string {
  return typeof v === 'string' && LABEL_VALUE.test(v);
}

/** A member's labels, checked. @throws {BGW_ERR_FLEET_INVALID_LABELS} */
export function checkLabels(v: unknown, where = 'labels'): Labels {
  if (v === undefined) return {};
  if (!plainObject(v)) throw new FleetInvalidLabelsError(`${where} must be an object of label values`);
  const out: Labels = {};
  for (const [k, value] of Object.entries(v)) {
    checkKey(k, where);
    if (!isValue(value)) throw new FleetInvalidLabelsError(`${where}.${k} must be a label value ([A-Za-z0-9][A-Za-z0-9_.:-]*, at most 63 characters)`);
    out[k] = value;
  }
  return out;
}

/** A placement, checked. @throws {BGW_ERR_FLEET_INVALID_LABELS} */
export function checkPlacement(v: unknown, where = 'placement'): Placement {
  if (v === undefined) return {};
  if (!plainObject(v)) throw new FleetInvalidLabelsError(`${where} must be an object of label constraints`);
  const out: Placement = {};
  for (const [k, want] of Object.entries(v)) {
    checkKey(k, where);
    const ok = isValue(want) || (Array.isArray(want) && want.length > 0 && want.every(isValue));
    if (!ok) throw new FleetInvalidLabelsError(`${where}.${k} must be a label value or a non-empty list of them`);
    out[k] = Array.isArray(want) ? [...(want as string[])] : want;
  }
  return out;
}

/** Whether a member with `labels` may run a worker placed by `placement`. */
export function placementMatches(placement: Placement, labels: Labels): boolean {
  for (const [k, want] of Object.entries(placement)) {
    const have = Object.hasOwn(labels, k) ? labels[k] : undefined;
    if (have === undefined) return false;
    if (Array.isArray(want) ? !want.includes(have) : want !== have) return false;
  }
  return true;
}
