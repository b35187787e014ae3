/** Retry pacing of the sync jobs (SPEC §9 "retries back off with jitter"). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, Waiter } from '../../edge/sync/backoff.ts';

const O = { initialBackoffMs: 1_000, maxBackoffMs: 300_000 };

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, half fixed and half random', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, O, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, O, () => 0.999_999))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffDelayMs(30, O, () => 0)).toBe(150_000);
    expect(backoffDelayMs(1_000_000, O, () => 0.999_999)).toBe(300_000);
  });

  it('stays within [exp/2, exp] for any failure count and random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, u) => {
        const exp = Math.min(O.maxBackoffMs, O.initialBackoffMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
        const d = backoffDelayMs(failures, O, () => u);
        return d >= Math.floor(exp / 2) && d <= exp && Number.isFinite(d);
      }),
    );
  });

  it('spreads a fleet that failed together (jitter)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 50 }, () => backoffDelayMs(5, O, random));
    expect(new Set(delays).size).toBeGreaterThan(40);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(4_000);
  });

  it('a waiter sleeps until its time or a wake, whichever is first', async () => {
    const w = new Waiter();
    const t0 = performance.now();
    await w.sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    const long = w.sleep(60_000);
    expect(w.sleeping).toBe(true);
    setTimeout(() => w.wake(), 10);
    await long;
    expect(w.sleeping).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
