/**
 * Queue throughput, read from the queues themselves: the bytes each shm_mq has carried,
 * taken at scrape time from the two counters every queue already keeps in its header
 * (shm-mq.ts: mq_bytes_written, which only the sender advances, and mq_bytes_read, which
 * only the receiver does). Nothing is counted on the send or receive path, so the queue's
 * hot path stays as it is; what this costs is three atomic loads per counter
 * (readMqCounter in shm-mq.ts) per watched queue and read.
 *
 * The counters are ring bytes: each message's 8-byte length word and its padding to 8
 * included (8 + ceil8(n) for a payload of n). Both are published in batches (a quarter of
 * the ring, or forceFlush), so a read lags the queue by at most that much. The sent total
 * is what senders have published; the received total, what receivers have consumed; their
 * difference is what is still in the rings.
 *
 * Which queues. The host watches every queue it attaches to (pm.mqAttach); a queue whose
 * two ends are both workers is watched once the host is told of it (pm.mqWatch). A queue
 * stays watched until it is detached (either end gone, mq_detached = 1): then its last
 * counts are folded into the retired totals and the watch lets go of the buffer, so totals
 * only grow and a watch holds no segment past its queue's life.
 *
 * Host thread only (no locks: the counters are read with Atomics.load, and a queue's header
 * never moves).
 */
import {
  MQ_HEADER_BYTES, MQ_I32_BYTES_READ, MQ_I32_BYTES_WRITTEN, MQ_I32_DETACHED, MQ_I32_RECEIVER, MQ_I32_RING_SIZE, MQ_I32_SENDER, MQ_NO_PROC,
  readMqCounter, type ShmMq,
} from '../shm/shm-mq.js';

/** One watched queue as read now. */
export interface MqQueueStats {
  name: string;
  /** Proc numbers of its ends (a worker's slot, or a host latch), null until set. */
  sender: number | null;
  receiver: number | null;
  ringSize: number;
  /** Ring bytes the sender has published and the receiver has consumed. */
  bytesSent: number;
  bytesReceived: number;
}

/** Totals over every queue ever watched, and the queues watched now. */
export interface MqStats {
  bytesSent: number;
  bytesReceived: number;
  /** Queues detached since the host was made (their counts are in the totals). */
  retired: number;
  queues: MqQueueStats[];
}

interface Watched {
  name: string;
  sab: SharedArrayBuffer;
  byteOffset: number;
  i32: Int32Array;
}

export class MqWatch {
  private readonly watched = new Map<string, Watched>();
  private retiredSent = 0;
  private retiredReceived = 0;
  private retired = 0;
  private next = 1;

  /** Watch `queue` (again: a no-op) under `name`, default `mq <n>`. */
  watch(queue: ShmMq, name?: string): void {
    const { sab, byteOffset } = queue;
    for (const w of this.watched.values()) if (w.sab === sab && w.byteOffset === byteOffset) return;
    const n = this.next++;
    const key = name ?? `mq ${n}`;
    const unique = this.watched.has(key) ? `${key} (${n})` : key;
    // Views of the header of its own, so that the read depends only on the header's layout.
    const i32 = new Int32Array(sab, byteOffset, MQ_HEADER_BYTES >> 2);
    this.watched.set(unique, { name: unique, sab, byteOffset, i32 });
  }

  /** Read every watched queue; a detached one is read a last time, folded in and dropped. */
  read(): MqStats {
    let bytesSent = this.retiredSent;
    let bytesReceived = this.retiredReceived;
    const queues: MqQueueStats[] = [];
    for (const w of [...this.watched.values()]) {
      const q = readQueue(w);
      bytesSent += q.bytesSent;
      bytesReceived += q.bytesReceived;
      if (Atomics.load(w.i32, MQ_I32_DETACHED) !== 0) {
        this.retiredSent += q.bytesSent;
        this.retiredReceived += q.bytesReceived;
        this.retired++;
        this.watched.delete(w.name);
      } else {
        queues.push(q);
      }
    }
    return { bytesSent, bytesReceived, retired: this.retired, queues };
  }
}

function readQueue(w: Watched): MqQueueStats {
  const proc = (i: number): number | null => {
    const p = Atomics.load(w.i32, i);
    return p === MQ_NO_PROC ? null : p;
  };
  return {
    name: w.name,
    sender: proc(MQ_I32_SENDER),
    receiver: proc(MQ_I32_RECEIVER),
    ringSize: Atomics.load(w.i32, MQ_I32_RING_SIZE),
    bytesSent: readMqCounter(w.i32, MQ_I32_BYTES_WRITTEN),
    bytesReceived: readMqCounter(w.i32, MQ_I32_BYTES_READ),
  };
}
