/**
 * Order statistics for benchmark samples: quantiles by the nearest-rank method on a sorted
 * copy, so that p50 and p99 are always values that were actually observed.
 */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
}

/** The q-quantile (0..1) by nearest rank; NaN for no samples. */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(xs: ArrayLike<number>): number {
  return quantile(xs, 0.5);
}

export function summarize(xs: ArrayLike<number>): Summary {
  return { n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) };
}
