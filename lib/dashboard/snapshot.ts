/**
 * What the dashboard shows, as one JSON-able object read from the host now: its state and
 * health, slots and threads, one row per registered worker (pm.activity()), the wait
 * statistics counted in shared memory, the watched shm_mq queues, the fleet when the host
 * is in one, and a short history for the charts.
 *
 * Everything is read lock-free (the host's own reads), so taking a snapshot never waits
 * for a worker. The history is sampled by the dashboard at its interval (History below):
 * counters become rates per second between two samples; a sample after a crash-restart
 * cycle, when shared memory's counts restart from zero, has rate 0 rather than a negative.
 *
 * Host thread only.
 */
import type { Fleet, FleetPhase } from '../fleet/fleet.js';
import type { HeldLease } from '../fleet/queries.js';
import type { FleetStatus } from '../fleet/status.js';
import type { Health } from '../host/health.js';
import type { MqStats } from '../host/mq-stats.js';
import type { PmState } from '../host/pm-events.js';
import type { Postmaster } from '../host/postmaster.js';
import type { ActivityRow } from '../types.js';

/** One point of the charts: workers running, and rates per second since the point before. */
export interface Sample {
  t: number;
  running: number;
  mqSentPerSec: number;
  mqReceivedPerSec: number;
  latchWaitsPerSec: number;
  lockWaitsPerSec: number;
}

export interface FleetView {
  id: string;
  phase: FleetPhase;
  held: Array<HeldLease & { running: boolean; restarts: number }>;
  /** The fleet's SQL views, read at most every fleetIntervalMs; null until the first read. */
  status: FleetStatus | null;
  /** Why the last read of the views failed, or null. */
  error: string | null;
}

export interface Snapshot {
  t: number;
  host: {
    state: PmState;
    health: Health;
    slots: { reserved: number; usable: number; used: number };
    threads: { workers: number; spares: number };
    callbackErrors: number;
  };
  workers: ActivityRow[];
  waits: { latchWaits: number; locks: Array<{ name: string; waits: number; totalMs: number }> } | null;
  queues: MqStats;
  series: Sample[];
  /** Whether actions are enabled (an authorize hook was given); each is still authorized per request. */
  actions: boolean;
  fleet: FleetView | null;
}

/** Counters as last sampled, to turn into rates. */
interface Totals {
  t: number;
  mqSent: number;
  mqReceived: number;
  latchWaits: number;
  lockWaits: number;
}

/** The charts' history: at most `length` samples, oldest first. */
export class History {
  private readonly samples: Sample[] = [];
  private last: Totals | null = null;

  constructor(private readonly length: number) {}

  /** Take a sample of `pm` now. */
  sample(pm: Postmaster, t = Date.now()): void {
    const now = totals(pm, t);
    const rate = (a: number, b: number): number => {
      if (!this.last || now.t <= this.last.t || a < b) return 0;
      return (a - b) / ((now.t - this.last.t) / 1000);
    };
    const p = this.last ?? now;
    this.samples.push({
      t,
      running: pm.activity().filter((r) => r.pid !== null).length,
      mqSentPerSec: rate(now.mqSent, p.mqSent),
      mqReceivedPerSec: rate(now.mqReceived, p.mqReceived),
      latchWaitsPerSec: rate(now.latchWaits, p.latchWaits),
      lockWaitsPerSec: rate(now.lockWaits, p.lockWaits),
    });
    if (this.samples.length > this.length) this.samples.shift();
    this.last = now;
  }

  get series(): Sample[] {
    return this.samples.slice();
  }
}

function totals(pm: Postmaster, t: number): Totals {
  const mq = pm.mqStats();
  const w = waits(pm);
  return {
    t,
    mqSent: mq.bytesSent,
    mqReceived: mq.bytesReceived,
    latchWaits: w?.latchWaits ?? 0,
    lockWaits: w?.locks.reduce((n, l) => n + l.waits, 0) ?? 0,
  };
}

/** Shared memory's wait counts, or null before start() has made it. */
function waits(pm: Postmaster): Snapshot['waits'] {
  if (pm.pmState === 'init') return null;
  const w = pm.waitStats();
  return { latchWaits: w.latchWaits, locks: w.locks.map(({ name, waits, totalMs }) => ({ name, waits, totalMs })) };
}

/** The snapshot of `pm` now. */
export function takeSnapshot(pm: Postmaster, history: History, actions: boolean, fleet: FleetView | null): Snapshot {
  return {
    t: Date.now(),
    host: {
      state: pm.pmState,
      health: pm.health(),
      slots: pm.slots(),
      threads: pm.threadCounts(),
      callbackErrors: pm.callbackErrorCount,
    },
    workers: pm.activity(),
    waits: waits(pm),
    queues: pm.mqStats(),
    series: history.series,
    actions,
    fleet,
  };
}

/**
 * The fleet's part of the snapshot: what the fleet object knows now, plus its SQL views,
 * which are a database query, so read in the background and at most every `intervalMs`.
 */
export class FleetWatch {
  private status: FleetStatus | null = null;
  private error: string | null = null;
  private readAt = -Infinity;
  private reading = false;

  constructor(private readonly fleet: Fleet, private readonly intervalMs: number) {}

  view(): FleetView {
    this.maybeRead();
    return { id: this.fleet.id, phase: this.fleet.phase, held: this.fleet.held(), status: this.status, error: this.error };
  }

  private maybeRead(): void {
    const phase = this.fleet.phase;
    if (this.reading || phase === 'init' || phase === 'left' || Date.now() - this.readAt < this.intervalMs) return;
    this.reading = true;
    this.readAt = Date.now();
    this.fleet.status().then(
      (s) => {
        this.status = s;
        this.error = null;
      },
      (err: Error) => void (this.error = err.message),
    ).finally(() => void (this.reading = false));
  }
}

/** JSON with bigints as strings (a handle's generation, should one appear). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
