/**
 * The conflicts report (SPEC §13): every case, found at ingest, of one rider granted claims at
 * two stations of one zone on one service day — what partitioned stations could not prevent.
 * `feedLagMs`: how old the station's zone feed was when it granted (the edge's `zoneFeedAgeMs`).
 */
import type { CloudStore } from '../store/store.ts';

export interface ConflictsReport {
  week: string;
  conflicts: {
    riderId: string;
    day: string;
    zone: string;
    foundAt: number;
    claims: { stationId: string; claimId: string; ts: number; feedLagMs?: number }[];
  }[];
}

export async function conflictsReport(store: CloudStore, week: string, zone: string | null): Promise<ConflictsReport> {
  const rows = await store.conflicts(week, zone);
  return {
    week,
    conflicts: rows.map((c) => ({
      riderId: c.riderId,
      day: c.day,
      zone: c.zone,
      foundAt: c.foundAt,
      claims: c.claims.map((x) => ({ stationId: x.stationId, claimId: x.claimId, ts: x.ts, ...(x.feedLagMs !== null ? { feedLagMs: x.feedLagMs } : {}) })),
    })),
  };
}
