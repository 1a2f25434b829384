/**
 * shm_mq: a single-reader, single-writer ring of messages in shared memory (shm_mq.c).
 *
 * One thread sends, one thread receives. Each message goes into the ring as an 8-byte length
 * word (two native-order u32 words, low then high) followed by the payload padded to 8
 * (MAXALIGN), so a message takes 8 + ceil8(n) ring bytes; a zero-length message takes 8.
 * Messages larger than the ring stream through it in pieces. A payload may be at most
 * MAX_MESSAGE_BYTES (1 GiB - 1).
 *
 *   byteOffset (8-aligned)
 *   +---------------------------------------------------------------------------------+
 *   | @0  mq_bytes_read     Int32 lo  receiver: Atomics.store      sender: Atomics.load |
 *   | @4                    Int32 hi  receiver, once per 4 GiB     readMqCounter        |
 *   | @8  mq_bytes_written  Int32 lo  sender: Atomics.store        receiver: load       |
 *   | @12                   Int32 hi  sender, once per 4 GiB       readMqCounter        |
 *   | @16 mq_magic          Int32     create: store, last          open: load           |
 *   | @20 mq_ring_size      Int32     create (immutable)           anyone               |
 *   | @24 mq_receiver       Int32     setReceiver: CAS -1→proc     anyone: load         |
 *   | @28 mq_sender         Int32     setSender: CAS -1→proc       anyone: load         |
 *   | @32 mq_detached       Int32     either side: store 1         anyone: load         |
 *   | @36 mq_handles        Int32     attach: Atomics.or role bit  attach               |
 *   | @40 (zero; pads the header to PostgreSQL's 56 bytes, so rings have its sizes)       |
 *   +---------------------------------------------------------------------------------+
 *   | @56 ring: mq_ring_size bytes (queue size rounded down to 8, minus 56)              |
 *   +---------------------------------------------------------------------------------+
 *
 * Invariants. Both counters only grow, and only their own side moves them: the sender
 * advances mq_bytes_written, the receiver mq_bytes_read. Unread bytes are written - read
 * and start at ring offset read mod ring_size; the sender writes only into free space, the
 * receiver reads only unread bytes, so the ring itself needs no lock. The ring size and
 * every offset are multiples of 8, so every chunk of a message except its last is a
 * multiple of 8 and padding only ever follows a message. mq_sender and mq_receiver are
 * set once each (a compareExchange from -1) and never change; mq_detached only goes 0 → 1;
 * mq_handles has one bit per end, so each end has at most one handle.
 *
 * Counters. Each is 8 bytes of two Int32 words: lo is the count mod 2^32, hi is twice the
 * count's upper part (floor(count / 2^32)), and one more while a carry is being written.
 * Each side keeps its own count exactly in a double (exact to 2^53 bytes) and publishes it
 * with one Atomics.store of lo: no BigInt, nothing allocated per message. Only when the
 * count passes a multiple of 2^32 (once per 4 GiB) does it write hi odd, then lo, then hi
 * even. The other side reads lo alone, and only when what it last saw is not enough (the
 * sender when the free space looks too small, the receiver when the unread bytes do): the
 * unread bytes, written - read, always lie in [0, ring_size] and ring_size < 2^31, so
 * (lo_written - lo_read) mod 2^32 is that difference exactly, across every wrap of lo; the
 * reader adds it to, or takes it from, its own exact count. A whole count, for attach and
 * for the host's queue statistics, is read by readMqCounter: hi, lo, hi again, until the
 * two his agree. An even hi is the upper part. An odd hi means a carry is under way; one
 * publish moves a count by at most ring_size, so lo is then either the old value
 * (>= 2^32 - ring_size > 2^31) or the new one (< ring_size < 2^31), and says which upper
 * part goes with it.
 *
 * Ordering. Atomics operations are sequentially consistent, which stands in for
 * PostgreSQL's barriers: the sender's ring writes precede its Atomics.store of
 * mq_bytes_written, so a receiver that loads the counter sees the bytes; the receiver's
 * ring reads precede its Atomics.store of mq_bytes_read, so the sender never overwrites
 * bytes still being read.
 *
 * Batching (PostgreSQL 15+). Neither side publishes after every message. The sender keeps
 * written bytes pending until a send asks for forceFlush, the pending bytes exceed a
 * quarter of the ring, the ring fills, or it detaches; the receiver publishes consumption
 * when it exceeds a quarter of the ring or before it waits for more data. A request/reply
 * protocol must send with forceFlush (the default here).
 *
 * Wake-ups (latch.h's rule). Whoever publishes first stores the counter or flag, then sets
 * the counterparty's latch: the sender after publishing bytes_written, the receiver after
 * publishing bytes_read, either side after detaching, and setSender/setReceiver when the
 * other side is already there. A side that cannot progress sleeps on its own latch in
 * Pattern B (docs/semantics.md §5.3): check, wait, reset, CHECK_FOR_INTERRUPTS, check again. Nothing is examined
 * between the wait and the reset, so a wake-up cannot be lost, and a blocked side costs no
 * CPU. Both latches live in the runtime's proc array; an endpoint names its own latch and
 * resolves the counterparty's from its proc number.
 *
 * Attaching. Data may be sent before the receiver exists: a sender waits for the receiver
 * only when the ring is full. A receiver's first receive waits for the sender.
 *
 * Counterparty gone. A wait ends with 'detached' when mq_detached is set, or when the
 * optional counterpartyAlive hook (a bgworker handle's status) says the other side is no
 * more, whether it never attached or died; the side that finds it so sets mq_detached.
 * Data published before a detach is still delivered: a receiver sees 'detached' only once
 * nothing is left to read.
 *
 * Threads. Worker threads use the blocking calls (send, receive with nowait = false).
 * The host thread must never block: it uses the async calls (sendAsync, receiveAsync),
 * which sleep with Atomics.waitAsync, or nowait. A blocking call that would sleep on the
 * main thread throws instead.
 *
 * See also: latch.ts (the latch contract), shm-toc.ts (finding queues in a region),
 * docs/semantics.md §6.
 */
import { isMainThread } from 'node:worker_threads';
import {
  MqAlreadyAttachedError, MqAlreadySetError, MqBadMagicError, MqBlockingOnHostError, MqInvalidArgError, MqInvalidMessageSizeError,
  MqMessageTooLargeError, MqNotParticipantError, MqRetryMismatchError, MqTooSmallError, MqWrongEndError,
} from '../errors.js';
import type { Latch } from './latch.js';

export const MQ_HEADER_BYTES = 56;
export const MQ_MAXALIGN = 8;
/** MaxAllocSize: the largest payload a message may carry. */
export const MAX_MESSAGE_BYTES = 0x3fff_ffff;
/** mq_sender / mq_receiver before they are set. */
export const MQ_NO_PROC = -1;
export const MQ_MAGIC = 0x6d71_0001;

/** Int32 indices of the header, relative to the queue's start. */
export const MQ_I32_MAGIC = 4;
export const MQ_I32_RING_SIZE = 5;
export const MQ_I32_RECEIVER = 6;
export const MQ_I32_SENDER = 7;
export const MQ_I32_DETACHED = 8;
export const MQ_I32_HANDLES = 9;
/** Int32 indices of the counters' lo words; each one's hi word follows it. */
export const MQ_I32_BYTES_READ = 0;
export const MQ_I32_BYTES_WRITTEN = 2;
const TWO_32 = 2 ** 32;
const HALF_32 = 2 ** 31;

const HANDLE_RECEIVER = 1;
const HANDLE_SENDER = 2;
const INITIAL_BUFFER_BYTES = 8192;
const EMPTY = new Uint8Array(0);

export type ShmMqResult = 'success' | 'would_block' | 'detached';
export type ShmMqRole = 'sender' | 'receiver';

/**
 * What receive returns: one object per handle, filled in again by every receive on it, so
 * that receiving allocates nothing. It and the bytes it points at are valid until the next
 * receive on the same handle, as shm_mq_receive's pointer into the ring is; copy what you
 * keep (`data.slice()`).
 *
 * On success the message is bytes[offset, offset + nbytes): `bytes` is the ring itself when
 * the message lies there whole (zero copy), else the handle's reassembly buffer. `data` is
 * that range as a view, made on first read (the one allocation a message can cost) and
 * undefined on any other result.
 */
export interface ShmMqReceived {
  readonly result: ShmMqResult;
  readonly data?: Uint8Array;
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly nbytes: number;
}

/** The handle's one result object. */
class Received implements ShmMqReceived {
  result: ShmMqResult = 'would_block';
  bytes: Uint8Array = EMPTY;
  offset = 0;
  nbytes = 0;
  private view: Uint8Array | undefined = undefined;

  get data(): Uint8Array | undefined {
    if (this.result !== 'success') return undefined;
    return (this.view ??= this.bytes.subarray(this.offset, this.offset + this.nbytes));
  }

  fill(result: ShmMqResult, bytes: Uint8Array, offset: number, nbytes: number): this {
    this.result = result;
    this.bytes = bytes;
    this.offset = offset;
    this.nbytes = nbytes;
    this.view = undefined;
    return this;
  }
}

/**
 * A whole counter from its two words (see Counters, above): exact, from any thread, while
 * its side keeps publishing. `lo` is MQ_I32_BYTES_READ or MQ_I32_BYTES_WRITTEN.
 */
export function readMqCounter(i32: Int32Array, lo: number): number {
  for (;;) {
    const hi = Atomics.load(i32, lo + 1);
    const low = Atomics.load(i32, lo) >>> 0;
    if (Atomics.load(i32, lo + 1) !== hi) continue;
    const upper = hi & 1 ? (low < HALF_32 ? hi + 1 : hi - 1) / 2 : hi / 2;
    return upper * TWO_32 + low;
  }
}

/** The multiple of 2^32 above `count`: where publishing it next needs the hi word too. */
const nextCarry = (count: number): number => (Math.floor(count / TWO_32) + 1) * TWO_32;

/**
 * Publish a side's own count: lo alone, and around it hi when the count reached `carry`
 * (then hi odd, lo, hi even). Returns the next carry point. The count's owner only, and
 * each publish at most ring_size past the last.
 */
export function publishMqCounter(i32: Int32Array, lo: number, count: number, carry: number): number {
  if (count < carry) {
    Atomics.store(i32, lo, count | 0);
    return carry;
  }
  const hi = 2 * Math.floor(count / TWO_32);
  Atomics.store(i32, lo + 1, hi - 1);
  Atomics.store(i32, lo, count | 0);
  Atomics.store(i32, lo + 1, hi);
  return nextCarry(count);
}

/** Who a thread is to the queues: its proc number, its own latch, everyone else's latch. */
export interface ShmMqEndpoint {
  procNumber: number;
  /** This thread's own latch (MyLatch): the one it sleeps on. */
  latch: Latch;
  /** The latch of another proc, to wake it. */
  latchOf(procNumber: number): Latch;
  /** CHECK_FOR_INTERRUPTS, run after every latch reset inside a wait. */
  checkForInterrupts?(): void;
  /** Told +1 when a handle attaches through this endpoint and -1 when it detaches (a worker counts its attachments). */
  attached?(delta: 1 | -1): void;
}

export interface ShmMqAttachOptions {
  /**
   * False once the counterparty will never attach or has died (its bgworker handle is
   * STOPPED). Whoever makes it false must then set this side's latch.
   */
  counterpartyAlive?: () => boolean;
}

const align8 = (n: number): number => (n + 7) & ~7;

function checkProcNumber(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p >= 0x7fff_ffff) throw new MqInvalidArgError(`a proc number must be an integer >= 0, got ${p}`);
}

/** The queue in shared memory (shm_mq *): create or open it, set its ends, attach handles. */
export class ShmMq {
  readonly ringSize: number;
  readonly i32: Int32Array;
  readonly ring: Uint8Array;
  readonly ring32: Uint32Array;

  private constructor(readonly sab: SharedArrayBuffer, readonly byteOffset: number) {
    this.i32 = new Int32Array(sab, byteOffset, MQ_HEADER_BYTES >> 2);
    this.ringSize = Atomics.load(this.i32, MQ_I32_RING_SIZE);
    this.ring = new Uint8Array(sab, byteOffset + MQ_HEADER_BYTES, this.ringSize);
    this.ring32 = new Uint32Array(sab, byteOffset + MQ_HEADER_BYTES, this.ringSize >> 2);
  }

  /** shm_mq_minimum_size: the header plus one 8-byte word of ring. */
  static readonly MINIMUM_SIZE = MQ_HEADER_BYTES + MQ_MAXALIGN;

  /** The ring a queue of `size` bytes gets: size rounded down to 8, minus the header. */
  static ringSizeFor(size: number): number {
    return Math.floor(size / MQ_MAXALIGN) * MQ_MAXALIGN - MQ_HEADER_BYTES;
  }

  /**
   * shm_mq_create: an empty queue of `size` bytes at `byteOffset`, no sender, no receiver.
   * @throws {BGW_ERR_MQ_TOO_SMALL} size below MINIMUM_SIZE (the ring would be empty)
   * @throws {BGW_ERR_MQ_INVALID_ARG} not a SharedArrayBuffer, a misaligned offset, or bytes outside the buffer
   */
  static create(sab: SharedArrayBuffer, byteOffset: number, size: number): ShmMq {
    checkPlace(sab, byteOffset);
    if (!Number.isSafeInteger(size) || size < ShmMq.MINIMUM_SIZE) {
      throw new MqTooSmallError(`queue size must be at least ${ShmMq.MINIMUM_SIZE} bytes, got ${size}`);
    }
    const ringSize = ShmMq.ringSizeFor(size);
    if (byteOffset + MQ_HEADER_BYTES + ringSize > sab.byteLength || ringSize > 0x7fff_fff8) {
      throw new MqInvalidArgError(`a queue of ${size} bytes at ${byteOffset} does not fit a buffer of ${sab.byteLength} bytes`);
    }
    const i32 = new Int32Array(sab, byteOffset, MQ_HEADER_BYTES >> 2);
    for (let i = MQ_I32_BYTES_READ; i < MQ_I32_MAGIC; i++) Atomics.store(i32, i, 0);
    Atomics.store(i32, MQ_I32_RING_SIZE, ringSize);
    Atomics.store(i32, MQ_I32_RECEIVER, MQ_NO_PROC);
    Atomics.store(i32, MQ_I32_SENDER, MQ_NO_PROC);
    Atomics.store(i32, MQ_I32_DETACHED, 0);
    Atomics.store(i32, MQ_I32_HANDLES, 0);
    // The magic goes last: whoever sees it sees an initialized queue.
    Atomics.store(i32, MQ_I32_MAGIC, MQ_MAGIC);
    return new ShmMq(sab, byteOffset);
  }

  /**
   * The queue another thread created at `byteOffset`.
   * @throws {BGW_ERR_MQ_BAD_MAGIC} no queue was created there
   */
  static open(sab: SharedArrayBuffer, byteOffset: number): ShmMq {
    checkPlace(sab, byteOffset);
    const i32 = new Int32Array(sab, byteOffset, MQ_HEADER_BYTES >> 2);
    const ringSize = Atomics.load(i32, MQ_I32_RING_SIZE);
    if (Atomics.load(i32, MQ_I32_MAGIC) !== MQ_MAGIC || byteOffset + MQ_HEADER_BYTES + ringSize > sab.byteLength) {
      throw new MqBadMagicError(`no shared memory queue at byte ${byteOffset}`);
    }
    return new ShmMq(sab, byteOffset);
  }

  /**
   * shm_mq_set_receiver: make `me` the receiver; once only. Wakes a sender already there.
   * @throws {BGW_ERR_MQ_ALREADY_SET} the queue has a receiver (queues are not reused)
   */
  setReceiver(me: ShmMqEndpoint): void {
    this.setEnd(MQ_I32_RECEIVER, MQ_I32_SENDER, me, 'receiver');
  }

  /**
   * shm_mq_set_sender: make `me` the sender; once only. Wakes a receiver already there.
   * @throws {BGW_ERR_MQ_ALREADY_SET} the queue has a sender (queues are not reused)
   */
  setSender(me: ShmMqEndpoint): void {
    this.setEnd(MQ_I32_SENDER, MQ_I32_RECEIVER, me, 'sender');
  }

  /** shm_mq_get_receiver: the receiver's proc number, or null. */
  get receiver(): number | null {
    const p = Atomics.load(this.i32, MQ_I32_RECEIVER);
    return p === MQ_NO_PROC ? null : p;
  }

  /** shm_mq_get_sender: the sender's proc number, or null. */
  get sender(): number | null {
    const p = Atomics.load(this.i32, MQ_I32_SENDER);
    return p === MQ_NO_PROC ? null : p;
  }

  get detached(): boolean {
    return Atomics.load(this.i32, MQ_I32_DETACHED) !== 0;
  }

  /** Ring bytes the sender has published (mq_bytes_written). */
  get bytesWritten(): number {
    return readMqCounter(this.i32, MQ_I32_BYTES_WRITTEN);
  }

  /** Ring bytes the receiver has consumed and published (mq_bytes_read). */
  get bytesRead(): number {
    return readMqCounter(this.i32, MQ_I32_BYTES_READ);
  }

  /**
   * shm_mq_attach: this thread's handle on its end of the queue. One handle per end.
   * @throws {BGW_ERR_MQ_NOT_PARTICIPANT} `me` is not this queue's `role`
   * @throws {BGW_ERR_MQ_ALREADY_ATTACHED} that end already has a handle
   */
  attach(role: ShmMqRole, me: ShmMqEndpoint, opts: ShmMqAttachOptions = {}): ShmMqHandle {
    if (role !== 'sender' && role !== 'receiver') throw new MqInvalidArgError(`role must be 'sender' or 'receiver', got ${String(role)}`);
    const field = role === 'sender' ? MQ_I32_SENDER : MQ_I32_RECEIVER;
    if (Atomics.load(this.i32, field) !== me.procNumber) {
      throw new MqNotParticipantError(`proc ${me.procNumber} is not the ${role} of this queue; call set${role === 'sender' ? 'Sender' : 'Receiver'} first`);
    }
    const bit = role === 'sender' ? HANDLE_SENDER : HANDLE_RECEIVER;
    if (Atomics.or(this.i32, MQ_I32_HANDLES, bit) & bit) throw new MqAlreadyAttachedError(`the ${role} end of this queue already has a handle`);
    me.attached?.(1);
    return new ShmMqHandle(this, role, me, opts.counterpartyAlive ?? null);
  }

  private setEnd(field: number, other: number, me: ShmMqEndpoint, what: ShmMqRole): void {
    checkProcNumber(me.procNumber);
    const was = Atomics.compareExchange(this.i32, field, MQ_NO_PROC, me.procNumber);
    if (was !== MQ_NO_PROC) throw new MqAlreadySetError(`the ${what} of this queue is already set (proc ${was}); a queue is used once`);
    const peer = Atomics.load(this.i32, other);
    if (peer !== MQ_NO_PROC) me.latchOf(peer).set();
  }
}

function checkPlace(sab: SharedArrayBuffer, byteOffset: number): void {
  if (!(sab instanceof SharedArrayBuffer)) throw new MqInvalidArgError('a queue lives in a SharedArrayBuffer');
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % MQ_MAXALIGN !== 0 || byteOffset + MQ_HEADER_BYTES > sab.byteLength) {
    throw new MqInvalidArgError(`a queue needs an 8-aligned offset with room for its header, got ${byteOffset}`);
  }
}

/**
 * shm_mq_handle: one thread's end of a queue, with the progress of a message in flight.
 * Not shared: only the thread that attached may use it.
 */
export class ShmMqHandle {
  private readonly i32: Int32Array;
  private readonly ring: Uint8Array;
  private readonly ring32: Uint32Array;
  private readonly ringSize: number;
  private readonly quarter: number;
  private readonly latch: Latch;
  private peerLatch: Latch | null = null;
  private closed = false;
  private readonly one: Uint8Array[] = [EMPTY];

  // Sender: bytes written (published + pending), where the next byte goes, the next
  // carry point of bytes_written, the last bytes_read seen, and the progress of the
  // message in flight (footprint bytes sent including the length word; its payload
  // length, -1 between messages).
  private written: number;
  private writeOff: number;
  private writtenCarry: number;
  private pending = 0;
  private readSeen: number;
  private sendPartial = 0;
  private sendLength = -1;

  // Receiver: bytes consumed (published + pending), where the next byte is, the last
  // bytes_written seen, and the message being reassembled.
  private read: number;
  private readOff: number;
  private readCarry: number;
  private consumePending = 0;
  private writtenSeen: number;
  private recvLength = -1;
  private recvPartial = 0;
  private buffer: Uint8Array | null = null;
  private avail = 0;
  private readonly received = new Received();

  /** @internal use ShmMq.attach */
  constructor(readonly queue: ShmMq, readonly role: ShmMqRole, private readonly me: ShmMqEndpoint, private alive: (() => boolean) | null) {
    this.i32 = queue.i32;
    this.ring = queue.ring;
    this.ring32 = queue.ring32;
    this.ringSize = queue.ringSize;
    this.quarter = this.ringSize >> 2;
    this.latch = me.latch;
    this.written = this.writtenSeen = queue.bytesWritten;
    this.read = this.readSeen = queue.bytesRead;
    this.writtenCarry = nextCarry(this.written);
    this.readCarry = nextCarry(this.read);
    this.writeOff = this.written % this.ringSize;
    this.readOff = this.read % this.ringSize;
  }

  /** shm_mq_set_handle: from now on, waits also end when `alive()` turns false. */
  setCounterpartyAlive(alive: () => boolean): void {
    this.alive = alive;
  }

  /**
   * shm_mq_send: queue one message. With nowait, 'would_block' means "call again with the
   * same data once the latch is set"; the handle keeps the progress. Blocking sends sleep
   * on the latch (worker threads only).
   * @throws {BGW_ERR_MQ_MESSAGE_TOO_LARGE} more than MAX_MESSAGE_BYTES
   * @throws {BGW_ERR_MQ_WRONG_END} this handle is the receiver's
   * @throws {BGW_ERR_MQ_RETRY_MISMATCH} a retry after 'would_block' with a different length
   * @throws {BGW_ERR_MQ_BLOCKING_ON_HOST} a blocking send would sleep on the main thread
   */
  send(data: Uint8Array, nowait = false, forceFlush = true): ShmMqResult {
    this.one[0] = data;
    const r = this.sendv(this.one, nowait, forceFlush);
    this.one[0] = EMPTY;
    return r;
  }

  /** shm_mq_sendv: one message made of the pieces of `iov`, in order. */
  sendv(iov: readonly Uint8Array[], nowait = false, forceFlush = true): ShmMqResult {
    const n = this.messageSize(iov);
    for (;;) {
      const r = this.sendStep(iov, n, forceFlush);
      if (r !== 'would_block' || nowait) return r;
      this.sleep();
    }
  }

  /** send for the host thread: never blocks it; resolves 'success' or 'detached'. */
  sendAsync(data: Uint8Array, forceFlush = true): Promise<ShmMqResult> {
    return this.sendvAsync([data], forceFlush);
  }

  async sendvAsync(iov: readonly Uint8Array[], forceFlush = true): Promise<ShmMqResult> {
    const n = this.messageSize(iov);
    for (;;) {
      const r = this.sendStep(iov, n, forceFlush);
      if (r !== 'would_block') return r;
      await this.sleepAsync();
    }
  }

  /**
   * shm_mq_receive: the next message, in the handle's one result object (ShmMqReceived):
   * it and `data` are valid only until the next receive.
   * @throws {BGW_ERR_MQ_WRONG_END} this handle is the sender's
   * @throws {BGW_ERR_MQ_INVALID_MESSAGE_SIZE} the ring holds a length word over MAX_MESSAGE_BYTES
   * @throws {BGW_ERR_MQ_BLOCKING_ON_HOST} a blocking receive would sleep on the main thread
   */
  receive(nowait = false): ShmMqReceived {
    this.checkRole('receiver');
    for (;;) {
      const r = this.receiveStep();
      if (r === 'success') return this.received;
      if (r === 'detached' || nowait) return this.received.fill(r, EMPTY, 0, 0);
      this.sleep();
    }
  }

  /** receive for the host thread: never blocks it. */
  async receiveAsync(): Promise<ShmMqReceived> {
    this.checkRole('receiver');
    for (;;) {
      const r = this.receiveStep();
      if (r === 'success') return this.received;
      if (r === 'detached') return this.received.fill(r, EMPTY, 0, 0);
      await this.sleepAsync();
    }
  }

  /** shm_mq_wait_for_attach: 'success' once the counterparty is set, else 'detached'. */
  waitForAttach(): ShmMqResult {
    for (;;) {
      const r = this.attachStep();
      if (r !== 'would_block') return r;
      this.sleep();
    }
  }

  async waitForAttachAsync(): Promise<ShmMqResult> {
    for (;;) {
      const r = this.attachStep();
      if (r !== 'would_block') return r;
      await this.sleepAsync();
    }
  }

  /**
   * shm_mq_detach: publish what is pending, mark the queue detached, wake the
   * counterparty. Idempotent; afterwards every call on this handle returns 'detached'.
   */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending > 0) this.publishWritten();
    Atomics.store(this.i32, MQ_I32_DETACHED, 1);
    const peer = Atomics.load(this.i32, this.role === 'sender' ? MQ_I32_RECEIVER : MQ_I32_SENDER);
    if (peer !== MQ_NO_PROC) this.me.latchOf(peer).set();
    this.me.attached?.(-1);
  }

  // ---- sending ------------------------------------------------------------------------

  private messageSize(iov: readonly Uint8Array[]): number {
    this.checkRole('sender');
    let n = 0;
    for (let i = 0; i < iov.length; i++) n += iov[i]!.length;
    if (n > MAX_MESSAGE_BYTES) throw new MqMessageTooLargeError(`cannot send a message of size ${n} via shared memory queue`);
    return n;
  }

  /** One attempt: write what fits; at the end of the message, flush if asked or due. */
  private sendStep(iov: readonly Uint8Array[], n: number, forceFlush: boolean): ShmMqResult {
    if (this.closed) return 'detached';
    if (this.sendLength !== n) {
      if (this.sendLength >= 0 && !this.isDetached()) {
        throw new MqRetryMismatchError(`a send that returned would_block must be retried with the same message (${this.sendLength} bytes, not ${n})`);
      }
      this.sendPartial = 0;
      this.sendLength = n;
    }
    const r = this.sendBytes(iov, n);
    if (r === 'would_block') return r;
    this.sendLength = -1;
    this.sendPartial = 0;
    if (r === 'detached' || this.isDetached()) return 'detached';
    if (this.peerLatch === null) this.learnPeer(MQ_I32_RECEIVER);
    if (forceFlush || this.pending > this.quarter) this.publishWritten();
    return 'success';
  }

  /** shm_mq_send_bytes: copy the rest of the message's footprint into free ring space. */
  private sendBytes(iov: readonly Uint8Array[], n: number): ShmMqResult {
    const end = MQ_MAXALIGN + n;
    while (this.sendPartial < end) {
      let free = this.ringSize - (this.written - this.readSeen);
      if (free < end - this.sendPartial) {
        this.readSeen = this.publishedRead();
        free = this.ringSize - (this.written - this.readSeen);
      }
      if (this.isDetached()) return 'detached';
      if (free === 0) {
        const r = this.ringFull();
        if (r !== 'success') return r;
        continue;
      }
      const chunk = Math.min(free, this.ringSize - this.writeOff, end - this.sendPartial);
      this.copyIn(iov, n, chunk);
      this.advanceWrite(align8(chunk));
      this.sendPartial += chunk;
    }
    return 'success';
  }

  /** No free space: wait for the receiver to attach, or publish and wait for it to read. */
  private ringFull(): ShmMqResult {
    if (this.peerLatch === null) {
      // The receiver may have read after attaching: 'success' re-checks before any wait.
      if (this.counterpartyGone()) return 'detached';
      return this.learnPeer(MQ_I32_RECEIVER) ? 'success' : 'would_block';
    }
    this.publishWritten();
    return this.counterpartyGone() ? 'detached' : 'would_block';
  }

  /** Write footprint bytes [sendPartial, sendPartial + chunk) at writeOff. */
  private copyIn(iov: readonly Uint8Array[], n: number, chunk: number): void {
    let at = this.writeOff;
    let from = this.sendPartial;
    if (from === 0) {
      // The length word: two native-order u32 words, low then high (always 0 here).
      this.ring32[at >> 2] = n;
      this.ring32[(at >> 2) + 1] = 0;
      at += MQ_MAXALIGN;
      from = MQ_MAXALIGN;
      chunk -= MQ_MAXALIGN;
    }
    let p = from - MQ_MAXALIGN;
    for (let i = 0; chunk > 0; i++) {
      const piece = iov[i]!;
      if (p >= piece.length) {
        p -= piece.length;
        continue;
      }
      const take = Math.min(piece.length - p, chunk);
      this.ring.set(p === 0 && take === piece.length ? piece : piece.subarray(p, p + take), at);
      at += take;
      chunk -= take;
      p = 0;
    }
  }

  private advanceWrite(bytes: number): void {
    this.written += bytes;
    this.pending += bytes;
    this.writeOff += bytes;
    if (this.writeOff >= this.ringSize) this.writeOff -= this.ringSize;
  }

  /** bytes_read as published, from its lo word and this side's exact count (see Counters). */
  private publishedRead(): number {
    return this.written - (((this.written | 0) - Atomics.load(this.i32, MQ_I32_BYTES_READ)) >>> 0);
  }

  /** shm_mq_inc_bytes_written: ring writes first, then the counter, then the latch. */
  private publishWritten(): void {
    this.writtenCarry = publishMqCounter(this.i32, MQ_I32_BYTES_WRITTEN, this.written, this.writtenCarry);
    this.pending = 0;
    this.peerLatch?.set();
  }

  // ---- receiving ----------------------------------------------------------------------

  private receiveStep(): ShmMqResult {
    if (this.closed) return 'detached';
    if (this.peerLatch === null) {
      // Gone first, then "ever attached": a sender that attaches, sends and detaches
      // between the two checks must not look like one that never came.
      const gone = this.counterpartyGone();
      if (!this.learnPeer(MQ_I32_SENDER)) return gone ? 'detached' : 'would_block';
    }
    if (this.consumePending > this.quarter) this.publishRead();
    if (this.recvLength < 0) {
      const r = this.receiveBytes(MQ_MAXALIGN);
      if (r !== 'success') return r;
      const lo = this.ring32[this.readOff >> 2]!;
      const hi = this.ring32[(this.readOff >> 2) + 1]!;
      this.consume(MQ_MAXALIGN);
      if (hi !== 0 || lo > MAX_MESSAGE_BYTES) throw new MqInvalidMessageSizeError(`invalid message size ${hi * 2 ** 32 + lo} in shared memory queue`);
      this.recvLength = lo;
      this.recvPartial = 0;
    }
    return this.receivePayload();
  }

  /** The payload: a view into the ring if it lies there whole, else reassembled. */
  private receivePayload(): ShmMqResult {
    for (;;) {
      const need = this.recvLength - this.recvPartial;
      const r = this.receiveBytes(need);
      if (r !== 'success') return r;
      if (this.recvPartial === 0 && this.avail >= need) {
        this.received.fill('success', this.ring, this.readOff, need);
        this.consume(align8(need));
        this.recvLength = -1;
        return 'success';
      }
      const take = Math.min(this.avail, need);
      const buf = this.recvPartial === 0 ? this.reassemblyBuffer(this.recvLength) : this.buffer!;
      buf.set(this.ring.subarray(this.readOff, this.readOff + take), this.recvPartial);
      this.recvPartial += take;
      this.consume(align8(take));
      if (this.recvPartial === this.recvLength) {
        this.received.fill('success', buf, 0, this.recvLength);
        this.recvLength = -1;
        return 'success';
      }
    }
  }

  /**
   * shm_mq_receive_bytes: 'success' once `needed` bytes are readable at readOff, or the
   * readable bytes reach the ring's end (then `avail` is what lies contiguous there).
   */
  private receiveBytes(needed: number): ShmMqResult {
    for (;;) {
      const toEnd = this.ringSize - this.readOff;
      let used = this.writtenSeen - this.read;
      if (used < needed && used < toEnd) {
        this.writtenSeen = this.publishedWritten();
        used = this.writtenSeen - this.read;
      }
      if (used >= needed || used >= toEnd) {
        this.avail = Math.min(used, toEnd);
        return 'success';
      }
      // Data before detach wins: look at the flag only when short, then re-read the
      // counter, since the sender may have published just before it detached.
      if (this.counterpartyGone()) {
        const w = this.publishedWritten();
        if (w !== this.writtenSeen) {
          this.writtenSeen = w;
          continue;
        }
        return 'detached';
      }
      if (this.consumePending > 0) this.publishRead();
      return 'would_block';
    }
  }

  private consume(bytes: number): void {
    this.read += bytes;
    this.consumePending += bytes;
    this.readOff += bytes;
    if (this.readOff >= this.ringSize) this.readOff -= this.ringSize;
  }

  /** bytes_written as published, from its lo word and this side's exact count (see Counters). */
  private publishedWritten(): number {
    return this.read + ((Atomics.load(this.i32, MQ_I32_BYTES_WRITTEN) - (this.read | 0)) >>> 0);
  }

  /** shm_mq_inc_bytes_read: ring reads first, then the counter, then the sender's latch. */
  private publishRead(): void {
    this.readCarry = publishMqCounter(this.i32, MQ_I32_BYTES_READ, this.read, this.readCarry);
    this.consumePending = 0;
    this.peerLatch!.set();
  }

  /** The buffer a wrapped message is copied into: 8 KiB, then powers of two, at most 1 GiB - 1. */
  private reassemblyBuffer(n: number): Uint8Array {
    if (this.buffer === null || this.buffer.length < n) {
      let size = INITIAL_BUFFER_BYTES;
      while (size < n) size *= 2;
      this.buffer = new Uint8Array(Math.min(size, MAX_MESSAGE_BYTES));
    }
    return this.buffer;
  }

  // ---- both ends ----------------------------------------------------------------------

  /** shm_mq_wait_internal: a detach fails the wait even after an attach; no marking here. */
  private attachStep(): ShmMqResult {
    if (this.closed || this.isDetached()) return 'detached';
    if (this.learnPeer(this.role === 'sender' ? MQ_I32_RECEIVER : MQ_I32_SENDER)) return 'success';
    return this.alive !== null && !this.alive() ? 'detached' : 'would_block';
  }

  /** Once the counterparty's proc number is set it never changes: resolve its latch once. */
  private learnPeer(field: number): boolean {
    if (this.peerLatch !== null) return true;
    const p = Atomics.load(this.i32, field);
    if (p === MQ_NO_PROC) return false;
    this.peerLatch = this.me.latchOf(p);
    return true;
  }

  private isDetached(): boolean {
    return Atomics.load(this.i32, MQ_I32_DETACHED) !== 0;
  }

  /** shm_mq_counterparty_gone: detached, or the hook says it is no more (then mark it). */
  private counterpartyGone(): boolean {
    if (this.isDetached()) return true;
    if (this.alive === null || this.alive()) return false;
    Atomics.store(this.i32, MQ_I32_DETACHED, 1);
    return true;
  }

  private checkRole(role: ShmMqRole): void {
    if (this.role !== role) throw new MqWrongEndError(`cannot ${role === 'sender' ? 'send on' : 'receive from'} the ${this.role}'s end of a queue`);
  }

  /** Pattern B's tail: wait, reset, then interrupts; the caller re-checks. */
  private sleep(): void {
    if (isMainThread) throw new MqBlockingOnHostError('a blocking shm_mq call would sleep on the main thread; use the async form or nowait');
    this.latch.waitSync(Infinity);
    this.latch.reset();
    this.me.checkForInterrupts?.();
  }

  /** The same without blocking the thread; the latch's async wait holds the event loop open. */
  private async sleepAsync(): Promise<void> {
    await this.latch.waitAsync(Infinity);
    this.latch.reset();
    this.me.checkForInterrupts?.();
  }
}
