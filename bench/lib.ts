/** Shared helpers for benchmark modules. */
export interface BenchRow {
  /** What was measured, e.g. "claim reservations/s through the ledger". */
  name: string;
  /** The figure with its unit, e.g. "1,234 /s" or "0.21 ms". */
  value: string;
  /** Ratio against the same run's baseline, e.g. "0.93× raw insert (target ≥ 0.8)". */
  ratio?: string;
}

export interface BenchContext {
  progress(msg: string): void;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Percentile of a sorted or unsorted sample (p in 0..100). */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Run `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export function opsPerSecond(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    n++;
    if ((n & 15) === 0) now = performance.now();
  }
  now = performance.now();
  return (n / (now - start)) * 1000;
}
