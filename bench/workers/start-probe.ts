/**
 * Entry of a dynamic worker for start.dynamic: its first line stamps the wall-clock time
 * (performance.timeOrigin + now, which every thread shares) into the host's shared region,
 * so the host sees when the entry began without a message in the way. Then it returns.
 */
import type { WorkerContext } from '../../lib/worker/index.js';

export function main(ctx: WorkerContext<{ region: string }>): void {
  const t = performance.timeOrigin + performance.now();
  ctx.shmem(ctx.mainArg.region).float64[0] = t;
}
