/**
 * Postmaster: the host. Its public API, the server loop, the state machine and the crash
 * decision; the rest of the host lives beside it, each part in its own file:
 *
 *   pm-options.ts       the options, checked and resolved
 *   bgworker-list.ts    the registered workers: state changes, launch passes, exit bookkeeping
 *   pm-child.ts         the live threads: launch, signal, hard stop, reap
 *   worker-requests.ts  what threads ask of the host (dsm, LISTEN, logs, activity)
 *   host-endpoints.ts   the host's own latches for shm_mq
 *   slot-watchers.ts    the host's handles, woken on every change of their slot
 *   exit-status.ts      what an exit means
 *   shared-memory.ts    the segment: created, reinitialized, read for the API
 *   contained.ts        the user's listeners and logger, each call contained
 *   health.ts           healthy / degraded / failed, with reasons
 *
 * Scheduled workers (lib/schedule/) sit on top of this API: schedule() only hands a
 * Scheduler the host's rules and logger, made on first use; every run is an ordinary
 * dynamic registration.
 *
 * It lives on the service's main thread and never blocks it: it sleeps in Atomics.waitAsync
 * on its own latch.
 *
 * ServerLoop. Everything the host reacts to sets its latch first: a registrant that filled
 * a slot (pmsignal), a thread that exited (pm-child.ts queues it), a shutdown request, a
 * grace timer. One pass then does, in PostgreSQL's order:
 *   1. reset the latch (before looking for work: Pattern A, docs/semantics.md §5.3);
 *   2. pmsignal → BackgroundWorkerStateChange;
 *   3. reap exited threads and decide what each exit means (CleanupBackend, HandleChildCrash);
 *   4. advance the state machine (phases, shutdown, the end of a crash cycle);
 *   5. maybe_start_bgworkers, at most 100 launches, going round again at once if more wait;
 *   6. sleep until the latch is set or the next restart is due (60 s at most).
 *
 * States: init → startup (PostmasterStart workers) → hot_standby (ConsistentState) → run
 * (RecoveryFinished; reached at start() unless the caller declares readiness later with
 * ready()) → stop_backends → wait_backends → stopped. `dead` is the end after a crash with
 * restartAfterCrash off. `fatalError` marks a crash cycle in progress. The cycle ends
 * (shared memory is reinitialized) once every thread is gone and no host task holds an
 * LWLock (host-lock.ts): unlike PostgreSQL's postmaster, this host may hold one.
 *
 * Smart shutdown waits for the host's clients: sessions opened with openSession(), e.g.
 * one per request a service is serving. Workers keep running and can still be registered
 * until the last session ends; then it proceeds as fast. Fast: forget unstarted workers
 * that have waiters, SIGTERM the rest, refuse new registrations, and wait for every thread;
 * a thread that ignores SIGTERM for terminateGraceMs is terminated and reported. Immediate:
 * SIGQUIT, then a hard stop after quitGraceMs. shutdown() resolves when every thread,
 * spares included, is gone, and leaves nothing that keeps the process alive. A thread that
 * crashes or is hard-stopped while the host shuts down is reaped as an exit: no crash-restart
 * cycle begins when nothing will be started again. A hard stop of a worker that held no
 * lock, had nothing attached and was in no critical section is not a crash either
 * (safeHardStop, worker/hazards.ts).
 *
 * User code never unwinds the host: listeners and the logger are contained (contained.ts),
 * and an error in one is logged, counted and emitted as 'callbackError'. A region `init`
 * that throws at start() makes start() reject (BGW_ERR_SHMEM_INIT_FAILED) with nothing left
 * running; one that throws when a crash cycle rebuilds shared memory ends the host as dead
 * (exit status 1), as a crash with restartAfterCrash off does.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MAX_SERVER_LOOP_SLEEP_MS, POSTMASTER_PID } from '../constants.js';
import {
  InvalidOptionError, NotStartedError, PostmasterStoppedError, ShmemInitFailedError, ShuttingDownError, StaticAfterStartError, TooManyWorkersError,
} from '../errors.js';
import { checkHandleData } from '../bgworker/handle-data.js';
import { claimSlot } from '../bgworker/registration.js';
import { sanityCheckBackgroundWorker, type CheckedRegistration } from '../bgworker/sanity.js';
import type { Listener } from '../pg/listen.js';
import { printable } from '../printable.js';
import type { DsmSegment } from '../shm/dsm-segment.js';
import { PMSIGNAL_BACKGROUND_WORKER_CHANGE, type PmSignal } from '../shm/pm-signal.js';
import { SIGHUP_PENDING } from '../shm/proc-array.js';
import type { ShmemStruct } from '../shm/shmem-struct.js';
import type { ShmMq, ShmMqHandle, ShmMqRole } from '../shm/shm-mq.js';
import { BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, type ActivityRow, type BackgroundWorker, type Logger, type ShutdownMode } from '../types.js';
import type { BgWorkerList, ListChange } from './bgworker-list.js';
import { DsmRegistry } from './dsm-registry.js';
import { BackgroundWorkerHandle, type HandleHost } from './handle.js';
import type { HostEndpoints, HostMqEndpoint } from './host-endpoints.js';
import { MqWatch, type MqStats } from './mq-stats.js';
import type { HostLocks, HostLWLock } from './host-lock.js';
import { containLogger, emitContained, writeStderr } from './contained.js';
import { assessHealth, type Health } from './health.js';
import { consoleLogger } from './logger.js';
import type { ChildExit, PmChildren } from './pm-child.js';
import { Scheduler } from '../schedule/scheduler.js';
import type { ScheduledWorker } from '../schedule/scheduled-worker.js';
import type { ScheduleSpec } from '../schedule/spec.js';
import { resolveOptions, type PostmasterOptions, type ResolvedOptions } from './pm-options.js';
import type { RegisteredBgWorker } from './registered-worker.js';
import { RestartIntensity } from './restart-intensity.js';
import { SharedMemory, type WaitStats } from './shared-memory.js';
import { SlotWatchers } from './slot-watchers.js';
import type { ThreadLauncher } from './thread-launcher.js';
import type { WorkerRequests } from './worker-requests.js';
import { createHostParts } from './host-parts.js';
import { LifeReporter, type PmState, type PostmasterEvents } from './pm-events.js';
import { Telemetry } from './telemetry.js';

export type { PostmasterOptions, ShmemRequest } from './pm-options.js';
export type { HostMqEndpoint } from './host-endpoints.js';
export type { WaitStats } from './shared-memory.js';
export type { PmState, PostmasterEvents } from './pm-events.js';

const SEVERITY: Record<ShutdownMode, number> = { smart: 1, fast: 2, immediate: 3 };

export class Postmaster extends EventEmitter<PostmasterEvents> {
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly options: PostmasterOptions;
  private readonly statics: CheckedRegistration[] = [];
  private readonly watchers = new SlotWatchers();
  private readonly dsm = new DsmRegistry();
  private readonly mqWatched = new MqWatch();
  private readonly intensity: RestartIntensity;

  private state: PmState = 'init';
  private fatalError = false;
  private readyDeclared = true;
  private shutdownMode: ShutdownMode | null = null;
  private quitSent = false;
  private sessions = 0;
  private startWorkerNeeded = false;
  private nextRestartAt = Infinity;
  private stoppedPromise: Promise<void> | null = null;
  private resolveStopped: () => void = () => {};
  private callbackErrors = 0;
  private readonly lives: LifeReporter;
  private scheduler: Scheduler | null = null;

  // Set by start().
  private shm!: SharedMemory;
  private pmSignal!: PmSignal;
  private threads!: ThreadLauncher;
  private requests!: WorkerRequests;
  private children!: PmChildren;
  private list!: BgWorkerList;
  private endpoints!: HostEndpoints;
  private handleHost!: HandleHost;
  private hostLocks!: HostLocks;

  constructor(options: PostmasterOptions = {}) {
    super();
    this.opts = resolveOptions(options);
    this.options = options;
    this.log = containLogger(options.logger ?? consoleLogger(), (err, where) => this.callbackFailed(err, where));
    this.intensity = new RestartIntensity(options.restartIntensity);
    const telemetry = new Telemetry({ slots: () => this.slots(), activity: () => this.activity(), threadCounts: () => this.threadCounts() });
    this.lives = new LifeReporter((event, ...args) => void (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args), telemetry);
  }

  // ---------------------------------------------------------------- registration

  /**
   * RegisterBackgroundWorker: a static worker, registered before start() (PostgreSQL
   * accepts these only from shared_preload_libraries). Invalid registrations throw.
   */
  registerBackgroundWorker<A>(w: BackgroundWorker<A>): void {
    if (this.state !== 'init') {
      throw new StaticAfterStartError(`cannot register background worker "${printable(String(w?.name))}" after start(); use registerDynamicBackgroundWorker()`);
    }
    const reg = sanityCheckBackgroundWorker(w, { dynamic: false, registrantPid: POSTMASTER_PID, mainArgBytes: this.opts.mainArgBytes });
    if (this.statics.length >= this.opts.maxWorkerProcesses) {
      throw new TooManyWorkersError(
        `too many background workers: up to ${this.opts.maxWorkerProcesses} background workers can be registered with the current settings; raise maxWorkerProcesses`,
      );
    }
    this.statics.unshift(reg); // LIFO, as PostgreSQL's list
  }

  /**
   * RegisterDynamicBackgroundWorker from the host: a handle, or null when every slot is
   * taken (or the parallel-worker limit is reached). Invalid registrations throw.
   */
  async registerDynamicBackgroundWorker<A>(w: BackgroundWorker<A>): Promise<BackgroundWorkerHandle | null> {
    if (this.state === 'init') throw new NotStartedError('start() the host before registering dynamic workers');
    this.assertAlive();
    const reg = sanityCheckBackgroundWorker(w, { dynamic: true, registrantPid: POSTMASTER_PID, mainArgBytes: this.opts.mainArgBytes });
    while (this.fatalError) await new Promise<void>((res) => this.once('reinitialized', () => res()));
    this.assertAlive();
    const trace = this.lives.registering();
    const h = await this.handleHost.bgwLock.with('exclusive', () => claimSlot(this.handleHost.array, reg));
    if (!h) return null;
    this.lives.claimed(h.slot, h.generation, trace);
    this.pmSignal.raise(PMSIGNAL_BACKGROUND_WORKER_CHANGE);
    return new BackgroundWorkerHandle(this.handleHost, h.slot, h.generation);
  }

  /** A handle on the worker registered in `slot` now (its current generation), or null if the slot is free. */
  handleOf(slot: number): BackgroundWorkerHandle | null {
    this.assertStarted();
    const rw = this.list.get(slot);
    return rw ? new BackgroundWorkerHandle(this.handleHost, rw.slot, rw.generation) : null;
  }

  /** A handle from its plain form ({slot, generation}), e.g. one a worker wrote to shared memory. */
  handleFrom(data: { slot: number; generation: bigint | string }): BackgroundWorkerHandle {
    this.assertStarted();
    const { slot, generation } = checkHandleData(data, this.opts.reservedWorkerProcesses);
    return new BackgroundWorkerHandle(this.handleHost, slot, generation);
  }

  // ---------------------------------------------------------------- scheduled workers

  /**
   * Beyond PostgreSQL (after TimescaleDB's jobs): declare a schedule — a registration plus
   * an interval or a cron expression, with its policies (lib/schedule/spec.ts). Each run is
   * a dynamic worker. Rejects with a typed error for a bad schedule or registration.
   */
  async schedule<A>(spec: ScheduleSpec<A>): Promise<ScheduledWorker> {
    this.assertStarted();
    this.assertAlive();
    if (this.stopping()) throw new ShuttingDownError('the host is shutting down and takes no new schedules');
    this.scheduler ??= new Scheduler(this, {
      terminateGraceMs: this.opts.terminateGraceMs,
      checkRegistration: (w) => void sanityCheckBackgroundWorker(w, { dynamic: true, registrantPid: POSTMASTER_PID, mainArgBytes: this.opts.mainArgBytes }),
    }, this.log, (err, where) => this.callbackFailed(err, where));
    return this.scheduler.add(spec as ScheduleSpec);
  }

  /** The schedules declared on this host, by name. */
  schedules(): ScheduledWorker[] {
    return this.scheduler?.list() ?? [];
  }

  // ---------------------------------------------------------------- start

  /**
   * Create shared memory, start the spare threads, and walk the start phases, launching
   * the workers registered for each. With `{ ready: false }` the host stops short of
   * RecoveryFinished until ready() is called. If the spare threads cannot start it throws
   * BGW_ERR_THREAD_START_FAILED and the host is stopped.
   */
  async start(opts: { ready?: boolean } = {}): Promise<void> {
    if (this.state !== 'init' || this.stoppedPromise) throw new InvalidOptionError('start() was already called');
    // Created first, so that a shutdown() requested while start() runs waits for it and then happens.
    this.stoppedPromise = new Promise((res) => (this.resolveStopped = res));
    this.readyDeclared = opts.ready !== false;
    try {
      this.shm = new SharedMemory(this.opts);
    } catch (err) {
      this.state = 'stopped';
      this.resolveStopped();
      throw err;
    }
    this.pmSignal = this.shm.pmSignal;
    this.createHostParts();
    this.list.addStatics(this.statics);
    try {
      await this.threads.start([...this.opts.preload, ...this.statics.map((r) => r.entry.libraryName)]);
    } catch (err) {
      // No worker ever ran: the host ends stopped, so shutdown() resolves and nothing else starts.
      this.state = 'stopped';
      this.resolveStopped();
      throw err;
    }
    this.enterStartPhases();
    void this.serverLoop();
  }

  /** The host's parts around the segment (host-parts.ts), and what the postmaster reacts to of theirs. */
  private createHostParts(): void {
    const base = { opts: this.opts, options: this.options, log: this.log, dsm: this.dsm, watchers: this.watchers, intensity: this.intensity };
    const parts = createHostParts(this.shm, base, {
      activity: (rw) => void this.emit('activity', rw.row()),
      ready: (rw) => this.onReady(rw),
      listChanged: (rw, change) => this.onListChange(rw, change),
      callbackFailed: (err, where) => this.callbackFailed(err, where),
      // The last host release during a crash cycle lets the waiting pass reinitialize.
      hostLockIdle: () => void (this.fatalError && this.wake()),
      gone: () => this.finished(),
    });
    ({ threads: this.threads, requests: this.requests, children: this.children, list: this.list } = parts);
    ({ endpoints: this.endpoints, hostLocks: this.hostLocks, handleHost: this.handleHost } = parts);
  }

  /** A life became ready: its handles hear it, and so does everyone else (pm-events.ts). */
  private onReady(rw: RegisteredBgWorker): void {
    this.watchers.notify(rw.slot);
    this.lives.ready(rw);
  }

  /** Every event goes through here: each listener is contained (contained.ts). */
  override emit<K>(event: keyof PostmasterEvents | K, ...args: K extends keyof PostmasterEvents ? PostmasterEvents[K] : never): boolean {
    return emitContained(this, event as string, args, (err, where) => this.callbackFailed(err, where));
  }

  /** A user callback threw: log it, count it, tell 'callbackError' listeners; never throw. */
  private callbackFailed(err: unknown, where: string): void {
    this.callbackErrors++;
    if (where.startsWith('a "callbackError"') || where.startsWith("the logger's")) return writeStderr(`${where} threw`, err);
    this.log.error({ err: err instanceof Error ? err.message : String(err), where }, `${where} threw; the host goes on`);
    this.emit('callbackError', err, where);
  }

  private onListChange(rw: RegisteredBgWorker, change: ListChange): void {
    if (change === 'registered') this.threads.preload(rw.entry.libraryName);
    if (change === 'failed') {
      this.log.warn(
        { slot: rw.slot, restarts: rw.launches - 1 },
        `background worker "${rw.entry.name}" exceeded its restart intensity (${this.intensity.describe()}); it will not be restarted`,
      );
    }
    this.lives.listChanged(rw, change);
  }

  /** Declare the host ready: RecoveryFinished workers may start. */
  ready(): void {
    this.readyDeclared = true;
    if (this.state === 'hot_standby') this.enterPhase('run');
  }

  // ---------------------------------------------------------------- shutdown and sessions

  /** Request a shutdown; the most severe request wins. Resolves when every thread is gone. */
  shutdown(mode: ShutdownMode = 'fast'): Promise<void> {
    if (!(mode in SEVERITY)) throw new InvalidOptionError(`unknown shutdown mode "${String(mode)}"; use smart, fast or immediate`);
    if (!this.stoppedPromise) {
      this.state = 'stopped';
      return Promise.resolve();
    }
    if (this.finished()) return this.stoppedPromise;
    if (!this.shutdownMode || SEVERITY[mode] > SEVERITY[this.shutdownMode]) {
      this.shutdownMode = mode;
      this.emit('shutdown', mode);
    }
    this.wake();
    return this.stoppedPromise;
  }

  /** A client of the host, for smart shutdown: it waits until every session has ended. */
  openSession(): { end(): void } {
    this.assertAlive();
    if (this.shutdownMode) throw new ShuttingDownError('the host is shutting down and accepts no new sessions');
    this.sessions++;
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        this.sessions--;
        this.wake();
      },
    };
  }

  /** SIGHUP to every running worker (a configuration reload). */
  reloadConfig(): void {
    if (!this.children) return;
    for (const rw of this.children.all()) this.children.signal(rw, SIGHUP_PENDING);
  }

  // ---------------------------------------------------------------- introspection

  /** pg_stat_activity for bgworkers: one row per registered worker, by slot. */
  activity(): ActivityRow[] {
    if (!this.list) return [];
    return this.list.all().map((rw) => rw.row(this.stopping())).sort((a, b) => a.slot - b.slot);
  }

  get pmState(): PmState {
    return this.state;
  }

  /**
   * Beyond PostgreSQL: raise or lower the slots registrants may use, within
   * reservedWorkerProcesses. Lowering never stops a running worker: it only keeps new
   * registrations out of the slots at n and above until they are free.
   */
  async setMaxWorkerProcesses(n: number): Promise<void> {
    this.assertStarted();
    const max = this.opts.reservedWorkerProcesses;
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidOptionError(`maxWorkerProcesses must be an integer in 1..${max} (reservedWorkerProcesses), got ${String(n)}`);
    }
    await this.handleHost.bgwLock.with('exclusive', () => void (this.shm.usable = n));
    this.log.info({ maxWorkerProcesses: n }, `max_worker_processes set to ${n}`);
  }

  /**
   * Slots: reserved in shared memory, usable by registrants now, and in use — claimed in
   * the slot array, read lock-free, so a registration counts from the moment it returned.
   */
  slots(): { reserved: number; usable: number; used: number } {
    const reserved = this.opts.reservedWorkerProcesses;
    if (!this.children) return { reserved, usable: this.opts.maxWorkerProcesses, used: 0 };
    let used = 0;
    for (let n = 0; n < reserved; n++) if (this.handleHost.array.inUse(n)) used++;
    return { reserved, usable: this.shm.usable, used };
  }

  /** Threads: those that run (or are ending) a worker life, and the warm spares. */
  threadCounts(): { workers: number; spares: number } {
    if (!this.children) return { workers: 0, spares: 0 };
    return { workers: this.children.threadsAlive, spares: this.threads.sparesReady };
  }

  /** healthy / degraded / failed, with reasons (health.ts): what a service's health check serves. */
  health(): Health {
    const running = this.state !== 'init' && !this.finished();
    const workers = running ? this.list.all() : [];
    return assessHealth({ running, state: this.state, crashCycle: this.fatalError, shuttingDown: this.stopping(), workers });
  }

  /** User callbacks that threw since the host was made (listeners, the logger, region inits). */
  get callbackErrorCount(): number {
    return this.callbackErrors;
  }

  /**
   * Give workers marked failed by the restart brake another chance: all of them, those of
   * one name, or the one of a handle. Their relaunch counts are forgotten and they start at
   * the next pass. Returns how many were reset.
   */
  resetFailed(which?: string | BackgroundWorkerHandle): number {
    this.assertStarted();
    const match = which === undefined
      ? () => true
      : typeof which === 'string'
        ? (rw: RegisteredBgWorker) => rw.entry.name === which
        : (rw: RegisteredBgWorker) => rw.slot === which.slot && rw.generation === which.generation;
    const n = this.list.resetFailed(match);
    if (n > 0) {
      this.startWorkerNeeded = true;
      this.wake();
    }
    return n;
  }

  /** max_worker_processes: the slots registrants may use now (setMaxWorkerProcesses). */
  get maxWorkerProcesses(): number {
    return this.shm ? this.shm.usable : this.opts.maxWorkerProcesses;
  }

  /** Wait statistics since shared memory was last initialized (shared-memory.ts), read lock-free. */
  waitStats(): WaitStats {
    this.assertStarted();
    return this.shm.waitStats();
  }

  /** A named shared-memory region (the host's view; workers use ctx.shmem). */
  shmem(name: string): ShmemStruct {
    this.assertStarted();
    return this.shm.region(name);
  }

  /** A named LWLock, acquired without blocking the event loop. */
  lock(name: string): HostLWLock {
    this.assertStarted();
    return this.hostLocks.for(this.shm.lock(name));
  }

  // ---------------------------------------------------------------- dynamic shared memory, queues, LISTEN

  /** dsm_create: a new dynamic shared-memory segment, attached to the host. */
  dsmCreate(size: number): DsmSegment {
    this.assertStarted();
    return this.dsm.hostCreate(size);
  }

  /** dsm_attach: the segment with this handle, or null if it no longer exists. */
  dsmAttach(handle: number): DsmSegment | null {
    this.assertStarted();
    return this.dsm.hostAttach(handle);
  }

  /**
   * A shm_mq endpoint for the host thread, with a latch of its own (one of hostLatches):
   * one endpoint per concurrent conversation. Use only the async and nowait queue calls on
   * it; release() gives the latch back (host-endpoints.ts).
   */
  mqEndpoint(): HostMqEndpoint {
    this.assertStarted();
    return this.endpoints.mqEndpoint();
  }

  /** shm_mq_attach for a host endpoint; with `counterparty`, waits end 'detached' once it stops. */
  mqAttach(queue: ShmMq, role: ShmMqRole, endpoint: HostMqEndpoint, counterparty?: BackgroundWorkerHandle): ShmMqHandle {
    this.assertStarted();
    const h = this.endpoints.mqAttach(queue, role, endpoint, counterparty);
    this.mqWatched.watch(queue);
    return h;
  }

  /**
   * Count a queue's throughput in mqStats() (mq-stats.ts): queues the host attaches to are
   * counted already; this is for a queue between two workers. Watching again is a no-op.
   */
  mqWatch(queue: ShmMq, name?: string): void {
    this.mqWatched.watch(queue, name);
  }

  /** Bytes sent and received over the watched queues, read from their headers now. */
  mqStats(): MqStats {
    return this.mqWatched.read();
  }

  /** The host's one LISTEN connection, made on first use. */
  get notifications(): Listener {
    this.assertStarted();
    return this.requests.listener;
  }

  // ---------------------------------------------------------------- the server loop

  private async serverLoop(): Promise<void> {
    const latch = this.shm.procs.postmasterLatch();
    while (!this.finished()) {
      latch.reset();
      await this.pass();
      if (this.finished()) break;
      const sleep = this.determineSleepTime();
      if (sleep === 0) await nextTurn();
      else await latch.waitAsync(sleep);
    }
  }

  private async pass(): Promise<void> {
    if (this.pmSignal.consume() & PMSIGNAL_BACKGROUND_WORKER_CHANGE) {
      if (this.list.stateChange(this.allowNewWorkers())) this.startWorkerNeeded = true;
    }
    for (const exit of this.children.reap()) this.cleanupBackend(exit);
    this.processShutdownRequest();
    await this.stateMachine();
    if (this.finished()) return;
    this.maybeStartBgworkers();
  }

  private determineSleepTime(): number {
    if (this.shutdownMode === null || this.shutdownMode === 'smart') {
      if (this.startWorkerNeeded) return 0;
      if (this.nextRestartAt !== Infinity) {
        return Math.max(1, Math.min(MAX_SERVER_LOOP_SLEEP_MS, this.nextRestartAt - Date.now()));
      }
    }
    return MAX_SERVER_LOOP_SLEEP_MS;
  }

  private maybeStartBgworkers(): void {
    if (this.fatalError) {
      this.startWorkerNeeded = false;
      return;
    }
    const r = this.list.launchPass(Date.now(), (t) => this.shouldStartNow(t));
    this.startWorkerNeeded = r.startNeeded;
    this.nextRestartAt = r.nextRestartAt;
  }

  private allowNewWorkers(): boolean {
    return this.state !== 'stop_backends' && this.state !== 'wait_backends';
  }

  private shouldStartNow(startTime: BgWorkerStartTime): boolean {
    switch (this.state) {
      case 'startup':
        return startTime === BgWorkerStartTime.PostmasterStart;
      case 'hot_standby':
        return startTime !== BgWorkerStartTime.RecoveryFinished;
      case 'run':
        return true;
      default:
        return false;
    }
  }

  private enterStartPhases(): void {
    this.enterPhase('startup');
    this.enterPhase('hot_standby');
    if (this.readyDeclared) this.enterPhase('run');
  }

  private enterPhase(state: 'startup' | 'hot_standby' | 'run'): void {
    this.state = state;
    this.log.debug({ state }, `host phase ${state}`);
    this.emit('phase', state);
    this.startWorkerNeeded = true;
    this.maybeStartBgworkers();
  }

  // ---------------------------------------------------------------- the crash decision

  /** CleanupBackend's second half: what the reaped exit means for the worker and the host. */
  private cleanupBackend({ rw, pid, status }: ChildExit): void {
    this.list.clearNotifyPid(pid);
    const fields = { slot: rw.slot, pid, code: status.code, error: rw.exitError?.message };
    const crashed = status.crashed && !this.safelyHardStopped(rw);
    if (this.pmSignal.isDead() || (crashed && this.fatalErrorOrImmediate())) {
      // PostgreSQL reports nothing here (shared memory is about to be rebuilt or abandoned);
      // the host's own handles outlive both, so their slot must stop naming a dead thread.
      this.handleHost.array.setPid(rw.slot, 0);
      this.watchers.notify(rw.slot);
      this.log.debug(fields, `background worker "${rw.entry.type}" (PID ${pid}) exited during a crash cycle or immediate shutdown`);
    } else if (crashed && rw.entry.flags & BGWORKER_SHMEM_ACCESS && !this.stopping()) {
      this.handleChildCrash(rw, pid, status.code);
    } else {
      // Exit 0 or 1; a crash of a worker without shared memory, which only restarts it; or a
      // crash while shutting down, when nothing is started again and a reset would be moot.
      this.log[status.effective === 0 ? 'debug' : 'info'](fields, `background worker "${rw.entry.type}" (PID ${pid}) exited with exit code ${status.code}`);
      if (this.list.reportExit(rw, status, Date.now())) this.nextRestartAt = Math.min(this.nextRestartAt, Date.now());
      this.startWorkerNeeded = true;
    }
    this.lives.stopped(rw, rw.row(this.stopping()));
  }

  /**
   * A hard stop that cannot have left shared memory half-written (the worker's hazard
   * words, worker/hazards.ts, were all zero): not a crash, only that worker ends.
   */
  private safelyHardStopped(rw: RegisteredBgWorker): boolean {
    return rw.hardStopped && this.opts.safeHardStop && !this.shm.procs.hazardous(rw.slot);
  }

  private fatalErrorOrImmediate(): boolean {
    return this.fatalError || this.shutdownMode === 'immediate';
  }

  /** HandleChildCrash: stop everyone; the state machine reinitializes when all are gone. */
  private handleChildCrash(rw: RegisteredBgWorker, pid: number, code: number): void {
    this.log.warn(
      { slot: rw.slot, pid, code, error: rw.exitError?.message },
      `background worker "${rw.entry.type}" (PID ${pid}) crashed (exit code ${code}); terminating any other active workers`,
    );
    this.emit('crash', rw.row());
    this.fatalError = true;
    if (this.opts.restartAfterCrash) {
      for (const child of this.children.all()) this.children.quit(child, 'crash_restart');
      return;
    }
    // restart_after_crash off: the host gives up. Workers see postmaster death, as children
    // of a postmaster that exited do, and get quitGraceMs to leave before a hard stop.
    this.pmSignal.declareDeath();
    for (const child of this.children.all()) this.children.hardStopAfter(child, this.opts.quitGraceMs, 'postmaster death');
  }

  // ---------------------------------------------------------------- the state machine

  private processShutdownRequest(): void {
    const mode = this.shutdownMode;
    if (!mode || this.finished()) return;
    if (mode === 'immediate') {
      if (!this.quitSent) {
        this.quitSent = true;
        for (const rw of this.children.all()) this.children.quit(rw, 'immediate');
        this.state = 'wait_backends';
      }
      return;
    }
    if (mode === 'smart' && this.sessions > 0) return;
    if (this.state !== 'wait_backends') this.state = 'stop_backends';
  }

  private async stateMachine(): Promise<void> {
    if (this.state === 'stop_backends') {
      this.list.forgetUnstartedWithWaiters();
      for (const rw of this.children.all()) this.children.sigterm(rw, 'shutdown');
      this.state = 'wait_backends';
      this.emit('phase', this.state);
    }
    if (this.children.count > 0 || this.children.threadsAlive > 0) return;
    if (this.state === 'wait_backends') return this.finishShutdown('stopped', 0);
    if (this.fatalError) {
      if (!this.opts.restartAfterCrash) return this.finishShutdown('dead', 1);
      // A host hold released after the reset would corrupt the zeroed lock word.
      if (this.hostLocks.held > 0) return;
      if (!this.reinitialize()) return this.finishShutdown('dead', 1);
    }
  }

  /**
   * The end of a crash cycle: every thread is gone and the host holds no lock; rebuild
   * shared memory and start again. False when a region's init threw: the host cannot go
   * on without its shared memory.
   */
  private reinitialize(): boolean {
    this.log.info({}, 'all background workers terminated; reinitializing');
    this.list.resetCrashTimes();
    this.dsm.clear();
    try {
      this.shm.reinitialize();
    } catch (err) {
      this.callbackFailed(err instanceof ShmemInitFailedError && err.cause !== undefined ? err.cause : err, 'a shmem region init');
      this.log.error({}, 'shared memory could not be reinitialized; the host gives up');
      return false;
    }
    this.list.rebuildSlots();
    this.fatalError = false;
    this.emit('reinitialized');
    this.enterStartPhases();
    this.watchers.notifyAll();
    return true;
  }

  private async finishShutdown(state: 'stopped' | 'dead', status: number): Promise<void> {
    this.state = state;
    if (state === 'dead') this.pmSignal.declareDeath();
    await this.threads.retire();
    await this.requests.close();
    this.log.debug({ status }, 'host stopped');
    this.emit('phase', state);
    this.emit('exit', status);
    this.watchers.notifyAll();
    this.resolveStopped();
  }

  // ---------------------------------------------------------------- helpers

  /** Shutting down or gone: no worker will be started again. */
  private stopping(): boolean {
    return this.finished() || this.state === 'wait_backends' || this.state === 'stop_backends';
  }

  private finished(): boolean {
    return this.state === 'stopped' || this.state === 'dead';
  }

  private wake(): void {
    if (this.state !== 'init') this.shm.procs.postmasterLatch().set();
  }

  private assertStarted(): void {
    if (this.state === 'init') throw new NotStartedError('start() the host first');
    if (!this.children) throw new PostmasterStoppedError('the host did not start (see the error start() rejected with); create a new Postmaster');
  }

  private assertAlive(): void {
    if (this.finished()) {
      throw new PostmasterStoppedError('the host has shut down; create a new Postmaster to run more workers');
    }
  }
}
