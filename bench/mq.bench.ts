/**
 * mq.64B, mq.1KiB, mq.64KiB, mq.1MiB: shm_mq messages per second from one worker thread to
 * another, against the same stream over a MessagePort between two other threads: cloned,
 * and for 64 KiB and up also transferred (a fresh copy per message), the faster being the
 * baseline. mq.bandwidth: the 1 MiB figure in MB/s against a single-thread memcpy
 * (Uint8Array.set of 1 MiB between two SharedArrayBuffers, hot).
 *
 * One round sends `count` messages and an end marker; its time runs from the sender's
 * first message to the receiver's end marker, on a clock both threads share. The shm_mq
 * sender sends blocking and unflushed (the ring/4 rule publishes), the receiver reads one
 * byte of each message; its ring holds at least 16 messages and at least 1 MiB. Rounds
 * alternate ours, clone, transfer, memcpy, after two warm-up rounds of each (one with
 * --quick); figures are medians. Round sizes differ between ours and the baseline so that
 * each lasts ~0.1 s.
 */
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { ShmMq } from '../lib/shm/shm-mq.js';
import { reply, startWorker, workerUrl } from './harness.js';
import { median } from './stats.js';
import type { Bench, BenchContext, Figure } from './types.js';
import { PROC_WORDS, type PairData, type ReceiverReport, type RoundRequest, type SenderReport } from './workers/mq-pair.js';

const MQ_BASE = 'postMessage (copy, or transfer for >= 64 KiB, whichever is faster)';
const MEMCPY = 'single-thread memcpy (Uint8Array.set)';
const MiB = 1 << 20;
/** Queue bytes for messages of `size`: a ring of 16 messages, and of 1 MiB at least. */
const queueBytes = (size: number): number => Math.max(MiB, 16 * size) + 64;

interface Case {
  id: string;
  size: number;
  /** Messages per round through shm_mq, and through the MessagePort. */
  count: number;
  baseCount: number;
  /** the target: ratio >= min. */
  min: number;
}

const CASES: Case[] = [
  { id: 'mq.64B', size: 64, count: 1_500_000, baseCount: 200_000, min: 10 },
  { id: 'mq.1KiB', size: 1024, count: 600_000, baseCount: 100_000, min: 5 },
  { id: 'mq.64KiB', size: 64 * 1024, count: 20_000, baseCount: 2_000, min: 1.5 },
  { id: 'mq.1MiB', size: MiB, count: 1_000, baseCount: 96, min: 1.5 },
];

function start(name: string, workerData: PairData, transferList: TransferListItem[] = []): Promise<Worker> {
  return startWorker(workerUrl(name), workerData, transferList);
}


/** A sender and a receiver thread, over shm_mq or over a MessagePort. */
class Pair {
  private constructor(readonly sender: Worker, readonly receiver: Worker) {}

  static async mq(queueBytes: number): Promise<Pair> {
    const sab = new SharedArrayBuffer(queueBytes);
    const procs = new SharedArrayBuffer(2 * PROC_WORDS * 4);
    ShmMq.create(sab, 0, queueBytes);
    const d: PairData = { mode: 'mq', sab, offset: 0, procs };
    const receiver = await start('mq-receiver', d);
    return new Pair(await start('mq-sender', d), receiver);
  }

  static async port(): Promise<Pair> {
    const { port1, port2 } = new MessageChannel();
    const receiver = await start('mq-receiver', { mode: 'port', port: port2 }, [port2]);
    return new Pair(await start('mq-sender', { mode: 'port', port: port1 }, [port1]), receiver);
  }

  /** One round of `count` messages of `size` bytes; resolves messages per second. */
  async round(size: number, count: number, transfer: boolean): Promise<number> {
    const sent = reply<SenderReport>(this.sender);
    const done = reply<ReceiverReport>(this.receiver);
    this.sender.postMessage({ size, count, transfer } satisfies RoundRequest);
    const [{ t0 }, { t1, received }] = await Promise.all([sent, done]);
    if (received !== count) throw new Error(`received ${received} of ${count} messages of ${size} bytes`);
    return count / ((t1 - t0) / 1000);
  }

  async stop(): Promise<void> {
    await Promise.all([this.sender.terminate(), this.receiver.terminate()]);
  }
}

/** MB/s of Uint8Array.set copying 1 MiB between two SharedArrayBuffers, hot. */
function memcpyRound(): number {
  const src = new Uint8Array(new SharedArrayBuffer(MiB)).fill(1);
  const dst = new Uint8Array(new SharedArrayBuffer(MiB));
  const n = 256;
  dst.set(src);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dst.set(src);
  return (n * MiB) / 1e6 / ((performance.now() - t0) / 1000);
}

function figure(id: string, unit: string, ours: number, baseline: number, baselineName: string, min: number, samples: number, extra?: Record<string, number>): Figure {
  const ratio = ours / baseline;
  const f: Figure = { id, unit, ours, baseline, baselineName, ratio, target: `ratio >= ${min}`, met: ratio >= min, samples };
  if (extra) f.extra = extra;
  return f;
}

interface Measured {
  fig: Figure;
  ours: number[];
  memcpy: number[];
}

/** Alternate rounds of ours, clone, transfer (64 KiB and up) and memcpy (1 MiB) for one case. */
async function measure(c: Case, mq: Pair, port: Pair, rounds: number, ctx: BenchContext): Promise<Measured> {
  const WARMUPS = ctx.quick ? 1 : 2;
  const ours: number[] = [];
  const clone: number[] = [];
  const transfer: number[] = [];
  const memcpy: number[] = [];
  const withTransfer = c.size >= 64 * 1024;
  for (let r = -WARMUPS; r < rounds; r++) {
    ctx.progress(`${c.id} round ${r + WARMUPS + 1}/${rounds + WARMUPS}`);
    const a = await mq.round(c.size, c.count, false);
    const b = await port.round(c.size, c.baseCount, false);
    const x = withTransfer ? await port.round(c.size, c.baseCount, true) : NaN;
    const m = c.size === MiB ? memcpyRound() : NaN;
    if (r < 0) continue;
    ours.push(a);
    clone.push(b);
    if (withTransfer) transfer.push(x);
    if (c.size === MiB) memcpy.push(m);
  }
  const base = Math.max(median(clone), withTransfer ? median(transfer) : 0);
  const extra: Record<string, number> = { cloneMsgPerSec: median(clone), queueBytes: queueBytes(c.size) };
  if (withTransfer) extra.transferMsgPerSec = median(transfer);
  return { fig: figure(c.id, 'msg/s', median(ours), base, MQ_BASE, c.min, ours.length, extra), ours, memcpy };
}

const bench: Bench = {
  name: 'mq',
  figures: [...CASES.map((c) => c.id), 'mq.bandwidth'],
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 7;
    const bandwidth = ctx.wants('mq.bandwidth');
    const figures: Figure[] = [];
    const port = await Pair.port();
    try {
      for (const c of CASES.filter((c) => ctx.wants(c.id) || (c.size === MiB && bandwidth))) {
        const mq = await Pair.mq(queueBytes(c.size));
        const { fig, ours, memcpy } = await measure(c, mq, port, rounds, ctx).finally(() => mq.stop());
        if (ctx.wants(c.id)) figures.push(fig);
        if (c.size !== MiB || !bandwidth) continue;
        const mbs = ours.map((m) => (m * MiB) / 1e6);
        figures.push(figure('mq.bandwidth', 'MB/s', median(mbs), median(memcpy), MEMCPY, 0.6, mbs.length));
      }
    } finally {
      await port.stop();
    }
    return figures;
  },
};

export default bench;
