/** Nearest-rank percentile of `samples` (p in 0..100); NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const count = samples.length;
  const mean = count === 0 ? NaN : samples.reduce((a, b) => a + b, 0) / count;
  return { count, p50: percentile(samples, 50), p99: percentile(samples, 99), max: count === 0 ? NaN : Math.max(...samples), mean };
}

/** `a / b` as `1.23x`, or `n/a`. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}x`;
}

/** Milliseconds with a sensible number of decimals. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Max over min of per-contender counts (1 = perfectly fair; Infinity when one got nothing). */
export function fairness(counts: readonly number[]): number {
  if (counts.length === 0) return NaN;
  const min = Math.min(...counts);
  return min === 0 ? Infinity : Math.max(...counts) / min;
}
