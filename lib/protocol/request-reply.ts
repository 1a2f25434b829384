/**
 * Request/reply over a thread's port: the one mechanism behind every worker → host request
 * that needs an answer (the operations and their shapes are `Requests` in messages.ts).
 *
 * The asking side (a worker thread) numbers each request and keeps one pending entry per
 * id; the answering side (the host) runs the operation's handler and posts a ReplyMessage
 * with the same id, carrying the result or the error in its wire form. A reply settles its
 * entry exactly once; a reply for an unknown id (the asking side gave up on it) is dropped.
 * Errors cross the thread as wire errors (wire-error.ts), so a BgwError comes back as the
 * same class with its code.
 *
 * Ids are per asking thread and only grow; a thread never sees another thread's replies,
 * because each worker has its own port to the host.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { ReplyMessage, RequestMessage, RequestOp, Requests } from './messages.js';
import { fromWire, toWire } from './wire-error.js';

type Post<M> = (m: M, transfer?: TransferListItem[]) => void;

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** The asking side: one per thread. */
export class Requester {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly post: Post<RequestMessage>) {}

  /** Send a request; resolves with the reply's result or rejects with its error. */
  request<K extends RequestOp>(op: K, arg: Requests[K]['arg'], transfer?: TransferListItem[]): Promise<Requests[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.post({ type: 'request', id, op, arg }, transfer);
    });
  }

  /** A reply arrived: settle its request. */
  settle(m: ReplyMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(fromWire(m.error));
    else p.resolve(m.result ?? null);
  }
}

/** What answers requests: one handler per operation. */
export type RequestHandlers<C> = {
  [K in RequestOp]: (ctx: C, arg: Requests[K]['arg']) => Requests[K]['result'] | Promise<Requests[K]['result']>;
};

/**
 * The answering side: run the handler for `m` and post the reply, unless `stillWanted`
 * says the asker is gone by the time the handler finished (its thread exited).
 */
export async function answer<C>(
  handlers: RequestHandlers<C>,
  ctx: C,
  m: RequestMessage,
  post: Post<ReplyMessage>,
  stillWanted: () => boolean = () => true,
): Promise<void> {
  let reply: ReplyMessage;
  try {
    const handler = handlers[m.op] as (ctx: C, arg: unknown) => unknown;
    reply = { type: 'reply', id: m.id, result: await handler(ctx, m.arg) };
  } catch (err) {
    reply = { type: 'reply', id: m.id, error: toWire(err) };
  }
  if (stillWanted()) post(reply);
}
