/**
 * What one stored station event gives the zone feed (SPEC §13), as a pure function: the feed
 * carries the quota-relevant events (check-ins and a claim's life, SPEC §3 rule 4), with the few
 * keys a station's quota rule reads. Everything else of the event stays in the log.
 */
import type { StationEvent, ZoneFeedEntry } from '../../protocol/index.ts';

export const FEED_TYPES = ['checkin', 'claim.committed', 'claim.unknown', 'claim.released', 'claim.resolved'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

/** A feed entry as stored, before the zone counter gives it its place. */
export interface FeedRow {
  stationId: string;
  seq: number;
  type: FeedType;
  day: string;
  ts: number;
  riderId: string;
  windowFrom: string | null;
  windowTo: string | null;
  claimId: string | null;
  outcome: string | null;
  /** `zoneFeedAgeMs` of the event (claim.committed / claim.unknown): how stale the station's feed was. */
  feedAgeMs: number | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : null);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The feed row of an event, or null when the event is not quota-relevant or lacks what the rule needs. */
export function feedRowOf(stationId: string, e: StationEvent): FeedRow | null {
  if (!(FEED_TYPES as readonly string[]).includes(e.type)) return null;
  const d = e.data;
  const riderId = str(d.riderId);
  if (!riderId || !DAY.test(e.day)) return null;
  const type = e.type as FeedType;
  const claimId = str(d.claimId);
  if (type === 'checkin') {
    const from = str(d.windowFrom);
    const to = str(d.windowTo);
    if (!from || !to || !DAY.test(from) || !DAY.test(to)) return null;
    return { stationId, seq: e.seq, type, day: e.day, ts: e.ts, riderId, windowFrom: from, windowTo: to, claimId: null, outcome: null, feedAgeMs: null };
  }
  if (!claimId) return null;
  const age = d.zoneFeedAgeMs;
  const feedAgeMs = typeof age === 'number' && Number.isSafeInteger(age) && age >= 0 ? age : null;
  const outcome = type === 'claim.resolved' ? str(d.outcome) : null;
  return { stationId, seq: e.seq, type, day: e.day, ts: e.ts, riderId, windowFrom: null, windowTo: null, claimId, outcome, feedAgeMs };
}

/** The wire shape of a stored row (optional keys left out, not null). */
export function feedEntryOf(r: FeedRow): ZoneFeedEntry {
  return {
    stationId: r.stationId,
    seq: r.seq,
    type: r.type,
    day: r.day,
    ts: r.ts,
    riderId: r.riderId,
    ...(r.windowFrom !== null ? { windowFrom: r.windowFrom } : {}),
    ...(r.windowTo !== null ? { windowTo: r.windowTo } : {}),
    ...(r.claimId !== null ? { claimId: r.claimId } : {}),
    ...(r.outcome !== null ? { outcome: r.outcome } : {}),
  };
}

/**
 * What a claim event does to the claim's standing in the zone (SPEC §3 rule 4): committed and
 * unknown hold the quota ("granted"), released gives it back; claim.resolved is followed by the
 * settled event, which decides.
 */
export function claimStateOf(type: FeedType): 'granted' | 'released' | null {
  if (type === 'claim.committed' || type === 'claim.unknown') return 'granted';
  if (type === 'claim.released') return 'released';
  return null;
}

/**
 * What a batch does to its claims' standings: the last state event of each claim in the batch
 * decides (an unknown claim released later in the same batch never held the quota at the
 * cloud). `grants` keep their first row's day and rider; `releases` name claims by id.
 */
export function claimChanges(feed: readonly FeedRow[]): { grants: FeedRow[]; releases: string[] } {
  const last = new Map<string, { state: 'granted' | 'released'; row: FeedRow }>();
  for (const r of feed) {
    const state = claimStateOf(r.type);
    if (state === null || r.claimId === null) continue;
    const prev = last.get(r.claimId);
    // The claim's own row (day, rider, time) is its first granted one; a later one only adds its feed age.
    const row = prev && prev.state === 'granted' && state === 'granted' ? { ...prev.row, feedAgeMs: r.feedAgeMs ?? prev.row.feedAgeMs } : r;
    last.delete(r.claimId);
    last.set(r.claimId, { state, row });
  }
  const grants: FeedRow[] = [];
  const releases: string[] = [];
  for (const [id, x] of last) (x.state === 'granted' ? grants.push(x.row) : releases.push(id));
  return { grants, releases };
}

/** A claim's standing in its zone, as `zone_claims` keeps it. */
export interface ClaimStanding {
  zone: string;
  claimId: string;
  riderId: string;
  day: string;
  ts: number;
  feedAgeMs: number | null;
  state: 'granted' | 'released';
}

/**
 * The standings the given feed rows of one station give its claims (in the feed's order, as
 * ingest applies them batch by batch): a claim's row is its first granted one, its state the
 * last state event's, its feed age the last one known. A claim with no granted row never held
 * the quota at the cloud and has no standing. One standing per claim id, in the zone of its first
 * grant, as `zone_claims` is keyed. Used to rebuild standings when a log is re-admitted.
 */
export function claimStandingsOf(rows: readonly (FeedRow & { zone: string })[]): ClaimStanding[] {
  const by = new Map<string, ClaimStanding>();
  for (const r of rows) {
    const state = claimStateOf(r.type);
    if (state === null || r.claimId === null) continue;
    const s = by.get(r.claimId);
    if (!s) {
      if (state === 'granted') by.set(r.claimId, { zone: r.zone, claimId: r.claimId, riderId: r.riderId, day: r.day, ts: r.ts, feedAgeMs: r.feedAgeMs, state });
      continue;
    }
    s.state = state;
    if (r.feedAgeMs !== null) s.feedAgeMs = r.feedAgeMs;
  }
  return [...by.values()];
}
