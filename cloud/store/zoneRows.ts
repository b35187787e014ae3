/** Row mappers of the zone feed and conflicts, shared by both store backends. */
import { addDays, isoWeekMonday, isoWeekOf } from '../../protocol/index.ts';
import type { FeedType } from '../zone/feedEntries.ts';
import type { ConflictKeyRow, ConflictRow, StoredFeedRow } from './store.ts';

type Row = Record<string, unknown>;

export function feedRowOfDb(r: Row): StoredFeedRow {
  return {
    zseq: Number(r.zseq),
    stationId: r.station_id as string,
    seq: r.seq as number,
    type: r.type as FeedType,
    day: r.day as string,
    ts: Number(r.ts),
    riderId: r.rider_id as string,
    windowFrom: (r.window_from as string | null) ?? null,
    windowTo: (r.window_to as string | null) ?? null,
    claimId: (r.claim_id as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    feedAgeMs: r.feed_age_ms === null || r.feed_age_ms === undefined ? null : Number(r.feed_age_ms),
  };
}

/** Rows of the conflicts query (one per granted claim, ordered by conflict) grouped into conflicts. */
export function conflictsOfDb(rows: readonly Row[]): ConflictRow[] {
  const out: ConflictRow[] = [];
  for (const r of rows) {
    let c = out.at(-1);
    if (!c || c.zone !== r.zone || c.riderId !== r.rider_id || c.day !== r.day) {
      c = { riderId: r.rider_id as string, day: r.day as string, zone: r.zone as string, foundAt: Number(r.found_at), claims: [] };
      out.push(c);
    }
    c.claims.push({
      stationId: r.station_id as string,
      claimId: r.claim_id as string,
      ts: Number(r.ts),
      feedLagMs: r.feed_age_ms === null || r.feed_age_ms === undefined ? null : Number(r.feed_age_ms),
    });
  }
  return out;
}

export const weekOfConflictDay = (day: string): string => isoWeekOf(day);

/** The conflicts of a week with their granted claims, oldest day first ($1 week, $2 zone or null). */
export const CONFLICTS_SQL = (p: (n: number) => string) => `
  SELECT c.zone, c.rider_id, c.day, c.found_at, z.station_id, z.claim_id, z.ts, z.feed_age_ms
  FROM zone_conflicts c JOIN zone_claims z ON z.zone = c.zone AND z.rider_id = c.rider_id AND z.day = c.day AND z.state = 'granted'
  WHERE c.week = ${p(1)} AND (CAST(${p(2)} AS TEXT) IS NULL OR c.zone = ${p(2)})
  ORDER BY c.day, c.zone, c.rider_id, z.ts, z.station_id, z.claim_id`;

/** The (station, zone, rider, day) of every conflict on the service days $1..$2 (range reports, SPEC §17). */
export const RANGE_CONFLICTS_SQL = (p: (n: number) => string) => `
  SELECT DISTINCT z.station_id, c.zone, c.rider_id, c.day
  FROM zone_conflicts c JOIN zone_claims z ON z.zone = c.zone AND z.rider_id = c.rider_id AND z.day = c.day AND z.state = 'granted'
  WHERE c.day BETWEEN ${p(1)} AND ${p(2)} ORDER BY c.day, c.zone, c.rider_id, z.station_id`;

/** One bootstrap page ($1 zone, $2 after, $3 head, $4 station, $5 windowsFrom, $6 claimsFrom, $7 limit). */
export const BOOTSTRAP_SQL = (p: (n: number) => string) => `
  SELECT * FROM zone_feed WHERE zone = ${p(1)} AND zseq > ${p(2)} AND zseq <= ${p(3)} AND station_id <> ${p(4)}
    AND ((type = 'checkin' AND window_to >= ${p(5)}) OR (type <> 'checkin' AND day >= ${p(6)}))
  ORDER BY zseq LIMIT ${p(7)}`;

/** The service days of an ISO week, for reading its conflicts by day. */
export function weekDays(week: string): { from: string; to: string } {
  const from = isoWeekMonday(week);
  return { from, to: addDays(from, 6) };
}

/** How many conflicts each station is involved in among `keys` (one station's only, when given), by station id. */
export function conflictsPerStation(keys: readonly ConflictKeyRow[], station: string | null = null): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of [...keys].sort((a, b) => (a.stationId < b.stationId ? -1 : a.stationId > b.stationId ? 1 : 0))) {
    if (station === null || k.stationId === station) out.set(k.stationId, (out.get(k.stationId) ?? 0) + 1);
  }
  return out;
}
