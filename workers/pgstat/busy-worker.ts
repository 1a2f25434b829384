/** A worker that does mainArg.items units of work and counts each in its pgstat row, then returns. */
import type { WorkerContext } from '../../lib/worker/index.js';
import { PgstatCounter, pgstatCount } from './stats.js';

export function main(ctx: WorkerContext<{ items: number; bytesPerItem: number }>): void {
  for (let i = 0; i < ctx.mainArg.items; i++) {
    pgstatCount(ctx, PgstatCounter.processed);
    pgstatCount(ctx, PgstatCounter.bytes, ctx.mainArg.bytesPerItem);
  }
}
