/**
 * One run of a schedule: an ordinary dynamic bgworker, from its tick to its exit.
 *
 * The run registers its worker (BGW_NEVER_RESTART; the schedule's maxRuntimeMs as the
 * registration's deadline) through the slot queue, so that a full slot array delays it
 * rather than dropping it (slot-queue.ts). From then on its handle tells it when the
 * worker was launched ('started') and became ready ('ready'), and the host's 'stopped'
 * event for its slot tells how it ended: the scheduler routes each 'stopped' row to the run
 * holding that slot (scheduler.ts). A slot is held by one registration from its claim until
 * the host forgets it, and the row comes from the host's own record, so the slot alone
 * names the run. A registration that the host dropped before it ever launched (a shutdown)
 * has no 'stopped' row: its handle's 'stopped' comes alone, and a turn later the run ends
 * cancelled.
 *
 * Exit kinds map to statuses (job-stats.ts): normal → success; timeout → timeout; error,
 * crash, hard_stop → failed; terminated, shutdown, immediate, crash_restart → cancelled.
 */
import { BGW_NEVER_RESTART } from '../constants.js';
import type { BackgroundWorkerHandle } from '../host/handle.js';
import type { ActivityRow, BackgroundWorker, ExitKind } from '../types.js';
import type { FinalStatus, RunRecord } from './job-stats.js';
import type { SlotQueue, SlotWait } from './slot-queue.js';

const STATUS: Record<ExitKind, FinalStatus> = {
  normal: 'success',
  timeout: 'timeout',
  error: 'failed',
  crash: 'failed',
  hard_stop: 'failed',
  terminated: 'cancelled',
  shutdown: 'cancelled',
  immediate: 'cancelled',
  crash_restart: 'cancelled',
};

/** What a run needs of its scheduler. */
export interface RunHost {
  slots: SlotQueue;
  /** Route the host's 'stopped' rows for `slot` to `run` until it returns. */
  watchSlot(slot: number, run: ScheduledRun): () => void;
}

export interface RunEvents {
  delayed(): void;
  launched(): void;
}

export class ScheduledRun {
  private handle: BackgroundWorkerHandle | null = null;
  private wait: SlotWait | null = null;
  private unwatch: () => void = () => {};
  private ended = false;
  private cancelRequested = false;
  private resolveDone!: (r: RunRecord) => void;
  /** Resolves with the record once the run has its final status. */
  readonly done = new Promise<RunRecord>((res) => (this.resolveDone = res));

  constructor(
    private readonly host: RunHost,
    private readonly worker: BackgroundWorker,
    readonly record: RunRecord,
    private readonly events: RunEvents,
  ) {}

  /** The registration of a run: never restarted, with the schedule's max run time. */
  static registration(base: Omit<BackgroundWorker, 'name'>, name: string, maxRuntimeMs: number): BackgroundWorker {
    const w: BackgroundWorker = { type: name.slice(0, name.lastIndexOf(' @ ')), ...base, name, restartTime: BGW_NEVER_RESTART };
    if (maxRuntimeMs > 0) w.maxRuntimeMs = maxRuntimeMs;
    return w;
  }

  start(): Promise<RunRecord> {
    this.wait = this.host.slots.acquire(this.worker, () => {
      this.record.slotDelayed = true;
      this.events.delayed();
    });
    this.wait.handle.then((h) => this.registered(h), (err: unknown) => this.end('failed', { error: err instanceof Error ? err.message : String(err) }));
    return this.done;
  }

  /** Stop the run: a wait for a slot is given up, a running worker is terminated (status cancelled). */
  cancel(): void {
    this.cancelRequested = true;
    this.wait?.cancel();
    void this.handle?.terminate();
  }

  /** The host's 'stopped' row for this run's slot. */
  exited(row: ActivityRow): void {
    const exit = row.lastExit;
    if (!exit) return this.end('cancelled', { error: 'stopped without an exit' });
    this.end(STATUS[exit.kind], { exitKind: exit.kind, ...(exit.error ? { error: exit.error.message } : {}) });
  }

  private registered(h: BackgroundWorkerHandle | null): void {
    if (!h) return this.end('cancelled', { error: 'cancelled while waiting for a slot' });
    this.handle = h;
    this.record.slot = h.slot;
    this.unwatch = this.host.watchSlot(h.slot, this);
    h.on('started', (pid) => {
      this.record.pid = pid;
      this.record.launchedAt = new Date();
      this.events.launched();
    });
    h.on('ready', () => void (this.record.readyAt ??= new Date()));
    h.once('stopped', () => setImmediate(() => this.end('cancelled', { error: 'stopped before it was launched' })));
    if (this.cancelRequested) void h.terminate();
  }

  private end(status: FinalStatus, detail: { exitKind?: ExitKind; error?: string }): void {
    if (this.ended) return;
    this.ended = true;
    this.unwatch();
    this.handle?.removeAllListeners();
    const r = this.record;
    r.status = status;
    r.finishedAt = new Date();
    r.durationMs = r.launchedAt ? r.finishedAt.getTime() - r.launchedAt.getTime() : null;
    if (detail.exitKind) r.exitKind = detail.exitKind;
    if (detail.error !== undefined) r.error = detail.error;
    this.resolveDone(r);
  }
}
