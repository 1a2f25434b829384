/**
 * The control channel's NOTIFY-payload mode, for trusted databases only: the payload of a
 * NOTIFY on the channel is the request. Off unless asked for (mode: 'notify'). A client runs
 *
 *   LISTEN my_reply;
 *   NOTIFY bgworker_control, '{"type": "worker_spi", "arg": {"index": 7}, "reply": "my_reply"}';
 *
 * and gets back, on `my_reply`, {"ok": true, "pid": …, "slot": …, "generation": "…"} once the
 * worker has started, or {"ok": false, "error": "…"}.
 *
 * Who may launch: anyone who can connect. PostgreSQL has no privilege on NOTIFY, and a
 * notification does not say who sent it, so this mode cannot tell one role from another
 * and has no rate limit per requester; the table mode (control-table.ts) can and has.
 *
 * Every payload is checked before anything happens — size, JSON, shape, the reply channel
 * name, then the checks every request passes (control-launch.ts) — and anything that fails
 * is logged with its reason and has no side effect (a reply says why when the reply channel
 * itself was valid). Replies go out through the host's listener, which sends them one at a
 * time on its connection (lib/pg/listen.ts).
 */
import type { Logger } from '../types.js';
import type { Listener, NotificationSink } from '../pg/listen.js';
import { CHANNEL_NAME } from '../pg/control-schema.js';
import { launchRequest, reasonOf, Rejection, typeForLog, type LaunchableType, type LaunchRequest, type Reply } from './control-launch.js';
import type { Postmaster } from './postmaster.js';

const KEYS = new Set(['type', 'name', 'arg', 'reply']);

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
  return typeof reply === 'string' && CHANNEL_NAME.test(reply) ? { obj, reply } : { obj };
}

function checkFields(obj: Record<string, unknown>): LaunchRequest {
  const extra = Object.keys(obj).filter((k) => !KEYS.has(k));
  if (extra.length > 0) throw new Rejection(`unknown field(s): ${extra.join(', ')}`);
  if (typeof obj['type'] !== 'string') throw new Rejection('"type" must be a string');
  if (obj['name'] !== undefined && typeof obj['name'] !== 'string') throw new Rejection('"name" must be a string');
  if (obj['reply'] !== undefined && (typeof obj['reply'] !== 'string' || !CHANNEL_NAME.test(obj['reply']))) {
    throw new Rejection('"reply" must be a lower-case channel name of at most 63 characters');
  }
  return obj as unknown as LaunchRequest;
}

export class NotifyControl {
  private listener: Listener | null = null;
  private readonly sink: NotificationSink = {
    notify: (_c, payload) => void this.handle(payload),
    resync: () => this.log.warn({ channel: this.channel }, 'control channel reconnected; launch requests sent meanwhile were lost'),
  };

  constructor(
    private readonly pm: Postmaster,
    private readonly channel: string,
    private readonly allow: Record<string, LaunchableType>,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** LISTEN on the control channel through the host's listener. */
  async attach(listener: Listener): Promise<void> {
    this.listener = listener;
    await listener.subscribe(this.channel, this.sink);
  }

  async close(): Promise<void> {
    this.listener?.unsubscribeAll(this.sink);
    this.listener = null;
  }

  private async handle(payload: string): Promise<void> {
    let replyTo: string | undefined;
    let reply: Reply;
    let type: unknown;
    try {
      const { obj, reply: r } = parseObject(payload, this.maxBytes);
      replyTo = r;
      type = obj['type'];
      const launched = await launchRequest(this.pm, this.allow, checkFields(obj));
      reply = launched;
      this.log.info({ channel: this.channel, type: typeForLog(type), pid: launched.pid }, 'control channel: worker launched');
    } catch (err) {
      reply = { ok: false, error: reasonOf(err) };
      this.log.warn({ channel: this.channel, type: typeForLog(type), reason: reply.error }, 'control channel: launch request rejected');
    }
    if (replyTo && this.listener) await this.listener.notify(replyTo, JSON.stringify(reply)).catch(() => undefined);
  }
}
