/**
 * A fixed-window limit per client address (enrolment, SPEC §14): at most `max` requests per
 * `windowMs` from one address, counted in the store, so N cloud instances behind a balancer
 * allow `max` in total, not N × max (SPEC §12 "stateless instances"). Bounded: windows that
 * ended are pruned, and past `maxAddresses` the oldest go first, so a flood of addresses cannot
 * grow the table. An IPv6 address counts by its /64 (one subscriber's prefix).
 */
import type { CloudStore } from '../store/store.ts';

export interface AddressLimiterOptions {
  max: number;
  windowMs: number;
  maxAddresses?: number;
  /** Prune every this many hits of this process (default 100). */
  pruneEvery?: number;
  now: () => number;
}

/** The key an address counts under: IPv4 as it is, IPv6 by its first four groups. */
export function addressKey(address: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address.slice(0, 64);
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class AddressLimiter {
  private hits = 0;
  constructor(
    private readonly store: CloudStore,
    private readonly o: AddressLimiterOptions,
  ) {}

  /** Count one request; `ok: false` with the seconds until the window ends when over the limit. */
  async hit(address: string): Promise<{ ok: true } | { ok: false; retryAfterS: number }> {
    const now = this.o.now();
    if (++this.hits % (this.o.pruneEvery ?? 100) === 1) await this.store.pruneAddressWindows(now - this.o.windowMs, this.o.maxAddresses ?? 100_000);
    const w = await this.store.hitAddressWindow(addressKey(address), now, this.o.windowMs);
    if (w.hits > this.o.max) return { ok: false, retryAfterS: Math.max(1, Math.ceil((w.windowStart + this.o.windowMs - now) / 1000)) };
    return { ok: true };
  }
}
