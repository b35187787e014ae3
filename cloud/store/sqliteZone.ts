/**
 * The zone feed and conflicts of the SQLite backend (SPEC §13). `append` runs inside the ingest
 * transaction: the zone's counter gives the batch's feed rows their places, each claim's standing
 * is kept, and a rider's second granted claim of a day in a zone-scoped zone is a conflict.
 * Wake-ups are in-process (one process owns an SQLite database).
 */
import { EventEmitter } from 'node:events';
import type { Database, Statement } from 'better-sqlite3';
import { claimChanges, type FeedRow } from '../zone/feedEntries.ts';
import type { ConflictKeyRow, ConflictRow, Scope, StoredFeedRow, ZoneBootstrapQuery } from './store.ts';
import { BOOTSTRAP_SQL, CONFLICTS_SQL, conflictsOfDb, feedRowOfDb, conflictsPerStation, RANGE_CONFLICTS_SQL, weekDays, weekOfConflictDay } from './zoneRows.ts';

type Row = Record<string, unknown>;
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
/** Feed rows per multi-row INSERT (13 parameters each). */
const FEED_ROWS = 40;
/** Named parameters (`@p1`), so the shared SQL may use one twice. */
const q = (n: number) => `@p${n}`;
const named = (...v: unknown[]) => Object.fromEntries(v.map((x, i) => [`p${i + 1}`, x]));

export class SqliteZone {
  private readonly s: Record<string, Statement>;
  private readonly wakes = new EventEmitter();

  constructor(private readonly db: Database) {
    this.wakes.setMaxListeners(0);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      zoneOf: p('SELECT zone FROM stations WHERE id = ?'),
      take: p(`INSERT INTO zone_heads (zone, zseq) VALUES (?, ?) ON CONFLICT (zone) DO UPDATE SET zseq = zseq + excluded.zseq RETURNING zseq`),
      head: p('SELECT zseq FROM zone_heads WHERE zone = ?'),
      insert: p(`INSERT INTO zone_feed (zone, zseq, station_id, seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, feed_age_ms)
        VALUES ${ROW}`),
      insertMany: p(`INSERT INTO zone_feed (zone, zseq, station_id, seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, feed_age_ms)
        VALUES ${Array(FEED_ROWS).fill(ROW).join(', ')}`),
      after: p('SELECT * FROM zone_feed WHERE zone = ? AND zseq > ? ORDER BY zseq LIMIT ?'),
      bootstrap: p(BOOTSTRAP_SQL(q)),
      grant: p(`INSERT INTO zone_claims (station_id, claim_id, zone, rider_id, day, ts, state, feed_age_ms) VALUES (?, ?, ?, ?, ?, ?, 'granted', ?)
        ON CONFLICT (station_id, claim_id) DO UPDATE SET state = 'granted', feed_age_ms = coalesce(excluded.feed_age_ms, feed_age_ms)
        RETURNING zone, rider_id, day`),
      release: p(`UPDATE zone_claims SET state = 'released' WHERE station_id = ? AND claim_id = ? RETURNING zone, rider_id, day`),
      grantedStations: p(`SELECT count(DISTINCT station_id) AS n FROM zone_claims WHERE zone = ? AND rider_id = ? AND day = ? AND state = 'granted'`),
      conflictAdd: p('INSERT OR IGNORE INTO zone_conflicts (zone, rider_id, day, week, found_at) VALUES (?, ?, ?, ?, ?)'),
      conflictDrop: p('DELETE FROM zone_conflicts WHERE zone = ? AND rider_id = ? AND day = ?'),
      conflicts: p(CONFLICTS_SQL(q)),
      range: p(RANGE_CONFLICTS_SQL(q)),
    };
  }

  /**
   * Store a batch's feed rows in the station's zone (call inside the append transaction); the
   * zone to wake after commit, and the conflicts found.
   */
  append(stationId: string, feed: readonly FeedRow[], zoneScope: ((zone: string) => 'station' | 'zone') | undefined, at: number): { zone: string | null; conflictsFound: number } {
    if (feed.length === 0) return { zone: null, conflictsFound: 0 };
    const zone = (this.s.zoneOf!.get(stationId) as { zone: string } | undefined)?.zone;
    // A station without a record (not provisioned) is in no zone: its log is kept, no feed.
    if (zone === undefined) return { zone: null, conflictsFound: 0 };
    const last = (this.s.take!.get(zone, feed.length) as { zseq: number }).zseq;
    const first = last - feed.length + 1;
    const params = (i: number, out: unknown[]) => {
      const r = feed[i]!;
      out.push(zone, first + i, r.stationId, r.seq, r.type, r.day, r.ts, r.riderId, r.windowFrom, r.windowTo, r.claimId, r.outcome, r.feedAgeMs);
    };
    let i = 0;
    for (; i + FEED_ROWS <= feed.length; i += FEED_ROWS) {
      const out: unknown[] = [];
      for (let k = i; k < i + FEED_ROWS; k++) params(k, out);
      this.s.insertMany!.run(out);
    }
    for (; i < feed.length; i++) {
      const out: unknown[] = [];
      params(i, out);
      this.s.insert!.run(out);
    }
    // Each claim's standing, then one conflict check per (zone, rider, day) the batch touched.
    const { grants, releases } = claimChanges(feed);
    const touched = new Map<string, { zone: string; rider_id: string; day: string; released: boolean }>();
    const touch = (k: { zone: string; rider_id: string; day: string } | undefined, released: boolean) => {
      if (!k) return;
      const key = `${k.zone}\u0000${k.rider_id}\u0000${k.day}`;
      const t = touched.get(key);
      if (t) t.released ||= released;
      else touched.set(key, { ...k, released });
    };
    for (const r of grants) touch(this.s.grant!.get(stationId, r.claimId, zone, r.riderId, r.day, r.ts, r.feedAgeMs) as never, false);
    for (const id of releases) touch(this.s.release!.get(stationId, id) as never, true);
    // Conflicts are kept only where the zone's policy is zone-scoped (SPEC §13).
    if ((zoneScope?.(zone) ?? 'station') !== 'zone') return { zone, conflictsFound: 0 };
    let found = 0;
    for (const k of touched.values()) {
      if (k.zone !== zone) continue;
      const n = (this.s.grantedStations!.get(k.zone, k.rider_id, k.day) as { n: number }).n;
      if (n >= 2) found += this.s.conflictAdd!.run(k.zone, k.rider_id, k.day, weekOfConflictDay(k.day), at).changes;
      else if (k.released) this.s.conflictDrop!.run(k.zone, k.rider_id, k.day);
    }
    return { zone, conflictsFound: found };
  }

  /** After the append committed. */
  committed(zone: string | null): void {
    if (zone !== null) queueMicrotask(() => this.wakes.emit('zone', zone));
  }

  onZoneFeed(listener: (zone: string) => void): () => void {
    this.wakes.on('zone', listener);
    return () => this.wakes.off('zone', listener);
  }

  after(zone: string, afterZseq: number, limit: number): StoredFeedRow[] {
    return (this.s.after!.all(zone, afterZseq, limit) as Row[]).map(feedRowOfDb);
  }

  head(zone: string): number {
    return (this.s.head!.get(zone) as { zseq: number } | undefined)?.zseq ?? 0;
  }

  bootstrap(b: ZoneBootstrapQuery): { head: number; rows: StoredFeedRow[] } {
    return this.db.transaction(() => {
      const head = b.head ?? this.head(b.zone);
      const rows = this.s.bootstrap!.all(named(b.zone, b.afterZseq, head, b.stationId, b.windowsFrom, b.claimsFrom, b.limit)) as Row[];
      return { head, rows: rows.map(feedRowOfDb) };
    })();
  }

  conflicts(week: string, zone: string | null): ConflictRow[] {
    return conflictsOfDb(this.s.conflicts!.all(named(week, zone)) as Row[]);
  }

  weekly(week: string, scope: Scope): Map<string, number> {
    const { from, to } = weekDays(week);
    return conflictsPerStation(this.between(from, to), scope);
  }

  between(fromDay: string, toDay: string): ConflictKeyRow[] {
    return (this.s.range!.all(named(fromDay, toDay)) as { station_id: string; zone: string; rider_id: string; day: string }[]).map((r) => ({
      stationId: r.station_id,
      zone: r.zone,
      riderId: r.rider_id,
      day: r.day,
    }));
  }
}
