/**
 * Launch from SQL: worker_spi_launch() for this host, off unless a host attaches it. Two
 * modes, which differ in who may launch:
 *
 *   'table' (the default). A client inserts a row into <schema>.launch_requests, or calls
 *     <schema>.launch(type, arg, name, reply_channel), which does. PostgreSQL's privileges
 *     decide who may (nothing is granted to PUBLIC; the operator grants roles INSERT and
 *     EXECUTE), a trigger records who did (requested_by, session_role), and a NOTIFY on
 *     the channel only rings the doorbell. The host launches what it reads from the table,
 *     rate-limited per requesting role, and writes the outcome back into the row.
 *     The schema is lib/pg/control-schema.ts; the host's side is control-table.ts.
 *   'notify', for trusted databases: the payload of a NOTIFY on the channel is the
 *     request, from anyone who can connect (control-notify.ts).
 *
 * Either way only types in the allowlist can be launched, from templates the host fixed,
 * and a request is checked before anything happens (control-launch.ts).
 *
 * The channel detaches by itself when its host exits; close() detaches it earlier.
 */
import { InvalidOptionError } from '../errors.js';
import { CHANNEL_NAME } from '../pg/control-schema.js';
import type { Listener } from '../pg/listen.js';
import { checkSchemaName } from '../pg/migrate.js';
import type { Logger } from '../types.js';
import type { LaunchableType } from './control-launch.js';
import { NotifyControl } from './control-notify.js';
import { TableControl } from './control-table.js';
import type { Postmaster } from './postmaster.js';
import type { RateLimit } from './token-bucket.js';

export type { LaunchableType } from './control-launch.js';
export type { RateLimit } from './token-bucket.js';

export type ControlChannelMode = 'table' | 'notify';

export interface ControlChannelOptions {
  /** The channel to LISTEN on: the doorbell in table mode, the requests in notify mode. Default "bgworker_control". */
  channel?: string;
  /** Launchable types by name. */
  allow: Record<string, LaunchableType>;
  /**
   * Largest request taken, in bytes: the payload in notify mode; type, name and arg's JSON
   * text together in table mode. Default 1024 (NOTIFY allows up to 8000).
   */
  maxPayloadBytes?: number;
  /** Default 'table'; 'notify' lets anyone who can connect launch, for trusted databases only. */
  mode?: ControlChannelMode;
  /** Table mode: the schema of the requests table, created if missing. Default "bgworker". */
  schema?: string;
  /** Table mode: launches per requesting role, or false for none. Default 10 a second, bursts of 20. */
  rateLimit?: RateLimit | false;
  /** Table mode: this host's name in handled_by_host. Default "<hostname>:<pid>". */
  hostId?: string;
}

const MODES: readonly ControlChannelMode[] = ['table', 'notify'];

function checkOptions(opts: ControlChannelOptions): void {
  if (typeof opts?.allow !== 'object' || opts.allow === null) throw new InvalidOptionError('allow must be an object of launchable types');
  if (opts.mode !== undefined && !MODES.includes(opts.mode)) throw new InvalidOptionError(`mode must be 'table' or 'notify', got ${JSON.stringify(opts.mode)}`);
  if (opts.channel !== undefined && (typeof opts.channel !== 'string' || !CHANNEL_NAME.test(opts.channel))) {
    throw new InvalidOptionError(`channel must be a lower-case SQL identifier of at most 63 characters, got ${JSON.stringify(opts.channel)}`);
  }
  const max = opts.maxPayloadBytes;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new InvalidOptionError(`maxPayloadBytes must be a positive integer, got ${String(max)}`);
}

export class ControlChannel {
  readonly channel: string;
  readonly mode: ControlChannelMode;
  /** The schema of the requests table; null in notify mode. */
  readonly schema: string | null;
  private readonly impl: TableControl | NotifyControl;
  private readonly onExit = (): void => void this.close();

  constructor(private readonly pm: Postmaster, opts: ControlChannelOptions, log: Logger) {
    checkOptions(opts);
    this.channel = opts.channel ?? 'bgworker_control';
    this.mode = opts.mode ?? 'table';
    const maxBytes = opts.maxPayloadBytes ?? 1024;
    if (this.mode === 'notify') {
      this.schema = null;
      this.impl = new NotifyControl(pm, this.channel, opts.allow, maxBytes, log);
    } else {
      this.schema = checkSchemaName(opts.schema ?? 'bgworker');
      const table = { schema: this.schema, channel: this.channel, allow: opts.allow, maxBytes, rateLimit: opts.rateLimit ?? {} };
      this.impl = new TableControl(pm, opts.hostId !== undefined ? { ...table, hostId: opts.hostId } : table, log);
    }
  }

  /** Start taking requests: LISTEN through `listener` (table mode: after creating or updating the schema). */
  async attach(listener: Listener): Promise<void> {
    await this.impl.attach(listener);
    this.pm.once('exit', this.onExit);
  }

  /** Stop taking requests; a request being handled is finished first. */
  async close(): Promise<void> {
    this.pm.off('exit', this.onExit);
    await this.impl.close();
  }
}

/** Launch from SQL, off until called: attach the control channel to a started host. */
export async function attachControlChannel(pm: Postmaster, opts: ControlChannelOptions, log: Logger): Promise<ControlChannel> {
  const c = new ControlChannel(pm, opts, log);
  await c.attach(pm.notifications);
  return c;
}
