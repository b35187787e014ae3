/**
 * A fixed-window limit per client address (enrolment, SPEC §14): at most `max` requests per
 * `windowMs` from one address. Bounded: at most `maxAddresses` windows are kept, the oldest
 * dropped first, so a flood of addresses cannot grow it. Per process: with N cloud instances
 * behind a balancer an address gets up to N × max.
 */
export interface AddressLimiterOptions {
  max: number;
  windowMs: number;
  maxAddresses?: number;
  now: () => number;
}

export class AddressLimiter {
  private readonly windows = new Map<string, { start: number; n: number }>();
  constructor(private readonly o: AddressLimiterOptions) {}

  /** Count one request; `ok: false` with the seconds until the window ends when over the limit. */
  hit(address: string): { ok: true } | { ok: false; retryAfterS: number } {
    const now = this.o.now();
    let w = this.windows.get(address);
    if (!w || now - w.start >= this.o.windowMs) {
      this.windows.delete(address);
      if (this.windows.size >= (this.o.maxAddresses ?? 100_000)) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, n: 0 };
      this.windows.set(address, w);
    }
    w.n++;
    if (w.n > this.o.max) return { ok: false, retryAfterS: Math.max(1, Math.ceil((w.start + this.o.windowMs - now) / 1000)) };
    return { ok: true };
  }
}
