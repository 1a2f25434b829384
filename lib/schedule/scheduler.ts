/**
 * The scheduler of one host: its schedules by name, the slot queue their runs share, the
 * routing of the host's 'stopped' rows to the runs holding those slots, and one fleet store
 * per schema (fleet-store.ts). The Postmaster makes it on the first pm.schedule() and
 * hands it the host's rules (terminateGraceMs, the registration check) and logger; it
 * talks to the host through the host's public API only.
 *
 * Names are unique per host: a name is taken as soon as schedule() is called, before any
 * database round trip, so two calls with one name cannot both succeed. Once the host starts
 * to shut down every schedule stops (no more ticks; runs waiting for a slot are given
 * up; running ones are stopped by the host and end cancelled), and at its exit the fleet
 * stores are closed after the outcomes in flight are written.
 *
 * What is lost on restart: everything of a host-scope schedule — its statistics, its
 * history, and its last tick, so its misfire rule has nothing to go on after a restart and
 * it starts from the next tick (a service declares its schedules again at start). A fleet
 * schedule's statistics and runs are in the database, and its last tick is read from there,
 * so ticks missed while every host was down are caught up (or skipped) by the misfire rule.
 */
import { ScheduleExistsError } from '../errors.js';
import type { PmState, Postmaster } from '../host/postmaster.js';
import type { ActivityRow, Logger } from '../types.js';
import { FleetStore } from './fleet-store.js';
import type { ScheduledRun } from './run.js';
import { ScheduledWorker, type ScheduleContext } from './scheduled-worker.js';
import { checkSchedule, type ScheduleHostRules, type ScheduleSpec } from './spec.js';
import { SlotQueue } from './slot-queue.js';

const STOPPING: ReadonlySet<PmState> = new Set(['stop_backends', 'wait_backends', 'stopped', 'dead']);

export class Scheduler {
  private readonly schedules = new Map<string, ScheduledWorker | null>();
  private readonly bySlot = new Map<number, ScheduledRun>();
  private readonly stores = new Map<string, Promise<FleetStore>>();
  private readonly slots: SlotQueue;
  private readonly ctx: ScheduleContext;
  private stopped = false;

  constructor(private readonly pm: Postmaster, rules: ScheduleHostRules, private readonly log: Logger, report: (err: unknown, where: string) => void) {
    this.slots = new SlotQueue(pm);
    this.ctx = {
      rules,
      log,
      report,
      slots: this.slots,
      watchSlot: (slot, run) => {
        this.bySlot.set(slot, run);
        return () => {
          if (this.bySlot.get(slot) === run) this.bySlot.delete(slot);
        };
      },
      forget: (w) => {
        if (this.schedules.get(w.name) === w) this.schedules.delete(w.name);
      },
    };
    pm.on('stopped', (row: ActivityRow) => this.bySlot.get(row.slot)?.exited(row));
    pm.on('phase', (state) => {
      if (STOPPING.has(state)) this.stop();
    });
    pm.once('exit', () => void this.close());
  }

  /** Declare a schedule (see ScheduleSpec); a fleet schedule first connects to its schema. */
  async add(spec: ScheduleSpec): Promise<ScheduledWorker> {
    const cfg = checkSchedule(spec, this.ctx.rules);
    if (this.schedules.has(cfg.name)) throw new ScheduleExistsError(`a schedule named "${cfg.name}" is already declared on this host`);
    this.schedules.set(cfg.name, null);
    try {
      let store: FleetStore | null = null;
      let lastTick: number | null = null;
      if (cfg.fleetSchema !== null) {
        store = await this.store(cfg.fleetSchema);
        lastTick = await store.lastTick(cfg.name);
      }
      const w = new ScheduledWorker(this.ctx, cfg, store, lastTick);
      if (this.stopped) w.stop();
      this.schedules.set(cfg.name, w);
      this.log.info({ schedule: cfg.name, fleet: cfg.fleetSchema }, `schedule "${cfg.name}" declared${cfg.fleetSchema ? ` fleet-wide in schema ${cfg.fleetSchema}` : ''}`);
      return w;
    } catch (err) {
      this.schedules.delete(cfg.name);
      throw err;
    }
  }

  /** Every schedule declared on this host, by name. */
  list(): ScheduledWorker[] {
    return [...this.schedules.values()].filter((w): w is ScheduledWorker => w !== null).sort((a, b) => a.name.localeCompare(b.name));
  }

  private store(schema: string): Promise<FleetStore> {
    let s = this.stores.get(schema);
    if (!s) {
      s = FleetStore.open(schema, this.pm.notifications.config, this.log);
      s.catch(() => this.stores.delete(schema));
      this.stores.set(schema, s);
    }
    return s;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.list()) w.stop();
    this.slots.cancelAll();
  }

  private async close(): Promise<void> {
    this.stop();
    this.slots.close();
    // The runs the shutdown stopped have ended by now ('stopped' comes before 'exit'); their outcomes are queued.
    await new Promise((res) => setImmediate(res));
    for (const s of this.stores.values()) await s.then((store) => store.close(), () => undefined);
  }
}
