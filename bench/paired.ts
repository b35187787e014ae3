/**
 * Paired A/B timing for the ingest benches (cloud, fleet): each batch is timed on both sides
 * back to back, the side that goes first alternating from batch to batch, and the figure is
 * the median of the per-pair ratios. The disk's fsync time drifts several-fold within seconds
 * here, so a ratio of two totals measured apart is mostly that drift; a pair shares it.
 */
import { fmt, percentile } from './lib.ts';

export interface PairedTimes {
  /** Milliseconds of the baseline side, one entry per pair. */
  baseMs: number[];
  /** Milliseconds of the measured side, one entry per pair, the same rows as `baseMs`. */
  testMs: number[];
  /** Rows per pair (both sides store the same rows), for the rates. */
  rows: number[];
}

export function newPairedTimes(): PairedTimes {
  return { baseMs: [], testMs: [], rows: [] };
}

/**
 * Time `base` and `test` on one batch, `baseFirst` deciding the order; `record` false for a
 * warm-up pair (run, not counted).
 */
export async function timePair(
  into: PairedTimes,
  rows: number,
  baseFirst: boolean,
  base: () => unknown,
  test: () => unknown,
  record = true,
): Promise<void> {
  const timed = async (fn: () => unknown) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  let b: number;
  let t: number;
  if (baseFirst) {
    b = await timed(base);
    t = await timed(test);
  } else {
    t = await timed(test);
    b = await timed(base);
  }
  if (!record) return;
  into.baseMs.push(b);
  into.testMs.push(t);
  into.rows.push(rows);
}

export interface PairedSummary {
  pairs: number;
  /** Rows per second of each side over all pairs (total rows ÷ total time). */
  baseRate: number;
  testRate: number;
  /** Per pair, test rate ÷ base rate (= base time ÷ test time): median and middle half. */
  median: number;
  p25: number;
  p75: number;
}

export function summarize(p: PairedTimes): PairedSummary {
  const ratios = p.baseMs.map((b, i) => b / p.testMs[i]!);
  const rows = p.rows.reduce((a, b) => a + b, 0);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    pairs: ratios.length,
    baseRate: (rows / sum(p.baseMs)) * 1000,
    testRate: (rows / sum(p.testMs)) * 1000,
    median: percentile(ratios, 50),
    p25: percentile(ratios, 25),
    p75: percentile(ratios, 75),
  };
}

/** "0.62× raw insert, median of 240 paired batches (middle half 0.55–0.70; totals 0.60×)". */
export function pairedRatioText(s: PairedSummary, against: string, target: string): string {
  return `${s.median.toFixed(2)}× ${against}, median of ${fmt(s.pairs)} paired batches (middle half ${s.p25.toFixed(2)}–${s.p75.toFixed(2)}; totals ${(s.testRate / s.baseRate).toFixed(2)}×) (${target})`;
}
