/**
 * Re-admitting a station's log (PostgreSQL backend; docs/security.md), the same steps as
 * sqliteDropEvents.ts: drop the events from `fromSeq` on, delete the station's rollup rows and
 * rebuild them from the kept log through the same effects and the same apply as ingest, and
 * recompute the network-wide first check-in of the riders whose check-ins were dropped; the
 * dropped events leave the zone feed, their claims' zone standings and conflicts are recomputed
 * from the kept feed, and the rider page's status of every rider they named is rebuilt from the
 * kept logs of every station. Runs in
 * one transaction under the station's ingest advisory lock (pg.ts), so no instance appends to
 * the station meanwhile.
 */
import type pg from 'pg';
import { GENESIS_HASH, isoWeekOf, type StationEvent } from '../../protocol/index.ts';
import { applyPgRollups } from './pgRollups.ts';
import { claimStandingsOf } from '../zone/feedEntries.ts';
import { feedRowOfDb, weekOfConflictDay } from './zoneRows.ts';
import { FOLD_LOCK } from './pgReports.ts';
import { BITMAP_COLUMNS } from './reportRows.ts';
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

  // Every rider a dropped event names: the rider page's status is rebuilt for them.
  const named = (
    await c.query<{ r: string | null }>(`SELECT DISTINCT (data::jsonb)->>'riderId' AS r FROM events WHERE station_id = $1 AND seq >= $2`, [stationId, fromSeq])
  ).rows
    .map((x) => x.r)
    .filter((r): r is string => typeof r === 'string')
    .sort();

  const dropped = (await c.query('DELETE FROM events WHERE station_id = $1 AND seq >= $2', [stationId, fromSeq])).rowCount ?? 0;
  // The rider page's status of those riders, and this station's locker holdings, come again
  // from the kept logs: this station's through the rebuild below, the others' after it.
  if (named.length > 0) await c.query('DELETE FROM rider_status WHERE rider_id = ANY($1::text[])', [named]);
  await c.query('DELETE FROM rider_lockers WHERE station_id = $1', [stationId]);
  for (const t of STATION_ROLLUP_TABLES) await c.query(`DELETE FROM ${t} WHERE station_id = $1`, [stationId]);
  // The report day facts are folded lazily from a cursor (pgReports.ts): forget the station's, so
  // the next report folds its kept log again — under the fold's lock, so no fold in flight
  // writes facts of the dropped events after this commits.
  await c.query('SELECT pg_advisory_xact_lock($1)', [FOLD_LOCK]);
  await c.query('DELETE FROM day_facts WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM station_day_sums WHERE station_id = $1', [stationId]);
  await c.query('DELETE FROM station_day_sponsors WHERE station_id = $1', [stationId]);
  // The riders' fleet-wide day bitmaps lose this station's days: rebuilt from the other stations' rows.
  const years = (await c.query<Row>('DELETE FROM station_rider_year WHERE station_id = $1 RETURNING year, rider_id', [stationId])).rows;
  if (years.length > 0) {
    const y = years.map((r) => r.year as number);
    const r = years.map((x) => x.rider_id as string);
    await c.query('DELETE FROM rider_year WHERE (year, rider_id) IN (SELECT * FROM unnest($1::int[], $2::text[]))', [y, r]);
    await c.query(
      `INSERT INTO rider_year (year, rider_id, ${BITMAP_COLUMNS.join(', ')})
       SELECT year, rider_id, ${BITMAP_COLUMNS.map((w) => `bit_or(${w})`).join(', ')} FROM station_rider_year
       WHERE (year, rider_id) IN (SELECT * FROM unnest($1::int[], $2::text[])) GROUP BY year, rider_id`,
      [y, r],
    );
  }
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

  await restoreRiderStatus(c, d, named);
  // The rebuild wrote the status of every rider of the kept log: a withdrawn rider's stays erased.
  await c.query('DELETE FROM rider_status WHERE rider_id IN (SELECT rider_id FROM riders WHERE withdrawn_at IS NOT NULL)');
  await rebuildZoneStandings(c, d);

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

/** Event types whose effects feed the rider page's status (rollupEffects.ts: rider.window, rider.claim, rider.seen). */
const RIDER_STATUS_TYPES = ['checkin', 'claim.committed', 'locker.deposited', 'locker.retrieved', 'locker.forced_open'];

/**
 * The rider page's status of `riders` from the other stations' kept logs (this station's came
 * back with its rebuild): their windows, bottles and last visits, newest first as at ingest.
 * Only the stations the riders used are read (their weeks and lockers).
 */
async function restoreRiderStatus(c: pg.PoolClient, d: DropEventsInput, riders: readonly string[]): Promise<void> {
  if (riders.length === 0) return;
  const stations = (
    await c.query<{ s: string }>(
      `SELECT DISTINCT station_id AS s FROM rider_week WHERE rider_id = ANY($1::text[]) AND station_id <> $2
       UNION SELECT DISTINCT station_id FROM rider_lockers WHERE rider_id = ANY($1::text[]) AND station_id <> $2 ORDER BY 1`,
      [riders, d.stationId],
    )
  ).rows.map((x) => x.s);
  for (const s of stations) {
    for (let after = 0; ; ) {
      const rows = (
        await c.query<Row>(
          `SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = $1 AND seq > $2 AND type = ANY($3::text[])
             AND (data::jsonb)->>'riderId' = ANY($4::text[]) ORDER BY seq LIMIT $5`,
          [s, after, RIDER_STATUS_TYPES, riders, REBUILD_PAGE_EVENTS],
        )
      ).rows;
      if (rows.length === 0) break;
      const events = rows.map(eventOf);
      // Only the rider-status parts: that station's own rollups and lockers are already right.
      const only = events.map((e) => d.effectsOf(e).filter((x) => x.kind === 'rider.window' || x.kind === 'rider.claim' || x.kind === 'rider.seen'));
      await applyPgRollups(c, s, only);
      after = events.at(-1)!.seq;
    }
  }
}

/**
 * The dropped events leave the zone feed (a station joining the zone later is not handed them;
 * stations that already applied them keep them, the feed has no retraction), and the standings of
 * the claims they touched are recomputed from the station's kept feed rows, with the conflicts of
 * the riders and days concerned: gone below two granted stations, found again at two or more in
 * a zone-scoped zone.
 */
async function rebuildZoneStandings(c: pg.PoolClient, d: DropEventsInput): Promise<void> {
  const { stationId, fromSeq } = d;
  const gone = (await c.query<{ claim_id: string | null }>('DELETE FROM zone_feed WHERE station_id = $1 AND seq >= $2 RETURNING claim_id', [stationId, fromSeq])).rows;
  const ids = [...new Set(gone.map((r) => r.claim_id).filter((x): x is string => x !== null))].sort();
  if (ids.length === 0) return;
  const old = (
    await c.query<Row>('DELETE FROM zone_claims WHERE station_id = $1 AND claim_id = ANY($2::text[]) RETURNING zone, rider_id, day', [stationId, ids])
  ).rows;
  const kept = (await c.query<Row>('SELECT * FROM zone_feed WHERE station_id = $1 AND claim_id = ANY($2::text[]) ORDER BY zone, zseq', [stationId, ids])).rows;
  const standings = claimStandingsOf(kept.map((r) => ({ ...feedRowOfDb(r), zone: r.zone as string })));
  for (const s of standings) {
    await c.query(
      'INSERT INTO zone_claims (station_id, claim_id, zone, rider_id, day, ts, state, feed_age_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [stationId, s.claimId, s.zone, s.riderId, s.day, s.ts, s.state, s.feedAgeMs],
    );
  }
  const keys = new Map<string, { zone: string; riderId: string; day: string }>();
  for (const k of [...old.map((r) => ({ zone: r.zone as string, riderId: r.rider_id as string, day: r.day as string })), ...standings]) {
    keys.set(`${k.zone}\u0000${k.riderId}\u0000${k.day}`, { zone: k.zone, riderId: k.riderId, day: k.day });
  }
  for (const k of keys.values()) {
    const n = Number(
      (
        await c.query<{ n: string }>(`SELECT count(DISTINCT station_id) AS n FROM zone_claims WHERE zone = $1 AND rider_id = $2 AND day = $3 AND state = 'granted'`, [
          k.zone,
          k.riderId,
          k.day,
        ])
      ).rows[0]!.n,
    );
    if (n < 2) await c.query('DELETE FROM zone_conflicts WHERE zone = $1 AND rider_id = $2 AND day = $3', [k.zone, k.riderId, k.day]);
    else if ((d.zoneScope?.(k.zone) ?? 'station') === 'zone') {
      await c.query('INSERT INTO zone_conflicts (zone, rider_id, day, week, found_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
        k.zone,
        k.riderId,
        k.day,
        weekOfConflictDay(k.day),
        d.at,
      ]);
    }
  }
}
