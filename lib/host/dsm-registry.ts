/**
 * The host's registry of dynamic shared-memory segments: handle → buffer, who is attached,
 * and whether it is pinned. Only the host thread touches it; workers ask by message.
 *
 * Users are the host itself (POSTMASTER_PID, through hostCreate/hostAttach, which give it
 * DsmSegment objects of its own) and worker threads (by pid, through the requests their
 * threads send: host/worker-requests.ts). A user may attach
 * more than once; each attach is one claim and each detach drops one. When no claim is left
 * and the segment is not pinned, it is forgotten. Handles are never reused within a host's
 * life, so a stale handle finds nothing rather than somebody else's memory.
 */
import { POSTMASTER_PID } from '../constants.js';
import { DsmInvalidSizeError } from '../errors.js';
import { DsmSegment, type DsmOps } from '../shm/dsm-segment.js';

interface Entry {
  buffer: SharedArrayBuffer;
  claims: Map<number, number>;
  pinned: boolean;
}

/** The largest segment one request may ask for (2 GiB - 1, the SharedArrayBuffer limit on 64-bit Node). */
export const MAX_DSM_BYTES = 2 ** 31 - 1;

export class DsmRegistry {
  private readonly segments = new Map<number, Entry>();
  private nextHandle = 1;
  private readonly hostOps: DsmOps = {
    detach: (h) => this.detach(h, POSTMASTER_PID),
    pin: (h) => this.pin(h, true),
    unpin: (h) => this.pin(h, false),
  };

  /** dsm_create for the host thread itself. */
  hostCreate(size: number): DsmSegment {
    const { handle, buffer } = this.create(size, POSTMASTER_PID);
    return new DsmSegment(handle, buffer, this.hostOps);
  }

  /** dsm_attach for the host thread itself: null if the segment no longer exists. */
  hostAttach(handle: number): DsmSegment | null {
    const buffer = this.attach(handle, POSTMASTER_PID);
    return buffer ? new DsmSegment(handle, buffer, this.hostOps) : null;
  }

  create(size: number, user: number): { handle: number; buffer: SharedArrayBuffer } {
    if (!Number.isInteger(size) || size <= 0 || size > MAX_DSM_BYTES) {
      throw new DsmInvalidSizeError(`a dynamic shared memory segment needs a size in 1..${MAX_DSM_BYTES} bytes, got ${String(size)}`);
    }
    const handle = this.nextHandle++;
    const buffer = new SharedArrayBuffer(size);
    this.segments.set(handle, { buffer, claims: new Map([[user, 1]]), pinned: false });
    return { handle, buffer };
  }

  /** dsm_attach: the buffer, or null if no such segment exists (any more). */
  attach(handle: number, user: number): SharedArrayBuffer | null {
    const e = this.segments.get(handle);
    if (!e) return null;
    e.claims.set(user, (e.claims.get(user) ?? 0) + 1);
    return e.buffer;
  }

  detach(handle: number, user: number): void {
    const e = this.segments.get(handle);
    const n = e?.claims.get(user);
    if (!e || n === undefined) return;
    if (n > 1) e.claims.set(user, n - 1);
    else e.claims.delete(user);
    this.collect(handle, e);
  }

  pin(handle: number, pinned: boolean): void {
    const e = this.segments.get(handle);
    if (!e) return;
    e.pinned = pinned;
    this.collect(handle, e);
  }

  /** A thread exited: every claim it held is dropped, as dsm detaches on proc_exit. */
  detachAll(user: number): void {
    for (const [handle, e] of this.segments) {
      if (e.claims.delete(user)) this.collect(handle, e);
    }
  }

  /** A crash-restart cycle: every segment is destroyed. */
  clear(): void {
    this.segments.clear();
  }

  has(handle: number): boolean {
    return this.segments.has(handle);
  }

  private collect(handle: number, e: Entry): void {
    if (e.claims.size === 0 && !e.pinned) this.segments.delete(handle);
  }
}
