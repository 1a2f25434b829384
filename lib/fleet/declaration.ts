/**
 * A fleet worker's declaration, as the host API and the CLI take it, checked before it is
 * sent to the database; and the registration of one copy, built from a declaration.
 *
 *   fleet.declare('importer', {
 *     registration: { module: '/srv/app/importer.js', flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, restartTime: 5 },
 *     replicas: 3,                  // or 'per-host'
 *     placement: { zone: ['eu-1', 'eu-2'] },
 *   });
 *
 * The registration is the usual BackgroundWorker minus what the fleet decides: the name of
 * each copy (`<worker>#<replica>`), `extra` (the lease, lease-extra.ts), notifyPid and the
 * start time. It is stored as JSON, so mainArg must be plain JSON, and the module must be
 * an absolute path or a file: URL (a relative path means something else on every host).
 *
 * Checks run in the order of the SQL function (sql-declare.ts): name, replicas, placement,
 * registration shape; then sanityCheckBackgroundWorker itself on a copy's registration, so
 * that the host refuses exactly what it would refuse at launch (the module exists on this
 * host, PostgreSQL's flag rules). Every refusal is a FleetInvalidDeclarationError (or
 * FleetInvalidLabelsError for a label of the wrong form) naming the field, with the
 * sanity error as its cause; nothing is written.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { POSTMASTER_PID } from '../constants.js';
import { BgwError, FleetInvalidDeclarationError } from '../errors.js';
import { sanityCheckBackgroundWorker, type CheckedRegistration } from '../bgworker/sanity.js';
import type { BackgroundWorker, WorkerResourceLimits } from '../types.js';
import { checkPlacement, type Placement } from './labels.js';
import { encodeLeaseExtra } from './lease-extra.js';

/** The replica count that means one copy on every member the placement allows. */
export const PER_HOST = -1;

/** A registration as a fleet stores it: JSON. */
export interface FleetRegistration {
  module: string | URL;
  function?: string;
  type?: string;
  mainArg?: unknown;
  flags?: number;
  restartTime?: number;
  resourceLimits?: WorkerResourceLimits;
}

export interface FleetWorkerSpec {
  registration: FleetRegistration;
  /** How many copies, or 'per-host'. */
  replicas: number | 'per-host';
  placement?: Placement;
}

/** A declaration in the form the database takes it. */
export interface CheckedDeclaration {
  name: string;
  registration: Record<string, unknown>;
  /** -1 (PER_HOST) or a count. */
  replicas: number;
  placement: Placement;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const FIELDS = new Set(['module', 'function', 'type', 'mainArg', 'flags', 'restartTime', 'resourceLimits']);
/** mainArg's JSON limit in SQL; the host checks its own mainArgBytes when it registers a copy. */
const DECLARED_MAIN_ARG_BYTES = 65_536;

/** @throws {BGW_ERR_FLEET_INVALID_DECLARATION} */
export function checkWorkerName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new FleetInvalidDeclarationError(
      `fleet worker name must be 1 to 63 characters of A-Z a-z 0-9 _ . - starting with a letter or digit, got ${JSON.stringify(String(name)).slice(0, 80)}`,
    );
  }
  return name;
}

function checkReplicas(name: string, r: unknown): number {
  if (r === 'per-host') return PER_HOST;
  if (!Number.isInteger(r) || (r as number) < 0 || (r as number) > 0x7fff_ffff) {
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": replicas must be a whole number from 0, or 'per-host'`);
  }
  return r as number;
}

function isJson(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v as object).every((x) => isJson(x, depth + 1));
  }
  return false;
}

function moduleHref(name: string, m: unknown): string {
  if (m instanceof URL) return m.href;
  if (typeof m === 'string' && m.startsWith('file:')) return m;
  if (typeof m === 'string' && isAbsolute(m)) return pathToFileURL(m).href;
  throw new FleetInvalidDeclarationError(`fleet worker "${name}": registration.module must be an absolute path or a file: URL`);
}

function checkRegistration(name: string, reg: unknown): Record<string, unknown> {
  if (typeof reg !== 'object' || reg === null || Array.isArray(reg)) {
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": registration must be an object`);
  }
  const unknown = Object.keys(reg).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": registration has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  }
  const out: Record<string, unknown> = { ...(reg as Record<string, unknown>) };
  out['module'] = moduleHref(name, out['module']);
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  if ('mainArg' in out && !isJson(out['mainArg'])) {
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": registration.mainArg must be plain JSON (a declaration is stored as jsonb)`);
  }
  if ('mainArg' in out && Buffer.byteLength(JSON.stringify(out['mainArg'])) > DECLARED_MAIN_ARG_BYTES) {
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": registration.mainArg is larger than 64 KiB of JSON`);
  }
  return out;
}

/**
 * The registration of copy `replica` of worker `name` under lease `term`; the fleet owns
 * its name, type default, and extra.
 */
export function copyRegistration(name: string, replica: number, term: number, reg: Record<string, unknown>): BackgroundWorker {
  const w: BackgroundWorker = {
    ...(reg as Omit<BackgroundWorker, 'name'>),
    name: `${name}#${replica}`,
    type: typeof reg['type'] === 'string' ? (reg['type'] as string) : name,
    extra: encodeLeaseExtra(replica, term),
  };
  return w;
}

/** sanity.ts on a copy's registration, as the host will register it. @throws {BGW_ERR_FLEET_INVALID_DECLARATION} */
export function sanityCheckCopy(name: string, reg: Record<string, unknown>, mainArgBytes = DECLARED_MAIN_ARG_BYTES): CheckedRegistration {
  try {
    return sanityCheckBackgroundWorker(copyRegistration(name, 0, 0, reg), { dynamic: true, registrantPid: POSTMASTER_PID, mainArgBytes });
  } catch (cause) {
    if (!(cause instanceof BgwError)) throw cause;
    throw new FleetInvalidDeclarationError(`fleet worker "${name}": ${cause.message} (${cause.code})`, { cause });
  }
}

/** Check a declaration from the host API or the CLI. @throws {BGW_ERR_FLEET_INVALID_DECLARATION} {BGW_ERR_FLEET_INVALID_LABELS} */
export function checkDeclaration(name: unknown, spec: FleetWorkerSpec): CheckedDeclaration {
  const n = checkWorkerName(name);
  if (typeof spec !== 'object' || spec === null) throw new FleetInvalidDeclarationError(`fleet worker "${n}": the declaration must be an object`);
  const replicas = checkReplicas(n, spec.replicas);
  const placement = checkPlacement(spec.placement, `fleet worker "${n}": placement`);
  const registration = checkRegistration(n, spec.registration);
  sanityCheckCopy(n, registration);
  return { name: n, registration, replicas, placement };
}
