/**
 * What the two threads of a checked stream share (mq-ringbuf.bench.ts): the queue's place,
 * the rounds the host asks for, the reports the threads post, and the numbering every
 * message carries so that the receiver can check it.
 *
 * Message k of a round is `size` bytes with the 32-bit number k (little-endian) stamped in
 * its first four bytes, its last four, and every 4 KiB between; the rest is a fixed fill.
 * The receiver checks each message's length and every stamp, so a message lost, reordered,
 * torn or shifted in the ring counts as bad, at a cost that is the same on both transports
 * and small beside the copy (17 words for 64 KiB). A zero-length message ends a round.
 *
 * Through shm_mq the stream uses the mq bench's two-entry stand-in proc array (sender =
 * proc 0, receiver = proc 1) for latches. Through ringbuf.js each message is a 4-byte
 * little-endian length followed by the payload, in a RingBuffer of Uint8 whose capacity is
 * the shm_mq ring's size.
 */
import { GCProfiler } from 'node:v8';
export type StreamData =
  /** `ctl` holds the size of the current round's messages (Int32 0), for the receiver, which blocks in receive for its whole life. */
  | { mode: 'mq'; sab: SharedArrayBuffer; offset: number; procs: SharedArrayBuffer; ctl: SharedArrayBuffer }
  | { mode: 'ringbuf'; sab: SharedArrayBuffer };

/** The host asks the sender for one round (and the ringbuf.js receiver, which polls only during its rounds). */
export interface StreamRound {
  size: number;
  count: number;
  /** shm_mq only: send every message with forceFlush (the default), not batched by the ring/4 rule. */
  flush: boolean;
}

/** The sender's report: when its first message went, on the clock every thread shares. */
export interface StreamSent {
  t0: number;
  /** Garbage collections in this thread during the round (v8.GCProfiler): what the path allocates. */
  gcs: number;
}

/** The receiver's report at the end marker. */
export interface StreamReceived {
  t1: number;
  received: number;
  /** Messages whose length or stamps were wrong. */
  bad: number;
  /** Garbage collections in this thread since the last report. */
  gcs: number;
}

/** Start counting this thread's garbage collections (v8.GCProfiler); the function returns the count so far and stops. */
export function countGcs(): () => number {
  const p = new GCProfiler();
  p.start();
  return () => p.stop().statistics.length;
}

const STAMP_EVERY = 4096;
const FILL = 0xa5;

/** A message buffer of `size` bytes with the fill in place; stamp() numbers it. */
export function messageBuffer(size: number): Uint8Array {
  return new Uint8Array(size).fill(FILL);
}

function put32(m: Uint8Array, at: number, v: number): void {
  m[at] = v;
  m[at + 1] = v >>> 8;
  m[at + 2] = v >>> 16;
  m[at + 3] = v >>> 24;
}

function get32(m: Uint8Array, at: number): number {
  return (m[at]! | (m[at + 1]! << 8) | (m[at + 2]! << 16) | (m[at + 3]! << 24)) >>> 0;
}

/** Number message `m` (at least 8 bytes) as message `k`. */
export function stamp(m: Uint8Array, k: number): void {
  const last = m.length - 4;
  for (let at = 0; at < last; at += STAMP_EVERY) put32(m, at, k);
  put32(m, last, k);
}

/**
 * Whether bytes[offset, offset + n) is message `k` of `size` bytes. It takes the range
 * rather than a view so that a receiver can check a message without allocating one.
 */
export function isMessage(bytes: Uint8Array, offset: number, n: number, k: number, size: number): boolean {
  if (n !== size) return false;
  const last = offset + size - 4;
  for (let at = offset; at < last; at += STAMP_EVERY) if (get32(bytes, at) !== k >>> 0) return false;
  return get32(bytes, last) === k >>> 0;
}

export const wallMs = (): number => performance.timeOrigin + performance.now();
