/**
 * A plain worker_thread for the rwlock benches. It runs one operation per message from the
 * host and replies with its result:
 *
 *   solo    n uncontended acquire+release pairs of the LWLock (shared or exclusive), or of a
 *           bare compareExchange + store → { rate } in ops/s
 *   mixed   from GO until STOP, 1 exclusive section in 10 (writes SECTION_WORDS words) and
 *           9 shared ones (read readWords words), under the LWLock or, for the baseline,
 *           all under an exclusive-only futex mutex → { ops, ms }
 *   reader  from GO until STOP, shared holds of holdUs each, back to back → { holdUs } (median)
 *   writer  after GO, `samples` exclusive acquisitions gapMs apart → { waitsUs }
 *
 * The mutex is the classic three-state futex mutex (0 free, 1 locked, 2 locked with
 * waiters), the strongest plain exclusive lock Atomics can express.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LWLock, type LWLockMode } from '../../lib/shm/lwlock.js';
import { BARE, DATA, DATA_WORDS, GO, LOCK, MUTEX, type RwOp, SECTION_WORDS, STOP } from './rwlock-layout.js';

const i32 = new Int32Array((workerData as { sab: SharedArrayBuffer }).sab);
const data = i32.subarray(DATA, DATA + DATA_WORDS);
const lock = new LWLock(i32, LOCK, 'bench');
const nap = new Int32Array(new SharedArrayBuffer(4));

function soloLock(mode: LWLockMode, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    lock.acquire(mode);
    lock.release(mode);
  }
  return n / ((performance.now() - t0) / 1000);
}

function soloBare(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(i32, BARE, 0, 1) !== 0) throw new Error('bare word was taken');
    Atomics.store(i32, BARE, 0);
  }
  return n / ((performance.now() - t0) / 1000);
}

function mutexLock(): void {
  let c = Atomics.compareExchange(i32, MUTEX, 0, 1);
  if (c === 0) return;
  if (c !== 2) c = Atomics.exchange(i32, MUTEX, 2);
  while (c !== 0) {
    Atomics.wait(i32, MUTEX, 2);
    c = Atomics.exchange(i32, MUTEX, 2);
  }
}

function mutexUnlock(): void {
  if (Atomics.sub(i32, MUTEX, 1) !== 1) {
    Atomics.store(i32, MUTEX, 0);
    Atomics.notify(i32, MUTEX, 1);
  }
}

function readSection(words: number): number {
  let sum = 0;
  for (let k = 0; k < words; k++) sum += data[k]!;
  return sum;
}

function writeSection(): void {
  for (let k = 0; k < SECTION_WORDS; k++) data[k]!++;
}

function awaitGo(): void {
  while (Atomics.load(i32, GO) === 0) Atomics.wait(i32, GO, 0);
}

function mixedRwlock(readWords: number): { ops: number; ms: number; sink: number } {
  awaitGo();
  const t0 = performance.now();
  let ops = 0;
  let sink = 0;
  while (Atomics.load(i32, STOP) === 0) {
    lock.acquire('exclusive');
    writeSection();
    lock.release('exclusive');
    for (let k = 0; k < 9; k++) {
      lock.acquire('shared');
      sink += readSection(readWords);
      lock.release('shared');
    }
    ops += 10;
  }
  return { ops, ms: performance.now() - t0, sink };
}

function mixedMutex(readWords: number): { ops: number; ms: number; sink: number } {
  awaitGo();
  const t0 = performance.now();
  let ops = 0;
  let sink = 0;
  while (Atomics.load(i32, STOP) === 0) {
    mutexLock();
    writeSection();
    mutexUnlock();
    for (let k = 0; k < 9; k++) {
      mutexLock();
      sink += readSection(readWords);
      mutexUnlock();
    }
    ops += 10;
  }
  return { ops, ms: performance.now() - t0, sink };
}

function reader(holdUs: number): { holdUs: number } {
  awaitGo();
  const holds: number[] = [];
  while (Atomics.load(i32, STOP) === 0) {
    lock.acquire('shared');
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < holdUs / 1000) t = performance.now();
    lock.release('shared');
    holds.push((t - t0) * 1000);
  }
  holds.sort((a, b) => a - b);
  return { holdUs: holds[holds.length >> 1] ?? NaN };
}

function writer(samples: number, gapMs: number): { waitsUs: number[] } {
  awaitGo();
  const waitsUs: number[] = [];
  while (waitsUs.length < samples) {
    Atomics.wait(nap, 0, 0, gapMs);
    const t0 = performance.now();
    lock.acquire('exclusive');
    waitsUs.push((performance.now() - t0) * 1000);
    lock.release('exclusive');
  }
  return { waitsUs };
}

function perform(m: RwOp): unknown {
  switch (m.op) {
    case 'solo':
      return { rate: m.kind === 'bare' ? soloBare(m.n) : soloLock(m.kind, m.n) };
    case 'mixed':
      return m.kind === 'rwlock' ? mixedRwlock(m.readWords) : mixedMutex(m.readWords);
    case 'reader':
      return reader(m.holdUs);
    case 'writer':
      return writer(m.samples, m.gapMs);
  }
}

parentPort!.on('message', (m: RwOp | 'exit') => {
  if (m === 'exit') process.exit(0);
  parentPort!.postMessage(perform(m));
});
parentPort!.postMessage('ready');
