/**
 * Baseline for latch.rtt.sync and latch.rtt.spin: two plain worker_threads ping-pong on one
 * shared word with nothing but Atomics.store, Atomics.notify and Atomics.wait, the floor a
 * futex ping-pong can reach in JS. With `spin` > 0 each side first polls the word that many
 * times before it sleeps: the floor of a spin-then-wait ping-pong, for comparison. With
 * `asyncWait`, each side sleeps with a bare Atomics.waitAsync instead (an interval timer
 * holds the thread's loop open meanwhile): the floor of latch.rtt.async, the same wake-up
 * through V8's waitAsync and the event loop with none of the latch around it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PING, PONG, QUIT, serveBatches, TURN } from './pair-layout.js';

const { sab, role, spin, asyncWait } = workerData as { sab: SharedArrayBuffer; role: 'ping' | 'pong'; spin: number; asyncWait?: boolean };
const i32 = new Int32Array(sab);
const f64 = new Float64Array(sab);

function pass(to: number): void {
  Atomics.store(i32, TURN, to);
  Atomics.notify(i32, TURN);
}

/** Wait while TURN still holds `value`. */
function waitWhile(value: number): void {
  for (let i = 0; i < spin && Atomics.load(i32, TURN) === value; i++);
  while (Atomics.load(i32, TURN) === value) Atomics.wait(i32, TURN, value);
}

async function waitWhileAsync(value: number): Promise<void> {
  while (Atomics.load(i32, TURN) === value) {
    const r = Atomics.waitAsync(i32, TURN, value);
    if (r.async) await r.value;
  }
}

function roundTrip(): number {
  const t0 = performance.now();
  pass(PONG);
  waitWhile(PONG);
  return performance.now() - t0;
}

async function roundTripAsync(): Promise<number> {
  const t0 = performance.now();
  pass(PONG);
  await waitWhileAsync(PONG);
  return performance.now() - t0;
}

async function pong(): Promise<void> {
  for (;;) {
    if (asyncWait) await waitWhileAsync(PING);
    else waitWhile(PING);
    if (Atomics.load(i32, TURN) === QUIT) return;
    pass(PING);
  }
}

const hold = asyncWait ? setInterval(() => {}, 1 << 30) : null;
parentPort!.postMessage('ready');
if (role === 'ping') {
  await serveBatches(i32, f64, asyncWait ? roundTripAsync : roundTrip);
  pass(QUIT);
} else {
  await pong();
}
if (hold) clearInterval(hold);
