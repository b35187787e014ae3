/**
 * A year of a big fleet's report data without ingesting every station (issue 14: 10,000
 * stations through ingest would take hours). A few seed stations' logs go through the real path
 * (the Ingestor: chain check, rollups, then the day-fact fold a report runs); then every table
 * the weekly and range reports read is copied in SQL (`INSERT … SELECT`) under new station and
 * rider ids, copy `k` of station `s` being `s-k<k>` and its rider `r` being `r-k<k>`: exactly
 * what ingesting the seed's log with those ids would leave (test/cloud/report-clones.test.ts
 * checks it on both backends). The raw `events` rows are not copied (no report reads them: the
 * copies' fold cursors are at their heads), nor device, heartbeat and rider-page rows, nor with
 * `withDayFacts: false` the day facts (neither report reads them: the sums and the day bitmaps
 * beside them are copied).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { GENESIS_HASH, sealEvent, systemClock, type StationEvent } from '../../protocol/index.ts';
import { Ingestor } from '../../cloud/ingest/ingestor.ts';
import type { CloudStore } from '../../cloud/store/store.ts';
import { BITMAP_COLUMNS } from '../../cloud/store/reportRows.ts';
import { streamStationLog } from './generate.ts';

/** The suffix of copy `k` (1-based; copy 0 is the seed itself). */
export const copySuffix = (k: number) => `-k${String(k).padStart(4, '0')}`;

/**
 * A station's log at the seed station's pace (scripts/fleet/generate.ts) without its minute
 * heartbeats (no report reads them; 1,440 a day would be 95 % of the ingest), sealed again into
 * one chain; `riderOf` renames the riders (a copy's log, for the test).
 */
export function reportLog(seedStationId: string, startMs: number, days: number, riderOf: (r: string) => string = (r) => r): StationEvent[] {
  const out: StationEvent[] = [];
  let hash = GENESIS_HASH;
  for (const e of streamStationLog({ stationId: seedStationId, startMs, days })) {
    if (e.type === 'station.heartbeat') continue;
    const data = typeof e.data.riderId === 'string' ? { ...e.data, riderId: riderOf(e.data.riderId) } : e.data;
    const s = sealEvent(hash, { seq: out.length + 1, type: e.type, ts: e.ts, day: e.day, data });
    hash = s.hash;
    out.push(s);
  }
  return out;
}

const silent = pino({ level: 'silent' });

/** Upload a log through the Ingestor in batches of 500, as the edge's uploader does. */
export async function ingestLog(store: CloudStore, stationId: string, events: readonly StationEvent[]): Promise<void> {
  const ingestor = new Ingestor(store, systemClock, silent);
  for (let i = 0; i < events.length; i += 500) {
    const r = await ingestor.ingest(stationId, events.slice(i, i + 500));
    if (!r.ok) throw new Error(`ingest refused a batch of ${stationId}: ${JSON.stringify(r)}`);
  }
}

export type CloneTarget = { kind: 'sqlite'; path: string } | { kind: 'pg'; url: string };

/**
 * The copy statements, one per table the reports read: `$SEEDS` the seed stations, `$SUF` the
 * copies' suffixes (a table `clone_suffix(suf)`), station and rider ids renamed by appending it.
 */
const COPIES: readonly string[] = [
  `INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at)
   SELECT t.station_id || k.suf, last_seq, last_hash, last_ts, updated_at FROM station_sync t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO day_facts_cursor (station_id, seq) SELECT t.station_id || k.suf, seq FROM day_facts_cursor t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO week_station (week, station_id, checkins, riders, bottles_hot, bottles_cold, bottles_other)
   SELECT week, t.station_id || k.suf, checkins, riders, bottles_hot, bottles_cold, bottles_other FROM week_station t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO rider_week (week, station_id, rider_id, checked_in)
   SELECT week, t.station_id || k.suf, t.rider_id || k.suf, checked_in FROM rider_week t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO week_sponsor (week, station_id, sponsor, bottles, restocked)
   SELECT week, t.station_id || k.suf, sponsor, bottles, restocked FROM week_sponsor t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  // The seeds' riders are their own (scripts/fleet/generate.ts names them after the station).
  `INSERT INTO rider_first_any (rider_id, first_day, first_week)
   SELECT t.rider_id || k.suf, first_day, first_week FROM rider_first_any t, clone_suffix k
   WHERE t.rider_id IN (SELECT rider_id FROM rider_week WHERE station_id IN $SEEDS)`,
  `INSERT INTO station_day_sums (day, station_id, checkins, bottles_hot, bottles_cold, bottles_other)
   SELECT day, t.station_id || k.suf, checkins, bottles_hot, bottles_cold, bottles_other FROM station_day_sums t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO station_day_sponsors (day, station_id, sponsor, bottles, restocked)
   SELECT day, t.station_id || k.suf, sponsor, bottles, restocked FROM station_day_sponsors t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO station_rider_year (year, station_id, rider_id, ${BITMAP_COLUMNS.join(', ')})
   SELECT year, t.station_id || k.suf, t.rider_id || k.suf, ${BITMAP_COLUMNS.join(', ')} FROM station_rider_year t, clone_suffix k WHERE t.station_id IN $SEEDS`,
  `INSERT INTO rider_year (year, rider_id, ${BITMAP_COLUMNS.join(', ')})
   SELECT year, t.rider_id || k.suf, ${BITMAP_COLUMNS.join(', ')} FROM rider_year t, clone_suffix k
   WHERE t.rider_id IN (SELECT rider_id FROM station_rider_year WHERE station_id IN $SEEDS)`,
  `INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count)
   SELECT day, t.station_id || k.suf, kind, CASE WHEN t.rider_id = '' THEN '' ELSE t.rider_id || k.suf END, compartment, sponsor, events, count
   FROM day_facts t, clone_suffix k WHERE t.station_id IN $SEEDS`,
];

/** The last copy statement: `day_facts`, which a run may leave out (`withDayFacts: false`). */
const DAY_FACTS_COPY = COPIES.length - 1;

/** Tables whose primary key the PostgreSQL copy drops and builds again (pgSchema.ts). */
const BIG = [
  { table: 'day_facts', key: 'day, station_id, kind, rider_id, compartment, sponsor' },
  { table: 'rider_week', key: 'week, station_id, rider_id' },
];

/**
 * Copy the seeds' report rows `copies - 1` times (copies 1..copies-1), `perStatement` copies per
 * statement; `progress` after each chunk. The seeds must be folded (a report has run since their upload).
 */
export async function cloneSeeds(
  target: CloneTarget,
  seeds: readonly string[],
  copies: number,
  opts: { perStatement?: number; progress?: (done: number) => void; withDayFacts?: boolean } = {},
): Promise<void> {
  const per = opts.perStatement ?? 50;
  const withDayFacts = opts.withDayFacts ?? true;
  const quoted = `(${seeds.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')})`;
  const sql = COPIES.filter((_, i) => withDayFacts || i !== DAY_FACTS_COPY).map((s) => s.replace(/\$SEEDS/g, quoted));
  const big = BIG.filter((t) => withDayFacts || t.table !== 'day_facts');
  if (target.kind === 'sqlite') {
    const db = new Database(target.path);
    db.pragma('busy_timeout = 60000');
    try {
      db.exec('CREATE TEMP TABLE clone_suffix (suf TEXT NOT NULL)');
      const add = db.prepare('INSERT INTO clone_suffix (suf) VALUES (?)');
      for (let k = 1; k < copies; k += per) {
        db.transaction(() => {
          db.exec('DELETE FROM clone_suffix');
          for (let j = k; j < Math.min(copies, k + per); j++) add.run(copySuffix(j));
          for (const s of sql) db.exec(s);
        }).immediate();
        opts.progress?.(Math.min(copies, k + per) - 1);
      }
    } finally {
      db.close();
    }
    return;
  }
  const c = new pg.Client({ connectionString: target.url });
  await c.connect();
  try {
    await c.query('CREATE TEMP TABLE clone_suffix (suf TEXT COLLATE "C" NOT NULL)');
    // The two big tables' primary keys are built once at the end (a sort) rather than row by
    // row; the copies cannot collide (their ids are new), and ADD PRIMARY KEY checks it.
    await c.query("SET maintenance_work_mem = '256MB'");
    for (const t of big) await c.query(`ALTER TABLE ${t.table} DROP CONSTRAINT ${t.table}_pkey`);
    for (let k = 1; k < copies; k += per) {
      await c.query('BEGIN');
      await c.query('TRUNCATE clone_suffix');
      await c.query(`INSERT INTO clone_suffix (suf) SELECT '-k' || lpad(g::text, 4, '0') FROM generate_series($1::int, $2::int) AS g`, [k, Math.min(copies, k + per) - 1]);
      for (const s of sql) await c.query(s);
      await c.query('COMMIT');
      opts.progress?.(Math.min(copies, k + per) - 1);
    }
    for (const t of big) await c.query(`ALTER TABLE ${t.table} ADD PRIMARY KEY (${t.key})`);
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}
