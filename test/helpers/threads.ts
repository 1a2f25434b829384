/**
 * Counting the process's OS threads, to prove that a host leaves none behind: every worker
 * thread is an OS thread until it has been joined, so after a shutdown the count must be
 * back where it was before the host was made. Linux only (/proc/self/task); null elsewhere.
 */
import { existsSync, readdirSync } from 'node:fs';

const TASKS = '/proc/self/task';

export function osThreadCount(): number | null {
  return existsSync(TASKS) ? readdirSync(TASKS).length : null;
}

/**
 * The thread count once it has come down to `target`, or what it is after `withinMs`: an
 * exited worker's OS thread can outlive its 'exit' event by a moment, a leaked one for ever.
 */
export async function settledThreadCount(target: number, withinMs = 2000): Promise<number | null> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const n = osThreadCount();
    if (n === null || n <= target || performance.now() >= deadline) return n;
    await new Promise((res) => setTimeout(res, 10));
  }
}
