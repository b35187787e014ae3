/**
 * The quota rule (SPEC §3, contract) as pure functions.
 *
 * A check-in on day d when no window covers d opens [d, d+6]; a check-in inside a window
 * changes nothing. A claim on day d is granted only if a window covers d and the rider has
 * no claim on d that is committed, in flight or unknown.
 */
import { addDays, type ServiceDay } from './time.ts';

export const DEFAULT_WINDOW_DAYS = 7;

export interface Window {
  from: ServiceDay;
  to: ServiceDay;
}

/** Claim life cycle (SPEC §3 rule 4). */
export type ClaimStatus = 'reserved' | 'dispensing' | 'committed' | 'released' | 'unknown';

export function holdsQuota(status: ClaimStatus): boolean {
  return status !== 'released';
}

export interface ClaimOnDay {
  day: ServiceDay;
  status: ClaimStatus;
}

export interface QuotaPolicy {
  /** Length of an entitlement window in service days (7 in SPEC §3). */
  windowDays: number;
  /** Bottles a rider may take per service day (1 in SPEC §3). */
  claimsPerDay: number;
}

export const DEFAULT_POLICY: QuotaPolicy = { windowDays: DEFAULT_WINDOW_DAYS, claimsPerDay: 1 };

export function covers(w: Window, day: ServiceDay): boolean {
  return w.from <= day && day <= w.to; // YYYY-MM-DD strings order like dates
}

export function windowCovering(windows: readonly Window[], day: ServiceDay): Window | undefined {
  return windows.find((w) => covers(w, day));
}

export type CheckinOutcome =
  | { kind: 'opened'; window: Window }
  | { kind: 'already_checked_in'; window: Window };

/** SPEC §3 rules 1–2. */
export function decideCheckin(
  windows: readonly Window[],
  day: ServiceDay,
  policy: QuotaPolicy = DEFAULT_POLICY,
): CheckinOutcome {
  const open = windowCovering(windows, day);
  if (open) return { kind: 'already_checked_in', window: open };
  return { kind: 'opened', window: { from: day, to: addDays(day, policy.windowDays - 1) } };
}

export type ClaimDecision =
  | { kind: 'granted'; window: Window }
  | { kind: 'not_checked_in' }
  | { kind: 'already_claimed_today'; window: Window };

/** SPEC §3 rule 3. */
export function decideClaim(
  windows: readonly Window[],
  claims: readonly ClaimOnDay[],
  day: ServiceDay,
  policy: QuotaPolicy = DEFAULT_POLICY,
): ClaimDecision {
  const window = windowCovering(windows, day);
  if (!window) return { kind: 'not_checked_in' };
  const held = claims.filter((c) => c.day === day && holdsQuota(c.status)).length;
  if (held >= policy.claimsPerDay) return { kind: 'already_claimed_today', window };
  return { kind: 'granted', window };
}
