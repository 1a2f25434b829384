/**
 * The shared-memory segment: one SharedArrayBuffer and the typed views every primitive uses.
 *
 * The host creates it (`Segment.create`) after summing the requests (layout.ts) and writes
 * the header; every worker thread attaches to the same buffer (`Segment.attach`), which
 * checks the magic and the layout version as shm_toc_attach does, so a buffer from another
 * version or a stray SharedArrayBuffer is refused instead of misread.
 *
 * After a crash the host reinitializes the segment in place (`reinitialize`): every byte
 * is zeroed and the header rewritten, as PostgreSQL rebuilds shared memory, and every word
 * a thread could be sleeping on is notified so that sleepers re-check against the new state.
 * Every worker thread is gone by then; only host tasks can still be asleep on a lock. The
 * epoch word (H_EPOCH) is bumped before the wake-ups, so that such a task sees it was woken
 * by a reset and does not undo counts that the zeroing already erased (lwlock.ts).
 */
import { ShmBadMagicError } from '../errors.js';
import {
  H_EPOCH, H_MAGIC, H_MAIN_ARG_BYTES, H_MAX_PARALLEL_WORKERS, H_TOTAL_SLOTS, H_VERSION, LAYOUT_VERSION,
  SEGMENT_MAGIC, type SegmentLayout,
} from './layout.js';

export class Segment {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly u8: Uint8Array;

  private constructor(readonly sab: SharedArrayBuffer, readonly layout: SegmentLayout) {
    this.i32 = new Int32Array(sab);
    this.i64 = new BigInt64Array(sab);
    this.u8 = new Uint8Array(sab);
  }

  static create(layout: SegmentLayout, maxParallelWorkers: number): Segment {
    const seg = new Segment(new SharedArrayBuffer(layout.byteLength), layout);
    seg.writeHeader(maxParallelWorkers);
    return seg;
  }

  static attach(sab: unknown, layout: SegmentLayout): Segment {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength !== layout.byteLength || sab.byteLength < 64) {
      throw new ShmBadMagicError('not a bgworker segment: wrong type or size');
    }
    const seg = new Segment(sab, layout);
    if (Atomics.load(seg.i32, H_MAGIC) !== SEGMENT_MAGIC || Atomics.load(seg.i32, H_VERSION) !== LAYOUT_VERSION) {
      throw new ShmBadMagicError(`not a bgworker segment of layout version ${LAYOUT_VERSION}: bad magic or version`);
    }
    return seg;
  }

  /** Zero everything, rewrite the header, bump the epoch, then wake every sleeper so it re-reads. */
  reinitialize(): void {
    const maxParallel = Atomics.load(this.i32, H_MAX_PARALLEL_WORKERS);
    const epoch = Atomics.load(this.i32, H_EPOCH);
    this.u8.fill(0);
    this.writeHeader(maxParallel);
    Atomics.store(this.i32, H_EPOCH, (epoch + 1) | 0);
    const { lockBase, slotBase } = this.layout;
    // Locks and proc entries (latches) are the words threads sleep on; they sit together.
    for (let i = lockBase >> 2; i < slotBase >> 2; i++) Atomics.notify(this.i32, i);
  }

  private writeHeader(maxParallelWorkers: number): void {
    Atomics.store(this.i32, H_TOTAL_SLOTS, this.layout.totalSlots);
    Atomics.store(this.i32, H_MAIN_ARG_BYTES, this.layout.mainArgBytes);
    Atomics.store(this.i32, H_MAX_PARALLEL_WORKERS, maxParallelWorkers);
    Atomics.store(this.i32, H_VERSION, LAYOUT_VERSION);
    // The magic goes last: a reader that sees it sees a complete header.
    Atomics.store(this.i32, H_MAGIC, SEGMENT_MAGIC);
  }
}
