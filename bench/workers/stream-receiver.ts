/**
 * The receiving thread of a checked stream (stream-pair.ts): takes messages until the
 * zero-length end marker, checks each one's length and stamps, then reports the clock,
 * the count and the bad ones.
 *
 * Through shm_mq it loops in blocking receives for its whole life and reads each round's
 * message size from the shared control word, which the host writes before it starts the
 * sender; it checks a message where it lies (the result's bytes, offset and nbytes: in the
 * ring, not copied), without asking for a `data` view. Through ringbuf.js it is told each
 * round over its port and polls during the round only, sleeping on the port between
 * rounds, so that it never takes a core from the other transport's rounds; it pops the
 * 4-byte length, then the payload into a buffer of its own. Neither allocates per message.
 * Each report counts the garbage collections in this thread since the one before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { ShmMq } from '../../lib/shm/shm-mq.js';
import { RECEIVER_PROC, endpoint } from './mq-pair.js';
import { countGcs, isMessage, wallMs, type StreamData, type StreamReceived, type StreamRound } from './stream-pair.js';

const data = workerData as StreamData;

/** Counts and checks one round's messages; `end()` posts the report and starts the next round. */
class Tally {
  private received = 0;
  private bad = 0;
  private gcs = countGcs();

  take(bytes: Uint8Array, offset: number, n: number, size: number): void {
    if (!isMessage(bytes, offset, n, this.received, size)) this.bad++;
    this.received++;
  }

  end(): void {
    const t1 = wallMs();
    const report: StreamReceived = { t1, received: this.received, bad: this.bad, gcs: this.gcs() };
    parentPort!.postMessage(report);
    this.received = 0;
    this.bad = 0;
    this.gcs = countGcs();
  }
}

function mqReceiver(d: Extract<StreamData, { mode: 'mq' }>): void {
  const me = endpoint(d.procs, RECEIVER_PROC);
  const mq = ShmMq.open(d.sab, d.offset);
  mq.setReceiver(me);
  const h = mq.attach('receiver', me);
  const ctl = new Int32Array(d.ctl);
  const tally = new Tally();
  parentPort!.postMessage('ready');
  for (let r = h.receive(); r.result === 'success'; r = h.receive()) {
    if (r.nbytes === 0) tally.end();
    else tally.take(r.bytes, r.offset, r.nbytes, Atomics.load(ctl, 0));
  }
}

function ringbufReceiver(d: Extract<StreamData, { mode: 'ringbuf' }>): void {
  const rb = new RingBuffer(d.sab, Uint8Array);
  const head = new Uint8Array(4);
  const tally = new Tally();
  parentPort!.on('message', ({ size }: StreamRound) => {
    const buf = new Uint8Array(size);
    for (;;) {
      while (rb.availableRead() < 4);
      rb.pop(head, 4);
      const n = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
      if (n === 0) break;
      if (n > size) throw new Error(`a ${n}-byte frame in a round of ${size}-byte messages: the stream is out of step`);
      while (rb.availableRead() < n);
      rb.pop(buf, n);
      tally.take(buf, 0, n, size);
    }
    tally.end();
  });
  parentPort!.postMessage('ready');
}

if (data.mode === 'mq') mqReceiver(data);
else ringbufReceiver(data);
