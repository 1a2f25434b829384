import t, { type Test } from 'tap';
import type { Latch } from '../../lib/shm/latch.js';
import {
  MAX_MESSAGE_BYTES, MQ_HEADER_BYTES, MQ_I32_BYTES_WRITTEN, ShmMq, type ShmMqHandle, type ShmMqResult,
} from '../../lib/shm/shm-mq.js';
import { ShmToc, ShmTocEstimator } from '../../lib/shm/shm-toc.js';
import { HDR_READY, HDR_TOTAL, PG_TEST_SHM_MQ_MAGIC } from '../fixtures/mq-copy.js';
import type { PeerData, PeerOp, PeerReply } from '../fixtures/mq-peer.js';
import { TestProcs, pattern } from '../fixtures/mq-procs.js';
import { startThread, type Thread } from '../fixtures/mq-threads.js';
import { within } from '../helpers/deadline.js';

// ---- helpers ------------------------------------------------------------------------------

/** The deadline of a whole regression case's message loop: thousands of round trips through worker threads. */
const LOOP_MS = 60_000;

/** mulberry32: a seeded PRNG, so the random messages are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** test_shm_mq's random message: printable characters chr(32 + random() * 95). */
function randomMessage(seed: number, min: number, max: number): Uint8Array {
  const rnd = prng(seed);
  const n = min + Math.floor(rnd() * (max - min + 1));
  return Uint8Array.from({ length: n }, () => 32 + Math.floor(rnd() * 95));
}

/** verify_message: same length, then the same bytes. */
function verifyMessage(t: Test, expected: Uint8Array, got: Uint8Array | undefined): void {
  if (got === undefined || got.length !== expected.length) {
    t.fail(`message corrupted: expected ${expected.length} bytes, got ${got?.length}`);
    return;
  }
  const diff = expected.findIndex((b, i) => got[i] !== b);
  t.equal(diff, -1, diff < 0 ? 'message intact' : `message corrupted: first difference at byte ${diff}`);
}

/** Pattern B (docs/semantics.md §5.3) on the test thread's latch: check, wait, reset, check again. */
async function waitUntil(latch: Latch, done: () => boolean): Promise<void> {
  while (!done()) {
    await latch.waitAsync(Infinity);
    latch.reset();
  }
}

/** Retry a nowait send with the same arguments each time the latch is set. */
async function sendNowait(h: ShmMqHandle, latch: Latch, data: Uint8Array): Promise<{ result: ShmMqResult; blocked: number }> {
  for (let blocked = 0; ; blocked++) {
    const result = h.send(data, true, true);
    if (result !== 'would_block') return { result, blocked };
    await latch.waitAsync(Infinity);
    latch.reset();
  }
}

/** One queue in its own buffer, and a proc array with `nprocs` entries. */
function oneQueue(size: number, nprocs = 3): { sab: SharedArrayBuffer; mq: ShmMq; procs: TestProcs } {
  const sab = new SharedArrayBuffer(size + 64);
  return { sab, mq: ShmMq.create(sab, 8, size), procs: TestProcs.create(nprocs) };
}

/** A worker holding one end of `mq` as proc `proc`; marked stopped when its thread exits. */
function startPeer(t: Test, procs: TestProcs, mq: ShmMq, data: Omit<PeerData, 'sab' | 'offset' | 'procs'>): Thread {
  const full: PeerData = { sab: mq.sab, offset: mq.byteOffset, procs: procs.sab, ...data };
  return startThread(t, 'mq-peer', full, () => procs.markStopped(data.proc));
}

const ask = (th: Thread, op: PeerOp): Promise<PeerReply> => th.ask<PeerReply>(op);

// ---- test_shm_mq (docs/semantics.md §6.9) -------------------------------------------------------------

interface Pipeline {
  procs: TestProcs;
  outh: ShmMqHandle;
  inh: ShmMqHandle;
  threads: Thread[];
}

/** setup.c: a TOC with a header and nworkers + 1 queues, the workers started and ready. */
async function setupPipeline(t: Test, queueSize: number, nworkers: number): Promise<Pipeline> {
  const est = new ShmTocEstimator().chunk(12).addKeys(nworkers + 2);
  for (let i = 0; i <= nworkers; i++) est.chunk(queueSize);
  const sab = new SharedArrayBuffer(est.estimate());
  const toc = ShmToc.create(PG_TEST_SHM_MQ_MAGIC, sab, 0, sab.byteLength);
  const hdrAddr = toc.allocate(12);
  const hdr = new Int32Array(sab, hdrAddr, 3);
  Atomics.store(hdr, HDR_TOTAL, nworkers);
  toc.insert(0, hdrAddr);
  for (let i = 1; i <= nworkers + 1; i++) {
    const addr = toc.allocate(queueSize);
    ShmMq.create(sab, addr, queueSize);
    toc.insert(i, addr);
  }
  const procs = TestProcs.create(nworkers + 1);
  const me = procs.endpoint(0);
  const outq = ShmMq.open(sab, toc.lookup(1));
  const inq = ShmMq.open(sab, toc.lookup(nworkers + 1));
  outq.setSender(me);
  inq.setReceiver(me);
  const threads: Thread[] = [];
  for (let k = 1; k <= nworkers; k++) {
    threads.push(startThread(t, 'mq-copy', { sab, procs: procs.sab, proc: k }, () => procs.markStopped(k)));
  }
  const outh = outq.attach('sender', me, { counterpartyAlive: () => !procs.stopped(1) });
  const inh = inq.attach('receiver', me, { counterpartyAlive: () => !procs.stopped(nworkers) });
  const ready = waitUntil(procs.latch(0), () => {
    for (let k = 1; k <= nworkers; k++) if (procs.stopped(k)) throw new Error('one or more background workers failed to start');
    return Atomics.load(hdr, HDR_READY) === nworkers;
  });
  await within(ready, `the ${nworkers} copy worker(s) to attach and report ready`);
  return { procs, outh, inh, threads };
}

/** Detach our two queues; the detaches cascade through the ring and every worker exits. */
async function teardownPipeline(t: Test, p: Pipeline): Promise<void> {
  p.outh.detach();
  p.inh.detach();
  const codes = await within(Promise.all(p.threads.map((th) => th.exited)), 'every copy worker to exit after the detach');
  t.same(codes, p.threads.map(() => 0), 'every worker left its copy loop and exited');
}

/** test_shm_mq(): send once, then receive and send back loopCount times, blocking (async). */
async function testShmMq(t: Test, queueSize: number, message: Uint8Array, loopCount: number, nworkers: number): Promise<void> {
  const p = await setupPipeline(t, queueSize, nworkers);
  t.equal(await within(p.outh.sendAsync(message), 'the first message to be sent'), 'success');
  const roundTrips = async (): Promise<Uint8Array | undefined> => {
    for (let count = loopCount; ; ) {
      const r = await p.inh.receiveAsync();
      if (r.result !== 'success') throw new Error('could not receive message');
      if (--count <= 0) return r.data;
      if ((await p.outh.sendAsync(r.data!)) !== 'success') throw new Error('could not send message');
    }
  };
  const last = await within(roundTrips(), `${loopCount} round trips through ${nworkers} worker(s)`, LOOP_MS);
  verifyMessage(t, message, last);
  await teardownPipeline(t, p);
}

/** test_shm_mq_pipelined(): nowait sends and receives in one loop, waiting only without progress. */
async function testShmMqPipelined(t: Test, queueSize: number, message: Uint8Array, loopCount: number, nworkers: number): Promise<void> {
  const p = await setupPipeline(t, queueSize, nworkers);
  const latch = p.procs.latch(0);
  let sent = 0;
  let received = 0;
  let wrong = 0;
  const pipelined = async (): Promise<void> => {
    for (;;) {
      let wait = true;
      if (sent < loopCount) {
        const r = p.outh.send(message, true, true);
        if (r === 'detached') throw new Error('could not send message');
        if (r === 'success') (sent++, (wait = false));
      }
      if (received >= loopCount) return;
      const r = p.inh.receive(true);
      if (r.result === 'detached') throw new Error('could not receive message');
      if (r.result === 'success') {
        received++;
        if (Buffer.compare(r.data!, message) !== 0) wrong++;
        wait = false;
      }
      if (wait) {
        await latch.waitAsync(Infinity);
        latch.reset();
      }
    }
  };
  await within(pipelined(), `${loopCount} messages through ${nworkers} workers, nowait`, LOOP_MS);
  t.equal(sent, received, `message sent ${sent} times, received ${received} times`);
  t.equal(wrong, 0, 'every message arrived intact');
  await teardownPipeline(t, p);
}

t.test('test_shm_mq regression cases (checklist 46)', async (t) => {
  t.test('1: test_shm_mq(1024, \'\', 2000, 1): zero-length payloads', (t) => testShmMq(t, 1024, new Uint8Array(0), 2000, 1));
  t.test('2: test_shm_mq(1024, \'a\', 2001, 1): a 1-byte payload', (t) => testShmMq(t, 1024, Uint8Array.of(0x61), 2001, 1));
  t.test('3: test_shm_mq(32768, 100-1000 random chars, 10000, 1): zero-copy, wrap-around', (t) =>
    testShmMq(t, 32768, randomMessage(3, 100, 1000), 10000, 1));
  t.test('4: test_shm_mq(100, 100-300 random chars, 10000, 1): messages larger than the 40-byte ring', (t) =>
    testShmMq(t, 100, randomMessage(4, 100, 300), 10000, 1));
  t.test('5: test_shm_mq_pipelined(16384, 270000 random chars, 200, 3)', (t) =>
    testShmMqPipelined(t, 16384, randomMessage(5, 270000, 270000), 200, 3));
});

// ---- sizes and bad input ------------------------------------------------------------------

t.test('queue sizes round down to 8 and keep PostgreSQL\'s ring sizes', async (t) => {
  t.equal(ShmMq.MINIMUM_SIZE, 64);
  t.equal(ShmMq.ringSizeFor(100), 40);
  t.equal(ShmMq.ringSizeFor(1024), 968);
  t.equal(ShmMq.ringSizeFor(16384), 16328);
  const sab = new SharedArrayBuffer(4096);
  t.equal(ShmMq.create(sab, 0, 100).ringSize, 40);
  t.equal(ShmMq.create(sab, 104, 71).ringSize, 8, 'rounded down to 64, one word of ring');
  t.equal(ShmMq.open(sab, 0).ringSize, 40);
});

t.test('bad input gets typed errors', async (t) => {
  const { sab, mq, procs } = oneQueue(1024);
  const [a, b, c] = [procs.endpoint(0), procs.endpoint(1), procs.endpoint(2)];
  t.throws(() => ShmMq.create(sab, 0, 0), { code: 'BGW_ERR_MQ_TOO_SMALL' }, 'zero-size queue');
  t.throws(() => ShmMq.create(sab, 0, 63), { code: 'BGW_ERR_MQ_TOO_SMALL' }, 'no room for one word of ring');
  t.throws(() => ShmMq.create(sab, 4, 128), { code: 'BGW_ERR_MQ_INVALID_ARG' }, 'misaligned');
  t.throws(() => ShmMq.create(sab, 0, 4096), { code: 'BGW_ERR_MQ_INVALID_ARG' }, 'larger than the buffer');
  t.throws(() => ShmMq.open(new SharedArrayBuffer(128), 0), { code: 'BGW_ERR_MQ_BAD_MAGIC' });
  t.throws(() => mq.attach('sender', a), { code: 'BGW_ERR_MQ_NOT_PARTICIPANT' }, 'attach before setSender');
  t.throws(() => mq.setSender({ ...a, procNumber: -2 }), { code: 'BGW_ERR_MQ_INVALID_ARG' });
  mq.setSender(a);
  mq.setReceiver(b);
  t.throws(() => mq.setSender(c), { code: 'BGW_ERR_MQ_ALREADY_SET' }, 'a queue is not reused: sender');
  t.throws(() => mq.setReceiver(c), { code: 'BGW_ERR_MQ_ALREADY_SET' }, 'a queue is not reused: receiver');
  t.equal(mq.sender, 0);
  t.equal(mq.receiver, 1);
  t.throws(() => mq.attach('receiver', c), { code: 'BGW_ERR_MQ_NOT_PARTICIPANT' });
  t.throws(() => mq.attach('writer' as 'sender', a), { code: 'BGW_ERR_MQ_INVALID_ARG' });
  const tx = mq.attach('sender', a);
  const rx = mq.attach('receiver', b);
  t.throws(() => mq.attach('sender', a), { code: 'BGW_ERR_MQ_ALREADY_ATTACHED' }, 'attaching twice');
  t.throws(() => rx.send(new Uint8Array(1)), { code: 'BGW_ERR_MQ_WRONG_END' }, "sending on the receiver's end");
  t.throws(() => tx.receive(true), { code: 'BGW_ERR_MQ_WRONG_END' }, "receiving on the sender's end");
  t.throws(() => rx.receive(), { code: 'BGW_ERR_MQ_BLOCKING_ON_HOST' }, 'a blocking receive may not sleep on the main thread');
  t.equal(tx.send(new Uint8Array(2000), true), 'would_block');
  t.throws(() => tx.send(new Uint8Array(10), true), { code: 'BGW_ERR_MQ_RETRY_MISMATCH' }, 'retry with other arguments');
  t.throws(() => tx.send(new Uint8Array(2000)), { code: 'BGW_ERR_MQ_BLOCKING_ON_HOST' });
});

// ---- one thread, both ends, nowait ----------------------------------------------------------

t.test('a whole message comes back as a view into the ring; a wrapped one is reassembled', async (t) => {
  const { sab, mq, procs } = oneQueue(1024);
  mq.setSender(procs.endpoint(0));
  mq.setReceiver(procs.endpoint(1));
  const tx = mq.attach('sender', procs.endpoint(0));
  const rx = mq.attach('receiver', procs.endpoint(1));
  const m1 = pattern(1, 500);
  const m2 = pattern(2, 500);
  t.equal(tx.send(m1, true), 'success');
  t.equal(tx.send(m2, true), 'would_block', '504 + 508 bytes do not fit a 968-byte ring');
  const r1 = rx.receive(true);
  t.equal(r1.result, 'success');
  t.equal(r1.data!.buffer, sab, 'zero copy');
  verifyMessage(t, m1, r1.data);
  t.equal(rx.receive(true).result, 'would_block', 'only part of the second message is there');
  t.ok(procs.latch(0).isSet(), 'the receiver woke the sender when it freed space');
  t.equal(tx.send(m2, true), 'success', 'the retry with the same arguments finishes the message');
  t.ok(procs.latch(1).isSet(), 'the sender woke the receiver');
  const r2 = rx.receive(true);
  t.equal(r2.result, 'success');
  t.not(r2.data!.buffer, sab, 'copied out of the ring');
  verifyMessage(t, m2, r2.data);
  t.equal(rx.receive(true).result, 'would_block');
});

/** Both ends in this thread: send nowait, draining the receiver whenever the ring is full. */
function loopback(size: number): { mq: ShmMq; send(m: Uint8Array | Uint8Array[], flush?: boolean): ShmMqResult; drain(): Uint8Array[] } {
  const { mq, procs } = oneQueue(size);
  mq.setSender(procs.endpoint(0));
  mq.setReceiver(procs.endpoint(1));
  const tx = mq.attach('sender', procs.endpoint(0));
  const rx = mq.attach('receiver', procs.endpoint(1));
  const got: Uint8Array[] = [];
  const take = (): ShmMqResult => {
    const r = rx.receive(true);
    if (r.result === 'success') got.push(r.data!.slice());
    return r.result;
  };
  return {
    mq,
    send(m, flush = true) {
      const iov = Array.isArray(m) ? m : [m];
      let r: ShmMqResult;
      while ((r = tx.sendv(iov, true, flush)) === 'would_block') take();
      return r;
    },
    drain() {
      while (take() === 'success');
      return got.splice(0);
    },
  };
}

t.test('random sizes through a small ring keep every byte, with and without flushing', async (t) => {
  const q = loopback(256);
  const rnd = prng(52);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const m = pattern(i, Math.floor(rnd() * 600));
    q.send(m, rnd() < 0.5);
    q.send(new Uint8Array(0));
    sent.push(m, new Uint8Array(0));
  }
  const got = q.drain();
  t.equal(got.length, sent.length);
  t.equal(got.findIndex((m, i) => Buffer.compare(m, sent[i]!) !== 0), -1, 'every message whole and in order');
});

t.test('sendv joins odd-sized pieces into one message (coalescing across chunks)', async (t) => {
  const q = loopback(128);
  const pieces = [pattern(1, 3), new Uint8Array(0), pattern(2, 5), pattern(3, 150), pattern(4, 1)];
  t.equal(q.send(pieces), 'success');
  t.equal(q.send([]), 'success', 'an empty iov is a zero-length message');
  const got = q.drain();
  t.equal(got.length, 2);
  verifyMessage(t, Buffer.concat(pieces), got[0]);
  t.equal(got[1]!.length, 0);
});

t.test('a message published just before the detach is delivered, then detached (the 2018 fix)', async (t) => {
  const { mq, procs } = oneQueue(1024);
  mq.setSender(procs.endpoint(0));
  mq.setReceiver(procs.endpoint(1));
  const tx = mq.attach('sender', procs.endpoint(0));
  const last = pattern(9, 40);
  // The receiver has just found nothing to read; the sender publishes and detaches before
  // the receiver looks at the detach flag. The hook's second call (the first is the
  // attach check) runs exactly in that window.
  let calls = 0;
  const rx = mq.attach('receiver', procs.endpoint(1), {
    counterpartyAlive: () => {
      if (++calls === 1) return true;
      tx.send(last, true, true);
      tx.detach();
      return false;
    },
  });
  const r = rx.receive(true);
  t.equal(r.result, 'success', 'the final message is not lost');
  verifyMessage(t, last, r.data);
  t.match(rx.receive(true), { result: 'detached', data: undefined });
});

t.test('setCounterpartyAlive adds the counterparty check to a handle later (shm_mq_set_handle)', async (t) => {
  const { mq, procs } = oneQueue(1024);
  const me = procs.endpoint(0);
  mq.setReceiver(me);
  const rx = mq.attach('receiver', me);
  t.match(rx.receive(true), { result: 'would_block', data: undefined }, 'without a hook a missing sender may still come');
  rx.setCounterpartyAlive(() => false);
  t.match(rx.receive(true), { result: 'detached', data: undefined });
  t.ok(mq.detached);
});

t.test('a length word beyond 1 GiB - 1 in the ring is refused by the receiver', async (t) => {
  const { mq, procs } = oneQueue(1024);
  mq.setSender(procs.endpoint(0));
  mq.setReceiver(procs.endpoint(1));
  const rx = mq.attach('receiver', procs.endpoint(1));
  mq.ring32[0] = MAX_MESSAGE_BYTES + 1;
  Atomics.store(mq.i32, MQ_I32_BYTES_WRITTEN, 8);
  t.throws(() => rx.receive(true), { code: 'BGW_ERR_MQ_INVALID_MESSAGE_SIZE', message: /invalid message size/ });
  t.equal(MQ_HEADER_BYTES, 56);
});

// ---- checklist 47-52, with worker threads ----------------------------------------------------

t.test('a sender that flushes 3 messages and detaches before the receiver starts: 3, then detached (checklist 47)', async (t) => {
  for (const receiverKind of ['host', 'worker'] as const) {
    const { mq, procs } = oneQueue(1024);
    const tx = startPeer(t, procs, mq, { proc: 1, role: 'sender' });
    t.same(await ask(tx, { op: 'attach' }), {});
    t.same(await ask(tx, { op: 'send', sizes: [10, 0, 300] }), { results: ['success', 'success', 'success'] }, 'sent with no receiver');
    t.same(await ask(tx, { op: 'detach' }), {});
    tx.worker.postMessage({ op: 'exit' });
    await tx.exit('the sender thread to exit after its detach');
    if (receiverKind === 'host') {
      const me = procs.endpoint(0);
      mq.setReceiver(me);
      const rx = mq.attach('receiver', me);
      for (const [i, size] of [10, 0, 300].entries()) {
        const r = await within(rx.receiveAsync(), `message ${i} on the host`);
        t.equal(r.result, 'success');
        verifyMessage(t, pattern(i, size), r.data);
      }
      t.match(await within(rx.receiveAsync(), 'the detach after the last message'), { result: 'detached', data: undefined });
      t.match(rx.receive(true), { result: 'detached', data: undefined });
    } else {
      const rx = startPeer(t, procs, mq, { proc: 2, role: 'receiver' });
      await ask(rx, { op: 'attach' });
      const got = await ask(rx, { op: 'receive', max: 10 });
      t.same(got.results, ['success', 'success', 'success', 'detached'], 'blocking receives in a worker');
      t.same(got.messages, [pattern(0, 10), pattern(1, 0), pattern(2, 300)]);
    }
  }
});

t.test('after the receiver detaches every send gets detached, whatever its arguments (checklist 48)', async (t) => {
  t.test('a worker blocked on a full ring is woken by the detach', async (t) => {
    const { mq, procs } = oneQueue(1024);
    const me = procs.endpoint(0);
    mq.setReceiver(me);
    const rx = mq.attach('receiver', me);
    const tx = startPeer(t, procs, mq, { proc: 1, role: 'sender' });
    await ask(tx, { op: 'attach' });
    const blocked = ask(tx, { op: 'send', sizes: [5000] });
    rx.detach();
    t.same(await blocked, { results: ['detached'] });
    t.same(await ask(tx, { op: 'send', sizes: [1], nowait: true }), { results: ['detached'] });
    t.same(await ask(tx, { op: 'send', sizes: [10, 3000, 0], flush: false }), { results: ['detached', 'detached', 'detached'] });
    t.match(rx.receive(true), { result: 'detached', data: undefined }, 'the detached handle answers detached too');
  });
  t.test('the host as sender, after a worker receiver detached and exited', async (t) => {
    const { mq, procs } = oneQueue(1024);
    const me = procs.endpoint(0);
    mq.setSender(me);
    const tx = mq.attach('sender', me);
    const rx = startPeer(t, procs, mq, { proc: 1, role: 'receiver' });
    await ask(rx, { op: 'attach' });
    await ask(rx, { op: 'detach' });
    t.equal(await within(tx.sendAsync(pattern(0, 8)), 'a blocking send to a detached receiver to return'), 'detached');
    t.equal(tx.send(pattern(0, 5000), true), 'detached');
    t.equal(await within(tx.sendvAsync([pattern(1, 1), pattern(2, 2)], false), 'a blocking sendv to a detached receiver to return'), 'detached');
    t.equal(tx.send(new Uint8Array(0), true), 'detached');
  });
});

t.test('a nowait sender on a full ring gets would_block, and its retries finish intact (checklist 49)', async (t) => {
  const { mq, procs } = oneQueue(1024);
  const me = procs.endpoint(0);
  const latch = procs.latch(0);
  mq.setSender(me);
  const tx = mq.attach('sender', me, { counterpartyAlive: () => !procs.stopped(1) });
  const sizes = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 5000, 7];
  let i = 0;
  while (tx.send(pattern(i, sizes[i]!), true) === 'success') i++;
  t.equal(i, 8, 'eight 112-byte messages (length word + 100 padded to 104) fill most of the 968-byte ring');
  t.equal(tx.send(pattern(i, sizes[i]!), true), 'would_block', 'the ninth is partly written; still full, no receiver yet');
  const rx = startPeer(t, procs, mq, { proc: 1, role: 'receiver', counterparty: 0 });
  await ask(rx, { op: 'attach' });
  const received = ask(rx, { op: 'receive', max: sizes.length });
  let blocked = 0;
  for (; i < sizes.length; i++) {
    const r = await within(sendNowait(tx, latch, pattern(i, sizes[i]!)), `nowait message ${i} (${sizes[i]} bytes) to be sent`);
    t.equal(r.result, 'success');
    blocked += r.blocked;
  }
  t.ok(blocked > 1, `the 5000-byte message went through a 968-byte ring in pieces (${blocked} would_blocks)`);
  const got = await received;
  t.same(got.results, sizes.map(() => 'success'));
  t.same(got.messages, sizes.map((n, k) => pattern(k, n)), 'every message byte-identical');
});

t.test('a counterparty that exits before attaching ends waits with detached, never a hang (checklist 50)', async (t) => {
  t.test('blocking and nowait receive on the host', async (t) => {
    const { mq, procs } = oneQueue(1024);
    const me = procs.endpoint(0);
    mq.setReceiver(me);
    const rx = mq.attach('receiver', me, { counterpartyAlive: () => !procs.stopped(1) });
    const peer = startPeer(t, procs, mq, { proc: 1, role: 'sender' });
    t.match(rx.receive(true), { result: 'would_block', data: undefined }, 'registered, not yet attached');
    const waiting = within(rx.receiveAsync(), 'the host receive to end when the sender exits unattached');
    peer.worker.postMessage({ op: 'exit' });
    t.match(await waiting, { result: 'detached', data: undefined });
    t.match(rx.receive(true), { result: 'detached', data: undefined });
    t.ok(mq.detached, 'made official in the queue');
  });
  t.test('the host as sender: what fits is sent, what would fill the ring is detached', async (t) => {
    for (const nowait of [false, true]) {
      const { mq, procs } = oneQueue(1024);
      const me = procs.endpoint(0);
      mq.setSender(me);
      const tx = mq.attach('sender', me, { counterpartyAlive: () => !procs.stopped(1) });
      const peer = startPeer(t, procs, mq, { proc: 1, role: 'receiver' });
      const waiting = within(tx.waitForAttachAsync(), 'waitForAttach to end when the receiver exits unattached');
      peer.worker.postMessage({ op: 'exit' });
      t.equal(await waiting, 'detached', 'waitForAttach');
      t.equal(await peer.exit(), 0);
      const big = pattern(1, 4000);
      const send = (m: Uint8Array, what: string) => (nowait ? tx.send(m, true) : within(tx.sendAsync(m), what));
      t.equal(await send(pattern(0, 500), 'a send that fits to return'), 'success', 'a send that fits needs no receiver');
      t.equal(await send(big, 'a send that would fill the ring to return'), 'detached', nowait ? 'nowait: detached, not would_block' : 'blocking');
    }
  });
  t.test('a worker in a blocking receive whose sender worker never attaches', async (t) => {
    const { mq, procs } = oneQueue(1024);
    const rx = startPeer(t, procs, mq, { proc: 1, role: 'receiver', counterparty: 2 });
    await ask(rx, { op: 'attach' });
    const waiting = ask(rx, { op: 'receive', max: 1 });
    const never = startPeer(t, procs, mq, { proc: 2, role: 'sender' });
    never.worker.postMessage({ op: 'exit' });
    t.same(await waiting, { results: ['detached'], messages: [] });
  });
  t.test('a worker waiting for attach, and the attach that ends the wait', async (t) => {
    const { mq, procs } = oneQueue(1024);
    const tx = startPeer(t, procs, mq, { proc: 1, role: 'sender', counterparty: 0 });
    await ask(tx, { op: 'attach' });
    const waiting = ask(tx, { op: 'waitForAttach' });
    const me = procs.endpoint(0);
    mq.setReceiver(me);
    t.same(await waiting, { results: ['success'] });
    t.equal(await within(mq.attach('receiver', me).waitForAttachAsync(), "the host's waitForAttach on an attached sender"), 'success');
  });
});

t.test('without forceFlush a small message waits for a flush, more than ring/4, or a detach (checklist 51)', async (t) => {
  const { mq, procs } = oneQueue(1024);
  const me = procs.endpoint(0);
  mq.setReceiver(me);
  const rx = mq.attach('receiver', me);
  const tx = startPeer(t, procs, mq, { proc: 1, role: 'sender' });
  await ask(tx, { op: 'attach' });
  const poll = (n: number): ShmMqResult[] => Array.from({ length: n }, () => rx.receive(true).result);
  const drain = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let r = rx.receive(true); r.result === 'success'; r = rx.receive(true)) out.push(r.data!.slice());
    return out;
  };

  await ask(tx, { op: 'send', sizes: [16], flush: false, firstSeq: 0 });
  t.same(poll(3), ['would_block', 'would_block', 'would_block'], 'unflushed');
  await ask(tx, { op: 'send', sizes: [16], flush: true, firstSeq: 1 });
  t.same(drain(), [pattern(0, 16), pattern(1, 16)], 'a flush publishes what was pending too');

  // 24 ring bytes a message; ring/4 = 242: ten stay pending, the eleventh publishes all.
  await ask(tx, { op: 'send', sizes: Array(10).fill(16), flush: false });
  t.same(poll(2), ['would_block', 'would_block'], '240 pending bytes are not more than ring/4');
  await ask(tx, { op: 'send', sizes: [16], flush: false, firstSeq: 10 });
  t.equal(drain().length, 11, 'more than ring/4 pending: published');

  await ask(tx, { op: 'send', sizes: [300], flush: false, firstSeq: 7 });
  t.same(drain(), [pattern(7, 300)], 'a message over ring/4 on its own is published at once');

  await ask(tx, { op: 'send', sizes: [16], flush: false, firstSeq: 9 });
  t.same(poll(1), ['would_block']);
  await ask(tx, { op: 'detach' });
  t.same(drain(), [pattern(9, 16)], 'a detach publishes what was pending');
  t.match(rx.receive(true), { result: 'detached', data: undefined });
});

t.test('zero-length and larger-than-ring messages round-trip; over 1 GiB - 1 is refused (checklist 52)', async (t) => {
  const { mq, procs } = oneQueue(1024);
  const ring = mq.ringSize;
  const me = procs.endpoint(0);
  mq.setReceiver(me);
  const rx = mq.attach('receiver', me, { counterpartyAlive: () => !procs.stopped(1) });
  const tx = startPeer(t, procs, mq, { proc: 1, role: 'sender' });
  await ask(tx, { op: 'attach' });
  const sizes = [0, 3 * ring + 5, 0, 1, 200_000];
  const sending = ask(tx, { op: 'send', sizes });
  for (const [i, size] of sizes.entries()) {
    const r = await within(rx.receiveAsync(), `message ${i} (${size} bytes) on the host`);
    t.equal(r.result, 'success');
    verifyMessage(t, pattern(i, size), r.data);
  }
  t.same(await sending, { results: sizes.map(() => 'success') });

  const back = oneQueue(1024, 1);
  back.mq.setSender(me);
  const out = back.mq.attach('sender', me);
  const piece = new Uint8Array(64 << 20);
  const iov = Array(17).fill(piece) as Uint8Array[];
  t.throws(() => out.sendv(iov), { code: 'BGW_ERR_MQ_MESSAGE_TOO_LARGE', message: /cannot send a message of size 1140850688/ });
  await t.rejects(within(out.sendvAsync(iov), 'an oversized sendv to be refused'), { code: 'BGW_ERR_MQ_MESSAGE_TOO_LARGE' });
  t.equal(out.send(new Uint8Array(0), true), 'success', 'the queue is still usable');
});
