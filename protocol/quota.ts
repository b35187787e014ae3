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
  /** SPEC §13: per station (absent, the default) or across the stations of one zone. */
  scope?: QuotaScope;
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

// ---------------------------------------------------------------------------------------------
// One quota across a zone (SPEC §13, contract). With scope "zone" the rules above hold for a
// rider across all stations of the zone: the station decides on its own windows and claims plus
// the remote facts it holds from the zone feed. Decisions stay local (§3 rule 5): what has not
// arrived yet is not known, and the cloud reconciles what two partitioned stations both granted.

/** `station`: §3 per station (the default); `zone`: §3 across the stations of one zone. */
export type QuotaScope = 'station' | 'zone';

/** The event types the zone feed carries (SPEC §13). */
export const ZONE_FACT_TYPES = ['checkin', 'claim.committed', 'claim.unknown', 'claim.released', 'claim.resolved'] as const;
export type ZoneFactType = (typeof ZONE_FACT_TYPES)[number];

/** One quota-relevant event of another station of the zone, as the feed delivers it. */
export interface RemoteFact {
  stationId: string;
  type: ZoneFactType;
  /** Service day of the event (a claim's own day for its later settlement). */
  day: ServiceDay;
  ts: number;
  riderId: string;
  windowFrom?: ServiceDay | undefined;
  windowTo?: ServiceDay | undefined;
  claimId?: string | undefined;
  /** claim.resolved: what the late report or maintenance decided. */
  outcome?: 'committed' | 'released' | undefined;
}

export interface RemoteWindow extends Window {
  stationId: string;
}

export interface RemoteClaim extends ClaimOnDay {
  stationId: string;
  claimId: string;
  /** When the claim's first fact was written at its station. */
  ts: number;
}

/** Windows opened at other stations (checkin facts). */
export function remoteWindowsOf(facts: readonly RemoteFact[]): RemoteWindow[] {
  const out: RemoteWindow[] = [];
  for (const f of facts) {
    if (f.type === 'checkin' && f.windowFrom && f.windowTo) out.push({ from: f.windowFrom, to: f.windowTo, stationId: f.stationId });
  }
  return out;
}

/**
 * A claim's status at another station, folded from its facts whatever order they came in: a
 * final state (committed, released) wins over `unknown`, and `committed` over `released` (which
 * never both happen to one claim; holding the quota is the safe reading of a contradiction).
 * A `claim.resolved` counts as its outcome; one without an outcome says nothing by itself.
 */
const RANK: Record<'unknown' | 'released' | 'committed', number> = { unknown: 1, released: 2, committed: 3 };

export function remoteClaimsOf(facts: readonly RemoteFact[]): RemoteClaim[] {
  const byId = new Map<string, { c: RemoteClaim; rank: number }>();
  for (const f of facts) {
    if (!f.claimId || f.type === 'checkin') continue;
    const status: 'unknown' | 'released' | 'committed' | undefined =
      f.type === 'claim.committed' ? 'committed' : f.type === 'claim.released' ? 'released' : f.type === 'claim.unknown' ? 'unknown' : f.outcome;
    const rank = status ? RANK[status] : 0;
    // Claim ids are UUIDs; the station is part of the key all the same, so no station can mask another's claim.
    const key = `${f.stationId}\u0000${f.claimId}`;
    const seen = byId.get(key);
    if (!seen) {
      byId.set(key, { c: { stationId: f.stationId, claimId: f.claimId, day: f.day, ts: f.ts, status: status ?? 'unknown' }, rank });
      continue;
    }
    // Every fact counts for the claim's earliest time and day, whatever it says of the status.
    seen.c.ts = Math.min(seen.c.ts, f.ts);
    if (f.day < seen.c.day) seen.c.day = f.day;
    if (status && rank > seen.rank) {
      seen.rank = rank;
      seen.c.status = status;
    }
  }
  return [...byId.values()].filter((x) => x.rank > 0).map((x) => x.c);
}

/** Deterministic choice among several remote windows or claims: earliest first, then by station. */
function firstBy<T extends { stationId: string }>(xs: readonly T[], key: (x: T) => string | number): T | undefined {
  let best: T | undefined;
  for (const x of xs) {
    if (!best || key(x) < key(best) || (key(x) === key(best) && x.stationId < best.stationId)) best = x;
  }
  return best;
}

/** What the station holds of the rest of its zone for one rider (see remoteWindowsOf/remoteClaimsOf). */
export interface ZoneView {
  windows: readonly RemoteWindow[];
  claims: readonly RemoteClaim[];
}

export type ZoneCheckinOutcome =
  | { kind: 'opened'; window: Window }
  /** `station`: the other station where the covering window was opened. */
  | { kind: 'already_checked_in'; window: Window; station?: string };

/** SPEC §3 rules 1–2 across the zone: a window opened at any station of the zone covers here too. */
export function decideZoneCheckin(
  local: readonly Window[],
  remote: ZoneView,
  day: ServiceDay,
  policy: QuotaPolicy = DEFAULT_POLICY,
): ZoneCheckinOutcome {
  const own = decideCheckin(local, day, policy);
  if (own.kind === 'already_checked_in') return own;
  const there = firstBy(remote.windows.filter((w) => covers(w, day)), (w) => w.from);
  if (there) return { kind: 'already_checked_in', window: { from: there.from, to: there.to }, station: there.stationId };
  return own;
}

export type ZoneClaimDecision =
  | { kind: 'granted'; window: Window }
  | { kind: 'not_checked_in' }
  /** `station`: where the day's bottle was taken, when it was another station of the zone. */
  | { kind: 'already_claimed_today'; window: Window; station?: string };

/** SPEC §3 rule 3 across the zone: the day's claims of every station hold the quota. */
export function decideZoneClaim(
  localWindows: readonly Window[],
  localClaims: readonly ClaimOnDay[],
  remote: ZoneView,
  day: ServiceDay,
  policy: QuotaPolicy = DEFAULT_POLICY,
): ZoneClaimDecision {
  const window =
    windowCovering(localWindows, day) ?? firstBy(remote.windows.filter((w) => covers(w, day)), (w) => w.from);
  if (!window) return { kind: 'not_checked_in' };
  const w = { from: window.from, to: window.to };
  const localHeld = localClaims.filter((c) => c.day === day && holdsQuota(c.status)).length;
  if (localHeld >= policy.claimsPerDay) return { kind: 'already_claimed_today', window: w };
  const remoteHeld = remote.claims.filter((c) => c.day === day && holdsQuota(c.status));
  if (localHeld + remoteHeld.length >= policy.claimsPerDay) {
    const where = firstBy(remoteHeld, (c) => c.ts);
    return { kind: 'already_claimed_today', window: w, ...(where ? { station: where.stationId } : {}) };
  }
  return { kind: 'granted', window: w };
}
