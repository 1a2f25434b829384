/**
 * Every figure the benchmark protocol defines, with its unit, baseline and target, in one place: benches
 * fill in numbers through `figure()`, and the runner lists the figures no bench produced.
 * `met` is computed here from the target text, so a row can never disagree with its target.
 */
import type { Figure } from './types.js';

interface Spec {
  unit: string;
  baselineName: string;
  target: string;
}

const PG_LAUNCH = "PostgreSQL's dynamic bgworker launch (1 parallel worker minus 0)";
const RAW_FUTEX = 'raw Atomics.wait/notify ping-pong';
const BARE_PAIR = 'bare compareExchange + store pair';
const MQ_BASE = 'postMessage (copy, or transfer for >= 64 KiB, whichever is faster)';
const RINGBUF = 'ringbuf.js, 4-byte length prefix, same ring size';

export const CATALOGUE: Record<string, Spec> = {
  'latch.rtt.sync': { unit: 'µs p50', baselineName: RAW_FUTEX, target: 'ratio <= 1.15' },
  'latch.rtt.async': { unit: 'µs p50', baselineName: 'postMessage ping-pong', target: 'ratio <= 1.0' },
  'latch.rtt.spin': { unit: 'µs p50', baselineName: RAW_FUTEX, target: 'ratio <= 0.05' },
  'start.dynamic': { unit: 'ms p50', baselineName: 'bare new Worker → first message', target: 'ratio <= 0.1' },
  'start.dynamic.pg': { unit: 'ms p50', baselineName: PG_LAUNCH, target: 'ratio <= 0.5' },
  'rwlock.shared': { unit: 'ops/s', baselineName: BARE_PAIR, target: 'ratio >= 0.5' },
  'rwlock.exclusive': { unit: 'ops/s', baselineName: BARE_PAIR, target: 'ratio >= 0.5' },
  'rwlock.contended': { unit: 'ops/s', baselineName: 'exclusive-only futex mutex', target: 'ratio >= 1.5' },
  'rwlock.writer.p99': { unit: 'µs p99', baselineName: 'one read hold × readers', target: 'ratio <= 2' },
  'slots.churn': { unit: 'cycles/s', baselineName: 'bare new Worker start + exit', target: 'ratio >= 1' },
  'slots.churn.reuse': { unit: 'cycles/s', baselineName: 'bare new Worker start + exit', target: 'ratio >= 5' },
  'mq.64B': { unit: 'msg/s', baselineName: MQ_BASE, target: 'ratio >= 10' },
  'mq.1KiB': { unit: 'msg/s', baselineName: MQ_BASE, target: 'ratio >= 5' },
  'mq.64KiB': { unit: 'msg/s', baselineName: MQ_BASE, target: 'ratio >= 1.5' },
  'mq.1MiB': { unit: 'msg/s', baselineName: MQ_BASE, target: 'ratio >= 1.5' },
  'mq.bandwidth': { unit: 'MB/s', baselineName: 'single-thread memcpy (Uint8Array.set)', target: 'ratio >= 0.6' },
  'host.eld.256': { unit: 'ms p99', baselineName: 'same with 0 workers', target: 'difference <= 2' },
  'mem.worker': { unit: 'MiB', baselineName: 'bare idle new Worker', target: 'ratio <= 1.05' },
  // Peers: the library a user would pick instead, in the same run.
  'mq.64B.ringbuf': { unit: 'msg/s', baselineName: RINGBUF, target: 'ratio >= 3' },
  'mq.1KiB.ringbuf': { unit: 'msg/s', baselineName: RINGBUF, target: 'ratio >= 3' },
  'mq.64KiB.ringbuf': { unit: 'msg/s', baselineName: RINGBUF, target: 'ratio >= 5' },
  'mq.64B.flush.ringbuf': { unit: 'msg/s', baselineName: RINGBUF, target: 'ratio >= 3' },
  'start.dynamic.bree': { unit: 'ms p50', baselineName: "bree run(name) → the job's first line", target: 'ratio <= 0.1' },
  'mem.worker.tinypool': { unit: 'MiB', baselineName: 'tinypool, 16 idle threads that each ran a task', target: 'ratio <= 1.05' },
  'dispatch.rtt': { unit: 'µs p50', baselineName: 'piscina warm run(), one thread', target: 'ratio <= 0.5' },
  'service.jobs': { unit: 'jobs/s', baselineName: 'the same node:http route, a bare new Worker per request', target: 'ratio >= 1' },
  'notify.wake': { unit: 'µs p50', baselineName: 'bare pg LISTEN client in the host thread', target: 'difference <= 60' },
  'fleet.failover.kill': { unit: 'ms p50', baselineName: 'the stated bound leaseMs + heartbeatMs + S (launch, measured)', target: 'ratio <= 1.0' },
  'fleet.handover': { unit: 'ms p50', baselineName: 'a NOTIFY round trip between two pg clients', target: 'difference <= 250' },
  'fleet.converge': { unit: 's', baselineName: '100 local dynamic registrations on one host', target: 'ratio <= 5' },
  'fleet.idle.load': { unit: 'queries/s', baselineName: 'none (0): the target is absolute', target: 'difference <= 2' },
  'schedule.lateness': { unit: 'ms p99', baselineName: 'a plain setInterval in the host', target: 'difference <= 2' },
};

function spec(id: string): Spec {
  const s = CATALOGUE[id];
  if (!s) throw new Error(`figure "${id}" is not in the catalogue`);
  return s;
}

/** Whether the target holds; null when either number is missing. */
function meets(target: string, ours: number | null, baseline: number | null): boolean | null {
  const m = /^(ratio|difference) (<=|>=) ([\d.]+)$/.exec(target);
  if (!m) throw new Error(`cannot read target "${target}"`);
  if (ours === null || baseline === null || !Number.isFinite(ours) || !Number.isFinite(baseline)) return null;
  const value = m[1] === 'ratio' ? ours / baseline : ours - baseline;
  return m[2] === '<=' ? value <= Number(m[3]) : value >= Number(m[3]);
}

export interface Measured {
  ours: number | null;
  baseline: number | null;
  samples: number;
  extra?: Record<string, number>;
  reason?: string;
}

/** A row of the table: our number beside the same run's baseline, judged by its target. */
export function figure(id: string, m: Measured): Figure {
  const s = spec(id);
  const ratio = m.ours !== null && m.baseline !== null && m.baseline !== 0 ? m.ours / m.baseline : null;
  const f: Figure = {
    id,
    unit: s.unit,
    ours: m.ours,
    baseline: m.baseline,
    baselineName: s.baselineName,
    ratio,
    target: s.target,
    met: meets(s.target, m.ours, m.baseline),
    samples: m.samples,
  };
  if (m.reason !== undefined) f.reason = m.reason;
  if (m.extra !== undefined) f.extra = m.extra;
  return f;
}

/** A row for a figure that could not run here. */
export function unavailable(id: string, reason: string, extra?: Record<string, number>): Figure {
  return figure(id, { ours: null, baseline: null, samples: 0, reason, ...(extra ? { extra } : {}) });
}
