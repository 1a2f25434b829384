/**
 * BackgroundWorkerHandle on the host: {slot, generation} plus the status reads, waits,
 * terminate and events a registrant gets from bgworker.c.
 *
 * Reads are lock-free: the host is the only thread that frees slots, and readStatus
 * re-reads the generation to see a concurrent re-claim by a worker. Terminate takes
 * BackgroundWorkerLock exclusively (asynchronously), because setting the flag must not race
 * with a worker re-claiming a slot that was just freed; it then raises a pmsignal, and the
 * host's next pass sees the flag and signals the thread (bgworker-list.ts, pm-child.ts).
 *
 * The host wakes its handles on every change of their slot (docs/semantics.md §8.1's advice), so
 * waits never depend on notifyPid. A handle emits 'started' (pid) and 'stopped' when it
 * sees its status change; a restartable worker goes stopped → started again on the same
 * handle. Once the host is gone, waits resolve 'postmaster_died'.
 */
import { EventEmitter } from 'node:events';
import { type HandleData, markTerminate, type PidStatus, readStatus } from '../bgworker/registration.js';
import { PMSIGNAL_BACKGROUND_WORKER_CHANGE, type PmSignal } from '../shm/pm-signal.js';
import type { Latch } from '../shm/latch.js';
import type { BackgroundWorkerArray } from '../shm/slot-array.js';
import { BgwHandleStatus } from '../types.js';
import { emitContained } from './contained.js';
import type { HostLWLock } from './host-lock.js';
import type { SlotWatchers } from './slot-watchers.js';

/** What every host handle of one host shares. */
export interface HandleHost {
  readonly array: BackgroundWorkerArray;
  readonly bgwLock: HostLWLock;
  readonly pmSignal: PmSignal;
  readonly watchers: SlotWatchers;
  /** True once the host has shut down or died. */
  gone(): boolean;
  /** A listener of a handle threw (contained.ts). */
  report(err: unknown, where: string): void;
  /** When the worker's running life at this slot and generation became ready, or null. */
  readyAt(h: HandleData): Date | null;
  /** The latch of a slot's proc entry. */
  latchOf(slot: number): Latch;
}

/** What waitForReady() resolves with: the status, and when the life became ready (null when it did not). */
export interface ReadyStatus extends PidStatus {
  readyAt: Date | null;
}

export interface BackgroundWorkerHandleEvents {
  started: [pid: number];
  /** Beyond PostgreSQL: a life became ready (see BackgroundWorker.readiness). */
  ready: [pid: number];
  stopped: [];
}

export class BackgroundWorkerHandle extends EventEmitter<BackgroundWorkerHandleEvents> implements HandleData {
  private seen: BgwHandleStatus;
  private seenReadyAt: Date | null;
  private readonly unwatch: () => void;

  constructor(private readonly host: HandleHost, readonly slot: number, readonly generation: bigint) {
    super();
    this.seen = this.status().status;
    this.seenReadyAt = host.readyAt(this);
    this.unwatch = host.watchers.watch(slot, () => this.changed());
  }

  /** Events are emitted from the host's server loop: each listener is contained. */
  override emit<K>(event: keyof BackgroundWorkerHandleEvents | K, ...args: K extends keyof BackgroundWorkerHandleEvents ? BackgroundWorkerHandleEvents[K] : never): boolean {
    return emitContained(this, event as string, args, (err, where) => this.host.report(err, where));
  }

  /** GetBackgroundWorkerPid: never blocks and never reports host death. */
  status(): PidStatus {
    return readStatus(this.host.array, this);
  }

  /** The worker's thread id while it runs, else null. */
  get pid(): number | null {
    return this.status().pid;
  }

  /** Resolves 'started' (with pid), 'stopped' or 'postmaster_died'; never 'not_yet_started'. */
  waitForStartup(): Promise<PidStatus> {
    return this.waitUntil((s) => s.status !== BgwHandleStatus.NotYetStarted);
  }

  /** Resolves 'stopped' (a restartable worker may start again later) or 'postmaster_died'. */
  waitForShutdown(): Promise<PidStatus> {
    return this.waitUntil((s) => s.status === BgwHandleStatus.Stopped);
  }

  /**
   * Beyond PostgreSQL: resolves once the worker's current (or next) life is ready — its
   * entry began, or it called ctx.ready(), by its registration's readiness — or it stopped
   * first ('stopped', readyAt null), or the host is gone ('postmaster_died').
   */
  async waitForReady(): Promise<ReadyStatus> {
    let readyAt: Date | null = null;
    const s = await this.waitUntil((st) => st.status === BgwHandleStatus.Stopped || (readyAt = this.host.readyAt(this)) !== null);
    return { ...s, readyAt: s.status === BgwHandleStatus.Started ? readyAt : null };
  }

  /**
   * SetLatch(&proc->procLatch) of the worker this handle names, without spending a host
   * queue endpoint. A stale handle (the worker stopped, the slot moved on) sets nothing.
   */
  setLatch(): void {
    if (this.status().status === BgwHandleStatus.Started) this.host.latchOf(this.slot).set();
  }

  /** TerminateBackgroundWorker: idempotent; a stale handle has no effect. */
  async terminate(): Promise<void> {
    if (this.host.gone()) return;
    const marked = await this.host.bgwLock.with('exclusive', () => markTerminate(this.host.array, this));
    if (marked) this.host.pmSignal.raise(PMSIGNAL_BACKGROUND_WORKER_CHANGE);
  }

  toJSON(): { slot: number; generation: string } {
    return { slot: this.slot, generation: String(this.generation) };
  }

  private waitUntil(done: (s: PidStatus) => boolean): Promise<PidStatus> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const s = this.status();
        if (done(s)) resolve(s);
        else if (this.host.gone()) resolve({ status: BgwHandleStatus.PostmasterDied, pid: null });
        else return false;
        return true;
      };
      if (check()) return;
      const unwatch = this.host.watchers.watch(this.slot, () => {
        if (check()) unwatch();
      });
    });
  }

  private changed(): void {
    const s = this.status();
    if (s.status !== this.seen) {
      this.seen = s.status;
      if (s.status === BgwHandleStatus.Started) this.emit('started', s.pid!);
      else if (s.status === BgwHandleStatus.Stopped) this.emit('stopped');
    }
    const readyAt = this.host.readyAt(this);
    if (readyAt !== null && readyAt !== this.seenReadyAt && s.status === BgwHandleStatus.Started) this.emit('ready', s.pid!);
    this.seenReadyAt = readyAt;
    const slotMovedOn = !this.host.array.inUse(this.slot) || this.host.array.generation(this.slot) !== this.generation;
    if (this.host.gone() || (s.status === BgwHandleStatus.Stopped && slotMovedOn)) this.unwatch();
  }
}
