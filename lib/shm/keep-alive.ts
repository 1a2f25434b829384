/**
 * Atomics.waitAsync that keeps the thread's event loop alive while it is pending.
 *
 * Node does not count a pending Atomics.waitAsync as work (nodejs/node #44729): a worker
 * whose only outstanding task is such a wait exits with code 13, and the host process would
 * exit under a sleeping server loop. Every asynchronous sleep on a shared word therefore goes
 * through `waitAsyncHeld`, which holds the loop open with one interval timer per thread:
 * ref'd while at least one wait is pending, unref'd when the last one settles. A wait that
 * settles synchronously (the word already differs) touches the timer not at all, and no wait
 * allocates a timer of its own.
 *
 * Any thread may use it; it is the only place that refs or unrefs the hold.
 */

const hold = setInterval(() => {}, 1 << 30);
hold.unref();
let pending = 0;

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Atomics.waitAsync(i32, index, value, timeoutMs), with the event loop held while it sleeps. */
export async function waitAsyncHeld(i32: Int32Array, index: number, value: number, timeoutMs = Infinity): Promise<WaitResult> {
  const r = Atomics.waitAsync(i32, index, value, timeoutMs);
  if (!r.async) return r.value;
  if (pending++ === 0) hold.ref();
  try {
    return await r.value;
  } finally {
    if (--pending === 0) hold.unref();
  }
}
