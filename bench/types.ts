/**
 * The shape every benchmark file shares: each `bench/<concept>.bench.ts`
 * default-exports a Bench; `bench/run.ts` runs them, prints the table and writes
 * bench/out/latest.json (and, with --publish, bench/results/figures.json).
 *
 * A Figure pairs our number with a baseline measured in the same run, interleaved
 * (A B A B …) after a warm-up. `ratio` = ours / baseline. A figure that cannot run here
 * (no PostgreSQL, say) keeps its row with `ours: null` and a `reason`.
 */
export interface Figure {
  id: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  baselineName: string;
  ratio: number | null;
  /** e.g. "ratio <= 0.1", "ratio >= 5", "difference <= 2" */
  target: string;
  met: boolean | null;
  samples: number;
  reason?: string;
  /** Further summaries worth keeping in the JSON (p99, CPU time, …). */
  extra?: Record<string, number>;
}

export interface BenchContext {
  /** --quick: a smoke run, the whole suite under a minute. */
  quick: boolean;
  progress(msg: string): void;
  /** Whether figure `id` was asked for (--only); a bench skips the figures that were not. */
  wants(id: string): boolean;
}

export interface Bench {
  name: string;
  /** The figure ids this bench produces: the runner picks benches by them and lists the rest. */
  figures: readonly string[];
  run(ctx: BenchContext): Promise<Figure[]>;
}
