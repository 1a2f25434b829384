/**
 * Named regions of the segment (ShmemInitStruct) and named LWLocks (RequestNamedLWLockTranche).
 *
 * The host asks for them by name and size before start; every thread with shared-memory
 * access then finds the same bytes by the same name. A region is a window on the segment,
 * REGION_ALIGN-aligned, with typed views ready for Atomics. Regions start zeroed, and again
 * after a crash-restart; the host's `init` callback for a region runs each time. Each side
 * makes its own kind of lock object: workers LWLock, the host AsyncLWLock (lwlock.ts).
 */
import { UnknownShmemError } from '../errors.js';
import { lockIndex, type SegmentLayout } from './layout.js';
import type { LWLock } from './lwlock.js';
import type { Segment } from './segment.js';

export class ShmemStruct {
  readonly uint8: Uint8Array;
  readonly int32: Int32Array;
  readonly float64: Float64Array;
  readonly bigInt64: BigInt64Array;

  constructor(readonly name: string, readonly buffer: SharedArrayBuffer, readonly byteOffset: number, readonly byteLength: number) {
    this.uint8 = new Uint8Array(buffer, byteOffset, byteLength);
    this.int32 = new Int32Array(buffer, byteOffset, byteLength >> 2);
    this.float64 = new Float64Array(buffer, byteOffset, byteLength >> 3);
    this.bigInt64 = new BigInt64Array(buffer, byteOffset, byteLength >> 3);
  }
}

/** The named things of one segment, looked up by name; `Lock` is this thread's kind of lock object. */
export class ShmemDirectory<L extends LWLock = LWLock> {
  private readonly regions = new Map<string, ShmemStruct>();
  private readonly locks = new Map<string, L>();

  constructor(seg: Segment, Lock: new (i32: Int32Array, index: number, name: string) => L) {
    const layout: SegmentLayout = seg.layout;
    for (const r of layout.regions) this.regions.set(r.name, new ShmemStruct(r.name, seg.sab, r.byteOffset, r.byteLength));
    layout.lockNames.forEach((name, i) => this.locks.set(name, new Lock(seg.i32, lockIndex(layout, i + 1), name)));
  }

  region(name: string): ShmemStruct {
    const r = this.regions.get(name);
    if (!r) throw new UnknownShmemError(`no shared-memory region "${name}": request it in the host's "shmem" option`);
    return r;
  }

  lock(name: string): L {
    const l = this.locks.get(name);
    if (!l) throw new UnknownShmemError(`no lock "${name}": request it in the host's "locks" option`);
    return l;
  }

  regionNames(): string[] {
    return [...this.regions.keys()];
  }
}
