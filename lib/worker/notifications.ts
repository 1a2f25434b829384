/**
 * LISTEN/NOTIFY for a worker. The host keeps the one LISTEN connection (pg/listen.ts); a
 * worker asks it to listen on a channel and gets notifications on a MessagePort of its own.
 *
 * Wake-up order: the host posts a notification on the port *before* setting the worker's
 * latch, so a worker woken by the latch finds the message already queued. The port is read
 * with receiveMessageOnPort, synchronously, so a worker that waits with the blocking
 * WaitLatch gets its notifications as surely as one that awaits. A `{ resync: true }` entry
 * means the LISTEN connection was lost and restored and notifications may have been missed.
 */
import { MessageChannel, parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ListenMessage, ListenReplyMessage, NotificationMessage } from '../protocol/messages.js';
import { fromWire } from '../protocol/wire-error.js';

export interface Notification {
  channel: string;
  payload: string;
}
/** A drained entry: a notification, or a resync marker after a reconnect. */
export type NotificationEvent = Notification | { resync: true };

let port: MessagePort | null = null;
const queued: NotificationEvent[] = [];
const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let nextId = 1;

export function listen(channel: string): Promise<void> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (port) return parentPort!.postMessage({ type: 'listen', id, channel } satisfies ListenMessage);
    const ch = new MessageChannel();
    port = ch.port2;
    port.unref();
    parentPort!.postMessage({ type: 'listen', id, channel, port: ch.port1 } satisfies ListenMessage, [ch.port1]);
  });
}

export function onListenReply(m: ListenReplyMessage): void {
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.error) p?.reject(fromWire(m.error));
  else p?.resolve();
}

function drain(): void {
  for (let m = port && receiveMessageOnPort(port); m; m = receiveMessageOnPort(port!)) {
    queued.push(m.message as NotificationMessage);
  }
}

export function notificationsPending(): boolean {
  drain();
  return queued.length > 0;
}

/** Everything received so far, oldest first; the queue is emptied. */
export function takeNotifications(): NotificationEvent[] {
  drain();
  return queued.splice(0);
}
