/**
 * One launch request of the control channel, whichever way it came (a row of the requests
 * table or a NOTIFY payload): the checks that decide whether it may launch, and the launch.
 *
 * Only types in the allowlist can be launched, each from the fixed registration template the
 * host configured; a request chooses the type, an optional name and the argument, nothing
 * else. The checks, in order: the type is in the allowlist (an own property, so "__proto__"
 * or "toString" are just unknown types); the type's own argument check (a type without one
 * takes no argument); then PostgreSQL's registration rules (sanity.ts: the name's length,
 * the argument's clone size). A request that fails any of them has no side effect and gets
 * the reason back as {ok: false, error}; one that passes gets {ok: true, pid, slot,
 * generation} once its worker has started.
 */
import { BgwHandleStatus, type BackgroundWorker } from '../types.js';
import type { Postmaster } from './postmaster.js';

export interface LaunchableType {
  /** Everything but name and mainArg, fixed by the host. */
  worker: Omit<BackgroundWorker, 'name' | 'mainArg'>;
  /** Accepts or refuses the request's `arg` (JSON); absent means the type takes no argument. */
  checkArg?: (arg: unknown) => boolean;
}

/** What a request asks for, once its shape is known good. */
export interface LaunchRequest {
  type: string;
  name?: string;
  arg?: unknown;
}

export type Reply = { ok: true; pid: number; slot: number; generation: string } | { ok: false; error: string };

/** A request refused for a reason worth telling its sender. */
export class Rejection extends Error {}

/** Check `req` against the allowlist and launch it; throws Rejection (or a registration error) when it may not. */
export async function launchRequest(pm: Postmaster, allow: Record<string, LaunchableType>, req: LaunchRequest): Promise<Reply & { ok: true }> {
  const allowed = Object.hasOwn(allow, req.type) ? allow[req.type] : undefined;
  if (!allowed) throw new Rejection(`type "${req.type}" may not be launched from SQL`);
  const hasArg = req.arg !== undefined;
  if (allowed.checkArg ? !allowed.checkArg(req.arg) : hasArg) throw new Rejection(`argument refused for type "${req.type}"`);
  const h = await pm.registerDynamicBackgroundWorker({
    ...allowed.worker,
    name: req.name ?? `${req.type} (launched from SQL)`,
    ...(hasArg ? { mainArg: req.arg } : {}),
  });
  if (!h) throw new Rejection('no free background worker slot');
  const s = await h.waitForStartup();
  if (s.status !== BgwHandleStatus.Started) throw new Rejection('could not start background process');
  return { ok: true, pid: s.pid!, slot: h.slot, generation: String(h.generation) };
}

/** Why a request failed, from whatever was thrown (a type's checkArg may throw anything). */
export const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A type name fit for a log line: a hostile request's type can be any length. */
export const typeForLog = (type: unknown): string => (typeof type === 'string' ? type.slice(0, 64) : typeof type);
