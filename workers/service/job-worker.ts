/**
 * The service's per-request worker: a dynamic background worker that counts the primes
 * below mainArg.below, writes the count into the result segment the host made for it and
 * exits — one life, never restarted. A SIGTERM (the host shutting down, or the dashboard's
 * terminate) ends it between rounds.
 */
import type { WorkerContext } from '../../lib/worker/index.js';
import type { JobArg } from './layout.js';

export async function main(ctx: WorkerContext<JobArg>): Promise<void> {
  const seg = await ctx.dsmAttach(ctx.mainArg.dsm);
  if (!seg) throw new Error('the result segment is gone');
  ctx.reportActivity(`counting primes below ${ctx.mainArg.below}`);
  let count = 0;
  for (let n = 2; n < ctx.mainArg.below; n++) {
    if ((n & 0x3ff) === 0) ctx.checkForInterrupts();
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  new Float64Array(seg.buffer, 0, 1)[0] = count;
  seg.detach();
}
