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
