/**
 * The mq bench's sending thread. Each round: stamp the clock, send `count` messages of
 * `size` bytes, then a zero-length end-of-round message. Through shm_mq it sends blocking
 * and unflushed (the ring/4 rule batches), flushing only the end marker; through a
 * MessagePort it posts clones, or transfers a fresh copy of each message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ShmMq } from '../../lib/shm/shm-mq.js';
import { SENDER_PROC, endpoint, wallMs, type PairData, type RoundRequest, type SenderReport } from './mq-pair.js';

const data = workerData as PairData;
const EMPTY = new Uint8Array(0);

function mqSender(d: Extract<PairData, { mode: 'mq' }>): (r: RoundRequest) => void {
  const me = endpoint(d.procs, SENDER_PROC);
  const mq = ShmMq.open(d.sab, d.offset);
  mq.setSender(me);
  const h = mq.attach('sender', me);
  return ({ size, count }) => {
    const msg = new Uint8Array(size).fill(size & 0xff);
    for (let i = 0; i < count; i++) h.send(msg, false, false);
    h.send(EMPTY, false, true);
  };
}

function portSender(d: Extract<PairData, { mode: 'port' }>): (r: RoundRequest) => void {
  return ({ size, count, transfer }) => {
    const msg = new Uint8Array(size).fill(size & 0xff);
    if (transfer) {
      for (let i = 0; i < count; i++) {
        const copy = msg.slice();
        d.port.postMessage(copy, [copy.buffer]);
      }
    } else {
      for (let i = 0; i < count; i++) d.port.postMessage(msg);
    }
    d.port.postMessage(EMPTY);
  };
}

const round = data.mode === 'mq' ? mqSender(data) : portSender(data);
parentPort!.on('message', (r: RoundRequest) => {
  const report: SenderReport = { t0: wallMs() };
  round(r);
  parentPort!.postMessage(report);
});
parentPort!.postMessage('ready');
