/**
 * Messages between the host and a worker thread, as discriminated unions.
 *
 * The shared segment carries all state; these messages carry only what is not state: the
 * worker's start-up record (PostgreSQL passes it to the forked child), nudges that make a
 * busy worker's event loop look at its interrupt bits, log lines, the error an entry ended
 * with, and the requests a worker makes of the host (dsm, LISTEN) with their replies. A thread's first life is as a spare: it attaches the segment, preloads the
 * modules the host names, reports `ready`, and waits for `launch`.
 */
import type { BackgroundWorkerEntry } from '../types.js';
import type { SegmentLayout } from '../shm/layout.js';
import type { WireError } from './wire-error.js';
import type { MessagePort } from 'node:worker_threads';
import type { DatabaseSettings } from '../pg/connect.js';

/** workerData of every bgworker thread. */
export interface ThreadData {
  sab: SharedArrayBuffer;
  layout: SegmentLayout;
  preload: string[];
  /** The host's database settings: defaults for initializeConnection(). */
  database: DatabaseSettings;
  /** When a reusable worker's thread is retired instead of reused. */
  reuse: { maxLives: number; maxHeapMb: number };
}

// ---- sent by the host ----
export interface LaunchMessage {
  type: 'launch';
  slot: number;
  entry: BackgroundWorkerEntry;
  mainArg: Uint8Array;
  /** mainArg bytes are a v8 clone; the host never deserializes user data. */
  /** The registering code's trace context (W3C trace-context headers), for spans the worker makes. */
  trace?: Record<string, string>;
}
export interface PreloadMessage {
  type: 'preload';
  url: string;
}
/** Look at the interrupt bits now (the event-loop half of "send a signal"). */
export interface NudgeMessage {
  type: 'nudge';
}
/** A spare that is no longer needed leaves by itself. */
export interface RetireMessage {
  type: 'retire';
}
/** The answer to a RequestMessage with the same id: its result, or the error it failed with. */
export interface ReplyMessage {
  type: 'reply';
  id: number;
  result?: unknown;
  error?: WireError;
}
/** What arrives on a worker's notification port; `resync` after a LISTEN reconnect. */
export type NotificationMessage = { channel: string; payload: string } | { resync: true };
export type HostMessage = LaunchMessage | PreloadMessage | NudgeMessage | RetireMessage | ReplyMessage;

// ---- sent by the worker ----
export interface ReadyMessage {
  type: 'ready';
}
export interface LogMessage {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
}
/** Sent on the orderly exit path just before the thread exits with `code`. */
export interface ExitReportMessage {
  type: 'exit-report';
  code: number;
  error?: WireError;
  /** A reusable worker's life ended clean and its thread stays, ready for another life. */
  reused?: true;
}
/** dsm_detach / dsm_pin_segment / dsm_unpin_segment: no answer. */
export interface DsmReleaseMessage {
  type: 'dsm-release';
  op: 'detach' | 'pin' | 'unpin';
  handle: number;
}
/** The worker is ready (readiness 'entry': its entry began; 'declared': it called ctx.ready()). */
export interface WorkerReadyMessage {
  type: 'worker-ready';
}
/** pgstat_report_activity: what the worker is doing now, for the activity list. */
export interface ActivityMessage {
  type: 'activity';
  activity: string | null;
}
/**
 * Worker → host requests that are answered (request-reply.ts), by operation: what the worker
 * sends as `arg` and what the host's ReplyMessage carries as `result`. Adding a request is an
 * entry here, its handler in host/worker-requests.ts, and the call on the worker side.
 */
export interface Requests {
  /** dsm_create: `arg` is the size in bytes; the host registers the segment with the worker as its first user. */
  'dsm-create': { arg: number; result: { handle: number; sab: SharedArrayBuffer } };
  /** dsm_attach: `arg` is the handle; null once the segment is gone. */
  'dsm-attach': { arg: number; result: { handle: number; sab: SharedArrayBuffer } | null };
  /**
   * LISTEN on a channel for this worker, answered once the server has it. The first one
   * carries (and transfers) the port on which notifications will arrive.
   */
  listen: { arg: { channel: string; port?: MessagePort }; result: null };
}
export type RequestOp = keyof Requests;
export interface RequestMessage<K extends RequestOp = RequestOp> {
  type: 'request';
  id: number;
  op: K;
  arg: Requests[K]['arg'];
}
export type WorkerMessage =
  | ReadyMessage | LogMessage | ExitReportMessage | RequestMessage | DsmReleaseMessage | ActivityMessage | WorkerReadyMessage;
