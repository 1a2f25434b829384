/**
 * RegisteredBgWorker: the host's private record of one registered worker (rw), kept apart
 * from shared memory so that the host never depends on what a crashed thread left there.
 *
 * There is exactly one record per in-use slot. `pid` is 0 when no thread runs it;
 * `crashedAt` is the host's clock when it last stopped with a non-zero exit or failed to
 * launch (0 = none); `terminate` means it will never be launched again. The rest is what
 * the activity list shows.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { NotificationSink } from '../pg/listen.js';
import type { WireError } from '../protocol/wire-error.js';
import { BGW_NEVER_RESTART } from '../constants.js';
import type { ActivityRow, BackgroundWorkerEntry, LastExit, Logger, StopRequest, WorkerState } from '../types.js';

export class RegisteredBgWorker {
  pid = 0;
  crashedAt = 0;
  terminate = false;
  worker: Worker | null = null;
  startedAt: Date | null = null;
  launches = 0;
  lastExit: LastExit | null = null;
  /** What the thread reported on its orderly exit path, or the 'error' event of a crash. */
  exitError: WireError | null = null;
  /** SIGTERM sent; a timer hard-stops the thread when its grace period ends. */
  stopTimer: NodeJS.Timeout | null = null;
  /** maxRuntimeMs: SIGTERM for `timeout` when this life reaches it. */
  deadlineTimer: NodeJS.Timeout | null = null;
  /** The thread was terminated by the host after ignoring SIGTERM/SIGQUIT. */
  hardStopped = false;
  /** The stop the host asked of this life (exit-status.ts names the exit after it). */
  stopRequest: StopRequest | null = null;
  /** Refused a relaunch by the restart-intensity brake; not launched again until reset. */
  failed = false;
  /** Consecutive exits caused by a database outage (restart-intensity.ts), and the delay drawn for the next relaunch. */
  outageExits = 0;
  outageDelayMs: number | null = null;
  /** When this life became ready (readiness.ts on the worker side), or null. */
  readyAt: Date | null = null;
  /** When the registration was first seen: the start of registration → ready. */
  readonly registeredAt = new Date();
  /** The trace context of the code that registered it (telemetry.ts), carried into each life. */
  traceCarrier: Record<string, string> | null = null;
  /** This life's child of the host's logger (pino's child), made on its first log line. */
  logger: Logger | null = null;
  /** What the worker last reported doing (pgstat_report_activity). */
  activity: string | null = null;
  /** LISTEN subscriptions: the port notifications go out on, and the listener's sink. */
  notificationPort: MessagePort | null = null;
  notificationSink: NotificationSink | null = null;

  constructor(
    readonly slot: number,
    readonly generation: bigint,
    readonly entry: BackgroundWorkerEntry,
    readonly mainArg: Uint8Array,
    readonly dynamic: boolean,
    public notifyPid: number,
  ) {}

  /** A thread was launched for this worker: a new life begins. */
  startLife(worker: Worker): void {
    this.pid = worker.threadId;
    this.worker = worker;
    this.startedAt = new Date();
    this.launches++;
    this.hardStopped = false;
    this.stopRequest = null;
    this.exitError = null;
    this.readyAt = null;
    this.logger = null;
  }

  /** Its thread was reaped. */
  endLife(lastExit: LastExit): void {
    this.stopTimer = null;
    this.deadlineTimer = null;
    this.pid = 0;
    this.worker = null;
    this.lastExit = lastExit;
  }

  get neverRestart(): boolean {
    return this.entry.restartTime === BGW_NEVER_RESTART;
  }

  state(hostStopping = false): WorkerState {
    if (this.pid !== 0) return this.stopTimer ? 'stopping' : 'running';
    if (this.terminate) return 'terminated';
    if (this.failed) return 'failed';
    if (hostStopping) return 'stopped';
    if (this.crashedAt !== 0) return 'waiting_restart';
    return 'not_yet_started';
  }

  row(hostStopping = false): ActivityRow {
    return {
      slot: this.slot,
      name: this.entry.name,
      type: this.entry.type,
      dynamic: this.dynamic,
      state: this.state(hostStopping),
      pid: this.pid === 0 ? null : this.pid,
      startedAt: this.pid === 0 ? null : this.startedAt,
      readyAt: this.pid === 0 ? null : this.readyAt,
      activity: this.pid === 0 ? null : this.activity,
      restarts: Math.max(0, this.launches - 1),
      lastExit: this.lastExit,
    };
  }
}
