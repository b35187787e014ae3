/**
 * Re-admitting a station's log (PostgreSQL backend; docs/security.md), the same steps as
 * sqliteDropEvents.ts: drop the events from `fromSeq` on, delete the station's rollup rows and
 * rebuild them from the kept log through the same effects and the same apply as ingest, and
 * recompute the network-wide first check-in of the riders whose check-ins were dropped. Runs in
 * one transaction under the station's ingest advisory lock (pg.ts), so no instance appends to
 * the station meanwhile.
 */
import type pg from 'pg';
import { GENESIS_HASH, isoWeekOf, type StationEvent } from '../../protocol/index.ts';
import { applyPgRollups } from './pgRollups.ts';
import { FOLD_LOCK } from './pgReports.ts';
import { REBUILD_PAGE_EVENTS, STATION_ROLLUP_TABLES, type DropEventsInput, type DropEventsResult } from './store.ts';


type Row = Record<string, unknown>;

const eventOf = (r: Row): StationEvent => ({
  seq: r.seq as number,
  type: r.type as string,
  ts: r.ts as number,
  day: r.day as string,
  data: JSON.parse(r.data as string) as Record<string, unknown>,
  hash: r.hash as string,
});

/** Call inside a transaction that holds the station's ingest lock. */
export async function dropPgEvents(c: pg.PoolClient, d: DropEventsInput): Promise<DropEventsResult> {
  const { stationId, fromSeq } = d;
  const head = (await c.query<Row>('SELECT last_seq FROM station_sync WHERE station_id = $1', [stationId])).rows[0];
  const headSeq = (head?.last_seq as number | undefined) ?? 0;
  if (fromSeq > headSeq) return { ok: false, reason: 'beyond_head', seq: headSeq };

  const riders = (
    await c.query<{ r: string | null }>(
      `SELECT DISTINCT (data::jsonb)->>'riderId' AS r FROM events WHERE station_id = $1 AND seq >= $2 AND type = 'checkin'`,
      [stationId, fromSeq],
    )
  ).rows
    .map((x) => x.r)
    .filter((r): r is string => typeof r === 'string')
    .sort();

  const dropped = (await c.query('DELETE FROM events WHERE station_id = $1 AND seq >= $2', [stationId, fromSeq])).rowCount ?? 0;
  for (const t of STATION_ROLLUP_TABLES) await c.query(`DELETE FROM ${t} WHERE station_id = $1`, [stationId]);
  // The report day facts are folded lazily from a cursor (pgReports.ts): forget the station's, so
  // the next report folds its kept log again — under the fold's lock, so no fold in flight
  // writes facts of the dropped events after this commits.
  await c.query('SELECT pg_advisory_xact_lock($1)', [FOLD_LOCK]);
  await c.query('DELETE FROM day_facts WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM station_day_sums WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM station_day_sponsors WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM station_day_riders WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM day_facts_cursor WHERE station_id = $1', [stationId]);
  if (riders.length > 0) await c.query('DELETE FROM rider_first_any WHERE rider_id = ANY($1::text[])', [riders]);

  let last: StationEvent | undefined;
  for (let after = 0; ; ) {
    const rows = (await c.query<Row>('SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [stationId, after, REBUILD_PAGE_EVENTS])).rows;
    if (rows.length === 0) break;
    const events = rows.map(eventOf);
    await applyPgRollups(c, stationId, events.map(d.effectsOf));
    last = events[events.length - 1]!;
    after = last.seq;
  }

  for (const r of riders) {
    const w = (await c.query<{ w: string | null }>('SELECT min(week) AS w FROM rider_week WHERE rider_id = $1 AND checked_in', [r])).rows[0]?.w ?? null;
    if (w === null) continue;
    const rows = (
      await c.query<Row>(
        `SELECT seq, type, ts, day, data, hash FROM events WHERE type = 'checkin' AND (data::jsonb)->>'riderId' = $1
         AND station_id IN (SELECT station_id FROM rider_week WHERE rider_id = $1 AND week = $2 AND checked_in)`,
        [r, w],
      )
    ).rows;
    let day: string | null = null;
    for (const row of rows) {
      for (const e of d.effectsOf(eventOf(row))) if (e.kind === 'checkin' && e.riderId === r && (day === null || e.day < day)) day = e.day;
    }
    if (day === null) continue;
    await c.query(
      `INSERT INTO rider_first_any (rider_id, first_day, first_week) VALUES ($1, $2, $3)
       ON CONFLICT (rider_id) DO UPDATE SET first_day = excluded.first_day, first_week = excluded.first_week
       WHERE excluded.first_day < rider_first_any.first_day`,
      [r, day, isoWeekOf(day)],
    );
  }

  if (last) {
    await c.query(
      `INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash, last_ts = excluded.last_ts, updated_at = excluded.updated_at`,
      [stationId, last.seq, last.hash, last.ts, d.at],
    );
  } else {
    await c.query('DELETE FROM station_sync WHERE station_id = $1', [stationId]);
  }
  return { ok: true, dropped, head: last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH } };
}
