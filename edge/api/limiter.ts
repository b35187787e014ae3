/**
 * A fixed-window request limiter keyed by address or credential. Our own instead of
 * @fastify/rate-limit because one rider route needs two limits with different keys (the
 * address before the body is read, the credential after), and the window must follow the
 * injected monotonic clock so a wall-clock jump neither frees nor blocks riders.
 */
import type { Clock } from '../../protocol/index.ts';

export interface LimitResult {
  ok: boolean;
  /** Seconds until the window resets (for `Retry-After`). */
  retryAfterS: number;
}

export class FixedWindowLimiter {
  private counts = new Map<string, number>();
  private windowStart: number;

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs = 60_000,
    /** Bound on keys kept per window: an address flood cannot grow memory without end. */
    private readonly maxKeys = 100_000,
  ) {
    this.windowStart = clock.monotonic();
  }

  hit(key: string): LimitResult {
    const now = this.clock.monotonic();
    if (now - this.windowStart >= this.windowMs) {
      // Every key resets together: one Map swap instead of per-key sweeping.
      this.counts = new Map();
      this.windowStart = now - ((now - this.windowStart) % this.windowMs);
    }
    const retryAfterS = Math.max(1, Math.ceil((this.windowStart + this.windowMs - now) / 1000));
    const n = (this.counts.get(key) ?? 0) + 1;
    if (n > this.limit) return { ok: false, retryAfterS };
    if (this.counts.size >= this.maxKeys && !this.counts.has(key)) return { ok: false, retryAfterS };
    this.counts.set(key, n);
    return { ok: true, retryAfterS };
  }
}
