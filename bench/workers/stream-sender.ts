/**
 * The sending thread of a checked stream (stream-pair.ts). Each round: stamp the clock,
 * send `count` numbered messages of `size` bytes, then a zero-length end marker.
 *
 * Through shm_mq it sends blocking, batched by the ring/4 rule (forceFlush false) or, with
 * `flush`, publishing every message as the default send does; the end marker is flushed.
 * Through ringbuf.js, which is wait-free and has no way to sleep, it polls until the ring
 * has room for the whole framed message, then pushes the length and the payload.
 * It counts the garbage collections each round causes in this thread (v8.GCProfiler).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { ShmMq } from '../../lib/shm/shm-mq.js';
import { SENDER_PROC, endpoint } from './mq-pair.js';
import { countGcs, messageBuffer, stamp, wallMs, type StreamData, type StreamRound, type StreamSent } from './stream-pair.js';

const data = workerData as StreamData;
const EMPTY = new Uint8Array(0);

function mqSender(d: Extract<StreamData, { mode: 'mq' }>): (r: StreamRound) => void {
  const me = endpoint(d.procs, SENDER_PROC);
  const mq = ShmMq.open(d.sab, d.offset);
  mq.setSender(me);
  const h = mq.attach('sender', me);
  return ({ size, count, flush }) => {
    const msg = messageBuffer(size);
    for (let k = 0; k < count; k++) {
      stamp(msg, k);
      h.send(msg, false, flush);
    }
    h.send(EMPTY, false, true);
  };
}

function ringbufSender(d: Extract<StreamData, { mode: 'ringbuf' }>): (r: StreamRound) => void {
  const rb = new RingBuffer(d.sab, Uint8Array);
  const head = new Uint8Array(4);
  const put = (msg: Uint8Array): void => {
    const n = msg.length;
    while (rb.availableWrite() < 4 + n);
    head[0] = n;
    head[1] = n >>> 8;
    head[2] = n >>> 16;
    head[3] = n >>> 24;
    rb.push(head);
    if (n > 0) rb.push(msg);
  };
  return ({ size, count }) => {
    const msg = messageBuffer(size);
    for (let k = 0; k < count; k++) {
      stamp(msg, k);
      put(msg);
    }
    put(EMPTY);
  };
}

const round = data.mode === 'mq' ? mqSender(data) : ringbufSender(data);
parentPort!.on('message', (r: StreamRound) => {
  const gcs = countGcs();
  const t0 = wallMs();
  round(r);
  const report: StreamSent = { t0, gcs: gcs() };
  parentPort!.postMessage(report);
});
parentPort!.postMessage('ready');
