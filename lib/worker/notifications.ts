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
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { NotificationMessage } from '../protocol/messages.js';
import { onNewLife } from './life.js';
import { requestHost } from './to-host.js';

export interface Notification {
  channel: string;
  payload: string;
}
/** A drained entry: a notification, or a resync marker after a reconnect. */
export type NotificationEvent = Notification | { resync: true };

let port: MessagePort | null = null;
const queued: NotificationEvent[] = [];
onNewLife(() => {
  port?.close();
  port = null;
  queued.length = 0;
});

export async function listen(channel: string): Promise<void> {
  if (port) {
    await requestHost('listen', { channel });
    return;
  }
  const ch = new MessageChannel();
  port = ch.port2;
  port.unref();
  await requestHost('listen', { channel, port: ch.port1 }, [ch.port1]);
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
