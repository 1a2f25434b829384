/**
 * Demo: a dynamically launched one-shot worker (BGW_NEVER_RESTART). It reads the counters
 * under the shared lock, checks that the total equals the sum of the per-worker cells,
 * reports, and returns — exit 0, its slot goes back to the pool.
 */
import type { WorkerContext } from '../../lib/worker/index.js';
import { DEMO_CHECKS, DEMO_COUNTER_CELLS, DEMO_MISMATCHES, DEMO_TOTAL } from './layout.js';

export function main(ctx: WorkerContext<{ counters: number }>): void {
  const cells = ctx.shmem('demo').int32;
  const { total, sum } = ctx.lock('counter').with('shared', () => {
    let s = 0;
    for (let i = 0; i < ctx.mainArg.counters; i++) s += cells[DEMO_COUNTER_CELLS + i]!;
    return { total: cells[DEMO_TOTAL]!, sum: s };
  });
  Atomics.add(cells, DEMO_CHECKS, 1);
  if (total !== sum) Atomics.add(cells, DEMO_MISMATCHES, 1);
  ctx.log.info(`${ctx.entry.name}: total ${total}, sum of counters ${sum}${total === sum ? '' : ' — MISMATCH'}`);
}
