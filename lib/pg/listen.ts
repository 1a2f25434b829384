/**
 * The host's one LISTEN connection, through pg-listen — the only file that imports it.
 *
 * Workers subscribe to channels; every notification on a channel goes to each worker
 * subscribed to it. pg-listen's defaults do not suit a long-running service, so:
 *   - it retries forever, with exponential backoff capped at RETRY_CAP_MS (its own
 *     default gives up for good after 3 s, shorter than a server restart);
 *   - payloads stay plain strings (its default JSON.parse throws on anything else);
 *   - every reconnect is a resync: a notification sent while the connection was down is
 *     lost without a trace, so each subscriber is told that it may have missed some and
 *     should re-scan, as a careful LISTEN user does;
 *   - if re-subscribing after a reconnect fails (pg-listen then gives up), the subscriber
 *     is rebuilt from scratch, and that too ends in a resync.
 * The first connection is made on the first subscription, and retried the same way.
 *
 * One query at a time. LISTEN, UNLISTEN and NOTIFY all run on the one connection, and pg
 * runs a query issued while another executes only from its own internal queue, which it
 * deprecates (a DeprecationWarning, and an error in pg 9). So every query this file issues
 * goes through one promise chain (`serially`): a burst of NOTIFYs, say the control
 * channel's replies to a burst of requests, reaches the server one after the other, in the
 * order the calls were made. pg-listen's own queries (its paranoid check, the re-LISTENs
 * of a reconnect) are outside that chain.
 */
import pgListen, { type Subscriber } from 'pg-listen';
import type pg from 'pg';

// pg-listen is CommonJS with `exports.default`; imported from ESM, its default is the module object.
const createSubscriber = pgListen.default;
import { PostmasterStoppedError } from '../errors.js';
import type { Logger } from '../types.js';

const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5_000;
const PARANOID_CHECK_MS = 5_000;

export interface NotificationSink {
  notify(channel: string, payload: string): void;
  /** The connection was lost and restored: notifications may have been missed. */
  resync(): void;
}

const backoff = (attempt: number): number => Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));

export class Listener {
  private subscriber: Subscriber | null = null;
  private ready: Promise<void> | null = null;
  private readonly channels = new Map<string, Set<NotificationSink>>();
  private closed = false;
  /** The last query issued; the next one starts when it settles. */
  private tail: Promise<unknown> = Promise.resolve();

  /** `config`: the connection settings, also read by those who open a connection of their own beside it. */
  constructor(readonly config: pg.ClientConfig, private readonly log: Logger) {}

  /** LISTEN on `channel` for `sink`; resolves once the server has the LISTEN. */
  async subscribe(channel: string, sink: NotificationSink): Promise<void> {
    let sinks = this.channels.get(channel);
    const fresh = !sinks;
    if (!sinks) this.channels.set(channel, (sinks = new Set()));
    sinks.add(sink);
    if (fresh) await this.serially((s) => s.listenTo(channel));
    else await this.connected();
  }

  /** Drop every subscription of `sink` (its worker exited). */
  unsubscribeAll(sink: NotificationSink): void {
    for (const [channel, sinks] of this.channels) {
      if (!sinks.delete(sink) || sinks.size > 0) continue;
      this.channels.delete(channel);
      void this.serially((s) => s.unlisten(channel)).catch(() => undefined);
    }
  }

  /** NOTIFY through the listening connection (replies of the control channel use it). */
  async notify(channel: string, payload: string): Promise<void> {
    await this.serially((s) => s.notify(channel, payload));
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.subscriber;
    this.subscriber = null;
    await s?.close().catch(() => undefined);
  }

  /** Run `query` on the connected subscriber once every query issued before it has settled. */
  private serially(query: (s: Subscriber) => Promise<unknown> | undefined): Promise<void> {
    const run = async (): Promise<void> => {
      await this.connected();
      if (!this.subscriber) throw new PostmasterStoppedError('the LISTEN connection is closed');
      await query(this.subscriber);
    };
    const done = this.tail.then(run, run);
    this.tail = done.catch(() => undefined);
    return done;
  }

  private connected(): Promise<void> {
    this.ready ??= this.build(false);
    return this.ready;
  }

  /** Create and connect a subscriber, retrying forever; on a rebuild, re-LISTEN and resync. */
  private async build(rebuild: boolean): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      const s = this.create();
      try {
        await s.connect();
        for (const channel of this.channels.keys()) await s.listenTo(channel);
        this.subscriber = s;
        if (rebuild) this.resyncAll();
        return;
      } catch (err) {
        await s.close().catch(() => undefined);
        this.log.warn({ err: (err as Error).message, attempt }, 'LISTEN connection failed; retrying');
        await new Promise((res) => setTimeout(res, backoff(attempt)).unref());
      }
    }
  }

  private create(): Subscriber {
    const s = createSubscriber(this.config, {
      retryLimit: Infinity,
      retryTimeout: Infinity,
      retryInterval: backoff,
      paranoidChecking: PARANOID_CHECK_MS,
      parse: (v: string) => v,
      serialize: (v: unknown) => String(v),
    });
    let connects = 0;
    s.events.on('connected', () => {
      if (++connects > 1) this.resyncAll();
    });
    s.events.on('reconnect', (attempt) => this.log.warn({ attempt }, 'LISTEN connection lost; reconnecting'));
    s.events.on('notification', (n) => this.deliver(n.channel, typeof n.payload === 'string' ? n.payload : ''));
    s.events.on('error', (err) => this.onGiveUp(s, err));
    return s;
  }

  private onGiveUp(s: Subscriber, err: Error): void {
    if (this.closed || s !== this.subscriber) return;
    this.log.warn({ err: err.message }, 'LISTEN connection gave up; rebuilding it');
    this.subscriber = null;
    void s.close().catch(() => undefined);
    this.ready = this.build(true);
  }

  private deliver(channel: string, payload: string): void {
    for (const sink of this.channels.get(channel) ?? []) sink.notify(channel, payload);
  }

  private resyncAll(): void {
    const all = new Set<NotificationSink>();
    for (const sinks of this.channels.values()) for (const s of sinks) all.add(s);
    for (const s of all) s.resync();
  }
}
