/**
 * SanityCheckBackgroundWorker, plus the field checks a JavaScript caller needs: turns a
 * user's BackgroundWorker into the validated entry that goes into a slot.
 *
 * PostgreSQL's checks run in its order (docs/semantics.md §1.5) after the field checks, and the first
 * failure throws a BgwError naming the field, with PostgreSQL's message text behind the
 * `background worker "<name>": ` prefix. Nothing is written anywhere before this returns,
 * so a rejected registration leaves the slot array untouched.
 *
 * Departures, on purpose: names are measured in UTF-8 bytes and rejected when too long or
 * when they hold control characters (printable.ts), rather than sanitised or truncated;
 * BGWORKER_SHMEM_ACCESS is optional (9.4–14 semantics), except that a database connection
 * needs it, as in 9.4–14; the module is checked to be an existing file at registration,
 * while a missing export can only be seen by loading the module and is reported by the
 * worker at start, as PostgreSQL does.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import {
  BGW_EXTRALEN, BGW_MAXLEN, BGW_MAX_RESTART_TIME, BGW_NEVER_RESTART, MAXPGPATH, NO_NOTIFY_PID,
} from '../constants.js';
import {
  ExtraTooLongError, InvalidFlagsError, InvalidNameError, InvalidOptionError, InvalidRegistrationError, InvalidResourceLimitsError,
  InvalidRestartIntervalError, InvalidStartTimeError, MainArgNotClonableError, MainArgTooLargeError, ModuleNotFoundError, NameTooLongError,
  ParallelRestartError, StaticNotifyError,
} from '../errors.js';
import { hasControlCharacters, printable } from '../printable.js';
import { checkTypeScriptLoader } from './typescript.js';
import {
  BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_CLASS_PARALLEL, BGWORKER_INTERRUPTIBLE, BGWORKER_KNOWN_FLAGS, BGWORKER_SHMEM_ACCESS,
  BgWorkerStartTime, type BackgroundWorker, type BackgroundWorkerEntry, type Readiness, type WorkerResourceLimits,
} from '../types.js';

const utf8 = new TextEncoder();

export interface CheckedRegistration {
  entry: BackgroundWorkerEntry;
  /** The structured-clone bytes of mainArg (v8.serialize). */
  mainArg: Uint8Array;
}

export interface SanityContext {
  /** Static registrations may not ask for notification; dynamic ones default to the registrant. */
  dynamic: boolean;
  registrantPid: number;
  mainArgBytes: number;
}

export function sanityCheckBackgroundWorker(w: BackgroundWorker, ctx: SanityContext): CheckedRegistration {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) {
    throw new InvalidRegistrationError('a background worker registration must be an object');
  }
  const name = checkName(w.name, 'name', '');
  const prefix = `background worker "${name}": `;
  const type = w.type === undefined || w.type === '' ? name : checkName(w.type, 'type', prefix);
  const functionName = w.function === undefined ? 'main' : checkName(w.function, 'function', prefix);
  const libraryName = resolveModule(w.module, prefix);
  const flags = w.flags ?? 0;
  const startTime = w.startTime ?? BgWorkerStartTime.ConsistentState;
  const restartTime = w.restartTime ?? BGW_NEVER_RESTART;
  checkPostgresRules(flags, startTime, restartTime, prefix);
  const extra = checkExtra(w.extra, prefix);
  const mainArg = cloneMainArg(w.mainArg, ctx.mainArgBytes, prefix);
  const notifyPid = checkNotify(w.notifyPid, ctx, prefix);
  const resourceLimits = checkResourceLimits(w.resourceLimits, prefix);
  const maxRuntimeMs = checkMaxRuntime(w.maxRuntimeMs, prefix);
  const readiness = checkReadiness(w.readiness, prefix);
  if (w.reusable !== undefined && typeof w.reusable !== 'boolean') throw new InvalidOptionError(`${prefix}reusable must be true or false`);
  const reusable = w.reusable === true;
  return {
    entry: { name, type, flags, startTime, restartTime, libraryName, functionName, extra, notifyPid, resourceLimits, maxRuntimeMs, readiness, reusable },
    mainArg,
  };
}

function checkName(v: unknown, field: string, prefix: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new NameTooLongError(`${prefix}${field} must be a non-empty string`);
  }
  if (hasControlCharacters(v)) {
    // Shown escaped: the point of the refusal is that these never reach a terminal raw.
    throw new InvalidNameError(
      `${prefix || 'background worker '}${field} "${printable(v)}" contains control characters; use printable text (no escapes, newlines or other control characters)`,
    );
  }
  const bytes = utf8.encode(v).length;
  if (bytes > BGW_MAXLEN - 1) {
    throw new NameTooLongError(`${prefix}${field} is ${bytes} bytes long; at most ${BGW_MAXLEN - 1} UTF-8 bytes fit (BGW_MAXLEN)`);
  }
  return v;
}

/** SanityCheckBackgroundWorker proper, in PostgreSQL's order. */
function checkPostgresRules(flags: number, startTime: number, restartTime: number, prefix: string): void {
  // Bit operations see only 32 bits: check the range first, or 2**32 + 1 would pass as 1.
  if (!Number.isInteger(flags) || flags < 0 || flags > 0x7fff_ffff || (flags & ~BGWORKER_KNOWN_FLAGS) !== 0) {
    throw new InvalidFlagsError(`${prefix}unknown flag bits in ${String(flags)}; use the BGWORKER_* flags`);
  }
  if (!Object.values(BgWorkerStartTime).includes(startTime as BgWorkerStartTime)) {
    throw new InvalidStartTimeError(`${prefix}invalid start time ${String(startTime)}; use BgWorkerStartTime`);
  }
  // PostgreSQL 9.4–14's first check; 15+ refuses every worker without shared memory (docs/semantics.md §1.3).
  if (flags & BGWORKER_BACKEND_DATABASE_CONNECTION && !(flags & BGWORKER_SHMEM_ACCESS)) {
    throw new InvalidFlagsError(`${prefix}must attach to shared memory in order to request a database connection; add BGWORKER_SHMEM_ACCESS`);
  }
  if (flags & BGWORKER_BACKEND_DATABASE_CONNECTION && startTime === BgWorkerStartTime.PostmasterStart) {
    throw new InvalidFlagsError(`${prefix}cannot request database access if starting at postmaster start`);
  }
  if (flags & BGWORKER_INTERRUPTIBLE && !(flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    throw new InvalidFlagsError(`${prefix}cannot make background workers interruptible without database access`);
  }
  if (
    !Number.isInteger(restartTime) ||
    (restartTime < 0 && restartTime !== BGW_NEVER_RESTART) ||
    restartTime > BGW_MAX_RESTART_TIME
  ) {
    throw new InvalidRestartIntervalError(`${prefix}invalid restart interval ${String(restartTime)}; use -1 or 0..${BGW_MAX_RESTART_TIME} seconds`);
  }
  if (flags & BGWORKER_CLASS_PARALLEL && restartTime !== BGW_NEVER_RESTART) {
    throw new ParallelRestartError(`${prefix}parallel workers may not be configured for restart`);
  }
}

function resolveModule(m: unknown, prefix: string): string {
  let url: URL;
  if (m instanceof URL) url = m;
  else if (typeof m === 'string' && m.startsWith('file:')) url = new URL(m);
  else if (typeof m === 'string' && m.length > 0) url = pathToFileURL(resolve(m));
  else throw new ModuleNotFoundError(`${prefix}module must be a file path or a file: URL`);
  if (url.protocol !== 'file:') throw new ModuleNotFoundError(`${prefix}module ${url.href} is not a file: URL`);
  if (utf8.encode(url.href).length > MAXPGPATH - 1) {
    throw new ModuleNotFoundError(`${prefix}module URL is longer than ${MAXPGPATH - 1} bytes (MAXPGPATH)`);
  }
  const kind = fileKind(fileURLToPath(url));
  if (kind === 'missing') throw new ModuleNotFoundError(`${prefix}module ${url.href} does not exist; give an absolute path or a file: URL`);
  if (kind === 'directory') {
    throw new ModuleNotFoundError(`${prefix}module ${url.href} is a directory, not a file; name the module file itself (its index.js, say)`);
  }
  if (kind === 'other') throw new ModuleNotFoundError(`${prefix}module ${url.href} is not a regular file; name the module file itself`);
  checkTypeScriptLoader(url.href, prefix);
  return url.href;
}

/** What is at `path`, following symbolic links; a path that cannot be looked at counts as missing. */
function fileKind(path: string): 'file' | 'directory' | 'other' | 'missing' {
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch {
    return 'missing'; // ENOTDIR, EACCES, ELOOP: nothing a worker could load either
  }
  if (!stat) return 'missing';
  return stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other';
}

function checkExtra(extra: unknown, prefix: string): Uint8Array {
  if (extra === undefined) return new Uint8Array(0);
  if (!(extra instanceof Uint8Array)) throw new ExtraTooLongError(`${prefix}extra must be a Uint8Array`);
  if (extra.length > BGW_EXTRALEN) {
    throw new ExtraTooLongError(`${prefix}extra is ${extra.length} bytes; at most ${BGW_EXTRALEN} fit (BGW_EXTRALEN)`);
  }
  return Uint8Array.from(extra);
}

function cloneMainArg(arg: unknown, limit: number, prefix: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = serialize(arg);
  } catch (cause) {
    throw new MainArgNotClonableError(`${prefix}mainArg cannot be structured-cloned: ${(cause as Error).message}`, { cause });
  }
  if (bytes.length > limit) {
    throw new MainArgTooLargeError(
      `${prefix}mainArg's clone is ${bytes.length} bytes; raise the host's mainArgBytes (${limit}) or pass a handle to shared memory`,
    );
  }
  return bytes;
}

/** The bounds of each limit, in MB: below them V8 cannot start, above them they mean nothing. */
const LIMIT_BOUNDS: Record<keyof WorkerResourceLimits, [number, number]> = {
  maxOldGenerationSizeMb: [8, 1 << 20],
  maxYoungGenerationSizeMb: [1, 1 << 16],
  codeRangeSizeMb: [1, 1 << 12],
  stackSizeMb: [1, 1 << 10],
};

function checkResourceLimits(rl: unknown, prefix: string): WorkerResourceLimits {
  if (rl === undefined) return {};
  if (typeof rl !== 'object' || rl === null) throw new InvalidResourceLimitsError(`${prefix}resourceLimits must be an object`);
  const out: WorkerResourceLimits = {};
  for (const [k, v] of Object.entries(rl)) {
    const bounds = LIMIT_BOUNDS[k as keyof WorkerResourceLimits];
    if (!bounds) throw new InvalidResourceLimitsError(`${prefix}unknown resource limit "${k}"`);
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < bounds[0] || v > bounds[1]) {
      throw new InvalidResourceLimitsError(`${prefix}resourceLimits.${k} must be an integer in ${bounds[0]}..${bounds[1]} (MB)`);
    }
    out[k as keyof WorkerResourceLimits] = v;
  }
  return out;
}

/** maxRuntimeMs: unset (0, no deadline) or a whole number of ms that a timer can hold. */
function checkMaxRuntime(v: unknown, prefix: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0x7fff_ffff) {
    throw new InvalidOptionError(`${prefix}maxRuntimeMs must be an integer number of ms in 1..${0x7fff_ffff}, or unset for no deadline`);
  }
  return v as number;
}

function checkReadiness(v: unknown, prefix: string): Readiness {
  if (v === undefined) return 'entry';
  if (v !== 'entry' && v !== 'declared') throw new InvalidOptionError(`${prefix}readiness must be 'entry' or 'declared'`);
  return v;
}

function checkNotify(pid: unknown, ctx: SanityContext, prefix: string): number {
  if (!ctx.dynamic) {
    if (pid !== undefined && pid !== null) {
      throw new StaticNotifyError(`${prefix}only dynamic background workers can request notification`);
    }
    return NO_NOTIFY_PID;
  }
  if (pid === undefined) return ctx.registrantPid;
  if (pid === null) return NO_NOTIFY_PID;
  if (!Number.isInteger(pid) || (pid as number) < 0 || (pid as number) > 0x7fff_ffff) {
    throw new InvalidOptionError(`${prefix}notifyPid must be a thread id (0 is the host) or null`);
  }
  return pid as number;
}
