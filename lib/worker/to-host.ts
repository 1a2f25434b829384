/**
 * This thread's one channel to the host: one-way messages (log lines, activity, exit
 * reports, dsm releases) and requests that the host answers (request-reply.ts). Every
 * worker-side file that talks to the host goes through here, so the port is named once.
 *
 * Outside a bgworker thread (a module imported on the main thread, say) there is no port:
 * one-way messages are dropped and requests are refused.
 */
import { parentPort, type TransferListItem } from 'node:worker_threads';
import { NotInWorkerError } from '../errors.js';
import type { ReplyMessage, RequestOp, Requests, WorkerMessage } from '../protocol/messages.js';
import { Requester } from '../protocol/request-reply.js';

const requester = new Requester((m, transfer) => parentPort!.postMessage(m, transfer));

/** Post a one-way message to the host. */
export function postToHost(m: WorkerMessage, transfer?: TransferListItem[]): void {
  parentPort?.postMessage(m, transfer);
}

/** Ask the host; resolves with its answer. */
export function requestHost<K extends RequestOp>(op: K, arg: Requests[K]['arg'], transfer?: TransferListItem[]): Promise<Requests[K]['result']> {
  if (!parentPort) return Promise.reject(new NotInWorkerError('this is not a bgworker thread: there is no host to ask'));
  return requester.request(op, arg, transfer);
}

/** A reply from the host arrived on the port (entry.ts routes it here). */
export function onHostReply(m: ReplyMessage): void {
  requester.settle(m);
}
