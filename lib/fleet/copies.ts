/**
 * The copies this host runs: one ordinary dynamic bgworker per lease held, in the host's
 * own slot array, named `<worker>#<replica>`, with the lease in its `extra`
 * (lease-extra.ts). Everything a bgworker has stays as it is — the host's restart policy
 * (restartTime), its restart intensity, handles, activity — and this file only follows
 * the host's public events for the copies it registered:
 *
 *   started       the copy runs; a start after the first is a restart, counted
 *   stopped       its thread ended; lastExit is kept for the lease's row
 *   failed        past the restart intensity: terminated, so that its slot is freed
 *   unregistered  its slot is free: either the fleet stopped it (stop() resolves, as it
 *                 does when the handle reports the copy stopped), or it
 *                 ended for good on its own while the lease is still held, and it is
 *                 registered again after relaunchDelayMs (or its restartTime, if longer):
 *                 a fleet worker is meant to run as long as it is declared.
 *
 * A copy is stopped with the handle's terminate(): SIGTERM in PostgreSQL's sense, so the
 * worker's ctx.signal aborts and a worker that ignores it is hard-stopped after the host's
 * terminateGraceMs. What changed since the last heartbeat is handed to fleet.ts as reports.
 */
import { EventEmitter } from 'node:events';
import type { BackgroundWorkerHandle } from '../host/handle.js';
import type { Postmaster, PostmasterEvents } from '../host/postmaster.js';
import type { ActivityRow, LastExit, Logger } from '../types.js';
import { copyRegistration } from './declaration.js';
import type { Acquired, Report } from './queries.js';
import type { CopyView } from './reconcile.js';
import { replicaKey } from './assignment.js';

export class FleetCopy implements CopyView {
  readonly key: string;
  readonly worker: string;
  readonly replica: number;
  readonly term: number;
  readonly version: number;
  readonly registration: Record<string, unknown>;
  handle: BackgroundWorkerHandle | null = null;
  /** The slot of its latest registration; the host's 'stopped' comes after 'unregistered'. */
  slot = -1;
  stopping = false;
  /** Its lease is lost: it is being stopped and is renewed no more. */
  lost = false;
  running = false;
  /** Its slot was freed while its lease is held: it is registered again at relaunchAt. */
  ended = false;
  relaunchAt = 0;
  restarts = 0;
  lastExit: LastExit | null = null;
  /** Something changed that the database has not been told yet. */
  dirty = true;
  seenRestarts = 0;
  launching: Promise<unknown> | null = null;
  /** Set once the fleet stops it to give its lease back (fleet.ts). */
  releasing: Promise<void> | null = null;
  readonly gone: Promise<void>;
  resolveGone!: () => void;

  constructor(a: Acquired) {
    this.key = replicaKey(a.worker, a.replica);
    this.worker = a.worker;
    this.replica = a.replica;
    this.term = a.term;
    this.version = a.version;
    this.registration = a.registration;
    this.gone = new Promise((res) => (this.resolveGone = res));
  }

  report(): Report {
    const r: Report = { worker: this.worker, replica: this.replica, term: this.term, running: this.running, restarts: this.restarts, version: this.version };
    if (this.lastExit) r.lastExit = this.lastExit;
    return r;
  }
}

export interface CopiesEvents {
  started: [copy: FleetCopy, pid: number | null];
  stopped: [copy: FleetCopy];
}

export type LaunchResult = 'ok' | 'no-slot' | Error;

export class LocalCopies extends EventEmitter<CopiesEvents> {
  private readonly byKey = new Map<string, FleetCopy>();
  private readonly hostListeners: Array<[keyof PostmasterEvents, (row: ActivityRow) => void]>;

  constructor(private readonly pm: Postmaster, private readonly log: Logger, private readonly relaunchDelayMs: number) {
    super();
    this.hostListeners = [
      ['started', (row) => this.onStarted(row)],
      ['stopped', (row) => this.onStopped(row)],
      ['failed', (row) => void this.match(row)?.handle?.terminate()],
      ['unregistered', (row) => this.onUnregistered(row)],
    ];
    for (const [e, fn] of this.hostListeners) pm.on(e, fn as never);
    pm.once('exit', () => this.onHostExit());
  }

  list(): FleetCopy[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): FleetCopy | undefined {
    return this.byKey.get(key);
  }

  /** A copy for a lease just taken; launch() registers it. */
  add(a: Acquired): FleetCopy {
    const c = new FleetCopy(a);
    this.byKey.set(c.key, c);
    return c;
  }

  forget(c: FleetCopy): void {
    if (this.byKey.get(c.key) === c) this.byKey.delete(c.key);
  }

  /** Register the copy with the host. */
  launch(c: FleetCopy): Promise<LaunchResult> {
    const p = this.register(c);
    c.launching = p;
    void p.finally(() => (c.launching = null));
    return p;
  }

  /**
   * Terminate the copy; resolves once its slot is free. The handle's status says so too:
   * a copy terminated before the host saw its registration is dropped without any event.
   */
  async stop(c: FleetCopy): Promise<void> {
    c.stopping = true;
    if (c.launching) await c.launching;
    const h = c.handle;
    if (!h) return c.resolveGone();
    await h.terminate();
    await Promise.race([c.gone, h.waitForShutdown()]);
    c.resolveGone();
  }

  /** Copies that ended on their own and are due to be registered again. */
  relaunchDue(now: number): FleetCopy[] {
    return this.list().filter((c) => c.ended && !c.stopping && !c.launching && now >= c.relaunchAt);
  }

  takeReports(): Report[] {
    const out: Report[] = [];
    for (const c of this.byKey.values()) {
      if (!c.dirty || c.stopping) continue;
      c.dirty = false;
      out.push(c.report());
    }
    return out;
  }

  close(): void {
    for (const [e, fn] of this.hostListeners) this.pm.off(e, fn as never);
  }

  private async register(c: FleetCopy): Promise<LaunchResult> {
    try {
      const h = await this.pm.registerDynamicBackgroundWorker(copyRegistration(c.worker, c.replica, c.term, c.registration));
      if (!h) return 'no-slot';
      c.handle = h;
      c.slot = h.slot;
      c.ended = false;
      if (c.stopping) await h.terminate();
      return 'ok';
    } catch (err) {
      return err as Error;
    }
  }

  /**
   * The copy a host event is about. The host may launch a copy, and report it, before
   * registerDynamicBackgroundWorker's answer reaches register(): a copy still registering
   * takes the slot from the event (names are unique among this host's copies).
   */
  private match(row: ActivityRow): FleetCopy | undefined {
    const c = this.byKey.get(row.name);
    if (c && c.slot === -1 && c.launching) c.slot = row.slot;
    return c && c.slot === row.slot ? c : undefined;
  }

  private onStarted(row: ActivityRow): void {
    const c = this.match(row);
    if (!c) return;
    c.running = true;
    if (row.restarts > c.seenRestarts) c.restarts += row.restarts - c.seenRestarts;
    c.seenRestarts = row.restarts;
    c.dirty = true;
    this.emit('started', c, row.pid);
  }

  private onStopped(row: ActivityRow): void {
    const c = this.match(row);
    if (!c) return;
    c.running = false;
    c.lastExit = row.lastExit;
    c.dirty = true;
    this.emit('stopped', c);
  }

  private onUnregistered(row: ActivityRow): void {
    const c = this.match(row);
    if (!c) return;
    c.handle = null;
    c.running = false;
    if (c.stopping) return c.resolveGone();
    c.slot = -1;
    const restartMs = typeof c.registration['restartTime'] === 'number' ? (c.registration['restartTime'] as number) * 1000 : -1;
    c.ended = true;
    c.relaunchAt = performance.now() + Math.max(this.relaunchDelayMs, restartMs);
    c.seenRestarts = 0;
    c.restarts++;
    c.dirty = true;
    this.log.info({ worker: c.worker, replica: c.replica }, `fleet: copy ${c.key} ended; registering it again`);
  }

  private onHostExit(): void {
    for (const c of this.byKey.values()) {
      c.handle = null;
      c.running = false;
      c.resolveGone();
    }
  }
}
