/**
 * The host's main shared-memory segment (ipci.c's CreateSharedMemoryAndSemaphores): sized
 * once from the options (layout.ts adds the parts up), created at start, rebuilt in place at
 * the end of a crash-restart cycle, with the user's region `init` callbacks run after each
 * (re)initialization, before any worker of that generation can start.
 *
 * It also answers what the host reads from the segment on behalf of its API: named regions
 * and locks, and the wait statistics that sleepers count there. Reads are lock-free; the
 * host never takes an LWLock to look (postmaster.c's rule: the supervisor keeps away from
 * shared state it does not own).
 *
 * Host thread only.
 */
import { H_USABLE_SLOTS, LWLOCK_WAIT_BOUNDS_US, lockIndex } from '../shm/layout.js';
import { AsyncLWLock } from '../shm/lwlock.js';
import { PmSignal } from '../shm/pm-signal.js';
import { ProcArray } from '../shm/proc-array.js';
import { Segment } from '../shm/segment.js';
import { ShmemDirectory, type ShmemStruct } from '../shm/shmem-struct.js';
import { ShmemInitFailedError } from '../errors.js';
import { segmentLayout, type ResolvedOptions } from './pm-options.js';

export interface WaitStats {
  latchWaits: number;
  locks: Array<{ name: string; waits: number; totalMs: number; buckets: number[] }>;
  /** Upper bounds (µs) of the buckets; one more bucket takes everything longer. */
  boundsUs: number[];
}

export class SharedMemory {
  readonly seg: Segment;
  readonly procs: ProcArray;
  readonly pmSignal: PmSignal;
  readonly bgwLock: AsyncLWLock;
  private readonly directory: ShmemDirectory<AsyncLWLock>;

  constructor(private readonly opts: ResolvedOptions) {
    const layout = segmentLayout(opts);
    this.seg = Segment.create(layout, opts.maxParallelWorkers);
    this.procs = new ProcArray(this.seg);
    this.pmSignal = new PmSignal(this.procs);
    this.directory = new ShmemDirectory(this.seg, AsyncLWLock);
    this.bgwLock = new AsyncLWLock(this.seg.i32, lockIndex(layout, 0), 'BackgroundWorkerLock');
    this.usable = opts.maxWorkerProcesses;
    this.runInits();
  }

  /**
   * How many of the reserved slots registrants may claim (H_USABLE_SLOTS). The host writes
   * it under the exclusive BackgroundWorkerLock (postmaster.ts), so a registrant's claim
   * sees one value from start to end.
   */
  get usable(): number {
    return Atomics.load(this.seg.i32, H_USABLE_SLOTS);
  }

  set usable(n: number) {
    Atomics.store(this.seg.i32, H_USABLE_SLOTS, n);
  }

  /** The end of a crash cycle: zero everything, rewrite the header, run the inits again. */
  reinitialize(): void {
    const usable = this.usable;
    this.seg.reinitialize();
    this.usable = usable;
    this.runInits();
  }

  region(name: string): ShmemStruct {
    return this.directory.region(name);
  }

  lock(name: string): AsyncLWLock {
    return this.directory.lock(name);
  }

  /**
   * Latch sleeps of all workers, and per LWLock (BackgroundWorkerLock and the named ones)
   * the sleeps, time asleep and a histogram over LWLOCK_WAIT_BOUNDS_US, since the segment
   * was last initialized.
   */
  waitStats(): WaitStats {
    let latchWaits = 0;
    for (let slot = 0; slot < this.opts.reservedWorkerProcesses; slot++) latchWaits += this.procs.latchWaits(slot);
    const locks = [this.bgwLock, ...this.opts.locks.map((n) => this.directory.lock(n))].map((l) => ({ name: l.name, ...l.waitStats() }));
    return { latchWaits, locks, boundsUs: [...LWLOCK_WAIT_BOUNDS_US] };
  }

  /** The user's init callbacks; the first that throws stops the run (BGW_ERR_SHMEM_INIT_FAILED). */
  private runInits(): void {
    for (const [name, req] of this.opts.shmem) {
      if (typeof req !== 'object' || !req.init) continue;
      try {
        req.init(this.directory.region(name));
      } catch (cause) {
        const why = cause instanceof Error ? cause.message : String(cause);
        throw new ShmemInitFailedError(`the init callback of shmem region "${name}" threw: ${why}; fix it, the host cannot run without its shared memory`, { cause });
      }
    }
  }
}
