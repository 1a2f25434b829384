/**
 * mq.64B.ringbuf, mq.1KiB.ringbuf, mq.64KiB.ringbuf: shm_mq messages per second from one
 * worker thread to another, batched (the ring/4 rule), against ringbuf.js carrying the same
 * stream as 4-byte length-prefixed frames in a ring of the same size. mq.64B.flush.ringbuf:
 * the same with shm_mq's default send, which publishes every message, against the same
 * ringbuf.js rounds (ringbuf.js publishes every push).
 *
 * Every message is numbered and checked at the receiver (stream-pair.ts); a round with a
 * message missing or wrong fails the bench. One round sends messages and an end marker;
 * its time runs from the sender's first message to the receiver's end marker, on a clock
 * both threads share. Each size gets fresh threads and a queue of 1 MiB + 64 bytes (the mq
 * bench's rule: at least 16 messages and 1 MiB), and a ringbuf.js RingBuffer whose capacity
 * is that queue's ring. Rounds alternate ours batched, ours flushed (64 B), ringbuf.js,
 * after two warm-up rounds of each, which also size each transport's rounds to last about
 * ROUND_S; figures are medians.
 *
 * ringbuf.js is wait-free and cannot sleep, so its threads poll, during their own rounds
 * only: the peer at its fastest, with no futex call at all. shm_mq's threads sleep on their
 * latches whenever the ring is full or empty.
 *
 * In extra, what each path allocates, as garbage collections per million recorded
 * messages in the sender and receiver together: a path that allocates per message shows
 * tens of collections per million, an allocation-free one about none.
 */
import { Worker } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { ShmMq } from '../lib/shm/shm-mq.js';
import { figure } from './catalogue.js';
import { reply, startWorker, workerUrl } from './harness.js';
import { median } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';
import { PROC_WORDS } from './workers/mq-pair.js';
import type { StreamData, StreamReceived, StreamRound, StreamSent } from './workers/stream-pair.js';

const QUEUE_BYTES = (1 << 20) + 64;
const RING_BYTES = ShmMq.ringSizeFor(QUEUE_BYTES);
const WARMUPS = 2;
/** How long a measured round should last, in seconds. */
const ROUND_S = 0.1;

interface Case {
  size: number;
  /** The figures of this size: shm_mq batched or flushed, each against the same ringbuf.js rounds. */
  figures: Array<{ id: string; flush: boolean }>;
}

const CASES: Case[] = [
  { size: 64, figures: [{ id: 'mq.64B.ringbuf', flush: false }, { id: 'mq.64B.flush.ringbuf', flush: true }] },
  { size: 1024, figures: [{ id: 'mq.1KiB.ringbuf', flush: false }] },
  { size: 64 * 1024, figures: [{ id: 'mq.64KiB.ringbuf', flush: false }] },
];

/** A sender and a receiver thread over one transport; `before` runs just ahead of each round. */
class StreamPair {
  private constructor(
    private readonly sender: Worker,
    private readonly receiver: Worker,
    private readonly before: (r: StreamRound) => void,
  ) {}

  static async mq(): Promise<StreamPair> {
    const sab = new SharedArrayBuffer(QUEUE_BYTES);
    ShmMq.create(sab, 0, QUEUE_BYTES);
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const d: StreamData = { mode: 'mq', sab, offset: 0, procs: new SharedArrayBuffer(2 * PROC_WORDS * 4), ctl: ctl.buffer as SharedArrayBuffer };
    const receiver = await startWorker(workerUrl('stream-receiver'), d);
    const sender = await startWorker(workerUrl('stream-sender'), d);
    return new StreamPair(sender, receiver, (r) => Atomics.store(ctl, 0, r.size));
  }

  static async ringbuf(): Promise<StreamPair> {
    const d: StreamData = { mode: 'ringbuf', sab: RingBuffer.getStorageForCapacity(RING_BYTES, Uint8Array) };
    const receiver = await startWorker(workerUrl('stream-receiver'), d);
    const sender = await startWorker(workerUrl('stream-sender'), d);
    return new StreamPair(sender, receiver, (r) => receiver.postMessage(r));
  }

  /** One round: messages per second and both threads' garbage collections; rejects if the receiver found a message wrong. */
  async round(r: StreamRound): Promise<{ rate: number; gcs: number }> {
    const sent = reply<StreamSent>(this.sender);
    const done = reply<StreamReceived>(this.receiver);
    this.before(r);
    this.sender.postMessage(r);
    const [{ t0, gcs: senderGcs }, { t1, received, bad, gcs }] = await Promise.all([sent, done]);
    if (received !== r.count || bad !== 0) throw new Error(`of ${r.count} messages of ${r.size} bytes, ${received} arrived and ${bad} were wrong`);
    return { rate: r.count / ((t1 - t0) / 1000), gcs: senderGcs + gcs };
  }

  async stop(): Promise<void> {
    await Promise.all([this.sender.terminate(), this.receiver.terminate()]);
  }
}

/** One transport's rounds: their size follows the rate of the warm-ups. */
class Lane {
  readonly rates: number[] = [];
  private count = 10_000;
  private gcs = 0;
  private messages = 0;

  constructor(private readonly pair: StreamPair, private readonly size: number, private readonly flush: boolean) {}

  async run(record: boolean): Promise<void> {
    const { rate, gcs } = await this.pair.round({ size: this.size, count: this.count, flush: this.flush });
    if (!record) {
      this.count = Math.max(1000, Math.round(rate * ROUND_S));
      return;
    }
    this.rates.push(rate);
    this.gcs += gcs;
    this.messages += this.count;
  }

  /** Garbage collections, sender and receiver together, per million recorded messages. */
  get gcsPerMillion(): number {
    return this.messages > 0 ? (this.gcs / this.messages) * 1e6 : NaN;
  }

  get messagesPerRound(): number {
    return this.count;
  }
}

async function measureCase(c: Case, ctx: BenchContext, rounds: number): Promise<Figure[]> {
  const wanted = c.figures.filter((f) => ctx.wants(f.id));
  const mq = await StreamPair.mq();
  const rb = await StreamPair.ringbuf();
  try {
    const ours = wanted.map((f) => ({ id: f.id, lane: new Lane(mq, c.size, f.flush) }));
    const base = new Lane(rb, c.size, false);
    for (let r = -WARMUPS; r < rounds; r++) {
      ctx.progress(`${c.size} B round ${r + WARMUPS + 1}/${rounds + WARMUPS}`);
      for (const o of ours) await o.lane.run(r >= 0);
      await base.run(r >= 0);
    }
    return ours.map(({ id, lane }) =>
      figure(id, {
        ours: median(lane.rates),
        baseline: median(base.rates),
        samples: lane.rates.length,
        extra: {
          ringBytes: RING_BYTES, messagesPerRound: lane.messagesPerRound, baselineMessagesPerRound: base.messagesPerRound,
          gcs_per_1M_msgs: lane.gcsPerMillion, baseline_gcs_per_1M_msgs: base.gcsPerMillion,
        },
      }),
    );
  } finally {
    await Promise.all([mq.stop(), rb.stop()]);
  }
}

const bench: Bench = {
  name: 'mq-ringbuf',
  figures: CASES.flatMap((c) => c.figures.map((f) => f.id)),
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 7;
    const out: Figure[] = [];
    for (const c of CASES) {
      if (c.figures.some((f) => ctx.wants(f.id))) out.push(...(await measureCase(c, ctx, rounds)));
    }
    return out;
  },
};

export default bench;
