/**
 * Parallel fan-out from a background worker: a long-lived bgworker hands short CPU tasks to
 * a piscina pool of its own and gathers the results — the split PostgreSQL makes between a
 * leader and its parallel workers, with piscina doing what it is built for (short tasks on
 * reused threads) and the bgworker doing what it is for (a supervised, long-lived job).
 *
 * mainArg: { from, to, chunks, threads }. The worker counts the primes in [from, to) in
 * `chunks` tasks on `threads` pool threads, stores the total in int32 cell 0 of shmem
 * "fanout", logs it and returns. A SIGTERM aborts the tasks in flight (the AbortSignal the
 * default handler fires) and ends the worker through the usual path.
 */
import { Piscina } from 'piscina';
import type { WorkerContext } from '../../lib/worker/index.js';

export interface FanoutArg {
  from: number;
  to: number;
  chunks: number;
  threads: number;
}

const taskFile = new URL(`./task${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

function split({ from, to, chunks }: FanoutArg): Array<{ from: number; to: number }> {
  const step = Math.ceil((to - from) / chunks);
  const parts = [];
  for (let a = from; a < to; a += step) parts.push({ from: a, to: Math.min(to, a + step) });
  return parts;
}

export async function main(ctx: WorkerContext<FanoutArg>): Promise<void> {
  // atomics 'disabled': pool threads wait on their ports, never frozen in Atomics.wait.
  const pool = new Piscina({ filename: taskFile, minThreads: ctx.mainArg.threads, maxThreads: ctx.mainArg.threads, atomics: 'disabled' });
  ctx.onExit(() => void pool.destroy());
  const counts = await Promise.all(split(ctx.mainArg).map((range) => pool.run(range, { signal: ctx.signal }) as Promise<number>));
  await pool.destroy();
  ctx.checkForInterrupts();
  const total = counts.reduce((a, b) => a + b, 0);
  Atomics.store(ctx.shmem('fanout').int32, 0, total);
  ctx.log.info(`${counts.length} tasks on ${pool.options.maxThreads} pool threads: ${total} primes in [${ctx.mainArg.from}, ${ctx.mainArg.to})`);
}
