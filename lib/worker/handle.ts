/**
 * BackgroundWorkerHandle as a worker sees it: a {slot, generation} pair with
 * GetBackgroundWorkerPid, WaitForBackgroundWorkerStartup/Shutdown and
 * TerminateBackgroundWorker, all through the shared slot array.
 *
 * Status reads take BackgroundWorkerLock shared, terminate takes it exclusive, as in
 * bgworker.c. The waits are Pattern B loops (docs/semantics.md §5.3) on this worker's own latch, which the host sets
 * when it notifies this worker (bgw_notify_pid defaults to the registrant). Because the
 * latch is the worker's only latch and other code may be waiting on it too, a wait that
 * consumed a wake-up sets the latch again on its way out: a spurious wake-up is always
 * allowed, a lost one never.
 */
import { checkHandleData } from '../bgworker/handle-data.js';
import { markTerminate, readStatus, type PidStatus } from '../bgworker/registration.js';
import { PMSIGNAL_BACKGROUND_WORKER_CHANGE } from '../shm/pm-signal.js';
import { BgwHandleStatus } from '../types.js';
import { getMyProc, sharedState } from './my-proc.js';
import { WL_LATCH_SET, WL_POSTMASTER_DEATH, waitLatchAsync } from './wait-latch.js';

export class WorkerBackgroundWorkerHandle {
  constructor(readonly slot: number, readonly generation: bigint) {}

  /** A handle from its plain form, checked as ctx.handle() checks it. */
  static from(data: { slot: number; generation: bigint | string }): WorkerBackgroundWorkerHandle {
    const { slot, generation } = checkHandleData(data, getMyProc().seg.layout.totalSlots);
    return new WorkerBackgroundWorkerHandle(slot, generation);
  }

  /** GetBackgroundWorkerPid: never blocks on the worker, never reports host death. */
  status(): PidStatus {
    const { array, bgwLock } = sharedState('a worker handle');
    return bgwLock.with('shared', () => readStatus(array, this));
  }

  /**
   * SetLatch(&proc->procLatch) of the worker this handle names. A stale handle sets
   * nothing; one that goes stale between the check and the set costs its new owner a
   * spurious wake-up at most, which every latch loop allows.
   */
  setLatch(): void {
    if (this.status().status === BgwHandleStatus.Started) getMyProc().procs.latch(this.slot).set();
  }

  /** TerminateBackgroundWorker: idempotent; a stale handle has no effect. */
  terminate(): void {
    const { array, bgwLock } = sharedState('a worker handle');
    if (bgwLock.with('exclusive', () => markTerminate(array, this))) getMyProc().pmSignal.raise(PMSIGNAL_BACKGROUND_WORKER_CHANGE);
  }

  /** Resolves 'started' (with pid), 'stopped' or 'postmaster_died'; never 'not_yet_started'. */
  waitForStartup(): Promise<PidStatus> {
    return this.waitUntil((s) => s.status !== BgwHandleStatus.NotYetStarted);
  }

  /** Resolves 'stopped' or 'postmaster_died'. */
  waitForShutdown(): Promise<PidStatus> {
    return this.waitUntil((s) => s.status === BgwHandleStatus.Stopped);
  }

  toJSON(): { slot: number; generation: string } {
    return { slot: this.slot, generation: String(this.generation) };
  }

  private async waitUntil(done: (s: PidStatus) => boolean): Promise<PidStatus> {
    const latch = getMyProc().latch;
    let consumed = false;
    try {
      for (;;) {
        const s = this.status();
        if (done(s)) return s;
        const r = await waitLatchAsync(WL_LATCH_SET | WL_POSTMASTER_DEATH);
        if (r & WL_POSTMASTER_DEATH) return { status: BgwHandleStatus.PostmasterDied, pid: null };
        latch.reset();
        consumed = true;
      }
    } finally {
      if (consumed) latch.set();
    }
  }
}
