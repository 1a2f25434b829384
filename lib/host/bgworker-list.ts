/**
 * The host half of bgworker.c: the private list of registered workers and everything the
 * postmaster does with it — BackgroundWorkerStateChange, maybe_start_bgworkers, the exit
 * bookkeeping of CleanupBackend, ForgetBackgroundWorker, ReportBackgroundWorkerPID/Exit,
 * ForgetUnstartedBackgroundWorkers and ResetBackgroundWorkerCrashTimes.
 *
 * Rules this file keeps (docs/semantics.md §2–4):
 * - it reads the slot array lock-free and copies a slot once, when it first sees it in use;
 * - it frees a slot (S_IN_USE = 0) only after its last write to it, and notifies the
 *   registrant only after freeing, so a registrant that sees STOPPED and registers again
 *   finds the slot free;
 * - the list is LIFO (newest first), as PostgreSQL's, and launches walk it from the head;
 * - a registration newly seen while new workers are not allowed is terminated, freed and
 *   notified at once (shutdown); one terminated before the host saw it never starts.
 */
import { MAX_BGWORKERS_TO_LAUNCH, NO_NOTIFY_PID, POSTMASTER_PID } from '../constants.js';
import { H_PARALLEL_TERMINATE } from '../shm/layout.js';
import type { ProcArray } from '../shm/proc-array.js';
import type { BackgroundWorkerArray } from '../shm/slot-array.js';
import { BGWORKER_CLASS_PARALLEL, type BgWorkerStartTime, type Logger } from '../types.js';
import type { CheckedRegistration } from '../bgworker/sanity.js';
import { countsForRestartBrake, type ExitStatus } from './exit-status.js';
import type { PmChildren } from './pm-child.js';
import { RegisteredBgWorker } from './registered-worker.js';
import type { RestartIntensity } from './restart-intensity.js';
import type { SlotWatchers } from './slot-watchers.js';

/** What the list needs of the rest of the host: the live children, the handle watchers, an observer. */
export interface ListHost {
  log: Logger;
  /** The live children (pm-child.ts): launch a thread, find one by pid, SIGTERM one. */
  children: Pick<PmChildren, 'launch' | 'byPid' | 'sigterm'>;
  /** The host-side handles, woken on every change of their slot. */
  watchers: SlotWatchers;
  /** A record was added, launched, removed, or refused a relaunch by the brake. */
  changed(rw: RegisteredBgWorker, change: ListChange): void;
}

export type ListChange = 'registered' | 'started' | 'unregistered' | 'failed';

export class BgWorkerList {
  /** Newest first. */
  private list: RegisteredBgWorker[] = [];
  private readonly bySlot = new Map<number, RegisteredBgWorker>();

  constructor(
    private readonly array: BackgroundWorkerArray,
    private readonly procs: ProcArray,
    private readonly intensity: RestartIntensity,
    private readonly host: ListHost,
  ) {}

  all(): readonly RegisteredBgWorker[] {
    return this.list;
  }

  get(slot: number): RegisteredBgWorker | undefined {
    return this.bySlot.get(slot);
  }

  add(rw: RegisteredBgWorker): void {
    this.list.unshift(rw);
    this.bySlot.set(rw.slot, rw);
    this.host.changed(rw, 'registered');
  }

  /** RegisterBackgroundWorker's records, copied into the first slots at start. */
  addStatics(statics: readonly CheckedRegistration[]): void {
    statics.forEach((reg, slot) => {
      this.array.fill(slot, reg.entry, reg.mainArg, -1);
      this.array.publish(slot);
      this.add(new RegisteredBgWorker(slot, 0n, reg.entry, reg.mainArg, false, reg.entry.notifyPid));
    });
  }

  /** BackgroundWorkerStateChange: scan every slot for new registrations and terminate flags. */
  stateChange(allowNew: boolean): boolean {
    const array = this.array;
    let startNeeded = false;
    for (let n = 0; n < array.total; n++) {
      if (!array.inUse(n)) continue;
      const rw = this.bySlot.get(n);
      if (rw) {
        if (array.terminate(n) && !rw.terminate) this.terminateKnown(rw);
        continue;
      }
      if (!allowNew) array.setTerminate(n);
      const copy = array.copyOut(n);
      if (array.terminate(n)) {
        // Terminated before we ever saw it: it never starts.
        array.setPid(n, 0);
        this.freeSlot(n, copy.entry.flags);
        this.notify(copy.entry.notifyPid, n);
        continue;
      }
      let notifyPid = copy.entry.notifyPid;
      if (notifyPid !== NO_NOTIFY_PID && notifyPid !== POSTMASTER_PID && !this.host.children.byPid(notifyPid)) {
        this.host.log.debug({ slot: n }, `worker notification PID ${notifyPid} is not valid`);
        notifyPid = NO_NOTIFY_PID;
      }
      this.host.log.debug({ slot: n }, `registering background worker "${copy.entry.name}"`);
      this.add(new RegisteredBgWorker(n, array.generation(n), copy.entry, copy.mainArg, true, notifyPid));
      startNeeded = true;
    }
    return startNeeded;
  }

  /** The terminate flag of a known worker, newly seen. */
  private terminateKnown(rw: RegisteredBgWorker): void {
    rw.terminate = true;
    if (rw.pid !== 0) return this.host.children.sigterm(rw, 'terminated');
    this.array.setPid(rw.slot, 0);
    this.notify(rw.notifyPid, rw.slot);
  }

  /**
   * maybe_start_bgworkers: one launch pass over the workers whose start time the host's
   * phase allows. Returns whether another pass is needed at once (launch limit or launch
   * failure) and when the earliest pending restart is due.
   */
  launchPass(now: number, shouldStartNow: (t: BgWorkerStartTime) => boolean): { startNeeded: boolean; nextRestartAt: number } {
    let launched = 0;
    let nextRestartAt = Infinity;
    for (const rw of [...this.list]) {
      if (rw.pid !== 0) continue;
      if (rw.terminate) {
        this.forget(rw);
        continue;
      }
      if (rw.failed) continue;
      if (rw.crashedAt !== 0) {
        if (rw.neverRestart) {
          this.forget(rw);
          this.notify(rw.notifyPid, rw.slot);
          continue;
        }
        const due = rw.crashedAt + this.restartDelayMs(rw, now);
        if (now < due) {
          nextRestartAt = Math.min(nextRestartAt, due);
          continue;
        }
      }
      if (!shouldStartNow(rw.entry.startTime)) continue;
      if (rw.launches > 0 && this.countsForBrake(rw) && !this.intensity.admit(rw, now)) {
        rw.failed = true;
        this.host.changed(rw, 'failed');
        this.notify(rw.notifyPid, rw.slot);
        continue;
      }
      rw.crashedAt = 0;
      if (!this.host.children.launch(rw)) {
        rw.crashedAt = now;
        return { startNeeded: true, nextRestartAt };
      }
      this.host.changed(rw, 'started');
      this.notify(rw.notifyPid, rw.slot);
      if (++launched >= MAX_BGWORKERS_TO_LAUNCH) return { startNeeded: true, nextRestartAt };
    }
    return { startNeeded: false, nextRestartAt };
  }

  /** bgw_restart_time, or longer while the worker backs off (restart-intensity.ts). */
  private restartDelayMs(rw: RegisteredBgWorker, now: number): number {
    const backoff = rw.outageExits > 0
      ? (rw.outageDelayMs ??= this.intensity.outageBackoffMs(rw.outageExits))
      : this.countsForBrake(rw) ? this.intensity.backoffMs(rw, now) : 0;
    return Math.max(rw.entry.restartTime * 1000, backoff);
  }

  private countsForBrake(rw: RegisteredBgWorker): boolean {
    return rw.outageExits === 0 && countsForRestartBrake(rw.lastExit);
  }

  /**
   * CleanupBackend for an orderly exit, or a crash that restarts only this worker: `status`
   * as exit-status.ts classified it. Returns whether a restart is pending.
   */
  reportExit(rw: RegisteredBgWorker, status: ExitStatus, now: number): boolean {
    this.array.setPid(rw.slot, 0);
    rw.outageExits = this.intensity.nextOutageCount(rw.outageExits, status.outage, now - (rw.startedAt?.getTime() ?? now));
    rw.outageDelayMs = null;
    if (status.effective === 0) {
      rw.terminate = true;
      rw.crashedAt = 0;
    } else {
      rw.crashedAt = now;
    }
    if (rw.terminate || rw.neverRestart) {
      this.forget(rw);
      this.notify(rw.notifyPid, rw.slot);
      return false;
    }
    this.notify(rw.notifyPid, rw.slot);
    return true;
  }

  /**
   * Give failed workers another chance (pm.resetFailed): their relaunch count is forgotten
   * and they are launched at the next pass. Returns how many were reset.
   */
  resetFailed(match: (rw: RegisteredBgWorker) => boolean): number {
    let n = 0;
    for (const rw of this.list) {
      if (!rw.failed || !match(rw)) continue;
      rw.failed = false;
      rw.crashedAt = 0;
      this.intensity.forget(rw);
      this.notify(rw.notifyPid, rw.slot);
      n++;
    }
    return n;
  }

  /** A thread that asked for notifications exited: never signal its (stale) pid again. */
  clearNotifyPid(pid: number): void {
    for (const rw of this.list) if (rw.notifyPid === pid) rw.notifyPid = NO_NOTIFY_PID;
  }

  /** ForgetUnstartedBackgroundWorkers: at fast shutdown, release waiters of workers that never ran. */
  forgetUnstartedWithWaiters(): void {
    for (const rw of [...this.list]) {
      if (rw.pid === 0 && rw.launches === 0 && rw.notifyPid !== NO_NOTIFY_PID) {
        this.forget(rw);
        this.notify(rw.notifyPid, rw.slot);
      }
    }
  }

  /**
   * ResetBackgroundWorkerCrashTimes, after every thread of a crashed generation is gone:
   * never-restart workers are forgotten (their host-side waiters are told); the rest will
   * be launched at once. Worker registrants died in the crash, so only the host stays a
   * notify target.
   */
  resetCrashTimes(): void {
    for (const rw of [...this.list]) {
      if (rw.neverRestart) {
        this.forget(rw);
        continue;
      }
      rw.crashedAt = 0;
      rw.pid = 0;
      if (rw.notifyPid !== POSTMASTER_PID) rw.notifyPid = NO_NOTIFY_PID;
    }
  }

  /**
   * Write every surviving record back into its slot of a freshly zeroed segment, with its
   * own generation, so that handles the host holds stay valid across the crash cycle.
   */
  rebuildSlots(): void {
    const array = this.array;
    for (const rw of this.list) {
      array.fill(rw.slot, { ...rw.entry, notifyPid: rw.notifyPid }, rw.mainArg, -1);
      array.setGeneration(rw.slot, rw.generation);
      array.publish(rw.slot);
    }
  }

  /** ForgetBackgroundWorker: drop the record and hand the slot back to the registrants. */
  forget(rw: RegisteredBgWorker): void {
    this.list = this.list.filter((r) => r !== rw);
    this.bySlot.delete(rw.slot);
    this.host.log.debug({ slot: rw.slot }, `unregistering background worker "${rw.entry.name}"`);
    this.freeSlot(rw.slot, rw.entry.flags);
    this.host.watchers.notify(rw.slot);
    this.host.changed(rw, 'unregistered');
  }

  private freeSlot(slot: number, flags: number): void {
    if (flags & BGWORKER_CLASS_PARALLEL) Atomics.add(this.array.seg.i32, H_PARALLEL_TERMINATE, 1);
    this.array.free(slot);
  }

  /**
   * Tell a registrant that a slot changed: a worker registrant through its latch. The
   * host's handles are woken on every change whatever notifyPid says, so a host-side wait
   * never hangs for want of a notification (docs/semantics.md §8.1).
   */
  notify(pid: number, slot: number): void {
    this.host.watchers.notify(slot);
    if (pid === NO_NOTIFY_PID || pid === POSTMASTER_PID) return;
    const child = this.host.children.byPid(pid);
    if (child) this.procs.latch(child.slot).set();
  }
}
