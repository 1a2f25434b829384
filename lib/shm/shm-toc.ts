/**
 * shm_toc: a table of contents for a region of shared memory (shm_toc.c).
 *
 * A thread that sets up a region carves it into chunks and files each chunk's address
 * under a 64-bit key; any other thread attaching the same bytes finds the chunks by key,
 * so no addresses need to travel beside the buffer.
 *
 *   byteOffset (8-aligned)
 *   +------------------------------------------------------------------------------+
 *   | header (TOC_HEADER_BYTES = 32)                                               |
 *   |   @0  toc_magic        BigInt64  creator: Atomics.store, last       attach    |
 *   |   @8  toc_total_bytes  BigInt64  creator, once (immutable)          anyone    |
 *   |   @16 toc_allocated    BigInt64  allocate, under toc_lock           allocate  |
 *   |   @24 toc_lock         Int32     spinlock: CAS 0→1, store 0         writers   |
 *   |   @28 toc_nentry       Int32     insert, under toc_lock: store      lookup:   |
 *   |                                   (after the entry is written)      load      |
 *   +------------------------------------------------------------------------------+
 *   | entries, growing forward: TOC_ENTRY_BYTES (16) each                          |
 *   |   @0 key (BigInt64)   @8 offset of the chunk from byteOffset (BigInt64)      |
 *   +-------------------------- free space ----------------------------------------+
 *   | chunks, carved backwards from the end, each BUFFERALIGN (32)-rounded         |
 *   +------------------------------------------------------------------------------+
 *   byteOffset + total_bytes (byteLength rounded down to 32)
 *
 * Writers (allocate, insert) serialize on the spinlock; its critical sections are a few
 * loads and stores, as PostgreSQL's are. Lookups take no lock: an insert writes the entry
 * first and publishes it by storing the new count, so a reader that loads the count sees
 * every entry below it completely written (sequentially consistent Atomics order the plain
 * entry writes before the count). An entry is never changed once published.
 *
 * Addresses handed out and taken are byte offsets into the SharedArrayBuffer; entries store
 * them relative to the TOC, as PostgreSQL does, so the table means the same wherever the
 * region sits. There is no free: a TOC lives as long as its region.
 *
 * Any thread may call anything here; nothing blocks except the spinlock's short spin.
 * See also: shm-mq.ts, which is usually what the chunks hold.
 */
import { TocDuplicateKeyError, TocInvalidArgError, TocKeyNotFoundError, TocOutOfMemoryError } from '../errors.js';

export const TOC_HEADER_BYTES = 32;
export const TOC_ENTRY_BYTES = 16;
/** BUFFERALIGN: chunk sizes and the total are multiples of this. */
export const TOC_ALIGN = 32;

const T64_MAGIC = 0;
const T64_TOTAL = 1;
const T64_ALLOCATED = 2;
const T32_LOCK = 6;
const T32_NENTRY = 7;

const alignDown = (n: number, a: number): number => Math.floor(n / a) * a;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function asKey(key: number | bigint, what: string): bigint {
  if (typeof key === 'number' && !Number.isSafeInteger(key)) {
    throw new TocInvalidArgError(`${what} must be an integer or a bigint, got ${key}`);
  }
  return BigInt.asIntN(64, BigInt(key));
}

function checkOffset(sab: SharedArrayBuffer, byteOffset: number): void {
  if (!(sab instanceof SharedArrayBuffer)) throw new TocInvalidArgError('a TOC lives in a SharedArrayBuffer');
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0 || byteOffset > sab.byteLength) {
    throw new TocInvalidArgError(`byteOffset must be a multiple of 8 inside the buffer, got ${byteOffset}`);
  }
}

function checkRegion(sab: SharedArrayBuffer, byteOffset: number, byteLength: number): void {
  checkOffset(sab, byteOffset);
  if (!Number.isSafeInteger(byteLength) || byteLength < 0 || byteOffset + byteLength > sab.byteLength) {
    throw new TocInvalidArgError(`byteLength ${byteLength} at ${byteOffset} does not fit a buffer of ${sab.byteLength} bytes`);
  }
}

/** shm_toc_estimate: sums what a region for a TOC with these chunks and keys needs. */
export class ShmTocEstimator {
  private chunks = 0;
  private keys = 0;

  /** shm_toc_estimate_chunk: room for one chunk of `bytes`. */
  chunk(bytes: number): this {
    this.chunks += alignUp(bytes, TOC_ALIGN);
    return this;
  }

  /** shm_toc_estimate_keys: room for `n` more entries. */
  addKeys(n: number): this {
    this.keys += n;
    return this;
  }

  /** The region size to ask for: header, entries and chunks, rounded up to 32. */
  estimate(): number {
    return alignUp(TOC_HEADER_BYTES + this.keys * TOC_ENTRY_BYTES + this.chunks, TOC_ALIGN);
  }
}

export class ShmToc {
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly total: number;

  private constructor(readonly sab: SharedArrayBuffer, readonly byteOffset: number) {
    this.i64 = new BigInt64Array(sab, byteOffset, TOC_HEADER_BYTES >> 3);
    this.i32 = new Int32Array(sab, byteOffset, TOC_HEADER_BYTES >> 2);
    this.total = Number(Atomics.load(this.i64, T64_TOTAL));
  }

  /**
   * shm_toc_create: lay out an empty TOC over `byteLength` bytes at `byteOffset`.
   * @throws {BGW_ERR_TOC_INVALID_ARG} a misaligned or out-of-range region, or one too small for the header
   */
  static create(magic: number | bigint, sab: SharedArrayBuffer, byteOffset: number, byteLength: number): ShmToc {
    const m = asKey(magic, 'magic');
    checkRegion(sab, byteOffset, byteLength);
    const total = alignDown(byteLength, TOC_ALIGN);
    if (total < TOC_HEADER_BYTES) {
      throw new TocInvalidArgError(`a TOC needs at least ${TOC_HEADER_BYTES} bytes, got ${byteLength}`);
    }
    const i64 = new BigInt64Array(sab, byteOffset, TOC_HEADER_BYTES >> 3);
    const i32 = new Int32Array(sab, byteOffset, TOC_HEADER_BYTES >> 2);
    Atomics.store(i64, T64_TOTAL, BigInt(total));
    Atomics.store(i64, T64_ALLOCATED, 0n);
    Atomics.store(i32, T32_LOCK, 0);
    Atomics.store(i32, T32_NENTRY, 0);
    // The magic goes last: whoever sees it sees an initialized header.
    Atomics.store(i64, T64_MAGIC, m);
    return new ShmToc(sab, byteOffset);
  }

  /** shm_toc_attach: the TOC at `byteOffset`, or null if its magic is not `magic`. */
  static attach(magic: number | bigint, sab: SharedArrayBuffer, byteOffset: number): ShmToc | null {
    checkOffset(sab, byteOffset);
    if (sab.byteLength - byteOffset < TOC_HEADER_BYTES) return null;
    const i64 = new BigInt64Array(sab, byteOffset, TOC_HEADER_BYTES >> 3);
    if (Atomics.load(i64, T64_MAGIC) !== asKey(magic, 'magic')) return null;
    const total = Number(Atomics.load(i64, T64_TOTAL));
    if (byteOffset + total > sab.byteLength) return null;
    return new ShmToc(sab, byteOffset);
  }

  /**
   * shm_toc_allocate: carve `bytes` (rounded up to 32) from the free space.
   * @returns the chunk's byte offset in the SharedArrayBuffer
   * @throws {BGW_ERR_TOC_OUT_OF_MEMORY} "out of shared memory" when the space left is too small
   */
  allocate(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new TocInvalidArgError(`allocation size must be a non-negative integer, got ${bytes}`);
    }
    const n = alignUp(bytes, TOC_ALIGN);
    return this.locked(() => {
      const allocated = Number(this.i64[T64_ALLOCATED]);
      if (this.used(Atomics.load(this.i32, T32_NENTRY)) + allocated + n > this.total) {
        throw new TocOutOfMemoryError(`out of shared memory: a TOC chunk of ${bytes} bytes does not fit`);
      }
      this.i64[T64_ALLOCATED] = BigInt(allocated + n);
      return this.byteOffset + this.total - allocated - n;
    });
  }

  /**
   * shm_toc_insert: file the chunk at `address` (a byte offset in the buffer) under `key`.
   * @throws {BGW_ERR_TOC_OUT_OF_MEMORY} no room for one more entry
   * @throws {BGW_ERR_TOC_DUPLICATE_KEY} the key is already in the TOC
   * @throws {BGW_ERR_TOC_INVALID_ARG} `address` is outside this TOC
   */
  insert(key: number | bigint, address: number): void {
    const k = asKey(key, 'key');
    if (!Number.isSafeInteger(address) || address < this.byteOffset || address > this.byteOffset + this.total) {
      throw new TocInvalidArgError(`address ${address} is not inside this TOC`);
    }
    this.locked(() => {
      const n = Atomics.load(this.i32, T32_NENTRY);
      if (this.used(n + 1) + Number(this.i64[T64_ALLOCATED]) > this.total) {
        throw new TocOutOfMemoryError('out of shared memory: no room for another TOC entry');
      }
      if (this.find(k, n) !== null) throw new TocDuplicateKeyError(`key ${k} is already in the shm TOC`);
      const e = this.entries(n + 1);
      e[2 * n] = k;
      e[2 * n + 1] = BigInt(address - this.byteOffset);
      // Publish: the entry is complete before anyone can count it.
      Atomics.store(this.i32, T32_NENTRY, n + 1);
    });
  }

  /** shm_toc_lookup with noError: the address filed under `key`, or null. Lock-free. */
  lookup(key: number | bigint, noError: true): number | null;
  /**
   * shm_toc_lookup: the address filed under `key`. Lock-free.
   * @throws {BGW_ERR_TOC_KEY_NOT_FOUND} the key is not in the TOC
   */
  lookup(key: number | bigint, noError?: false): number;
  lookup(key: number | bigint, noError = false): number | null {
    const k = asKey(key, 'key');
    const found = this.find(k, Atomics.load(this.i32, T32_NENTRY));
    if (found === null && !noError) throw new TocKeyNotFoundError(`could not find key ${k} in shm TOC at ${this.byteOffset}`);
    return found;
  }

  /** shm_toc_freespace: bytes still available to allocate (before entries take their share). */
  freeSpace(): number {
    return this.locked(() => this.total - this.used(Atomics.load(this.i32, T32_NENTRY)) - Number(this.i64[T64_ALLOCATED]));
  }

  private find(k: bigint, count: number): number | null {
    const e = this.entries(count);
    for (let i = 0; i < count; i++) {
      if (e[2 * i] === k) return this.byteOffset + Number(e[2 * i + 1]);
    }
    return null;
  }

  private entries(count: number): BigInt64Array {
    return new BigInt64Array(this.sab, this.byteOffset + TOC_HEADER_BYTES, 2 * count);
  }

  private used(entries: number): number {
    return TOC_HEADER_BYTES + entries * TOC_ENTRY_BYTES;
  }

  private locked<T>(fn: () => T): T {
    while (Atomics.compareExchange(this.i32, T32_LOCK, 0, 1) !== 0) {
      // Spin: the holder is inside one of the few-instruction sections above.
    }
    try {
      return fn();
    } finally {
      Atomics.store(this.i32, T32_LOCK, 0);
    }
  }
}
