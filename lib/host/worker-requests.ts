/**
 * The host's side of everything a worker thread asks of it: one table of handlers for the
 * messages that expect a reply (Requests in protocol/messages.ts, answered through
 * protocol/request-reply.ts) and one for the one-way messages (log lines, activity, dsm
 * releases). The thread's life itself (exit reports) is pm-child.ts's business, not this.
 *
 *   request      handler                                     state it touches
 *   dsm-create   create a segment, the worker its first user   dsm registry
 *   dsm-attach   add a claim, or null when the segment is gone dsm registry
 *   listen       subscribe the worker's sink on the channel    the LISTEN connection
 *   one-way      log → the host's logger with the worker's name, type, pid, slot (a child
 *                logger per life when the host's logger has child(), pino's);
 *                activity → the record, then the onActivity observer; dsm-release;
 *                worker-ready → the life's readyAt, then the onReady observer
 *
 * LISTEN bridge: a worker's first listen request carries a MessagePort; every notification
 * on a channel the worker listens to is posted on that port *before* the worker's latch is
 * set, so a woken worker finds it queued (worker/notifications.ts reads the port).
 *
 * When a thread exits, `release` drops what it held here: its dsm claims and its LISTEN
 * subscriptions. A reply to a thread that exited while its request ran is not sent.
 *
 * Host thread only.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';
import { clientConfig, type DatabaseSettings } from '../pg/connect.js';
import { Listener, type NotificationSink } from '../pg/listen.js';
import type { NotificationMessage, RequestMessage, WorkerMessage } from '../protocol/messages.js';
import { answer, type RequestHandlers } from '../protocol/request-reply.js';
import type { ProcArray } from '../shm/proc-array.js';
import type { Logger } from '../types.js';
import type { DsmRegistry } from './dsm-registry.js';
import type { RegisteredBgWorker } from './registered-worker.js';

export interface WorkerRequestsDeps {
  log: Logger;
  dsm: DsmRegistry;
  procs: ProcArray;
  database: DatabaseSettings;
  /** A worker reported what it is doing (the host emits 'activity'). */
  onActivity(rw: RegisteredBgWorker): void;
  /** A worker declared itself ready (the host emits 'ready'). */
  onReady(rw: RegisteredBgWorker): void;
}

/** What a worker thread sends the host, but for its thread's own life (ready, exit-report). */
export type WorkerRequestMessage = Exclude<WorkerMessage, { type: 'ready' } | { type: 'exit-report' }>;
/** One-way message types, each with its handler. */
type OneWay = Exclude<WorkerRequestMessage, RequestMessage>;
type OneWayHandlers = { [T in OneWay['type']]: (r: WorkerRequests, rw: RegisteredBgWorker, m: Extract<OneWay, { type: T }>) => void };

const oneWay: OneWayHandlers = {
  log: (r, rw, m) => {
    const bindings = { worker: rw.entry.name, type: rw.entry.type, pid: rw.pid, slot: rw.slot };
    if (!r.deps.log.child) return r.deps.log[m.level]({ ...m.fields, ...bindings }, m.msg);
    rw.logger ??= r.deps.log.child(bindings);
    rw.logger[m.level](m.fields ?? {}, m.msg);
  },
  activity: (r, rw, m) => {
    rw.activity = m.activity;
    r.deps.onActivity(rw);
  },
  'worker-ready': (r, rw) => {
    if (rw.readyAt) return;
    rw.readyAt = new Date();
    r.deps.onReady(rw);
  },
  'dsm-release': (r, rw, m) => {
    if (m.op === 'detach') r.deps.dsm.detach(m.handle, rw.pid);
    else r.deps.dsm.pin(m.handle, m.op === 'pin');
  },
};

const requests: RequestHandlers<{ r: WorkerRequests; rw: RegisteredBgWorker }> = {
  'dsm-create': ({ r, rw }, size) => {
    const { handle, buffer } = r.deps.dsm.create(size, rw.pid);
    return { handle, sab: buffer };
  },
  'dsm-attach': ({ r, rw }, handle) => {
    const sab = r.deps.dsm.attach(handle, rw.pid);
    return sab ? { handle, sab } : null;
  },
  listen: async ({ r, rw }, { channel, port }) => {
    if (port) rw.notificationPort = port;
    if (!rw.notificationPort) throw new InvalidOptionError('listen() before the notification port was set up');
    rw.notificationSink ??= r.sinkFor(rw.slot, rw.notificationPort);
    await r.listener.subscribe(channel, rw.notificationSink);
    return null;
  },
};

export class WorkerRequests {
  private listenerConn: Listener | null = null;

  constructor(readonly deps: WorkerRequestsDeps) {}

  /** Route one message from rw's thread (`worker`). */
  handle(rw: RegisteredBgWorker, worker: Worker, m: WorkerRequestMessage): void {
    if (m.type === 'request') {
      void answer(requests, { r: this, rw }, m, (reply) => worker.postMessage(reply), () => rw.worker === worker);
      return;
    }
    (oneWay[m.type] as (r: WorkerRequests, rw: RegisteredBgWorker, m: OneWay) => void)(this, rw, m);
  }

  /** rw's thread (pid) is gone: drop its dsm claims and its LISTEN subscriptions. */
  release(rw: RegisteredBgWorker, pid: number): void {
    this.deps.dsm.detachAll(pid);
    if (rw.notificationSink) this.listenerConn?.unsubscribeAll(rw.notificationSink);
    rw.notificationPort?.close();
    rw.notificationSink = null;
    rw.notificationPort = null;
    rw.activity = null;
  }

  /** The host's one LISTEN connection, made on first use. */
  get listener(): Listener {
    this.listenerConn ??= new Listener(clientConfig(this.deps.database, {}, 'bgworker: listener'), this.deps.log);
    return this.listenerConn;
  }

  async close(): Promise<void> {
    await this.listenerConn?.close();
  }

  /** Post first, then set the latch: a woken worker finds the message queued. */
  sinkFor(slot: number, port: MessagePort): NotificationSink {
    const deliver = (m: NotificationMessage): void => {
      port.postMessage(m);
      this.deps.procs.latch(slot).set();
    };
    return { notify: (channel, payload) => deliver({ channel, payload }), resync: () => deliver({ resync: true }) };
  }
}
