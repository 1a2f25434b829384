/**
 * What the mq bench's two threads share: the queue's place, a two-entry stand-in proc array
 * (sender = proc 0, receiver = proc 1, one 64-byte line each), and the messages they post.
 */
import { Latch } from '../../lib/shm/latch.js';
import type { ShmMqEndpoint } from '../../lib/shm/shm-mq.js';
import type { MessagePort } from 'node:worker_threads';

export const SENDER_PROC = 0;
export const RECEIVER_PROC = 1;
export const PROC_WORDS = 16;

export type PairData =
  | { mode: 'mq'; sab: SharedArrayBuffer; offset: number; procs: SharedArrayBuffer }
  | { mode: 'port'; port: MessagePort };

/** The host asks the sender for one round. */
export interface RoundRequest {
  size: number;
  count: number;
  /** postMessage only: transfer a fresh copy of each message instead of cloning it. */
  transfer: boolean;
}

/** The sender's and the receiver's reports, in wall-clock ms comparable across threads. */
export interface SenderReport {
  t0: number;
}
export interface ReceiverReport {
  t1: number;
  received: number;
  checksum: number;
}

export const wallMs = (): number => performance.timeOrigin + performance.now();

export function endpoint(procs: SharedArrayBuffer, proc: number): ShmMqEndpoint {
  const i32 = new Int32Array(procs);
  const latchOf = (p: number): Latch => new Latch(i32, p * PROC_WORDS);
  return { procNumber: proc, latch: latchOf(proc), latchOf };
}
