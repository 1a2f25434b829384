/**
 * Fleet: a host's membership in a fleet of hosts coordinated through PostgreSQL, and the
 * loop that keeps what it runs in line with what is declared.
 *
 *   const fleet = joinFleet(pm, { database, capacity: 4, labels: { zone: 'eu-1' } });
 *   await fleet.start();                               // after pm.start()
 *   await fleet.declare('importer', { registration, replicas: 3 });
 *   …
 *   await pm.shutdown('smart');                        // the fleet hands over first
 *   await fleet.leave();                               // resolves once it has
 *
 * The tick, every heartbeatMs, and early when the doorbell rings (a NOTIFY on the fleet's
 * channel, doorbell.ts) or the LISTEN connection came back:
 *   1. fleet_heartbeat: one statement that renews the leases of the copies this host runs
 *      and says which it still holds; a copy whose lease was not renewed is stopped at once
 *      (lost). When the digest of the desired state and the live members moved, it also
 *      returns the snapshot, and the assignment is computed again (assignment.ts).
 *   2. the plan (reconcile.ts): stop what is no longer declared, give back (at most
 *      movesPerTick) what is now assigned elsewhere, roll copies of an older version, and
 *      take the free or expired leases assigned here (fleet_acquire), launching a copy for
 *      each (copies.ts).
 * Nothing is decided by talking to other hosts: the database's transactions, row locks
 * and now() arbitrate (sql-leases.ts), and every host computes the same assignment from
 * the same snapshot. The first tick after joining, and after the database was unreachable,
 * only heartbeats, so that every member is live again before anyone acquires.
 *
 * Self-fencing (lease-deadline.ts): if no renewal succeeds by its local deadline, every
 * copy is stopped at once, without waiting for the database.
 *
 * Leaving (leave(), or any shutdown of the host: the fleet holds a session of the host, so
 * a smart shutdown waits for the hand-over): out of the placement first
 * (fleet_leave_begin, so that others compute the assignment without this member), then
 * each copy is stopped and its lease given back with a NOTIFY as soon as it has stopped,
 * then the member is marked gone. A hand-over, not a timeout.
 *
 * Failover after a host dies (no hand-over): its leases run out leaseMs after its last
 * renewal, and a survivor takes each at its first tick after that, so a replica runs again
 * within leaseMs + heartbeatMs + the launch (the acquisition statement and a thread start).
 *
 * Called on the host thread only. Events: see FleetEvents; diagnostics.ts publishes them.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { FleetLeftError, InvalidOptionError, NotStartedError, isBgwError } from '../errors.js';
import { consoleLogger } from '../host/logger.js';
import type { Postmaster } from '../host/postmaster.js';
import { clientConfig } from '../pg/connect.js';
import type { NotificationSink } from '../pg/listen.js';
import { migrate } from '../pg/migrate.js';
import type { LastExit, Logger } from '../types.js';
import { declareFleetWorker, removeFleetWorker, type SqlRunner } from './admin.js';
import { assign, replicaKey, type Assignment, type MemberView } from './assignment.js';
import { FleetConnection } from './connection.js';
import { checkDeclaration, checkWorkerName, type FleetWorkerSpec } from './declaration.js';
import { parseDoorbell } from './doorbell.js';
import { LocalCopies, type FleetCopy } from './copies.js';
import { memberIdentity } from './identity.js';
import { LeaseDeadline } from './lease-deadline.js';
import { resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from './options.js';
import { FleetQueries, type Acquired, type DeclaredWorker, type HeldLease, type Report, type Snapshot } from './queries.js';
import { plan } from './reconcile.js';
import { FLEET_COMPONENT, fleetMigrations } from './schema.js';
import { Ticker } from './ticker.js';
import { readFleetStatus, type FleetStatus } from './status.js';

/** Registration failures that say something about the host, not about the registration. */
const HOST_STATE_ERRORS = new Set<string>(['BGW_ERR_NOT_STARTED', 'BGW_ERR_POSTMASTER_STOPPED', 'BGW_ERR_SHUTTING_DOWN']);

/** Doorbell ticks are at least this far apart, so a flood of NOTIFYs costs at most 20 heartbeats a second. */
const MIN_DOORBELL_GAP_MS = 50;

export type FleetPhase = 'init' | 'starting' | 'active' | 'leaving' | 'left';

export interface FleetEvents {
  joined: [member: { id: string; seq: number }];
  acquired: [lease: HeldLease];
  started: [lease: HeldLease, pid: number | null];
  stopped: [lease: HeldLease, lastExit: LastExit | null];
  released: [lease: HeldLease];
  /** A lease was not renewed (it expired or was taken): its copy is being stopped. */
  lost: [lease: HeldLease, reason: string];
  /** The local deadline passed without a renewal: every copy is being stopped. */
  fenced: [reason: string];
  /** This host cannot run a declared registration (sanity.ts refused it). */
  refused: [worker: string, reason: string];
  /** A new snapshot: the assignment was computed again. */
  rebalanced: [summary: { members: number; workers: number; assignedHere: number }];
  /** A statement failed: the database is unreachable or refused it. */
  unreachable: [err: Error];
  /** A NOTIFY on the fleet's channel was refused (doorbell.ts). */
  ignored: [err: Error];
  left: [];
}

export interface FleetStats {
  queries: number;
  heartbeats: number;
  heartbeatFailures: number;
  acquired: number;
  released: number;
  lost: number;
  fenced: number;
  notifications: number;
  notificationsRefused: number;
}

export class Fleet extends EventEmitter<FleetEvents> {
  /** This member's identity: hostname:pid:uuid, new at every start. */
  readonly id = memberIdentity();
  readonly options: ResolvedFleetOptions;
  private readonly log: Logger;
  private readonly conn: FleetConnection;
  private readonly queries: FleetQueries;
  private readonly deadline: LeaseDeadline;
  private readonly sink: NotificationSink;
  private readonly counts = { heartbeats: 0, heartbeatFailures: 0, acquired: 0, released: 0, lost: 0, fenced: 0, notifications: 0, notificationsRefused: 0 };
  private copies: LocalCopies | null = null;
  private state: FleetPhase = 'init';
  private memberSeq = -1;
  private known: string | null = null;
  private workers = new Map<string, DeclaredWorker>();
  private members = new Map<string, MemberView>();
  private assignment: Assignment = new Map();
  private readonly refused = new Map<string, number>();
  private pendingReports: Report[] = [];
  private settle = true;
  private readonly ticker: Ticker;
  private session: { end(): void } | null = null;
  private starting: Promise<void> | null = null;
  private leaving: Promise<void> | null = null;
  private readonly onShutdown = (): void => void this.leave();

  constructor(private readonly pm: Postmaster, o: FleetOptions = {}) {
    super();
    this.options = resolveFleetOptions(o, pm.maxWorkerProcesses);
    this.log = o.logger ?? consoleLogger();
    const timeoutMs = Math.max(2 * this.options.heartbeatMs, 2_000);
    const appName = `bgworker: fleet ${this.id.slice(-8)}`;
    this.conn = new FleetConnection(clientConfig({}, this.options.database, appName), timeoutMs, this.log);
    this.queries = new FleetQueries(this.conn, this.options.schema);
    this.deadline = new LeaseDeadline(this.options.leaseMs, this.options.fenceMarginMs, () => this.fence('no renewal succeeded before the local deadline'));
    this.ticker = new Ticker(this.options.heartbeatMs, MIN_DOORBELL_GAP_MS, () => this.tick(), this.log);
    this.sink = { notify: (_channel, payload) => this.onNotification(payload), resync: () => this.ticker.kick(0) };
  }

  get phase(): FleetPhase {
    return this.state;
  }

  /** This member's seq: the replica number of its per-host copies (-1 before start()). */
  get seq(): number {
    return this.memberSeq;
  }

  /** Create the schema if needed, join, listen, and run the first tick. */
  start(): Promise<void> {
    if (this.state !== 'init') return Promise.reject(new InvalidOptionError('fleet.start() was already called'));
    if (this.pm.pmState === 'init') return Promise.reject(new NotStartedError('start() the host before its fleet'));
    this.state = 'starting';
    this.starting = this.join();
    return this.starting;
  }

  private async join(): Promise<void> {
    const { schema, labels, capacity, leaseMs, channel } = this.options;
    await this.conn.withClient((c) => migrate(c, schema, FLEET_COMPONENT, fleetMigrations(schema)));
    this.memberSeq = await this.queries.join(this.id, hostname(), process.pid, labels, capacity, leaseMs);
    const copies = new LocalCopies(this.pm, this.log, this.options.relaunchDelayMs);
    copies.on('started', (c, pid) => {
      this.emit('started', lease(c), pid);
      this.ticker.kick(MIN_DOORBELL_GAP_MS);
    });
    copies.on('stopped', (c) => this.emit('stopped', lease(c), c.lastExit));
    this.copies = copies;
    this.session = this.pm.openSession();
    this.pm.on('shutdown', this.onShutdown);
    this.pm.once('exit', this.onShutdown);
    await this.pm.notifications.subscribe(channel, this.sink);
    if (this.state !== 'starting') return;
    this.state = 'active';
    this.log.info({ member: this.id, seq: this.memberSeq, capacity }, `fleet: joined "${schema}" as ${this.id}`);
    this.emit('joined', { id: this.id, seq: this.memberSeq });
    await this.ticker.run();
  }

  // ---------------------------------------------------------------- the tick

  private async tick(): Promise<void> {
    const copies = this.copies!;
    const held = copies.list().filter((c) => !c.lost).map(lease);
    const reports = [...this.pendingReports, ...copies.takeReports()];
    this.pendingReports = [];
    const sentAt = performance.now();
    let hb;
    try {
      hb = await this.queries.heartbeat(this.id, this.options.leaseMs, this.known, held, reports);
    } catch (err) {
      this.pendingReports = reports;
      this.counts.heartbeatFailures++;
      this.settle = true;
      return this.unreachable(err as Error);
    }
    if (!this.deadline.renewed(sentAt)) return;
    this.counts.heartbeats++;
    if (hb.state === 'gone') return this.expelled();
    this.checkRenewed(held, hb.held);
    if (hb.snapshot) this.adopt(hb.snapshot, hb.digest);
    if (this.state !== 'active') return;
    if (this.settle) {
      this.settle = false;
      this.ticker.kick(MIN_DOORBELL_GAP_MS);
      return;
    }
    await this.reconcile();
  }

  /** Copies whose lease the heartbeat did not renew are stopped: someone else may hold it now. */
  private checkRenewed(sent: HeldLease[], renewed: HeldLease[]): void {
    const ok = new Set(renewed.map((l) => `${replicaKey(l.worker, l.replica)}@${l.term}`));
    for (const l of sent) {
      const c = this.copies!.get(replicaKey(l.worker, l.replica));
      if (!c || c.term !== l.term || c.stopping || ok.has(`${c.key}@${c.term}`)) continue;
      this.lose(c, 'the lease was not renewed: it expired or another member holds it');
    }
  }

  private adopt(s: Snapshot, digest: string | null): void {
    this.known = digest;
    this.workers = new Map(s.workers.map((w) => [w.name, w]));
    this.members = new Map(s.members.map((m) => [m.id, m]));
    this.assignment = assign(s.members, s.workers);
    for (const [name, version] of this.refused) if (this.workers.get(name)?.version !== version) this.refused.delete(name);
    const assignedHere = [...this.assignment.values()].filter((m) => m === this.id).length;
    this.emit('rebalanced', { members: s.members.length, workers: s.workers.length, assignedHere });
  }

  private async reconcile(): Promise<void> {
    const copies = this.copies!;
    const p = plan({
      me: this.id, mySeq: this.memberSeq, myLabels: this.options.labels, capacity: this.options.capacity,
      movesPerTick: this.options.movesPerTick, assignment: this.assignment, workers: this.workers, members: this.members,
      copies: copies.list(), refused: this.refused,
    });
    for (const c of p.stop) void this.stopAndRelease(copies.get(c.key)!, 'no longer declared');
    for (const c of p.release) void this.stopAndRelease(copies.get(c.key)!, 'assigned to another member');
    for (const c of p.roll) void this.roll(copies.get(c.key)!);
    for (const c of copies.relaunchDue(performance.now())) void this.launch(c);
    if (p.acquire.length === 0) return;
    let got: Acquired[];
    try {
      got = await this.queries.acquire(this.id, this.options.leaseMs, p.acquire);
    } catch (err) {
      return this.unreachable(err as Error);
    }
    for (const a of got) {
      this.counts.acquired++;
      this.emit('acquired', { worker: a.worker, replica: a.replica, term: a.term });
      void this.launch(copies.add(a));
    }
  }

  // ---------------------------------------------------------------- copies and leases

  private async launch(c: FleetCopy): Promise<void> {
    const r = await this.copies!.launch(c);
    if (r === 'ok') return;
    if (r === 'no-slot') {
      this.log.warn({ worker: c.worker, replica: c.replica }, `fleet: no free slot for ${c.key}; giving its lease back`);
    } else if (isBgwError(r) && !HOST_STATE_ERRORS.has(r.code)) {
      this.refuse(c, r);
    } else {
      this.log.error({ err: r }, `fleet: could not register ${c.key}: ${r.message}`);
    }
    await this.stopAndRelease(c, 'could not be registered');
  }

  private refuse(c: FleetCopy, err: Error): void {
    this.refused.set(c.worker, c.version);
    this.pendingReports.push({ refuse: c.worker, version: c.version, reason: err.message });
    this.log.warn({ worker: c.worker, err: err.message }, `fleet: this host cannot run "${c.worker}": ${err.message}`);
    this.emit('refused', c.worker, err.message);
  }

  /** Stop a copy, then give its lease back (with a NOTIFY: its next holder takes it at once). Once per copy. */
  private stopAndRelease(c: FleetCopy, why: string): Promise<void> {
    c.releasing ??= this.doStopAndRelease(c, why);
    return c.releasing;
  }

  private async doStopAndRelease(c: FleetCopy, why: string): Promise<void> {
    this.log.debug({ worker: c.worker, replica: c.replica, why }, `fleet: stopping ${c.key}: ${why}`);
    await this.copies!.stop(c);
    try {
      if (!c.lost) {
        await this.queries.release(this.id, [{ ...lease(c), lastExit: c.lastExit }]);
        this.counts.released++;
        this.emit('released', lease(c));
      }
    } catch (err) {
      this.unreachable(err as Error);
    } finally {
      this.copies!.forget(c);
    }
  }

  /** A new registration version: stop, then start again under the same lease. */
  private async roll(c: FleetCopy): Promise<void> {
    await this.copies!.stop(c);
    const w = this.workers.get(c.worker);
    this.copies!.forget(c);
    if (!w || c.lost || this.state !== 'active') {
      if (!c.lost) await this.queries.release(this.id, [lease(c)]).catch((err: Error) => this.unreachable(err));
      return;
    }
    // Replaced in the same turn as it was forgotten, so no heartbeat sees the lease unclaimed.
    void this.launch(this.copies!.add({ worker: c.worker, replica: c.replica, term: c.term, version: w.version, registration: w.registration }));
  }

  private lose(c: FleetCopy, reason: string): void {
    if (c.lost) return;
    c.lost = true;
    this.counts.lost++;
    this.log.warn({ worker: c.worker, replica: c.replica, term: c.term }, `fleet: lost the lease of ${c.key}: ${reason}`);
    this.emit('lost', lease(c), reason);
    void this.copies!.stop(c).then(() => this.copies!.forget(c));
  }

  /** The local deadline passed: stop every copy now, without waiting for the database. */
  private fence(reason: string): void {
    const copies = this.copies?.list().filter((c) => !c.lost) ?? [];
    this.counts.fenced++;
    this.settle = true;
    this.log.warn({ copies: copies.length }, `fleet: ${reason}; stopping every copy`);
    this.emit('fenced', reason);
    for (const c of copies) this.lose(c, reason);
  }

  private expelled(): void {
    if (this.state !== 'active') return;
    this.fence('this member was marked gone');
    void this.leave();
  }

  private unreachable(err: Error): void {
    this.log.warn({ err: err.message }, `fleet: database statement failed: ${err.message}`);
    this.emit('unreachable', err);
  }

  private onNotification(payload: string): void {
    this.counts.notifications++;
    let d;
    try {
      d = parseDoorbell(payload);
    } catch (err) {
      this.counts.notificationsRefused++;
      this.log.warn({ err: (err as Error).message }, (err as Error).message);
      this.emit('ignored', err as Error);
      return;
    }
    if (d.kind === 'release' && d.worker !== undefined && d.replica !== undefined) {
      const key = replicaKey(d.worker, d.replica);
      if (this.assignment.get(key) !== this.id || this.copies?.get(key)) return;
    }
    this.ticker.soon();
  }

  // ---------------------------------------------------------------- leaving

  /** Hand every copy over and leave; idempotent. Also run by any shutdown of the host. */
  leave(): Promise<void> {
    this.leaving ??= this.handOver();
    return this.leaving;
  }

  private async handOver(): Promise<void> {
    if (this.state === 'init') {
      this.state = 'left';
      return;
    }
    await this.starting?.catch(() => undefined);
    if (this.state === 'starting' || this.state === 'active') {
      this.state = 'leaving';
      await this.queries.leaveBegin(this.id).catch((err: Error) => this.unreachable(err));
      const copies = this.copies?.list() ?? [];
      await Promise.all(copies.map((c) => (c.lost ? this.copies!.stop(c) : this.stopAndRelease(c, 'this member is leaving'))));
      await this.ticker.running;
      await this.queries.leave(this.id).catch((err: Error) => this.unreachable(err));
    }
    await this.finish();
  }

  private async finish(): Promise<void> {
    this.state = 'left';
    this.deadline.disarm();
    this.ticker.stop();
    this.pm.off('shutdown', this.onShutdown);
    this.pm.off('exit', this.onShutdown);
    this.copies?.close();
    if (this.pm.pmState !== 'init') this.pm.notifications.unsubscribeAll(this.sink);
    this.session?.end();
    this.session = null;
    await this.conn.close();
    this.log.info({ member: this.id }, 'fleet: left');
    this.emit('left');
  }

  // ---------------------------------------------------------------- the desired state and the view

  /** Declare (or change) a fleet worker; resolves with its registration's version. */
  async declare(name: string, spec: FleetWorkerSpec): Promise<number> {
    this.assertJoined();
    const d = checkDeclaration(name, spec);
    return declareFleetWorker(this.run, this.options.schema, d);
  }

  /** Stop a fleet worker everywhere; false if none of that name was declared. */
  async remove(name: string): Promise<boolean> {
    this.assertJoined();
    return removeFleetWorker(this.run, this.options.schema, checkWorkerName(name));
  }

  /** Every member and every replica, from the fleet's views. */
  async status(): Promise<FleetStatus> {
    this.assertJoined();
    return readFleetStatus(this.run, this.options.schema);
  }

  /** The leases this host holds now, with their copies' state. */
  held(): Array<HeldLease & { running: boolean; restarts: number }> {
    return (this.copies?.list() ?? []).filter((c) => !c.lost).map((c) => ({ ...lease(c), running: c.running, restarts: c.restarts }));
  }

  /** The latest assignment: `<worker>#<replica>` → member id. */
  currentAssignment(): ReadonlyMap<string, string> {
    return this.assignment;
  }

  stats(): FleetStats {
    return { queries: this.conn.queries, ...this.counts };
  }

  private readonly run: SqlRunner = (text, values) => this.conn.query(text, values);

  private assertJoined(): void {
    if (this.state === 'init' || this.state === 'left') throw new FleetLeftError(this.state === 'init' ? 'start() the fleet first' : 'this host has left the fleet');
  }
}

function lease(c: FleetCopy): HeldLease {
  return { worker: c.worker, replica: c.replica, term: c.term };
}

/** A host's membership in the fleet in `options.schema`; call start() after pm.start(). */
export function joinFleet(pm: Postmaster, options: FleetOptions = {}): Fleet {
  return new Fleet(pm, options);
}
