/**
 * Host-side helpers shared by the benches: a wall clock every thread agrees on, sleeps,
 * non-blocking waits on shared words, plain worker_threads started and stopped cleanly,
 * and the A B A B alternation that pairs each measurement with its baseline.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitAsyncHeld } from '../lib/shm/keep-alive.js';

export { sleep };

/** Milliseconds since the epoch with sub-microsecond resolution, comparable across threads. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The compiled bench worker module `name` (bench/workers/<name>.ts). */
export function workerUrl(name: string): URL {
  return new URL(`./workers/${name}.js`, import.meta.url);
}

/** Resolve once i32[index] differs from `seen`, without blocking the event loop. */
export async function waitChange(i32: Int32Array, index: number, seen: number): Promise<void> {
  while (Atomics.load(i32, index) === seen) await waitAsyncHeld(i32, index, seen);
}

/** Start a plain worker thread and resolve with it once it posts its first message. */
export function startWorker(url: URL, workerData?: unknown, transferList?: TransferListItem[]): Promise<Worker> {
  const w = new Worker(url, transferList ? { workerData, transferList } : { workerData });
  return new Promise((resolve, reject) => {
    w.once('message', () => resolve(w));
    w.once('error', reject);
  });
}

/** Wait for a worker to exit (after it was asked to, or after it finished). */
export function exited(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once('exit', resolve));
}

/** The next message a worker posts. */
export function reply<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    w.once('error', onError);
    w.once('message', (m: T) => {
      w.off('error', onError);
      resolve(m);
    });
  });
}

/**
 * Run each measurement in turn (ours, then its baseline, then any comparison), `rounds`
 * times, after `warmups` unrecorded turns of each: A B A B, never all of A then all of B.
 */
export async function alternate(rounds: number, warmups: number, ...runs: Array<(record: boolean) => Promise<void>>): Promise<void> {
  for (let r = -warmups; r < rounds; r++) {
    for (const run of runs) await run(r >= 0);
  }
}

/** Thrown by `within` when threads did not answer in time (e.g. a lost wake-up left them asleep). */
export class Hang extends Error {}

/** `p`, or a Hang with `why()` as message if it is not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(why())), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
