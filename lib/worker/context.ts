/**
 * WorkerContext: what a worker entry receives. It gathers, for one worker's life, the
 * pieces PostgreSQL exposes as globals (MyBgworkerEntry, MyLatch, the signal handlers,
 * ShmemInitStruct, RegisterDynamicBackgroundWorker, elog).
 *
 *   export async function main(ctx: WorkerContext<MyArg>) { ... }
 */
import { threadId } from 'node:worker_threads';
import { deserialize } from 'node:v8';
import { claimSlot } from '../bgworker/registration.js';
import { sanityCheckBackgroundWorker } from '../bgworker/sanity.js';
import type { LWLock } from '../shm/lwlock.js';
import { PMSIGNAL_BACKGROUND_WORKER_CHANGE } from '../shm/pm-signal.js';
import type { ShmemStruct } from '../shm/shmem-struct.js';
import type { DsmSegment } from '../shm/dsm-segment.js';
import type { ShmMq, ShmMqEndpoint, ShmMqHandle, ShmMqRole } from '../shm/shm-mq.js';
import { BgwHandleStatus, type BackgroundWorker, type BackgroundWorkerEntry, type Logger } from '../types.js';
import type { DatabaseSettings, PgClient } from '../pg/connect.js';
import { fleetLeaseOf, type FleetLease } from '../fleet/lease-extra.js';
import { clusterSingleton, type ClusterSingletonLease, type ClusterSingletonOptions } from './cluster-singleton.js';
import { currentClient, initializeConnection, reportActivity, transaction } from './database.js';
import { dsmAttach, dsmCreate } from './dsm.js';
import { listen, takeNotifications, type NotificationEvent } from './notifications.js';
import { WorkerBackgroundWorkerHandle } from './handle.js';
import { checkForInterrupts, interruptPending, setSignalHandler, lifeSignal, stopReason, type CatchableSignal, type StopReason } from './interrupts.js';
import { attachmentsChanged, criticalSection } from './hazards.js';
import { declareReady } from './readiness.js';
import { workerLog } from './log.js';
import { getMyProc, sharedState } from './my-proc.js';
import { onProcExit } from './proc-exit.js';
import { waitLatch, waitLatchAsync, type WaitOptions } from './wait-latch.js';

/** This worker's process latch. */
export interface WorkerLatch {
  set(): void;
  reset(): void;
  isSet(): boolean;
  /** WaitLatch, blocking the thread (CPU-bound workers). */
  wait(events: number, timeoutMs?: number, opts?: WaitOptions): number;
  /** WaitLatch, keeping the event loop running (workers that do I/O). */
  waitAsync(events: number, timeoutMs?: number): Promise<number>;
}

export class WorkerContext<A = unknown> {
  /** MyBgworkerEntry. */
  readonly entry: BackgroundWorkerEntry;
  /** bgw_main_arg, cloned into this thread. */
  readonly mainArg: A;
  /** This worker's pid (its thread id). */
  readonly pid = threadId;
  readonly slot: number;
  readonly latch: WorkerLatch;
  /**
   * Aborted when the worker must stop — the default SIGTERM action (terminate, shutdown),
   * its maxRuntimeMs deadline, or the host's death — with a BgwError whose `stop` says
   * which (ctx.stopReason). Hand it to fetch, timers and the like; queries on ctx.db are
   * cancelled by it.
   */
  readonly signal: AbortSignal = lifeSignal();
  readonly log: Logger = workerLog;

  constructor(mainArg: Uint8Array) {
    const p = getMyProc();
    this.entry = p.entry;
    this.slot = p.slot;
    this.mainArg = deserialize(mainArg) as A;
    const latch = p.latch;
    this.latch = {
      set: () => latch.set(),
      reset: () => latch.reset(),
      isSet: () => latch.isSet(),
      wait: waitLatch,
      waitAsync: waitLatchAsync,
    };
  }

  /** Why `signal` aborted: 'terminate', 'shutdown', 'deadline' or 'host_death'; null while it has not. */
  get stopReason(): StopReason | null {
    return stopReason();
  }

  /**
   * Beyond PostgreSQL: declare this worker ready (systemd's READY=1) for a registration
   * with readiness 'declared'; the host's handle.waitForReady() and 'ready' event follow.
   * Idempotent; a no-op for readiness 'entry', which is ready as its entry begins.
   */
  ready(): void {
    declareReady();
  }

  /**
   * START_CRIT_SECTION around `fn` (sync or async): interrupts are held off inside, and a
   * hard stop inside one is a crash (hazards.ts), so shared state written here is either
   * completed or rebuilt by the crash-restart cycle, never left half-written.
   */
  criticalSection<T>(fn: () => T): T {
    return criticalSection(fn);
  }

  /** CHECK_FOR_INTERRUPTS(): throws AdminShutdownError after a SIGTERM with no handler. */
  checkForInterrupts(): void {
    checkForInterrupts();
  }

  /** True if checkForInterrupts() would throw now. */
  interruptPending(): boolean {
    return interruptPending();
  }

  /** pqsignal: replace a signal's default action (null restores it). */
  onSignal(sig: CatchableSignal, handler: (() => void) | null): void {
    setSignalHandler(sig, handler);
  }

  /** before_shmem_exit: runs on the orderly exit path, before locks are released. */
  onExit(fn: () => void): void {
    onProcExit(fn);
  }

  /** ShmemInitStruct: a named region requested by the host. */
  shmem(name: string): ShmemStruct {
    return sharedState('shmem()').directory.region(name);
  }

  /** A named LWLock requested by the host. */
  lock(name: string): LWLock {
    return sharedState('lock()').directory.lock(name);
  }

  /**
   * RegisterDynamicBackgroundWorker: a handle, or null when every slot is taken (or the
   * parallel-worker limit is reached). Invalid registrations throw.
   */
  registerDynamicBackgroundWorker<B>(w: BackgroundWorker<B>): WorkerBackgroundWorkerHandle | null {
    const { array, bgwLock } = sharedState('registerDynamicBackgroundWorker()');
    const reg = sanityCheckBackgroundWorker(w, {
      dynamic: true,
      registrantPid: threadId,
      mainArgBytes: array.seg.layout.mainArgBytes,
    });
    const h = bgwLock.with('exclusive', () => claimSlot(array, reg));
    if (!h) return null;
    getMyProc().pmSignal.raise(PMSIGNAL_BACKGROUND_WORKER_CHANGE);
    return new WorkerBackgroundWorkerHandle(h.slot, h.generation);
  }

  /** dsm_create: a new dynamic shared-memory segment, attached to this worker. */
  dsmCreate(size: number): Promise<DsmSegment> {
    sharedState('dsmCreate()');
    return dsmCreate(size);
  }

  /** dsm_attach: the segment with this handle, or null if it no longer exists. */
  dsmAttach(handle: number): Promise<DsmSegment | null> {
    sharedState('dsmAttach()');
    return dsmAttach(handle);
  }

  /**
   * This worker as a shm_mq endpoint: its slot is its proc number, its latch the one it
   * sleeps on; any other proc's latch (a worker's or a host endpoint's) can be set.
   */
  mqEndpoint(): ShmMqEndpoint {
    const p = getMyProc();
    sharedState('mqEndpoint()');
    return { procNumber: p.slot, latch: p.latch, latchOf: (n) => p.procs.latch(n), checkForInterrupts, attached: attachmentsChanged };
  }

  /**
   * shm_mq_attach for this worker, detached again on its orderly exit. With `counterparty`,
   * a wait ends with 'detached' once that worker has stopped (shm_mq_set_handle).
   */
  mqAttach(queue: ShmMq, role: ShmMqRole, counterparty?: WorkerBackgroundWorkerHandle): ShmMqHandle {
    const alive = counterparty ? () => counterparty.status().status !== BgwHandleStatus.Stopped : undefined;
    const h = queue.attach(role, this.mqEndpoint(), alive ? { counterpartyAlive: alive } : {});
    this.onExit(() => h.detach());
    return h;
  }

  /**
   * BackgroundWorkerInitializeConnection: this worker's one database connection (a `pg`
   * client), to the database and role given or the host's defaults.
   */
  initializeConnection(settings?: DatabaseSettings): Promise<PgClient> {
    return initializeConnection(settings);
  }

  /** The connection opened by initializeConnection(). */
  get db(): PgClient {
    return currentClient();
  }

  /** One unit of work in one transaction, shown as `activity` in the host's activity list. */
  transaction<T>(fn: (db: PgClient) => Promise<T>, activity?: string): Promise<T> {
    return transaction(fn, activity);
  }

  /** pgstat_report_activity: what the activity list shows for this worker (null clears it). */
  reportActivity(activity: string | null): void {
    reportActivity(activity);
  }

  /**
   * Run as a cluster-wide singleton: resolves once this worker holds the fleet lease for
   * `key` among all hosts on this database (after initializeConnection()), with its term
   * (the fencing token for fleet_fence(key, -1, term)). If the lease cannot be renewed
   * before its local deadline, the worker exits (FleetLeaseLostError).
   */
  clusterSingleton(key: string, opts?: ClusterSingletonOptions): Promise<ClusterSingletonLease> {
    return clusterSingleton(key, opts);
  }

  /**
   * The lease this worker runs under when the fleet started it (a copy `<worker>#<replica>`),
   * or null: put `term` into writes checked by `<schema>.fleet_fence(worker, replica, term)`.
   * A lost lease reaches the copy as a SIGTERM (ctx.signal aborts).
   */
  fleetLease(): FleetLease | null {
    return fleetLeaseOf(this.entry);
  }

  /** LISTEN on a channel through the host's listener; resolves once the server listens. */
  listen(channel: string): Promise<void> {
    return listen(channel);
  }

  /** Notifications (and resync markers) received since the last call, oldest first. */
  notifications(): NotificationEvent[] {
    return takeNotifications();
  }

  /** A handle from its plain form ({slot, generation}), e.g. one passed in mainArg. */
  handle(data: { slot: number; generation: string | bigint }): WorkerBackgroundWorkerHandle {
    return WorkerBackgroundWorkerHandle.from(data);
  }
}
