import t from 'tap';
import { ShmToc, ShmTocEstimator, TOC_ALIGN, TOC_ENTRY_BYTES, TOC_HEADER_BYTES } from '../../lib/shm/shm-toc.js';
import { TestProcs } from '../fixtures/mq-procs.js';
import { startThread } from '../fixtures/mq-threads.js';
import type { TocWorkerData } from '../fixtures/mq-toc.js';

const MAGIC = 0x746f6331;

t.test('attach finds a TOC by its magic and refuses any other (checklist 53)', async (t) => {
  const sab = new SharedArrayBuffer(1024);
  const toc = ShmToc.create(MAGIC, sab, 64, 512);
  const addr = toc.allocate(40);
  toc.insert(7, addr);
  const again = ShmToc.attach(MAGIC, sab, 64);
  t.ok(again);
  t.equal(again!.lookup(7), addr);
  t.equal(ShmToc.attach(MAGIC + 1, sab, 64), null, 'wrong magic');
  t.equal(ShmToc.attach(MAGIC, sab, 0), null, 'no TOC there');
  t.equal(ShmToc.attach(MAGIC, sab, 1016), null, 'no room for a header');
  t.ok(ShmToc.attach(BigInt(MAGIC), sab, 64), 'a bigint magic is the same magic');
});

t.test('lookup of a missing key: null with noError, an error without', async (t) => {
  const toc = ShmToc.create(MAGIC, new SharedArrayBuffer(256), 0, 256);
  t.equal(toc.lookup(3, true), null);
  t.throws(() => toc.lookup(3), { code: 'BGW_ERR_TOC_KEY_NOT_FOUND', message: /could not find key 3 in shm TOC/ });
  toc.insert(3, toc.allocate(1));
  t.type(toc.lookup(3), 'number');
});

t.test('keys are 64-bit: bigints beyond 2^53 work and distinct keys stay distinct', async (t) => {
  const toc = ShmToc.create(MAGIC, new SharedArrayBuffer(512), 0, 512);
  const big = (1n << 63n) + 5n;
  const a = toc.allocate(8);
  const b = toc.allocate(8);
  toc.insert(big, a);
  toc.insert(5, b);
  t.equal(toc.lookup(big), a);
  t.equal(toc.lookup(5), b);
  t.equal(toc.lookup(-(1n << 63n) + 5n), a, 'the same 64 bits, read as signed');
  t.throws(() => toc.lookup(1.5), { code: 'BGW_ERR_TOC_INVALID_ARG' });
});

t.test('allocate carves 32-byte chunks from the end and runs out with "out of shared memory"', async (t) => {
  const sab = new SharedArrayBuffer(1000);
  const toc = ShmToc.create(MAGIC, sab, 0, 1000);
  const total = 992; // rounded down to 32
  t.equal(toc.freeSpace(), total - TOC_HEADER_BYTES);
  const a = toc.allocate(1);
  const b = toc.allocate(33);
  t.equal(a, total - 32);
  t.equal(b, total - 32 - 64);
  t.equal(a % TOC_ALIGN, 0);
  t.equal(toc.freeSpace(), total - TOC_HEADER_BYTES - 96);
  t.equal(toc.allocate(0), b, 'a zero-byte chunk takes no room');
  const rest = toc.freeSpace();
  t.throws(() => toc.allocate(rest + 1), { code: 'BGW_ERR_TOC_OUT_OF_MEMORY', message: /out of shared memory/ });
  t.equal(toc.allocate(rest), TOC_HEADER_BYTES, 'the last byte fits exactly');
  t.equal(toc.freeSpace(), 0);
  t.throws(() => toc.allocate(1), { code: 'BGW_ERR_TOC_OUT_OF_MEMORY' });
  t.throws(() => toc.allocate(-1), { code: 'BGW_ERR_TOC_INVALID_ARG' });
});

t.test('insert needs room for its entry, refuses duplicates and addresses outside the TOC', async (t) => {
  const sab = new SharedArrayBuffer(256);
  const toc = ShmToc.create(MAGIC, sab, 0, 128);
  const addr = toc.allocate(32 * 2);
  t.equal(toc.freeSpace(), 128 - TOC_HEADER_BYTES - 64);
  toc.insert(1, addr);
  t.equal(toc.freeSpace(), 128 - TOC_HEADER_BYTES - 64 - TOC_ENTRY_BYTES);
  t.throws(() => toc.insert(1, addr), { code: 'BGW_ERR_TOC_DUPLICATE_KEY' });
  t.throws(() => toc.insert(2, 200), { code: 'BGW_ERR_TOC_INVALID_ARG' });
  toc.insert(2, addr + 32);
  t.throws(() => toc.insert(3, addr), { code: 'BGW_ERR_TOC_OUT_OF_MEMORY', message: /out of shared memory/ });
  t.equal(toc.lookup(2), addr + 32);
});

t.test('the estimator sizes a region that holds exactly what was estimated', async (t) => {
  const est = new ShmTocEstimator().chunk(12).chunk(1000).addKeys(2);
  const size = est.estimate();
  t.equal(size, TOC_HEADER_BYTES + 2 * TOC_ENTRY_BYTES + 32 + 1024);
  const toc = ShmToc.create(MAGIC, new SharedArrayBuffer(size), 0, size);
  toc.insert(1, toc.allocate(12));
  toc.insert(2, toc.allocate(1000));
  t.equal(toc.freeSpace(), 0);
  t.throws(() => toc.insert(3, toc.lookup(1)), { code: 'BGW_ERR_TOC_OUT_OF_MEMORY' });
  t.equal(new ShmTocEstimator().chunk(1).addKeys(1).estimate(), 96, 'rounded up to 32');
});

t.test('bad regions are refused with typed errors', async (t) => {
  const sab = new SharedArrayBuffer(128);
  t.throws(() => ShmToc.create(MAGIC, sab, 4, 64), { code: 'BGW_ERR_TOC_INVALID_ARG' });
  t.throws(() => ShmToc.create(MAGIC, sab, 0, 31), { code: 'BGW_ERR_TOC_INVALID_ARG' });
  t.throws(() => ShmToc.create(MAGIC, sab, 64, 128), { code: 'BGW_ERR_TOC_INVALID_ARG' });
  t.throws(() => ShmToc.create(MAGIC, new ArrayBuffer(64) as unknown as SharedArrayBuffer, 0, 64), { code: 'BGW_ERR_TOC_INVALID_ARG' });
  t.throws(() => ShmToc.attach(MAGIC, sab, 3), { code: 'BGW_ERR_TOC_INVALID_ARG' });
});

t.test('keys inserted by two threads at once are all visible to a lock-free reader in a third', async (t) => {
  const perWriter = 400;
  const est = new ShmTocEstimator().addKeys(2 * perWriter);
  for (let i = 0; i < 2 * perWriter; i++) est.chunk(8);
  const sab = new SharedArrayBuffer(est.estimate());
  const toc = ShmToc.create(MAGIC, sab, 0, sab.byteLength);
  const procs = TestProcs.create(1);
  const keysA = Array.from({ length: perWriter }, (_, i) => 2 * i + 1);
  const keysB = Array.from({ length: perWriter }, (_, i) => 2 * i + 2);
  const base = { magic: MAGIC, sab, procs: procs.sab, reader: 0 };
  const reader = startThread(t, 'mq-toc', { ...base, mode: 'lookup', keys: [...keysB, ...keysA].reverse() } satisfies TocWorkerData);
  const a = startThread(t, 'mq-toc', { ...base, mode: 'insert', keys: keysA } satisfies TocWorkerData);
  const b = startThread(t, 'mq-toc', { ...base, mode: 'insert', keys: keysB } satisfies TocWorkerData);
  const [found, insertedA, insertedB] = await Promise.all([
    reader.next<number>('the reader to find every key'),
    a.next<number>('inserter A to insert its keys'),
    b.next<number>('inserter B to insert its keys'),
  ]);
  t.equal(insertedA + insertedB, 2 * perWriter);
  t.equal(found, 2 * perWriter, 'every key found, each chunk already holding its key');
  t.equal(toc.freeSpace(), 0, 'the estimate was exact');
  const addrs = [...keysA, ...keysB].map((k) => toc.lookup(k)).sort((x, y) => x - y);
  t.equal(new Set(addrs).size, addrs.length, 'no two allocations share an address');
  await Promise.all([reader.exit('the reader thread to exit'), a.exit('inserter A to exit'), b.exit('inserter B to exit')]);
});
