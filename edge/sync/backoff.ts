/**
 * Retry pacing for the sync jobs (SPEC §9 "retries back off with jitter"): exponential backoff
 * with "equal jitter" (half fixed, half random), so a fleet that lost the cloud together does
 * not come back in lockstep, and a waiter that stop() and nudge() can cut short.
 */

export interface BackoffOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Delay before retry number `failures` (1 = first retry). `random` returns [0, 1). */
export function backoffDelayMs(failures: number, o: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(o.maxBackoffMs, o.initialBackoffMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** One pending sleep at a time; wake() ends it early (a nudge or stop). */
export class Waiter {
  private timer: NodeJS.Timeout | null = null;
  private resolve: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    this.wake();
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }

  get sleeping(): boolean {
    return this.resolve !== null;
  }
}
