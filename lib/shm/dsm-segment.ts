/**
 * DsmSegment: a dynamic shared-memory segment (dsm.c) — a further SharedArrayBuffer made at
 * run time, known by a numeric handle that can travel anywhere a number can (a worker's
 * mainArg, a queue message, a shmem cell).
 *
 * The host keeps the registry (host/dsm-registry.ts): who is attached to which segment.
 * A segment lives while anyone is attached or it is pinned; when the last user detaches an
 * unpinned segment, the registry forgets it and later attaches by that handle get null,
 * as dsm_attach does. Detaching only drops this user's claim: the buffer stays valid for
 * code that still holds it, but the host no longer hands it out. A worker's attachments are
 * dropped when it exits; a crash-restart cycle destroys every segment.
 *
 * This class is the same on both sides; `ops` is the side's way to reach the registry.
 */
export interface DsmOps {
  detach(handle: number): void;
  pin(handle: number): void;
  unpin(handle: number): void;
}

export class DsmSegment {
  private detached = false;

  constructor(readonly handle: number, readonly buffer: SharedArrayBuffer, private readonly ops: DsmOps) {}

  get size(): number {
    return this.buffer.byteLength;
  }

  /** dsm_detach: drop this user's claim; idempotent. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.ops.detach(this.handle);
  }

  /** dsm_pin_segment: keep the segment after its last user detaches. */
  pin(): void {
    this.ops.pin(this.handle);
  }

  /** dsm_unpin_segment: let it go when nobody is attached. */
  unpin(): void {
    this.ops.unpin(this.handle);
  }
}
