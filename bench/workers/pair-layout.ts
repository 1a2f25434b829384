/**
 * The shared words of a ping-pong pair, for every variant (our latches, raw futex words,
 * postMessage): the host hands the pinger batches through CMD/N and waits on DONE; the
 * pinger writes one round-trip time per sample, in ms, from Float64 index SAMPLES_AT.
 * TURN sits on its own cache line, away from the control words.
 */
export const CMD = 0;
export const DONE = 1;
export const N = 2;
export const STOP = 3;
export const PING_SLOT = 4;
export const PONG_SLOT = 5;
export const TURN = 16;
export const SAMPLES_AT = 16;
export const MAX_BATCH = 1000;
export const PAIR_BYTES = 8 * (SAMPLES_AT + MAX_BATCH);

/** TURN values: whose move it is; QUIT ends a raw ponger. */
export const PING = 0;
export const PONG = 1;
export const QUIT = 2;

/**
 * The pinger's command loop: for each batch the host posts, take N samples of
 * `roundTrip`, then bump DONE. Returns when the host sets STOP. Blocks between batches.
 */
export async function serveBatches(i32: Int32Array, f64: Float64Array, roundTrip: () => number | Promise<number>): Promise<void> {
  for (let done = 0; ; done++) {
    while (Atomics.load(i32, CMD) === done) Atomics.wait(i32, CMD, done);
    if (Atomics.load(i32, STOP)) return;
    const n = Atomics.load(i32, N);
    for (let k = 0; k < n; k++) {
      const r = roundTrip();
      f64[SAMPLES_AT + k] = typeof r === 'number' ? r : await r;
    }
    Atomics.add(i32, DONE, 1);
    Atomics.notify(i32, DONE);
  }
}
