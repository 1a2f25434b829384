/**
 * The service's per-request job: one dynamic background worker per call (job-worker.ts),
 * with a one-Float64 result segment it writes before it exits. Resolves with the count,
 * or null when every slot is taken (RegisterDynamicBackgroundWorker's false); rejects if
 * the worker ended without a result (it failed, or was terminated).
 *
 * With `reusable` (the service's default) the job worker is registered for thread reuse,
 * beyond PostgreSQL: it keeps no state between calls and ends cleanly (its segment
 * detached), so the next job can run in its thread instead of a fresh one, which is what
 * bounds jobs per second when every request starts a worker.
 */
import { fileURLToPath } from 'node:url';
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, type Postmaster } from '../../lib/index.js';
import { JOB_RESULT_BYTES, type JobArg } from './layout.js';

const workerModule = fileURLToPath(new URL(`./job-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

let jobs = 0;

export async function runJob(pm: Postmaster, below: number, reusable = true): Promise<number | null> {
  const seg = pm.dsmCreate(JOB_RESULT_BYTES);
  try {
    const result = new Float64Array(seg.buffer, 0, 1);
    result[0] = -1;
    const arg: JobArg = { dsm: seg.handle, below };
    const h = await pm.registerDynamicBackgroundWorker({
      name: `job ${++jobs}`, type: 'job', module: workerModule, flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART, mainArg: arg, reusable,
    });
    if (!h) return null;
    await h.waitForShutdown();
    if (result[0]! < 0) throw new Error('the job worker ended without a result');
    return result[0]!;
  } finally {
    seg.detach();
  }
}
