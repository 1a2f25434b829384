/**
 * What the host tells the world about itself and its workers: the events a Postmaster
 * emits (their names and payloads, one list), and the reporting of each worker life —
 * the event with its timing, and the same life to OpenTelemetry (telemetry.ts), under the
 * trace context of the code that registered it.
 *
 * A life's timing: 'started' carries the ms since the registration for a first life;
 * 'ready' the ms since the registration (first life) or the launch (later lives); 'stopped'
 * the ms it ran. The trace context of a registration made on the host is captured at the
 * call, kept by slot and generation until the host's pass sees the registration, and then
 * travels with the record into every life (the launch message carries it to the thread).
 *
 * Host thread only.
 */
import type { ActivityRow, ShutdownMode } from '../types.js';
import type { ListChange } from './bgworker-list.js';
import type { RegisteredBgWorker } from './registered-worker.js';
import { captureTraceContext, type Telemetry, type TraceCarrier } from './telemetry.js';

export type PmState =
  | 'init' | 'startup' | 'hot_standby' | 'run' | 'stop_backends' | 'wait_backends' | 'stopped' | 'dead';

export interface PostmasterEvents {
  phase: [state: PmState];
  /** A shutdown was requested (each request that raises its severity), before anything stops. */
  shutdown: [mode: ShutdownMode];
  registered: [row: ActivityRow];
  unregistered: [row: ActivityRow];
  /** A thread was launched; `ms` since the registration, for a worker's first life. */
  started: [row: ActivityRow, ms?: number];
  /**
   * Beyond PostgreSQL: a worker life became ready (its readiness: the entry began, or it
   * called ctx.ready()); `ms` from its registration (first life) or launch (later lives).
   */
  ready: [row: ActivityRow, ms: number];
  /** A worker reported what it is doing (ctx.reportActivity, ctx.transaction). */
  activity: [row: ActivityRow];
  /** A life ended (row.lastExit says how); `ms` it ran, launch to exit. */
  stopped: [row: ActivityRow, ms?: number];
  crash: [row: ActivityRow];
  /** A worker exceeded its restart intensity and will not be restarted. */
  failed: [row: ActivityRow];
  reinitialized: [];
  exit: [status: number];
  /** A callback of the user's (a listener, the logger, a region init) threw; the host went on. */
  callbackError: [err: unknown, where: string];
}

type Emit = <K extends keyof PostmasterEvents>(event: K, ...args: PostmasterEvents[K]) => void;

export class LifeReporter {
  /** Trace contexts of host registrations, until the host's pass sees the registration. */
  private readonly pendingTrace = new Map<number, { generation: bigint; carrier: TraceCarrier }>();

  constructor(private readonly emit: Emit, private readonly telemetry: Telemetry) {}

  /** At a host registration, before its slot is claimed: the caller's trace context. */
  registering(): TraceCarrier | undefined {
    return captureTraceContext();
  }

  /** The registration got its slot. */
  claimed(slot: number, generation: bigint, carrier: TraceCarrier | undefined): void {
    if (carrier) this.pendingTrace.set(slot, { generation, carrier });
  }

  /** A change of the host's list of workers (bgworker-list.ts). */
  listChanged(rw: RegisteredBgWorker, change: ListChange): void {
    if (change === 'registered') rw.traceCarrier = this.takeTrace(rw);
    if (change === 'started') return this.started(rw);
    this.emit(change, rw.row());
  }

  ready(rw: RegisteredBgWorker): void {
    const from = rw.launches === 1 ? rw.registeredAt : rw.startedAt!;
    const row = rw.row();
    const ms = rw.readyAt!.getTime() - from.getTime();
    this.telemetry.lifeReady(row, ms);
    this.emit('ready', row, ms);
  }

  stopped(rw: RegisteredBgWorker, row: ActivityRow): void {
    const runMs = rw.startedAt ? Date.now() - rw.startedAt.getTime() : undefined;
    this.telemetry.lifeEnded(row, runMs);
    this.emit('stopped', row, runMs);
  }

  private started(rw: RegisteredBgWorker): void {
    const first = rw.launches === 1;
    const ms = first ? Date.now() - rw.registeredAt.getTime() : undefined;
    const row = rw.row();
    this.telemetry.lifeStarted(row, rw.traceCarrier ?? undefined, ms, first ? rw.registeredAt : rw.startedAt!);
    this.emit('started', row, ms);
  }

  private takeTrace(rw: RegisteredBgWorker): TraceCarrier | null {
    const p = this.pendingTrace.get(rw.slot);
    if (!p || p.generation !== rw.generation) return null;
    this.pendingTrace.delete(rw.slot);
    return p.carrier;
  }
}
