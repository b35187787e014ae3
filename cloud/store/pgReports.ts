/**
 * The PostgreSQL side of SPEC §17 (the same queries as sqliteReports.ts): day facts (folded from
 * the event log by the reports, from a cursor per station), sponsor records, relays and outreach.
 */
import type pg from 'pg';
import type { AddRelaysResult, DayFactRow, OutreachRow, RangeFigures, RelayRow, SponsorRecord, WeeklyFigures } from './store.ts';
import { BITMAP_COLUMNS, WORDS, dayFactOf, rangeFiguresOf, rangeStatements, relayOf, riderYearBitsOf, sponsorOf, weekDaysOf, weeklyFiguresOf, weeklyStatements, type RiderYearBits } from './reportRows.ts';
import { addDays, isoWeekMonday, isoWeekOf } from '../../protocol/index.ts';
import { dayFactsOf, daySumsOf } from '../ingest/dayFacts.ts';
import { rollupEffectsOf, type RollupEffect } from '../ingest/rollupEffects.ts';

type Row = Record<string, unknown>;

/** Advisory lock of relay writes (`'WSrl'`): the overlap check and the insert serialise on it. */
const RELAY_LOCK = 0x5753726c;
/** Advisory lock of day-fact folds (`'WSdf'`). */
/** Taken by the fold and by re-admitting a log (pgDropEvents.ts), which resets a station's day facts. */
export const FOLD_LOCK = 0x57536466;
/** Events read per step of a fold. */
const FOLD_CHUNK = 5000;
/** `work_mem` of a range report's statements (four run at once on the pool). */
const REPORT_WORK_MEM = '64MB';

export class PgReports {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(sql, params)).rows;
  }

  /**
   * A report statement with room to hash its groups in memory (`work_mem` for its transaction
   * only): a month of a big fleet's rider pairs is past the 4 MB default and would spill to disk.
   */
  private async reportRows(sql: string, params: unknown[]): Promise<Row[]> {
    return this.tx(async (c) => {
      await c.query(`SET LOCAL work_mem = '${REPORT_WORK_MEM}'`);
      return (await c.query<Row>(sql, params)).rows;
    });
  }

  /** Add the day facts of some events' rollup effects (inside the fold's transaction `c`). */
  static async addDayFacts(c: pg.PoolClient, stationId: string, effects: readonly (readonly RollupEffect[])[]): Promise<void> {
    const f = dayFactsOf(effects);
    if (f.length === 0) return;
    await c.query(
      `INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count)
       SELECT d, $1, k, r, c, s, e, n FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[]) AS x (d, k, r, c, s, e, n)
       ON CONFLICT (day, station_id, kind, rider_id, compartment, sponsor)
       DO UPDATE SET events = day_facts.events + excluded.events, count = day_facts.count + excluded.count`,
      [stationId, f.map((x) => x.day), f.map((x) => x.kind), f.map((x) => x.riderId), f.map((x) => x.compartment), f.map((x) => x.sponsor), f.map((x) => x.events), f.map((x) => x.count)],
    );
    // The range report's sums beside the facts (one row a station-day), in day order.
    const { sums, sponsors, riders } = daySumsOf(f);
    sums.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    if (sums.length > 0) {
      await c.query(
        `INSERT INTO station_day_sums (day, station_id, checkins, bottles_hot, bottles_cold, bottles_other)
         SELECT d, $1, ci, h, co, o FROM unnest($2::text[], $3::int[], $4::int[], $5::int[], $6::int[]) AS x (d, ci, h, co, o)
         ON CONFLICT (day, station_id) DO UPDATE SET checkins = station_day_sums.checkins + excluded.checkins,
           bottles_hot = station_day_sums.bottles_hot + excluded.bottles_hot, bottles_cold = station_day_sums.bottles_cold + excluded.bottles_cold,
           bottles_other = station_day_sums.bottles_other + excluded.bottles_other`,
        [stationId, sums.map((x) => x.day), sums.map((x) => x.checkins), sums.map((x) => x.hot), sums.map((x) => x.cold), sums.map((x) => x.other)],
      );
    }
    if (sponsors.length > 0) {
      await c.query(
        `INSERT INTO station_day_sponsors (day, station_id, sponsor, bottles, restocked)
         SELECT d, $1, s, b, r FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[]) AS x (d, s, b, r)
         ON CONFLICT (day, station_id, sponsor) DO UPDATE SET bottles = station_day_sponsors.bottles + excluded.bottles,
           restocked = station_day_sponsors.restocked + excluded.restocked`,
        [stationId, sponsors.map((x) => x.day), sponsors.map((x) => x.sponsor), sponsors.map((x) => x.bottles), sponsors.map((x) => x.restocked)],
      );
    }
    if (riders.length > 0) await PgReports.addRiderYears(c, stationId, riderYearBitsOf(riders));
  }

  /**
   * OR a station's rider-day bits into its (station, rider, year) rows and the riders' (rider,
   * year) rows over every station: OR-ing a day in twice changes nothing.
   */
  static async addRiderYears(c: pg.PoolClient, stationId: string, bits: RiderYearBits[]): Promise<void> {
    bits.sort((a, b) => a.year - b.year || (a.riderId < b.riderId ? -1 : a.riderId > b.riderId ? 1 : 0));
    const words = BITMAP_COLUMNS.map((_, i) => bits.map((b) => String(i < WORDS ? b.seen[i] : b.checkedIn[i - WORDS])));
    const cols = BITMAP_COLUMNS.join(', ');
    // The arrays from parameter `$first` on: years, riders, then one per bitmap word.
    const unnest = (first: number) =>
      `unnest($${first}::int[], $${first + 1}::text[], ${BITMAP_COLUMNS.map((_, i) => `$${first + 2 + i}::bigint[]`).join(', ')}) AS x (y, r, ${cols})`;
    const or = (t: string) => BITMAP_COLUMNS.map((w) => `${w} = ${t}.${w} | excluded.${w}`).join(', ');
    const arrays = [bits.map((b) => b.year), bits.map((b) => b.riderId), ...words];
    await c.query(
      `INSERT INTO station_rider_year (year, station_id, rider_id, ${cols}) SELECT y, $1, r, ${cols} FROM ${unnest(2)}
       ON CONFLICT (year, station_id, rider_id) DO UPDATE SET ${or('station_rider_year')}`,
      [stationId, ...arrays],
    );
    await c.query(
      `INSERT INTO rider_year (year, rider_id, ${cols}) SELECT y, r, ${cols} FROM ${unnest(1)}
       ON CONFLICT (year, rider_id) DO UPDATE SET ${or('rider_year')}`,
      arrays,
    );
  }

  /**
   * Fold the report events stored since each station's cursor into the day facts and move the
   * cursor, in one transaction under an advisory lock: two instances reporting at once fold once
   * (the second finds the cursors moved). Only events up to the head read here are folded; later
   * ones wait for the next report.
   */
  async fold(): Promise<void> {
    const behindSql = `SELECT s.station_id, s.last_seq, coalesce(c.seq, 0) AS folded FROM station_sync s
      LEFT JOIN day_facts_cursor c ON c.station_id = s.station_id WHERE s.last_seq > coalesce(c.seq, 0)`;
    if ((await this.rows(behindSql)).length === 0) return;
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [FOLD_LOCK]);
      for (const b of (await c.query<Row>(behindSql)).rows) {
        const stationId = b.station_id as string;
        let after = Number(b.folded);
        for (;;) {
          const rows = (await c.query<Row>(
            `SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = $1 AND seq > $2 AND seq <= $3
             AND type IN ('checkin', 'claim.committed', 'dispenser.restocked') ORDER BY seq LIMIT $4`,
            [stationId, after, b.last_seq, FOLD_CHUNK],
          )).rows;
          if (rows.length === 0) break;
          const effects = rows.map((r) =>
            rollupEffectsOf({ seq: Number(r.seq), type: r.type as string, ts: Number(r.ts), day: r.day as string, data: JSON.parse(r.data as string) as Record<string, unknown>, hash: r.hash as string }),
          );
          await PgReports.addDayFacts(c, stationId, effects);
          after = Number(rows[rows.length - 1]!.seq);
        }
        await c.query('INSERT INTO day_facts_cursor (station_id, seq) VALUES ($1, $2) ON CONFLICT (station_id) DO UPDATE SET seq = excluded.seq', [stationId, b.last_seq]);
      }
    });
  }

  async dayFacts(fromDay: string, toDay: string, stationIds: readonly string[] | null): Promise<DayFactRow[]> {
    await this.fold();
    const rows = await this.rows(
      'SELECT * FROM day_facts WHERE day BETWEEN $1 AND $2 AND ($3::text[] IS NULL OR station_id = ANY($3::text[]))',
      [fromDay, toDay, stationIds === null ? null : [...stationIds]],
    );
    return rows.map(dayFactOf);
  }

  /**
   * The range report's figures in five statements run at once on the pool: sums per station and
   * per day from station_day_sums (grouping sets); the distinct riders per station and over the
   * scope, and the lapsed riders, from the day bitmaps (reportRows.ts's rangeStatements: rows per
   * rider, not per rider-day; new riders are the few whose first check-in falls in the range,
   * found by rider_first_any's week index); sponsors per named sponsor and covering relay from
   * station_day_sponsors.
   */
  async rangeFigures(fromDay: string, toDay: string, lapsedFrom: string, stationIds: readonly string[]): Promise<RangeFigures> {
    await this.fold();
    const ids = [...stationIds];
    const st = rangeStatements('pg', {
      from: fromDay, to: toDay, lapsedFrom, lapsedTo: addDays(fromDay, -1), fromWeek: isoWeekOf(fromDay), toWeek: isoWeekOf(toDay),
      stationIds: ids, fleet: await this.coversFleet(ids),
    });
    const [sums, perStation, totals, sponsors, lapsed] = await Promise.all([
      this.reportRows(
        `SELECT station_id, day, sum(checkins) AS checkins, sum(bottles_hot) AS hot, sum(bottles_cold) AS cold, sum(bottles_other) AS other
         FROM station_day_sums WHERE day BETWEEN $1 AND $2 AND station_id = ANY($3::text[])
         GROUP BY GROUPING SETS ((station_id), (day))`,
        [fromDay, toDay, ids],
      ),
      this.reportRows(st.perStation.sql, st.perStation.args as unknown[]),
      this.reportRows(st.totals.sql, st.totals.args as unknown[]),
      this.reportRows(
        `SELECT f.sponsor, r.sponsor_id AS relay_sponsor, sum(f.bottles) AS bottles, sum(f.restocked) AS restocked
         FROM station_day_sponsors f LEFT JOIN sponsor_relays r ON f.sponsor = '' AND r.station_id = f.station_id AND f.day BETWEEN r.from_day AND r.to_day
         WHERE f.day BETWEEN $1 AND $2 AND f.station_id = ANY($3::text[]) GROUP BY 1, 2`,
        [fromDay, toDay, ids],
      ),
      this.reportRows(st.lapsed.sql, st.lapsed.args as unknown[]),
    ]);
    return rangeFiguresOf(sums, [...perStation, ...totals], sponsors, lapsed);
  }

  /** The weekly report's rows over the day bitmaps (reportRows.ts's weeklyStatements), three statements at once. */
  async weeklyFigures(week: string, scope: string | null): Promise<WeeklyFigures> {
    await this.fold();
    const st = weeklyStatements('pg', { ...weekDaysOf(week, isoWeekMonday(week)), station: scope });
    const [stations, totals, lapsed] = await Promise.all([st.stations, st.totals, st.lapsed].map((x) => this.reportRows(x.sql, x.args as unknown[])));
    return weeklyFiguresOf(stations!, totals!, lapsed!);
  }

  /** Whether `ids` holds every station with folded facts (then the fleet-wide rows answer for them). */
  private async coversFleet(ids: readonly string[]): Promise<boolean> {
    const [r] = await this.rows('SELECT NOT EXISTS (SELECT 1 FROM day_facts_cursor WHERE station_id <> ALL($1::text[])) AS fleet', [ids]);
    return r!.fleet === true;
  }

  async firstCheckinDays(riderIds: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.rows('SELECT rider_id, first_day FROM rider_first_any WHERE rider_id = ANY($1::text[])', [[...riderIds]]);
    return new Map(rows.map((r) => [r.rider_id as string, r.first_day as string]));
  }

  async createSponsor(s: SponsorRecord): Promise<SponsorRecord | null> {
    const r = await this.pool.query(
      'INSERT INTO sponsors (id, name, name_key, contact, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
      [s.id, s.name, s.nameKey, s.contact, s.createdAt, s.createdBy],
    );
    return r.rowCount === 1 ? s : null;
  }

  async sponsorRecords(): Promise<SponsorRecord[]> {
    return (await this.rows('SELECT * FROM sponsors ORDER BY name_key, id')).map(sponsorOf);
  }

  async sponsorRecord(id: string): Promise<SponsorRecord | null> {
    const [r] = await this.rows('SELECT * FROM sponsors WHERE id = $1', [id]);
    return r ? sponsorOf(r) : null;
  }

  async addRelays(r: { sponsorId: string; stationIds: readonly string[]; from: string; to: string; createdAt: number; createdBy: string }): Promise<AddRelaysResult> {
    return this.tx(async (c) => {
      // Two instances adding relays at once: the second sees the first one's rows.
      await c.query('SELECT pg_advisory_xact_lock($1)', [RELAY_LOCK]);
      const hit = await c.query<Row>(
        'SELECT * FROM sponsor_relays WHERE station_id = ANY($1::text[]) AND from_day <= $2 AND to_day >= $3 ORDER BY station_id, from_day LIMIT 1',
        [[...r.stationIds], r.to, r.from],
      );
      if (hit.rows[0]) return { ok: false, overlap: relayOf(hit.rows[0]) } as const;
      const relays: RelayRow[] = [];
      for (const stationId of r.stationIds) {
        const ins = await c.query<Row>(
          'INSERT INTO sponsor_relays (sponsor_id, station_id, from_day, to_day, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
          [r.sponsorId, stationId, r.from, r.to, r.createdAt, r.createdBy],
        );
        relays.push(relayOf(ins.rows[0]!));
      }
      return { ok: true, relays } as const;
    });
  }

  async relays(): Promise<RelayRow[]> {
    return (await this.rows('SELECT * FROM sponsor_relays ORDER BY station_id, from_day, id')).map(relayOf);
  }

  async addOutreach(o: OutreachRow): Promise<void> {
    await this.pool.query('INSERT INTO rider_outreach (rider_id, at, by_name, note) VALUES ($1, $2, $3, $4)', [o.riderId, o.at, o.by, o.note]);
  }

  async outreachCount(riderId: string): Promise<number> {
    return Number((await this.rows('SELECT count(*) AS n FROM rider_outreach WHERE rider_id = $1', [riderId]))[0]!.n);
  }

  async outreach(riderIds: readonly string[]): Promise<OutreachRow[]> {
    const rows = await this.rows('SELECT * FROM rider_outreach WHERE rider_id = ANY($1::text[]) ORDER BY rider_id, at, id', [[...riderIds]]);
    return rows.map((r) => ({ riderId: r.rider_id as string, at: Number(r.at), by: r.by_name as string, note: r.note as string }));
  }
}
