/**
 * Test helpers for scheduled workers: a host with the "test" region the scheduled-job
 * fixture counts in, and waits on a schedule's events with deadlines (see deadline.ts).
 */
import type { Test } from 'tap';
import { BGWORKER_SHMEM_ACCESS, type Postmaster, type PostmasterOptions, type RunRecord, type ScheduledWorker, type ScheduleSpec } from '../../dist/lib/index.js';
import { fixture, makeHost, nextEvents } from './host.js';

export const job = fixture('scheduled-job');

/** A started host with shmem "test" (64 bytes). */
export async function scheduleHost(t: Test, options: PostmasterOptions = {}): Promise<Postmaster> {
  const pm = makeHost(t, { shmem: { test: 64 }, ...options });
  await pm.start();
  return pm;
}

/** A schedule of the scheduled-job fixture (with shared memory), removed with the test. */
export async function scheduleJob(t: Test, pm: Postmaster, spec: Omit<ScheduleSpec, 'module'> & { module?: string }): Promise<ScheduledWorker> {
  const w = await pm.schedule({ module: job, flags: BGWORKER_SHMEM_ACCESS, ...spec });
  t.teardown(() => w.remove());
  return w;
}

/** The records of the next `n` 'finish' events of `w` (optionally those matching `pred`). */
export function finishes(w: ScheduledWorker, n: number, what: string, pred: (r: RunRecord) => boolean = () => true): Promise<RunRecord[]> {
  return nextEvents<[RunRecord]>(w, 'finish', n, what, pred).then((all) => all.map(([r]) => r));
}

/** The records of the next `n` events `name` of `w`. */
export function records(w: ScheduledWorker, name: 'run' | 'skip' | 'queued' | 'delayed', n: number, what: string): Promise<RunRecord[]> {
  return nextEvents<[RunRecord]>(w, name, n, what).then((all) => all.map(([r]) => r));
}
