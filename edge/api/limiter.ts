/**
 * A fixed-window request limiter keyed by address or rider. Our own instead of
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
    /**
     * Bound on keys kept per window: an address flood cannot grow memory without end. When it is
     * reached the oldest key is forgotten (issue 11) — refusing every new key instead would lock
     * out the kiosk and every real rider for the rest of the window.
     */
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
    if (this.counts.size >= this.maxKeys && !this.counts.has(key)) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(key, n);
    return { ok: true, retryAfterS };
  }
}

/**
 * A short pause between one rider's locker actions (issue 11: one code opened 9 doors in
 * 1.25 s). Keyed by rider id on the monotonic clock; bounded like the limiter, oldest first.
 */
export class Cooldown {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly pauseMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Ok and remembered now, or the seconds left to wait. */
  take(key: string): LimitResult {
    const now = this.clock.monotonic();
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.pauseMs) return { ok: false, retryAfterS: Math.max(1, Math.ceil((at + this.pauseMs - now) / 1000)) };
    this.last.delete(key);
    if (this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, now);
    return { ok: true, retryAfterS: 0 };
  }
}
