/**
 * MyProc and MyBgworkerEntry: what this thread is, once the host has launched a worker in it.
 *
 * A bgworker thread attaches the segment when it starts as a spare; `setMyProc` runs once,
 * when the host hands it a slot. Everything else on the worker side reads through here.
 * A worker registered without BGWORKER_SHMEM_ACCESS gets its own latch and interrupt bits
 * and nothing else: `sharedState()` refuses, so such a worker cannot touch shared state
 * and its crash cannot corrupt it.
 */
import { NoShmemAccessError, NotInWorkerError } from '../errors.js';
import type { PmSignal } from '../shm/pm-signal.js';
import type { ProcArray } from '../shm/proc-array.js';
import type { Segment } from '../shm/segment.js';
import { ShmemDirectory } from '../shm/shmem-struct.js';
import { BackgroundWorkerArray } from '../shm/slot-array.js';
import { LWLock } from '../shm/lwlock.js';
import { lockIndex } from '../shm/layout.js';
import type { Latch } from '../shm/latch.js';
import type { DatabaseSettings } from '../pg/connect.js';
import { BGWORKER_SHMEM_ACCESS, type BackgroundWorkerEntry } from '../types.js';

export interface MyProc {
  slot: number;
  entry: BackgroundWorkerEntry;
  /** The host's database settings, defaults for initializeConnection(). */
  database: DatabaseSettings;
  seg: Segment;
  procs: ProcArray;
  /** Raising reasons for the host's attention, and reading whether it is gone. */
  pmSignal: PmSignal;
  latch: Latch;
}

export interface SharedState {
  array: BackgroundWorkerArray;
  bgwLock: LWLock;
  directory: ShmemDirectory;
}

let myProc: MyProc | null = null;
let shared: SharedState | null = null;

export function setMyProc(p: MyProc): void {
  myProc = p;
  shared = null;
}

export function getMyProc(): MyProc {
  if (!myProc) throw new NotInWorkerError('this is not a running bgworker thread; the worker API is only available inside a worker entry');
  return myProc;
}

export function hasMyProc(): boolean {
  return myProc !== null;
}

/** The segment's shared structures, for workers with BGWORKER_SHMEM_ACCESS. */
export function sharedState(what: string): SharedState {
  const p = getMyProc();
  if (!(p.entry.flags & BGWORKER_SHMEM_ACCESS)) {
    throw new NoShmemAccessError(`${what} needs shared memory: register "${p.entry.name}" with BGWORKER_SHMEM_ACCESS`);
  }
  shared ??= {
    array: new BackgroundWorkerArray(p.seg),
    bgwLock: new LWLock(p.seg.i32, lockIndex(p.seg.layout, 0), 'BackgroundWorkerLock'),
    directory: new ShmemDirectory(p.seg, LWLock),
  };
  return shared;
}
