/**
 * The host's live children (pmchild.c): every worker thread launched and not yet reaped,
 * how it is launched, signalled, hard-stopped after its grace period, and reaped.
 *
 * Launch (StartBackgroundWorker, PM side): the slot's proc entry is reset (no stale
 * interrupts, latch clear, dead-man switch ASSIGNED), a thread is taken from the launcher,
 * and its thread id becomes the slot's pid — known at once, as a forked pid is.
 *
 * Exits. A thread's end is queued twice: by its exit report (the orderly path has run: the
 * switch is back to ASSIGNED and its locks are released, so it can be reaped before the
 * thread's teardown, which takes tens of ms) and by its 'exit' event. Either sets the
 * host's latch; `reap` drains the queue once per pass and hands back each worker life once
 * (the second entry finds the record moved on and is dropped), with its exit classified
 * (exit-status.ts) and what the thread held here released (worker-requests.ts). What to do
 * with the exit — restart, forget, crash-restart cycle — is the postmaster's decision.
 *
 * Signals. A signal is a bit in the slot's interrupt word, then its latch, then a nudge on
 * the thread's port so that a worker busy in its event loop services it without waiting
 * (proc-array.ts, worker/interrupts.ts). SIGTERM and SIGQUIT arm a hard stop: a thread that
 * is still there when its grace period ends is terminated and its exit is a hard_stop.
 * A worker registered with maxRuntimeMs gets SIGTERM for `timeout` when its life reaches
 * it, and the hard stop after its grace period like any other SIGTERM.
 * At most one hard stop is armed per thread; SIGQUIT replaces a SIGTERM's. Each stop names
 * what asked for it (terminated, shutdown, immediate, crash_restart): the exit is named
 * after it (exit-status.ts). A life keeps its first SIGTERM request; a SIGQUIT's replaces it.
 *
 * Reuse (beyond PostgreSQL): a reusable worker whose life ended clean reports `reused`; the
 * life is reaped as any other, and its thread, with this life's listeners removed, goes
 * back to the launcher for another life of its module (thread-launcher.ts).
 *
 * `threadsAlive` counts threads not yet gone, which can outlive their reaping by the
 * teardown: shutdown and reinitialization wait for zero.
 *
 * Host thread only.
 */
import type { Worker } from 'node:worker_threads';
import type { HostMessage, WorkerMessage } from '../protocol/messages.js';
import { toWire } from '../protocol/wire-error.js';
import type { Latch } from '../shm/latch.js';
import { PM_CHILD_ASSIGNED, STOP_REASON_DEADLINE, STOP_REASON_SHUTDOWN, STOP_REASON_TERMINATE } from '../shm/layout.js';
import { SIGQUIT_PENDING, SIGTERM_PENDING, type ProcArray } from '../shm/proc-array.js';
import type { BackgroundWorkerArray } from '../shm/slot-array.js';
import type { Logger, StopRequest } from '../types.js';
import { classifyExit, lastExitOf, type ExitStatus } from './exit-status.js';
import type { RegisteredBgWorker } from './registered-worker.js';
import type { Launcher } from './thread-launcher.js';
import type { WorkerRequests } from './worker-requests.js';

const STOP_REASONS = { terminated: STOP_REASON_TERMINATE, shutdown: STOP_REASON_SHUTDOWN, timeout: STOP_REASON_DEADLINE } as const;

export interface PmChildDeps {
  procs: ProcArray;
  array: BackgroundWorkerArray;
  launcher: Launcher;
  requests: WorkerRequests;
  log: Logger;
  terminateGraceMs: number;
  quitGraceMs: number;
}

/** One reaped worker life. */
export interface ChildExit {
  rw: RegisteredBgWorker;
  pid: number;
  status: ExitStatus;
}

export class PmChildren {
  private readonly children = new Map<number, RegisteredBgWorker>();
  private readonly threads = new Set<Worker>();
  private readonly exits: Array<{ rw: RegisteredBgWorker; worker: Worker; code: number }> = [];
  private readonly hostLatch: Latch;
  private readonly lifeListeners = new Map<Worker, () => void>();

  constructor(private readonly d: PmChildDeps) {
    this.hostLatch = d.procs.postmasterLatch();
  }

  /** Live children. */
  get count(): number {
    return this.children.size;
  }

  /** Threads started for workers and not yet gone. */
  get threadsAlive(): number {
    return this.threads.size;
  }

  all(): IterableIterator<RegisteredBgWorker> {
    return this.children.values();
  }

  byPid(pid: number): RegisteredBgWorker | undefined {
    return this.children.get(pid);
  }

  /** StartBackgroundWorker: a thread for rw, or false after logging why not. */
  launch(rw: RegisteredBgWorker): boolean {
    this.d.procs.resetForLaunch(rw.slot, PM_CHILD_ASSIGNED);
    let worker: Worker;
    try {
      worker = this.d.launcher.launch(rw.slot, rw.entry, rw.mainArg, rw.traceCarrier ?? undefined);
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, slot: rw.slot }, 'could not fork background worker process');
      rw.lastExit = { code: -1, kind: 'error', error: { name: 'LaunchError', message: (err as Error).message }, at: new Date() };
      return false;
    }
    rw.startLife(worker);
    if (rw.entry.maxRuntimeMs > 0) rw.deadlineTimer = setTimeout(() => this.sigterm(rw, 'timeout'), rw.entry.maxRuntimeMs);
    this.children.set(rw.pid, rw);
    this.d.array.setPid(rw.slot, rw.pid);
    this.threads.add(worker);
    const onMessage = (m: WorkerMessage): void => this.onMessage(rw, worker, m);
    const onError = (err: Error): void => void (rw.exitError ??= toWire(err));
    const onExit = (code: number): void => {
      this.threads.delete(worker);
      this.lifeListeners.delete(worker);
      this.queueExit(rw, worker, code);
    };
    worker.on('message', onMessage).on('error', onError).once('exit', onExit);
    // A reused thread outlives this life: its listeners for the life go when the life does.
    this.lifeListeners.set(worker, () => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    this.d.log.debug({ slot: rw.slot, pid: rw.pid }, `starting background worker process "${rw.entry.name}"`);
    return true;
  }

  private onMessage(rw: RegisteredBgWorker, worker: Worker, m: WorkerMessage): void {
    if (m.type === 'exit-report') {
      if (m.error) rw.exitError = m.error;
      this.queueExit(rw, worker, m.code);
      if (m.reused) this.giveBack(rw, worker);
    } else if (m.type !== 'ready') {
      this.d.requests.handle(rw, worker, m);
    }
  }

  /** A reusable worker's life ended clean: its thread leaves this life and goes back to the launcher. */
  private giveBack(rw: RegisteredBgWorker, worker: Worker): void {
    this.lifeListeners.get(worker)?.();
    this.lifeListeners.delete(worker);
    this.threads.delete(worker);
    if (this.d.launcher.giveBack) this.d.launcher.giveBack(worker, rw.entry.libraryName);
    else worker.postMessage({ type: 'retire' } satisfies HostMessage);
  }

  private queueExit(rw: RegisteredBgWorker, worker: Worker, code: number): void {
    this.exits.push({ rw, worker, code });
    this.hostLatch.set();
  }

  /** CleanupBackend's first half for every life that ended since the last call. */
  reap(): ChildExit[] {
    const out: ChildExit[] = [];
    for (let e = this.exits.shift(); e; e = this.exits.shift()) {
      if (e.rw.worker === e.worker) out.push(this.cleanup(e.rw, e.code));
    }
    return out;
  }

  private cleanup(rw: RegisteredBgWorker, code: number): ChildExit {
    const pid = rw.pid;
    this.children.delete(pid);
    if (rw.stopTimer) clearTimeout(rw.stopTimer);
    if (rw.deadlineTimer) clearTimeout(rw.deadlineTimer);
    // The dead-man switch decides, whatever the exit code says (pmsignal.c).
    const status = classifyExit(code, this.d.procs.childState(rw.slot), rw.hardStopped, rw.stopRequest, rw.exitError);
    rw.endLife(lastExitOf(status, rw.exitError));
    this.d.requests.release(rw, pid);
    return { rw, pid, status };
  }

  /** Raise a signal bit for a running worker (SIGHUP, SIGINT; sigterm and quit for the stops). */
  signal(rw: RegisteredBgWorker, bit: number): void {
    if (rw.pid === 0) return;
    this.d.procs.signal(rw.slot, bit);
    const nudge: HostMessage = { type: 'nudge' };
    rw.worker?.postMessage(nudge);
  }

  /** SIGTERM, for `request`, with a hard stop after terminateGraceMs. */
  sigterm(rw: RegisteredBgWorker, request: Extract<StopRequest, 'terminated' | 'shutdown' | 'timeout'>): void {
    if (rw.pid === 0) return;
    if (rw.stopRequest === null) {
      rw.stopRequest = request;
      this.d.procs.setStopReason(rw.slot, STOP_REASONS[request]);
    }
    this.signal(rw, SIGTERM_PENDING);
    this.hardStopAfter(rw, this.d.terminateGraceMs, 'SIGTERM');
  }

  /** SIGQUIT, for `request`, with a hard stop after quitGraceMs in place of any SIGTERM's. */
  quit(rw: RegisteredBgWorker, request: Extract<StopRequest, 'immediate' | 'crash_restart'>): void {
    if (rw.pid === 0) return;
    rw.stopRequest = request;
    this.signal(rw, SIGQUIT_PENDING);
    if (rw.stopTimer) clearTimeout(rw.stopTimer);
    rw.stopTimer = null;
    this.hardStopAfter(rw, this.d.quitGraceMs, 'SIGQUIT');
  }

  /** Terminate the thread if it is still this life's after `ms`; at most one per thread. */
  hardStopAfter(rw: RegisteredBgWorker, ms: number, why: string): void {
    if (rw.stopTimer) return;
    const worker = rw.worker;
    rw.stopTimer = setTimeout(() => {
      if (rw.worker !== worker || !worker) return;
      rw.hardStopped = true;
      this.d.log.warn(
        { slot: rw.slot, pid: rw.pid },
        `background worker "${rw.entry.type}" (PID ${rw.pid}) ignored ${why} for ${ms} ms; terminating its thread`,
      );
      void worker.terminate();
    }, ms);
  }
}
