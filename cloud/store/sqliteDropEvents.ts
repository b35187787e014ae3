/**
 * Re-admitting a station's log (SQLite backend; docs/security.md): the events from `fromSeq` on
 * go, and every rollup row the station's events feed is rebuilt from the events that stay, with
 * the same effects and the same apply as ingest — so the rollups equal what the kept log gives,
 * whatever the dropped events had added. Runs inside one IMMEDIATE transaction (sqlite.ts), which
 * also serialises it with the station's appends.
 *
 * Rollup tables keyed by station are listed in STATION_ROLLUP_TABLES (store.ts). rider_first_any
 * is network-wide: only the riders whose check-ins were dropped can change,
 * and theirs is recomputed from the check-ins left at every station. The dropped events leave
 * the zone feed and their claims' zone standings and conflicts are recomputed from the kept feed;
 * the rider page's status of every rider they named is rebuilt from every station's kept log.
 */
import type { Database } from 'better-sqlite3';
import { GENESIS_HASH, isoWeekOf, type StationEvent } from '../../protocol/index.ts';
import type { DropEventsInput, DropEventsResult } from './store.ts';
import { BITMAP_COLUMNS } from './reportRows.ts';
import { REBUILD_PAGE_EVENTS, STATION_ROLLUP_TABLES } from './store.ts';
import type { SqliteRollups } from './sqliteRollups.ts';
import { claimStandingsOf } from '../zone/feedEntries.ts';
import { feedRowOfDb, weekOfConflictDay } from './zoneRows.ts';


type Row = Record<string, unknown>;

const eventOf = (r: Row): StationEvent => ({
  seq: r.seq as number,
  type: r.type as string,
  ts: r.ts as number,
  day: r.day as string,
  data: JSON.parse(r.data as string) as Record<string, unknown>,
  hash: r.hash as string,
});

/** Call inside a transaction, with the rollups' memos forgotten (they may name dropped rows). */
export function dropEventsInTx(db: Database, rollups: SqliteRollups, d: DropEventsInput): DropEventsResult {
  const { stationId, fromSeq } = d;
  const head = db.prepare('SELECT last_seq FROM station_sync WHERE station_id = ?').get(stationId) as { last_seq: number } | undefined;
  const headSeq = head?.last_seq ?? 0;
  if (fromSeq > headSeq) return { ok: false, reason: 'beyond_head', seq: headSeq };

  // Riders whose check-ins go: their first check-in anywhere may move later.
  const riders = (
    db
      .prepare(`SELECT DISTINCT json_extract(data, '$.riderId') AS r FROM events WHERE station_id = ? AND seq >= ? AND type = 'checkin'`)
      .all(stationId, fromSeq) as { r: unknown }[]
  )
    .map((x) => x.r)
    .filter((r): r is string => typeof r === 'string');

  // Every rider a dropped event names: the rider page's status is rebuilt for them.
  const named = (
    db.prepare(`SELECT DISTINCT json_extract(data, '$.riderId') AS r FROM events WHERE station_id = ? AND seq >= ?`).all(stationId, fromSeq) as { r: unknown }[]
  )
    .map((x) => x.r)
    .filter((r): r is string => typeof r === 'string')
    .sort();

  const dropped = db.prepare('DELETE FROM events WHERE station_id = ? AND seq >= ?').run(stationId, fromSeq).changes;
  // Their status, and this station's locker holdings, come again from the kept logs: this
  // station's through the rebuild below, the others' after it.
  const forgetStatus = db.prepare('DELETE FROM rider_status WHERE rider_id = ?');
  for (const r of named) forgetStatus.run(r);
  db.prepare('DELETE FROM rider_lockers WHERE station_id = ?').run(stationId);
  for (const t of STATION_ROLLUP_TABLES) db.prepare(`DELETE FROM ${t} WHERE station_id = ?`).run(stationId);
  // The report day facts are folded lazily from a cursor (sqliteReports.ts): forget the
  // station's, so the next report folds its kept log again.
  db.prepare('DELETE FROM day_facts WHERE station_id = ?').run(stationId);
  db.prepare('DELETE FROM station_day_sums WHERE station_id = ?').run(stationId);
  db.prepare('DELETE FROM station_day_sponsors WHERE station_id = ?').run(stationId);
  // The riders' fleet-wide day bitmaps lose this station's days: OR-ed again from the other
  // stations' rows (as 64-bit integers: the words are past a double's 53 bits).
  const years = db.prepare('DELETE FROM station_rider_year WHERE station_id = ? RETURNING year, rider_id').all(stationId) as Array<{ year: number; rider_id: string }>;
  const forgetYear = db.prepare('DELETE FROM rider_year WHERE year = ? AND rider_id = ?');
  const others = db.prepare(`SELECT ${BITMAP_COLUMNS.join(', ')} FROM station_rider_year WHERE rider_id = ? AND year = ?`).raw().safeIntegers();
  const setYear = db.prepare(`INSERT INTO rider_year (year, rider_id, ${BITMAP_COLUMNS.join(', ')}) VALUES (?, ?, ${BITMAP_COLUMNS.map(() => '?').join(', ')})`);
  for (const { year, rider_id: riderId } of years) {
    forgetYear.run(year, riderId);
    const rows = others.all(riderId, year) as bigint[][];
    if (rows.length === 0) continue;
    setYear.run(year, riderId, ...BITMAP_COLUMNS.map((_, i) => rows.reduce((a, r) => a | r[i]!, 0n)));
  }
  db.prepare('DELETE FROM day_facts_cursor WHERE station_id = ?').run(stationId);
  const forgetFirst = db.prepare('DELETE FROM rider_first_any WHERE rider_id = ?');
  for (const r of riders) forgetFirst.run(r);

  // The kept log, page by page, through the same rollups as ingest.
  const page = db.prepare('SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = ? AND seq > ? ORDER BY seq LIMIT ?');
  let last: StationEvent | undefined;
  for (let after = 0; ; ) {
    const events = (page.all(stationId, after, REBUILD_PAGE_EVENTS) as Row[]).map(eventOf);
    if (events.length === 0) break;
    rollups.apply(stationId, events.map(d.effectsOf));
    last = events[events.length - 1]!;
    after = last.seq;
  }

  // The dropped riders' first check-in: the earliest week any station still has them checked
  // in, and the earliest check-in day among those stations' events (exact, as ingest keeps it).
  const firstWeek = db.prepare('SELECT min(week) AS w FROM rider_week WHERE rider_id = ? AND checked_in = 1');
  const checkins = db.prepare(`SELECT seq, type, ts, day, data, hash FROM events WHERE type = 'checkin' AND json_extract(data, '$.riderId') = ?
    AND station_id IN (SELECT station_id FROM rider_week WHERE rider_id = ? AND week = ? AND checked_in = 1)`);
  const setFirst = db.prepare(`INSERT INTO rider_first_any (rider_id, first_day, first_week) VALUES (?, ?, ?)
    ON CONFLICT (rider_id) DO UPDATE SET first_day = excluded.first_day, first_week = excluded.first_week WHERE excluded.first_day < rider_first_any.first_day`);
  for (const r of riders) {
    const w = (firstWeek.get(r) as { w: string | null }).w;
    if (w === null) continue;
    let day: string | null = null;
    for (const row of checkins.all(r, r, w) as Row[]) {
      for (const e of d.effectsOf(eventOf(row))) if (e.kind === 'checkin' && e.riderId === r && (day === null || e.day < day)) day = e.day;
    }
    if (day !== null) setFirst.run(r, day, isoWeekOf(day));
  }

  restoreRiderStatus(db, rollups, d, named);
  // The rebuild wrote the status of every rider of the kept log: a withdrawn rider's stays erased.
  db.prepare('DELETE FROM rider_status WHERE rider_id IN (SELECT rider_id FROM riders WHERE withdrawn_at IS NOT NULL)').run();
  rebuildZoneStandings(db, d);

  if (last) {
    db.prepare(
      `INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash, last_ts = excluded.last_ts, updated_at = excluded.updated_at`,
    ).run(stationId, last.seq, last.hash, last.ts, d.at);
  } else {
    db.prepare('DELETE FROM station_sync WHERE station_id = ?').run(stationId);
  }
  return { ok: true, dropped, head: last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH } };
}

/** Event types whose effects feed the rider page's status (rollupEffects.ts: rider.window, rider.claim, rider.seen). */
const RIDER_STATUS_TYPES = ['checkin', 'claim.committed', 'locker.deposited', 'locker.retrieved', 'locker.forced_open'];

/**
 * The rider page's status of `riders` from the other stations' kept logs (this station's came
 * back with its rebuild), newest first as at ingest; only the stations they used are read. As
 * pgDropEvents.ts.
 */
function restoreRiderStatus(db: Database, rollups: SqliteRollups, d: DropEventsInput, riders: readonly string[]): void {
  if (riders.length === 0) return;
  const list = JSON.stringify(riders);
  const stations = (
    db
      .prepare(
        `SELECT DISTINCT station_id AS s FROM rider_week WHERE rider_id IN (SELECT value FROM json_each(?)) AND station_id <> ?
         UNION SELECT DISTINCT station_id FROM rider_lockers WHERE rider_id IN (SELECT value FROM json_each(?)) AND station_id <> ? ORDER BY 1`,
      )
      .all(list, d.stationId, list, d.stationId) as { s: string }[]
  ).map((x) => x.s);
  const types = JSON.stringify(RIDER_STATUS_TYPES);
  const page = db.prepare(`SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = ? AND seq > ? AND type IN (SELECT value FROM json_each(?))
    AND json_extract(data, '$.riderId') IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?`);
  for (const s of stations) {
    for (let after = 0; ; ) {
      const events = (page.all(s, after, types, list, REBUILD_PAGE_EVENTS) as Row[]).map(eventOf);
      if (events.length === 0) break;
      // Only the rider-status parts: that station's own rollups and lockers are already right.
      rollups.apply(
        s,
        events.map((e) => d.effectsOf(e).filter((x) => x.kind === 'rider.window' || x.kind === 'rider.claim' || x.kind === 'rider.seen')),
      );
      after = events.at(-1)!.seq;
    }
  }
}

/**
 * The dropped events leave the zone feed (stations that already applied them keep them: the feed
 * has no retraction), and the standings of the claims they touched are recomputed from the
 * station's kept feed rows, with the conflicts of the riders and days concerned. As pgDropEvents.ts.
 */
function rebuildZoneStandings(db: Database, d: DropEventsInput): void {
  const { stationId, fromSeq } = d;
  const gone = db.prepare('DELETE FROM zone_feed WHERE station_id = ? AND seq >= ? RETURNING claim_id').all(stationId, fromSeq) as { claim_id: string | null }[];
  const ids = [...new Set(gone.map((r) => r.claim_id).filter((x): x is string => x !== null))].sort();
  if (ids.length === 0) return;
  const list = JSON.stringify(ids);
  const old = db
    .prepare('DELETE FROM zone_claims WHERE station_id = ? AND claim_id IN (SELECT value FROM json_each(?)) RETURNING zone, rider_id, day')
    .all(stationId, list) as Row[];
  const kept = db.prepare('SELECT * FROM zone_feed WHERE station_id = ? AND claim_id IN (SELECT value FROM json_each(?)) ORDER BY zone, zseq').all(stationId, list) as Row[];
  const standings = claimStandingsOf(kept.map((r) => ({ ...feedRowOfDb(r), zone: r.zone as string })));
  const put = db.prepare('INSERT INTO zone_claims (station_id, claim_id, zone, rider_id, day, ts, state, feed_age_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  for (const s of standings) put.run(stationId, s.claimId, s.zone, s.riderId, s.day, s.ts, s.state, s.feedAgeMs);
  const keys = new Map<string, { zone: string; riderId: string; day: string }>();
  for (const k of [...old.map((r) => ({ zone: r.zone as string, riderId: r.rider_id as string, day: r.day as string })), ...standings]) {
    keys.set(`${k.zone}\u0000${k.riderId}\u0000${k.day}`, { zone: k.zone, riderId: k.riderId, day: k.day });
  }
  const count = db.prepare(`SELECT count(DISTINCT station_id) AS n FROM zone_claims WHERE zone = ? AND rider_id = ? AND day = ? AND state = 'granted'`);
  const drop = db.prepare('DELETE FROM zone_conflicts WHERE zone = ? AND rider_id = ? AND day = ?');
  const add = db.prepare('INSERT OR IGNORE INTO zone_conflicts (zone, rider_id, day, week, found_at) VALUES (?, ?, ?, ?, ?)');
  for (const k of keys.values()) {
    const n = (count.get(k.zone, k.riderId, k.day) as { n: number }).n;
    if (n < 2) drop.run(k.zone, k.riderId, k.day);
    else if ((d.zoneScope?.(k.zone) ?? 'station') === 'zone') add.run(k.zone, k.riderId, k.day, weekOfConflictDay(k.day), d.at);
  }
}
