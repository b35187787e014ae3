/**
 * Re-admitting a station's log (SQLite backend; docs/security.md): the events from `fromSeq` on
 * go, and every rollup row the station's events feed is rebuilt from the events that stay, with
 * the same effects and the same apply as ingest — so the rollups equal what the kept log gives,
 * whatever the dropped events had added. Runs inside one IMMEDIATE transaction (sqlite.ts), which
 * also serialises it with the station's appends.
 *
 * Rollup tables keyed by station are listed in STATION_ROLLUP_TABLES (store.ts). rider_first_any
 * is network-wide: only the riders whose check-ins were dropped can change,
 * and theirs is recomputed from the check-ins left at every station.
 */
import type { Database } from 'better-sqlite3';
import { GENESIS_HASH, isoWeekOf, type StationEvent } from '../../protocol/index.ts';
import type { DropEventsInput, DropEventsResult } from './store.ts';
import { REBUILD_PAGE_EVENTS, STATION_ROLLUP_TABLES } from './store.ts';
import type { SqliteRollups } from './sqliteRollups.ts';


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

  const dropped = db.prepare('DELETE FROM events WHERE station_id = ? AND seq >= ?').run(stationId, fromSeq).changes;
  for (const t of STATION_ROLLUP_TABLES) db.prepare(`DELETE FROM ${t} WHERE station_id = ?`).run(stationId);
  // The report day facts are folded lazily from a cursor (sqliteReports.ts): forget the
  // station's, so the next report folds its kept log again.
  db.prepare('DELETE FROM day_facts WHERE station_id = ?').run(stationId);
  db.prepare('DELETE FROM station_day_sums WHERE station_id = ?').run(stationId);
  db.prepare('DELETE FROM station_day_sponsors WHERE station_id = ?').run(stationId);
  db.prepare('DELETE FROM station_day_riders WHERE station_id = ?').run(stationId);
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
