/**
 * Launch from SQL: worker_spi_launch() as a NOTIFY control channel. Off unless a host
 * attaches it. A client runs
 *
 *   LISTEN my_reply;
 *   NOTIFY bgworker_control, '{"type": "worker_spi", "arg": {"index": 7}, "reply": "my_reply"}';
 *
 * and gets back, on `my_reply`, {"ok": true, "pid": …, "slot": …, "generation": "…"} once the
 * worker has started, or {"ok": false, "error": "…"}.
 *
 * Only types in the allowlist can be launched, each from a fixed registration template;
 * the payload chooses the type, an optional name and the argument, nothing else. Every
 * payload is checked before anything happens — size, JSON, shape, type, reply channel name,
 * the type's own argument check, then PostgreSQL's registration rules — and anything that
 * fails is logged with its reason and has no side effect (a reply says why when the reply
 * channel itself was valid).
 */
import { BgwHandleStatus, type BackgroundWorker, type Logger } from '../types.js';
import type { Listener } from '../pg/listen.js';
import type { Postmaster } from './postmaster.js';

export interface LaunchableType {
  /** Everything but name and mainArg, fixed by the host. */
  worker: Omit<BackgroundWorker, 'name' | 'mainArg'>;
  /** Accepts or refuses the payload's `arg` (JSON); absent means the type takes no argument. */
  checkArg?: (arg: unknown) => boolean;
}

export interface ControlChannelOptions {
  /** The channel to LISTEN on. Default "bgworker_control". */
  channel?: string;
  /** Launchable types by name. */
  allow: Record<string, LaunchableType>;
  /** Largest payload taken, in bytes. Default 1024 (NOTIFY allows up to 8000). */
  maxPayloadBytes?: number;
}

interface Request {
  type: string;
  name?: string;
  arg?: unknown;
  reply?: string;
}

type Reply = { ok: true; pid: number; slot: number; generation: string } | { ok: false; error: string };

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const KEYS = new Set(['type', 'name', 'arg', 'reply']);

class Rejection extends Error {}

/** Size, JSON and object shape; the reply channel is taken as soon as it is known valid. */
function parseObject(payload: string, maxBytes: number): { obj: Record<string, unknown>; reply?: string } {
  if (Buffer.byteLength(payload) > maxBytes) throw new Rejection(`payload is longer than ${maxBytes} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    throw new Rejection('payload is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Rejection('payload is not a JSON object');
  const obj = v as Record<string, unknown>;
  const reply = obj['reply'];
  return typeof reply === 'string' && IDENT.test(reply) ? { obj, reply } : { obj };
}

function checkFields(obj: Record<string, unknown>): Request {
  const extra = Object.keys(obj).filter((k) => !KEYS.has(k));
  if (extra.length > 0) throw new Rejection(`unknown field(s): ${extra.join(', ')}`);
  if (typeof obj['type'] !== 'string') throw new Rejection('"type" must be a string');
  if (obj['name'] !== undefined && typeof obj['name'] !== 'string') throw new Rejection('"name" must be a string');
  if (obj['reply'] !== undefined && (typeof obj['reply'] !== 'string' || !IDENT.test(obj['reply']))) {
    throw new Rejection('"reply" must be a lower-case channel name of at most 63 characters');
  }
  return obj as unknown as Request;
}

export class ControlChannel {
  readonly channel: string;
  private readonly maxBytes: number;

  constructor(private readonly pm: Postmaster, private readonly opts: ControlChannelOptions, private readonly log: Logger) {
    this.channel = opts.channel ?? 'bgworker_control';
    this.maxBytes = opts.maxPayloadBytes ?? 1024;
  }

  /** LISTEN on the control channel through the host's listener. */
  attach(listener: Listener): Promise<void> {
    return listener.subscribe(this.channel, {
      notify: (_c, payload) => void this.handle(payload, listener),
      resync: () => this.log.warn({ channel: this.channel }, 'control channel reconnected; launch requests sent meanwhile were lost'),
    });
  }

  private refuse(reason: string): Reply {
    this.log.warn({ channel: this.channel, reason }, 'control channel: launch request rejected');
    return { ok: false, error: reason };
  }

  private async handle(payload: string, listener: Listener): Promise<void> {
    let replyTo: string | undefined;
    let reply: Reply;
    try {
      const { obj, reply: r } = parseObject(payload, this.maxBytes);
      replyTo = r;
      reply = await this.launch(checkFields(obj));
    } catch (err) {
      reply = this.refuse((err as Error).message);
    }
    if (replyTo) await listener.notify(replyTo, JSON.stringify(reply)).catch(() => undefined);
  }

  private async launch(req: Request): Promise<Reply> {
    const allowed = Object.hasOwn(this.opts.allow, req.type) ? this.opts.allow[req.type] : undefined;
    if (!allowed) throw new Rejection(`type "${req.type}" may not be launched from SQL`);
    const hasArg = req.arg !== undefined;
    if (allowed.checkArg ? !allowed.checkArg(req.arg) : hasArg) throw new Rejection(`argument refused for type "${req.type}"`);
    const h = await this.pm.registerDynamicBackgroundWorker({
      ...allowed.worker,
      name: req.name ?? `${req.type} (launched from SQL)`,
      ...(hasArg ? { mainArg: req.arg } : {}),
    });
    if (!h) return this.refuse('no free background worker slot');
    const s = await h.waitForStartup();
    if (s.status !== BgwHandleStatus.Started) return this.refuse('could not start background process');
    this.log.info({ channel: this.channel, type: req.type, pid: s.pid }, 'control channel: worker launched');
    return { ok: true, pid: s.pid!, slot: h.slot, generation: String(h.generation) };
  }
}

/** Launch from SQL, off until called: LISTEN on the control channel of a started host. */
export async function attachControlChannel(pm: Postmaster, opts: ControlChannelOptions, log: Logger): Promise<ControlChannel> {
  const c = new ControlChannel(pm, opts, log);
  await c.attach(pm.notifications);
  return c;
}
