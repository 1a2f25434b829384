/**
 * Postmaster: the host. It creates the shared-memory segment, launches and reaps worker
 * threads, restarts them by PostgreSQL's rules, runs the crash-restart cycle, and shuts
 * down in smart, fast or immediate mode. It lives on the service's main thread and never
 * blocks it: it sleeps in Atomics.waitAsync on its own latch.
 *
 * ServerLoop. Everything the host reacts to sets its latch first: a registrant that filled
 * a slot (pmsignal), a thread that exited (queued by its 'exit' event), a shutdown request,
 * a grace timer. One pass then does, in PostgreSQL's order:
 *   1. reset the latch (before looking for work: Pattern A);
 *   2. pmsignal → BackgroundWorkerStateChange;
 *   3. reap exited threads (CleanupBackend, HandleChildCrash);
 *   4. advance the state machine (phases, shutdown, the end of a crash cycle);
 *   5. maybe_start_bgworkers, at most 100 launches, going round again at once if more wait;
 *   6. sleep until the latch is set or the next restart is due (60 s at most).
 *
 * States: init → startup (PostmasterStart workers) → hot_standby (ConsistentState) → run
 * (RecoveryFinished; reached at start() unless the caller declares readiness later with
 * ready()) → stop_backends → wait_backends → stopped. `dead` is the end after a crash with
 * restartAfterCrash off. `fatalError` marks a crash cycle in progress.
 *
 * Smart shutdown waits for the host's clients: sessions opened with openSession(), e.g.
 * one per request a service is serving. Workers keep running and can still be registered
 * until the last session ends; then it proceeds as fast. Fast: forget unstarted workers
 * that have waiters, SIGTERM the rest, refuse new registrations, and wait for every thread;
 * a thread that ignores SIGTERM for terminateGraceMs is terminated and reported. Immediate:
 * SIGQUIT, then a hard stop after quitGraceMs. shutdown() resolves when every thread,
 * spares included, is gone, and leaves nothing that keeps the process alive.
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DEFAULT_MAIN_ARG_BYTES, DEFAULT_MAX_PARALLEL_WORKERS, DEFAULT_MAX_WORKER_PROCESSES, DEFAULT_SPARE_THREADS,
  DEFAULT_HOST_LATCHES, DEFAULT_TERMINATE_GRACE_MS, MAX_BACKENDS, MAX_PARALLEL_WORKER_LIMIT, MAX_SERVER_LOOP_SLEEP_MS,
  POSTMASTER_PID, SIGKILL_CHILDREN_AFTER_MS,
} from '../constants.js';
import {
  HostLatchesExhaustedError, InvalidOptionError, NotStartedError, PostmasterStoppedError, ShuttingDownError, StaticAfterStartError,
  TooManyWorkersError,
} from '../errors.js';
import { claimSlot, markTerminate, signalPostmaster, type HandleData } from '../bgworker/registration.js';
import { sanityCheckBackgroundWorker } from '../bgworker/sanity.js';
import type { MessagePort } from 'node:worker_threads';
import type {
  DsmReleaseMessage, DsmReplyMessage, DsmRequestMessage, HostMessage, ListenMessage, ListenReplyMessage,
  NotificationMessage, WorkerMessage,
} from '../protocol/messages.js';
import { clientConfig, type DatabaseSettings } from '../pg/connect.js';
import { Listener, type NotificationSink } from '../pg/listen.js';
import { toWire } from '../protocol/wire-error.js';
import { DsmSegment } from '../shm/dsm-segment.js';
import type { Latch } from '../shm/latch.js';
import type { ShmMq, ShmMqEndpoint, ShmMqHandle, ShmMqRole } from '../shm/shm-mq.js';
import { computeLayout, LWLOCK_WAIT_BOUNDS_US, H_PM_DEATH, H_PMSIGNAL, lockIndex, PM_CHILD_ACTIVE, PM_CHILD_ASSIGNED, PMSIGNAL_BACKGROUND_WORKER_CHANGE } from '../shm/layout.js';
import { LWLock } from '../shm/lwlock.js';
import { ProcArray, SIGHUP_PENDING, SIGQUIT_PENDING, SIGTERM_PENDING } from '../shm/proc-array.js';
import { Segment } from '../shm/segment.js';
import { ShmemDirectory, type ShmemStruct } from '../shm/shmem-struct.js';
import { BackgroundWorkerArray } from '../shm/slot-array.js';
import {
  BGWORKER_SHMEM_ACCESS, BgWorkerStartTime, BgwHandleStatus, type ActivityRow, type BackgroundWorker, type LastExit, type Logger,
  type ShutdownMode,
} from '../types.js';
import type { CheckedRegistration } from '../bgworker/sanity.js';
import { BgWorkerList } from './bgworker-list.js';
import { DsmRegistry } from './dsm-registry.js';
import { RestartIntensity, type RestartIntensityOptions } from './restart-intensity.js';
import { BackgroundWorkerHandle, type HandleHost } from './handle.js';
import { HostLWLock } from './host-lock.js';
import { consoleLogger } from './logger.js';
import { RegisteredBgWorker } from './registered-worker.js';
import { ThreadLauncher, type Launcher } from './thread-launcher.js';

export type ShmemRequest = number | { size: number; init?: (region: ShmemStruct) => void };

export interface PostmasterOptions {
  /** max_worker_processes: slots for static and dynamic workers together. Default 8. */
  maxWorkerProcesses?: number;
  /** max_parallel_workers: live BGWORKER_CLASS_PARALLEL workers at most. Default 8. */
  maxParallelWorkers?: number;
  /** Named shared-memory regions (bytes, or bytes and an init callback run at each (re)initialization). */
  shmem?: Record<string, ShmemRequest>;
  /** Named LWLocks. */
  locks?: string[];
  /** SIGTERM → hard stop of a thread that ignores it. Default 5000 ms. */
  terminateGraceMs?: number;
  /** SIGQUIT → hard stop (SIGKILL_CHILDREN_AFTER_SECS). Default 5000 ms. */
  quitGraceMs?: number;
  /** restart_after_crash. Default true. */
  restartAfterCrash?: boolean;
  /** Warm threads kept ready for launches. Default 2. */
  spareThreads?: number;
  /** Bytes reserved per slot for mainArg's structured clone. Default 4096. */
  mainArgBytes?: number;
  /** Latches the host can hand to its shm_mq endpoints (mqEndpoint()). Default 16. */
  hostLatches?: number;
  /** Database settings: defaults for workers' initializeConnection() and the LISTEN connection. */
  database?: DatabaseSettings;
  /** The restart brake (restart-intensity.ts); false restarts forever, as PostgreSQL does. */
  restartIntensity?: RestartIntensityOptions | false;
  /** Modules to load into every thread ahead of need (shared_preload_libraries). */
  preload?: Array<string | URL>;
  logger?: Logger;
  /** Node flags for worker threads; by default they inherit the host's (loaders included). */
  execArgv?: string[];
  /** Fault-injection seam: wrap the thread launcher (tests simulate fork failures with it). */
  wrapLauncher?: (launcher: Launcher) => Launcher;
}

/** A host-side queue endpoint: a latch of the host's own, and release() to give it back. */
export interface HostMqEndpoint extends ShmMqEndpoint {
  latch: Latch;
  release(): void;
}

export interface WaitStats {
  latchWaits: number;
  locks: Array<{ name: string; waits: number; totalMs: number; buckets: number[] }>;
  /** Upper bounds (µs) of the buckets; one more bucket takes everything longer. */
  boundsUs: number[];
}

export type PmState =
  | 'init' | 'startup' | 'hot_standby' | 'run' | 'stop_backends' | 'wait_backends' | 'stopped' | 'dead';

const SEVERITY: Record<ShutdownMode, number> = { smart: 1, fast: 2, immediate: 3 };

export interface PostmasterEvents {
  phase: [state: PmState];
  registered: [row: ActivityRow];
  unregistered: [row: ActivityRow];
  started: [row: ActivityRow];
  /** A worker reported what it is doing (ctx.reportActivity, ctx.transaction). */
  activity: [row: ActivityRow];
  stopped: [row: ActivityRow];
  crash: [row: ActivityRow];
  /** A worker exceeded its restart intensity and will not be restarted. */
  failed: [row: ActivityRow];
  reinitialized: [];
  exit: [status: number];
}

interface ResolvedOptions {
  maxWorkerProcesses: number;
  maxParallelWorkers: number;
  terminateGraceMs: number;
  quitGraceMs: number;
  restartAfterCrash: boolean;
  spareThreads: number;
  mainArgBytes: number;
  hostLatches: number;
}

export class Postmaster extends EventEmitter<PostmasterEvents> {
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly shmemRequests: Array<[string, ShmemRequest]>;
  private readonly lockNames: string[];
  private readonly preloads: string[];
  private readonly wrapLauncher: ((l: Launcher) => Launcher) | undefined;
  private readonly execArgv: string[] | undefined;
  private readonly database: DatabaseSettings;
  private listener: Listener | null = null;
  private readonly statics: CheckedRegistration[] = [];

  private state: PmState = 'init';
  private fatalError = false;
  private readyDeclared = true;
  private shutdownMode: ShutdownMode | null = null;
  private quitSent = false;
  private sessions = 0;
  private startWorkerNeeded = false;
  private nextRestartAt = Infinity;
  /** Exits to reap: reported on a worker's orderly path, or seen as its thread's 'exit'. */
  private readonly exits: Array<{ rw: RegisteredBgWorker; worker: Worker; code: number }> = [];
  /** Every thread started for a worker and not yet gone: shutdown and reinit wait for them. */
  private readonly liveThreads = new Set<Worker>();
  private readonly children = new Map<number, RegisteredBgWorker>();
  private readonly watchers = new Map<number, Set<() => void>>();
  private readonly dsm = new DsmRegistry();
  private readonly intensity: RestartIntensity;
  private freeHostProcs: number[] = [];
  private stoppedPromise: Promise<void> | null = null;
  private resolveStopped: () => void = () => {};

  // Set by start().
  private seg!: Segment;
  private array!: BackgroundWorkerArray;
  private procs!: ProcArray;
  private directory!: ShmemDirectory;
  private bgwLock!: LWLock;
  private launcher!: Launcher;
  private threads!: ThreadLauncher;
  private list!: BgWorkerList;
  private handleHost!: HandleHost;

  constructor(options: PostmasterOptions = {}) {
    super();
    this.opts = resolveOptions(options);
    this.log = options.logger ?? consoleLogger();
    this.shmemRequests = Object.entries(options.shmem ?? {});
    for (const [name, req] of this.shmemRequests) checkShmemRequest(name, req);
    this.lockNames = checkLockNames(options.locks ?? []);
    this.preloads = (options.preload ?? []).map((u) => sanityUrl(u));
    this.wrapLauncher = options.wrapLauncher;
    this.execArgv = options.execArgv;
    this.database = { ...options.database };
    this.intensity = new RestartIntensity(options.restartIntensity);
  }

  // ---------------------------------------------------------------- registration

  /**
   * RegisterBackgroundWorker: a static worker, registered before start() (PostgreSQL
   * accepts these only from shared_preload_libraries). Invalid registrations throw.
   */
  registerBackgroundWorker<A>(w: BackgroundWorker<A>): void {
    if (this.state !== 'init') {
      throw new StaticAfterStartError(`cannot register background worker "${w?.name}" after start(); use registerDynamicBackgroundWorker()`);
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
    await this.bgwLock.acquireAsync('exclusive');
    let h: HandleData | null;
    try {
      h = claimSlot(this.array, reg);
    } finally {
      this.bgwLock.releaseUntracked('exclusive');
    }
    if (!h) return null;
    signalPostmaster(this.array, this.procs);
    return new BackgroundWorkerHandle(this.handleHost, h.slot, h.generation);
  }

  /** A handle from its plain form ({slot, generation}), e.g. one a worker wrote to shared memory. */
  handleFrom(data: { slot: number; generation: bigint | string }): BackgroundWorkerHandle {
    this.assertStarted();
    if (!Number.isInteger(data?.slot) || data.slot < 0 || data.slot >= this.opts.maxWorkerProcesses) {
      throw new InvalidOptionError(`no slot ${String(data?.slot)}: slots are 0..${this.opts.maxWorkerProcesses - 1}`);
    }
    return new BackgroundWorkerHandle(this.handleHost, data.slot, BigInt(data.generation));
  }

  // ---------------------------------------------------------------- start

  /**
   * Create shared memory, start the spare threads, and walk the start phases, launching
   * the workers registered for each. With `{ ready: false }` the host stops short of
   * RecoveryFinished until ready() is called.
   */
  async start(opts: { ready?: boolean } = {}): Promise<void> {
    if (this.state !== 'init' || this.stoppedPromise) throw new InvalidOptionError('start() was already called');
    // Created first, so that a shutdown() requested while start() runs waits for it and then happens.
    this.stoppedPromise = new Promise((res) => (this.resolveStopped = res));
    this.readyDeclared = opts.ready !== false;
    const layout = computeLayout(
      this.opts.maxWorkerProcesses,
      this.opts.hostLatches,
      this.opts.mainArgBytes,
      this.lockNames,
      this.shmemRequests.map(([n, r]) => [n, typeof r === 'number' ? r : r.size]),
    );
    this.seg = Segment.create(layout, this.opts.maxParallelWorkers);
    this.array = new BackgroundWorkerArray(this.seg);
    this.procs = new ProcArray(this.seg);
    this.directory = new ShmemDirectory(this.seg);
    this.bgwLock = new LWLock(this.seg.i32, lockIndex(layout, 0), 'BackgroundWorkerLock');
    this.runShmemInits();
    this.freeHostProcs = Array.from({ length: this.opts.hostLatches }, (_, i) => this.opts.maxWorkerProcesses + i);
    this.threads = new ThreadLauncher(this.seg, this.opts.spareThreads, this.execArgv, this.database);
    this.launcher = this.wrapLauncher ? this.wrapLauncher(this.threads) : this.threads;
    this.list = this.makeList();
    this.handleHost = this.makeHandleHost();
    this.copyStaticsIntoSlots();
    await this.threads.start([...this.preloads, ...this.statics.map((r) => r.entry.libraryName)]);
    this.enterPhase('startup');
    this.enterPhase('hot_standby');
    if (this.readyDeclared) this.enterPhase('run');
    void this.serverLoop();
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
    if (!this.shutdownMode || SEVERITY[mode] > SEVERITY[this.shutdownMode]) this.shutdownMode = mode;
    this.wake();
    return this.stoppedPromise!;
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
    for (const rw of this.children.values()) this.signalChild(rw, SIGHUP_PENDING);
  }

  // ---------------------------------------------------------------- introspection

  /** pg_stat_activity for bgworkers: one row per registered worker, by slot. */
  activity(): ActivityRow[] {
    if (this.state === 'init') return [];
    return this.list.all().map((rw) => rw.row(this.stopping())).sort((a, b) => a.slot - b.slot);
  }

  get pmState(): PmState {
    return this.state;
  }

  /**
   * Wait statistics since shared memory was last initialized: latch sleeps of all workers,
   * and per LWLock (BackgroundWorkerLock and the named ones) the sleeps, time asleep and a
   * histogram over LWLOCK_WAIT_BOUNDS_US. Read lock-free, as the metrics do.
   */
  waitStats(): WaitStats {
    this.assertStarted();
    let latchWaits = 0;
    for (let slot = 0; slot < this.opts.maxWorkerProcesses; slot++) latchWaits += this.procs.latchWaits(slot);
    const locks = [this.bgwLock, ...this.lockNames.map((n) => this.directory.lock(n))].map((l) => ({ name: l.name, ...l.waitStats() }));
    return { latchWaits, locks, boundsUs: [...LWLOCK_WAIT_BOUNDS_US] };
  }

  /** A named shared-memory region (the host's view; workers use ctx.shmem). */
  shmem(name: string): ShmemStruct {
    this.assertStarted();
    return this.directory.region(name);
  }

  /** A named LWLock, acquired without blocking the event loop. */
  lock(name: string): HostLWLock {
    this.assertStarted();
    return new HostLWLock(this.directory.lock(name));
  }

  // ---------------------------------------------------------------- dynamic shared memory and queues

  /** dsm_create: a new dynamic shared-memory segment, attached to the host. */
  dsmCreate(size: number): DsmSegment {
    this.assertStarted();
    const { handle, buffer } = this.dsm.create(size, POSTMASTER_PID);
    return new DsmSegment(handle, buffer, this.hostDsmOps);
  }

  /** dsm_attach: the segment with this handle, or null if it no longer exists. */
  dsmAttach(handle: number): DsmSegment | null {
    this.assertStarted();
    const buffer = this.dsm.attach(handle, POSTMASTER_PID);
    return buffer ? new DsmSegment(handle, buffer, this.hostDsmOps) : null;
  }

  private readonly hostDsmOps = {
    detach: (h: number) => this.dsm.detach(h, POSTMASTER_PID),
    pin: (h: number) => this.dsm.pin(h, true),
    unpin: (h: number) => this.dsm.pin(h, false),
  };

  /**
   * A shm_mq endpoint for the host thread, with a latch of its own (one of hostLatches):
   * one endpoint per concurrent conversation, so no two host tasks sleep on one latch.
   * Use only the async and nowait queue calls on it; release() gives the latch back.
   */
  mqEndpoint(): HostMqEndpoint {
    this.assertStarted();
    const procNumber = this.freeHostProcs.pop();
    if (procNumber === undefined) {
      throw new HostLatchesExhaustedError(`all ${this.opts.hostLatches} host latches are in use; release() endpoints or raise hostLatches`);
    }
    const latch = this.procs.latch(procNumber);
    latch.reset();
    let released = false;
    return {
      procNumber,
      latch,
      latchOf: (n) => this.procs.latch(n),
      release: () => {
        if (released) return;
        released = true;
        this.freeHostProcs.push(procNumber);
      },
    };
  }

  /**
   * shm_mq_attach for a host endpoint. With `counterparty`, a wait ends with 'detached' once
   * that worker has stopped (shm_mq_set_handle): its stop sets the endpoint's latch.
   */
  mqAttach(queue: ShmMq, role: ShmMqRole, endpoint: HostMqEndpoint, counterparty?: BackgroundWorkerHandle): ShmMqHandle {
    if (!counterparty) return queue.attach(role, endpoint);
    counterparty.on('stopped', () => endpoint.latch.set());
    return queue.attach(role, endpoint, { counterpartyAlive: () => counterparty.status().status !== BgwHandleStatus.Stopped });
  }

  private onDsmMessage(rw: RegisteredBgWorker, m: DsmRequestMessage | DsmReleaseMessage): void {
    if (m.type === 'dsm-release') {
      if (m.op === 'detach') this.dsm.detach(m.handle, rw.pid);
      else this.dsm.pin(m.handle, m.op === 'pin');
      return;
    }
    let reply: DsmReplyMessage;
    try {
      const made = m.op === 'create' ? this.dsm.create(m.arg, rw.pid) : null;
      const sab = made ? made.buffer : this.dsm.attach(m.arg, rw.pid);
      reply = { type: 'dsm-reply', id: m.id, handle: made ? made.handle : m.arg, sab };
    } catch (err) {
      reply = { type: 'dsm-reply', id: m.id, handle: 0, sab: null, error: toWire(err) };
    }
    rw.worker?.postMessage(reply);
  }

  // ---------------------------------------------------------------- LISTEN/NOTIFY

  /** The host's one LISTEN connection, made on first use. */
  get notifications(): Listener {
    this.listener ??= new Listener(clientConfig(this.database, {}, 'bgworker: listener'), this.log);
    return this.listener;
  }

  private async onListen(rw: RegisteredBgWorker, m: ListenMessage): Promise<void> {
    const worker = rw.worker;
    if (m.port) rw.notificationPort = m.port;
    const port = rw.notificationPort;
    let reply: ListenReplyMessage = { type: 'listen-reply', id: m.id };
    try {
      if (!port) throw new InvalidOptionError('listen() before the notification port was set up');
      rw.notificationSink ??= this.sinkFor(rw.slot, port);
      await this.notifications.subscribe(m.channel, rw.notificationSink);
    } catch (err) {
      reply = { ...reply, error: toWire(err) };
    }
    if (rw.worker === worker) worker?.postMessage(reply);
  }

  /** Post first, then set the latch: a woken worker finds the message queued. */
  private sinkFor(slot: number, port: MessagePort): NotificationSink {
    const deliver = (m: NotificationMessage) => {
      port.postMessage(m);
      this.procs.latch(slot).set();
    };
    return { notify: (channel, payload) => deliver({ channel, payload }), resync: () => deliver({ resync: true }) };
  }

  // ---------------------------------------------------------------- the server loop

  private async serverLoop(): Promise<void> {
    const latch = this.procs.postmasterLatch();
    while (!this.finished()) {
      latch.reset();
      await this.pass();
      if (this.finished()) break;
      const sleep = this.determineSleepTime();
      if (sleep === 0) {
        await nextTurn();
        continue;
      }
      // The timer holds the process open while the host runs; waitAsync alone would not.
      const keepAlive = setTimeout(() => {}, sleep);
      await latch.waitAsync(sleep);
      clearTimeout(keepAlive);
    }
  }

  private async pass(): Promise<void> {
    if (Atomics.exchange(this.seg.i32, H_PMSIGNAL, 0) & PMSIGNAL_BACKGROUND_WORKER_CHANGE) {
      if (this.list.stateChange(this.allowNewWorkers())) this.startWorkerNeeded = true;
    }
    this.reapChildren();
    this.processShutdownRequest();
    await this.stateMachine();
    if (this.state === 'stopped' || this.state === 'dead') return;
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
    const r = this.list.launchPass(Date.now());
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

  private enterPhase(state: 'startup' | 'hot_standby' | 'run'): void {
    this.state = state;
    this.log.debug({ state }, `host phase ${state}`);
    this.emit('phase', state);
    this.startWorkerNeeded = true;
    this.maybeStartBgworkers();
  }

  // ---------------------------------------------------------------- launching and reaping

  private makeList(): BgWorkerList {
    return new BgWorkerList({
      array: this.array,
      procs: this.procs,
      log: this.log,
      shouldStartNow: (t) => this.shouldStartNow(t),
      launch: (rw) => this.launch(rw),
      childByPid: (pid) => this.children.get(pid),
      notifyHost: (slot) => this.notifyHost(slot),
      sawModule: (url) => this.threads.preload(url),
      sigterm: (rw) => this.signalChild(rw, SIGTERM_PENDING),
      intensity: this.intensity,
      failed: (rw) => {
        this.log.warn(
          { slot: rw.slot, restarts: rw.launches - 1 },
          `background worker "${rw.entry.name}" exceeded its restart intensity (${this.intensity.describe()}); it will not be restarted`,
        );
        this.emit('failed', rw.row());
      },
      listChanged: (rw, change) => {
        if (change === 'unregistered') this.notifyHost(rw.slot);
        this.emit(change, rw.row());
      },
    });
  }

  /** StartBackgroundWorker: a thread for rw, or false after logging why not. */
  private launch(rw: RegisteredBgWorker): boolean {
    this.procs.resetForLaunch(rw.slot, PM_CHILD_ASSIGNED);
    let worker: Worker;
    try {
      worker = this.launcher.launch(rw.slot, rw.entry, rw.mainArg);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, slot: rw.slot }, 'could not fork background worker process');
      rw.lastExit = { code: -1, kind: 'error', error: { name: 'LaunchError', message: (err as Error).message }, at: new Date() };
      return false;
    }
    rw.pid = worker.threadId;
    rw.worker = worker;
    rw.startedAt = new Date();
    rw.launches++;
    rw.hardStopped = false;
    rw.exitError = null;
    this.children.set(rw.pid, rw);
    this.array.setPid(rw.slot, rw.pid);
    this.liveThreads.add(worker);
    worker.on('message', (m: WorkerMessage) => this.onWorkerMessage(rw, worker, m));
    worker.on('error', (err) => (rw.exitError ??= toWire(err)));
    worker.once('exit', (code) => {
      this.liveThreads.delete(worker);
      this.exits.push({ rw, worker, code });
      this.wake();
    });
    this.log.debug({ slot: rw.slot, pid: rw.pid }, `starting background worker process "${rw.entry.name}"`);
    this.emit('started', rw.row());
    return true;
  }

  private onWorkerMessage(rw: RegisteredBgWorker, worker: Worker, m: WorkerMessage): void {
    if (m.type === 'log') {
      this.log[m.level]({ ...m.fields, worker: rw.entry.name, type: rw.entry.type, pid: rw.pid, slot: rw.slot }, m.msg);
    } else if (m.type === 'exit-report') {
      // The orderly path is complete (dead-man switch back to ASSIGNED, locks released):
      // reap now rather than after the thread's teardown, which can take tens of ms.
      if (m.error) rw.exitError = m.error;
      this.exits.push({ rw, worker, code: m.code });
      this.wake();
    } else if (m.type === 'dsm' || m.type === 'dsm-release') {
      this.onDsmMessage(rw, m);
    } else if (m.type === 'activity') {
      rw.activity = m.activity;
      this.emit('activity', rw.row());
    } else if (m.type === 'listen') {
      void this.onListen(rw, m);
    }
  }

  /** CleanupBackend for every worker that exited since the last pass, once per worker life. */
  private reapChildren(): void {
    for (let e = this.exits.shift(); e; e = this.exits.shift()) {
      if (e.rw.worker === e.worker) this.cleanupBackend(e.rw, e.code);
    }
  }

  private cleanupBackend(rw: RegisteredBgWorker, code: number): void {
    const pid = rw.pid;
    this.children.delete(pid);
    if (rw.stopTimer) clearTimeout(rw.stopTimer);
    rw.stopTimer = null;
    rw.pid = 0;
    rw.worker = null;
    // The dead-man switch decides, whatever the exit code says (pmsignal.c).
    const crashed = this.procs.childState(rw.slot) === PM_CHILD_ACTIVE || (code !== 0 && code !== 1);
    rw.lastExit = lastExit(rw, code, crashed);
    this.list.clearNotifyPid(pid);
    this.dsm.detachAll(pid);
    this.dropNotifications(rw);
    const fields = { slot: rw.slot, pid, code, error: rw.exitError?.message };
    if (this.declaredDead() || (crashed && this.fatalErrorOrImmediate())) {
      // PostgreSQL reports nothing here (shared memory is about to be rebuilt or abandoned);
      // the host's own handles outlive both, so their slot must stop naming a dead thread.
      this.array.setPid(rw.slot, 0);
      this.notifyHost(rw.slot);
      this.log.debug(fields, `background worker "${rw.entry.type}" (PID ${pid}) exited during a crash cycle or immediate shutdown`);
    } else if (crashed && rw.entry.flags & BGWORKER_SHMEM_ACCESS) {
      this.handleChildCrash(rw, pid, code);
    } else {
      // Exit 0 or 1; or a crash of a worker without shared memory, which only restarts it.
      const effective = code === 0 && !crashed ? 0 : 1;
      this.log[effective === 0 ? 'debug' : 'info'](fields, `background worker "${rw.entry.type}" (PID ${pid}) exited with exit code ${code}`);
      if (this.list.reportExit(rw, effective, Date.now())) this.nextRestartAt = Math.min(this.nextRestartAt, Date.now());
      this.startWorkerNeeded = true;
    }
    this.emit('stopped', rw.row(this.stopping()));
  }

  private dropNotifications(rw: RegisteredBgWorker): void {
    if (rw.notificationSink) this.listener?.unsubscribeAll(rw.notificationSink);
    rw.notificationPort?.close();
    rw.notificationSink = null;
    rw.notificationPort = null;
    rw.activity = null;
  }

  private fatalErrorOrImmediate(): boolean {
    return this.fatalError || this.shutdownMode === 'immediate';
  }

  /** After declareDeath the host reports nothing more to the slots: it is gone. */
  private declaredDead(): boolean {
    return Atomics.load(this.seg.i32, H_PM_DEATH) !== 0;
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
      for (const child of this.children.values()) this.quitChild(child);
      return;
    }
    // restart_after_crash off: the host gives up. Workers see postmaster death, as children
    // of a postmaster that exited do, and get quitGraceMs to leave before a hard stop.
    this.declareDeath();
    for (const child of this.children.values()) this.armStopTimer(child, this.opts.quitGraceMs, 'postmaster death');
  }

  // ---------------------------------------------------------------- signals to workers

  private signalChild(rw: RegisteredBgWorker, bit: number): void {
    if (rw.pid === 0) return;
    this.procs.signal(rw.slot, bit);
    const nudge: HostMessage = { type: 'nudge' };
    rw.worker?.postMessage(nudge);
    if (bit === SIGTERM_PENDING) this.armStopTimer(rw, this.opts.terminateGraceMs, 'SIGTERM');
  }

  private quitChild(rw: RegisteredBgWorker): void {
    this.signalChild(rw, SIGQUIT_PENDING);
    if (rw.stopTimer) clearTimeout(rw.stopTimer);
    rw.stopTimer = null;
    this.armStopTimer(rw, this.opts.quitGraceMs, 'SIGQUIT');
  }

  private armStopTimer(rw: RegisteredBgWorker, ms: number, sig: string): void {
    if (rw.stopTimer) return;
    const worker = rw.worker;
    rw.stopTimer = setTimeout(() => {
      if (rw.worker !== worker || !worker) return;
      rw.hardStopped = true;
      this.log.warn(
        { slot: rw.slot, pid: rw.pid },
        `background worker "${rw.entry.type}" (PID ${rw.pid}) ignored ${sig} for ${ms} ms; terminating its thread`,
      );
      void worker.terminate();
    }, ms);
  }

  // ---------------------------------------------------------------- the state machine

  private processShutdownRequest(): void {
    const mode = this.shutdownMode;
    if (!mode || this.state === 'stopped' || this.state === 'dead') return;
    if (mode === 'immediate') {
      if (!this.quitSent) {
        this.quitSent = true;
        for (const rw of this.children.values()) this.quitChild(rw);
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
      for (const rw of this.children.values()) this.signalChild(rw, SIGTERM_PENDING);
      this.state = 'wait_backends';
      this.emit('phase', this.state);
    }
    if (this.children.size > 0 || this.liveThreads.size > 0) return;
    if (this.state === 'wait_backends') return this.finishShutdown('stopped', 0);
    if (this.fatalError) {
      if (!this.opts.restartAfterCrash) return this.finishShutdown('dead', 1);
      this.reinitialize();
    }
  }

  /** The end of a crash cycle: everyone is gone; rebuild shared memory and start again. */
  private reinitialize(): void {
    this.log.info({}, 'all background workers terminated; reinitializing');
    this.list.resetCrashTimes();
    this.dsm.clear();
    this.seg.reinitialize();
    this.runShmemInits();
    this.list.rebuildSlots();
    this.fatalError = false;
    this.emit('reinitialized');
    this.enterPhase('startup');
    this.enterPhase('hot_standby');
    if (this.readyDeclared) this.enterPhase('run');
    for (const slot of this.watchers.keys()) this.notifyHost(slot);
  }

  private async finishShutdown(state: 'stopped' | 'dead', status: number): Promise<void> {
    this.state = state;
    if (state === 'dead') this.declareDeath();
    await this.threads.retire();
    await this.listener?.close();
    this.log.debug({ status }, 'host stopped');
    this.emit('phase', state);
    this.emit('exit', status);
    for (const slot of [...this.watchers.keys()]) this.notifyHost(slot);
    this.resolveStopped();
  }

  /** The host is gone for good: workers waiting on latches see WL_POSTMASTER_DEATH. */
  private declareDeath(): void {
    Atomics.store(this.seg.i32, H_PM_DEATH, 1);
    for (let slot = 0; slot < this.opts.maxWorkerProcesses; slot++) {
      const latch = this.procs.latch(slot);
      Atomics.notify(latch.i32, latch.index);
    }
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
    if (this.state !== 'init') this.procs.postmasterLatch().set();
  }

  private notifyHost(slot: number): void {
    const set = this.watchers.get(slot);
    if (set) for (const fn of [...set]) fn();
  }

  private makeHandleHost(): HandleHost {
    return {
      array: this.array,
      watch: (slot, fn) => {
        let set = this.watchers.get(slot);
        if (!set) this.watchers.set(slot, (set = new Set()));
        set.add(fn);
        return () => {
          set!.delete(fn);
          if (set!.size === 0) this.watchers.delete(slot);
        };
      },
      gone: () => this.state === 'stopped' || this.state === 'dead',
      terminate: async (h) => {
        if (this.state === 'stopped' || this.state === 'dead') return;
        await this.bgwLock.acquireAsync('exclusive');
        let marked: boolean;
        try {
          marked = markTerminate(this.array, h);
        } finally {
          this.bgwLock.releaseUntracked('exclusive');
        }
        if (marked) signalPostmaster(this.array, this.procs);
      },
    };
  }

  private copyStaticsIntoSlots(): void {
    this.statics.forEach((reg, slot) => {
      this.array.fill(slot, reg.entry, reg.mainArg, -1);
      this.array.publish(slot);
      this.list.add(new RegisteredBgWorker(slot, 0n, reg.entry, reg.mainArg, false, reg.entry.notifyPid));
    });
  }

  private runShmemInits(): void {
    for (const [name, req] of this.shmemRequests) {
      if (typeof req === 'object' && req.init) req.init(this.directory.region(name));
    }
  }

  private assertStarted(): void {
    if (this.state === 'init') throw new NotStartedError('start() the host first');
  }

  private assertAlive(): void {
    if (this.state === 'stopped' || this.state === 'dead') {
      throw new PostmasterStoppedError('the host has shut down; create a new Postmaster to run more workers');
    }
  }
}

function lastExit(rw: RegisteredBgWorker, code: number, crashed: boolean): LastExit {
  const kind: LastExit['kind'] = rw.hardStopped ? 'hard_stop' : crashed ? 'crash' : code === 0 ? 'normal' : 'error';
  const e = rw.exitError;
  const exit: LastExit = { code, kind, at: new Date() };
  if (e) exit.error = e.code ? { name: e.name, message: e.message, code: e.code } : { name: e.name, message: e.message };
  return exit;
}

function resolveOptions(o: PostmasterOptions): ResolvedOptions {
  return {
    maxWorkerProcesses: intOption('maxWorkerProcesses', o.maxWorkerProcesses, DEFAULT_MAX_WORKER_PROCESSES, 1, MAX_BACKENDS),
    maxParallelWorkers: intOption('maxParallelWorkers', o.maxParallelWorkers, DEFAULT_MAX_PARALLEL_WORKERS, 0, MAX_PARALLEL_WORKER_LIMIT),
    terminateGraceMs: intOption('terminateGraceMs', o.terminateGraceMs, DEFAULT_TERMINATE_GRACE_MS, 0, 2 ** 31 - 1),
    quitGraceMs: intOption('quitGraceMs', o.quitGraceMs, SIGKILL_CHILDREN_AFTER_MS, 0, 2 ** 31 - 1),
    restartAfterCrash: o.restartAfterCrash ?? true,
    spareThreads: intOption('spareThreads', o.spareThreads, DEFAULT_SPARE_THREADS, 0, 64),
    mainArgBytes: intOption('mainArgBytes', o.mainArgBytes, DEFAULT_MAIN_ARG_BYTES, 16, 1 << 24),
    hostLatches: intOption('hostLatches', o.hostLatches, DEFAULT_HOST_LATCHES, 0, 1024),
  };
}

function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(`option ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function checkShmemRequest(name: string, req: ShmemRequest): void {
  const size = typeof req === 'number' ? req : req?.size;
  if (!Number.isInteger(size) || size! < 0 || size! > 2 ** 31) {
    throw new InvalidOptionError(`shmem region "${name}" needs a size in bytes (an integer in 0..2^31)`);
  }
}

function checkLockNames(names: string[]): string[] {
  if (!Array.isArray(names) || new Set(names).size !== names.length || names.some((n) => typeof n !== 'string' || !n)) {
    throw new InvalidOptionError('locks must be an array of distinct non-empty names');
  }
  return names;
}

function sanityUrl(u: string | URL): string {
  return sanityCheckBackgroundWorker({ name: 'preload', module: u }, { dynamic: false, registrantPid: 0, mainArgBytes: 16 }).entry.libraryName;
}
