/**
 * The mq bench's receiving thread: counts messages and reads one byte of each until a
 * zero-length end-of-round message, then reports the clock. Through shm_mq it loops in
 * blocking receives for its whole life (a contiguous message is a view into the ring, not
 * a copy); through a MessagePort it counts in its message handler.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ShmMq } from '../../lib/shm/shm-mq.js';
import { RECEIVER_PROC, endpoint, wallMs, type PairData, type ReceiverReport } from './mq-pair.js';

const data = workerData as PairData;
let received = 0;
let checksum = 0;

function take(m: Uint8Array): void {
  if (m.length === 0) {
    const report: ReceiverReport = { t1: wallMs(), received, checksum };
    parentPort!.postMessage(report);
    received = 0;
    checksum = 0;
    return;
  }
  received++;
  checksum = (checksum + m[m.length - 1]!) | 0;
}

function mqReceiver(d: Extract<PairData, { mode: 'mq' }>): void {
  const me = endpoint(d.procs, RECEIVER_PROC);
  const mq = ShmMq.open(d.sab, d.offset);
  mq.setReceiver(me);
  const h = mq.attach('receiver', me);
  parentPort!.postMessage('ready');
  for (let r = h.receive(); r.result === 'success'; r = h.receive()) take(r.data!);
}

if (data.mode === 'mq') {
  mqReceiver(data);
} else {
  data.port.on('message', take);
  parentPort!.postMessage('ready');
}
