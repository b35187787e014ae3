/**
 * The SQLite side of SPEC §17: day facts (folded from the event log by the reports, from a cursor
 * per station), sponsor records, relays and outreach notes (sqlite.ts delegates here).
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { AddRelaysResult, DayFactRow, OutreachRow, RangeFigures, RelayRow, SponsorRecord, WeeklyFigures } from './store.ts';
import { BITMAP_COLUMNS, rangeFiguresOf, rangeStatements, relayOf, riderYearBitsOf, sponsorOf, weekDaysOf, weeklyFiguresOf, weeklyStatements, type Statement as BuiltStatement } from './reportRows.ts';
import { addDays, isoWeekMonday, isoWeekOf } from '../../protocol/index.ts';
import { dayFactsOf, daySumsOf } from '../ingest/dayFacts.ts';
import { rollupEffectsOf, type RollupEffect } from '../ingest/rollupEffects.ts';

type Row = Record<string, unknown>;

/** Riders per `IN (...)` lookup: far below SQLite's parameter limit. */
const CHUNK = 500;
/** Day facts per multi-row upsert (8 parameters each). */
const FACT_ROWS = 40;
/** Events read per step of a fold. */
const FOLD_CHUNK = 5000;

export class SqliteReports {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      facts: p(`SELECT station_id, day, kind, rider_id, compartment, sponsor, events, count FROM day_facts
        WHERE day BETWEEN ? AND ? AND (? IS NULL OR station_id IN (SELECT value FROM json_each(?)))`).raw(),
      factAdd: p(`INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (day, station_id, kind, rider_id, compartment, sponsor) DO UPDATE SET events = events + excluded.events, count = count + excluded.count`),
      behind: p(`SELECT s.station_id, s.last_seq, coalesce(c.seq, 0) AS folded FROM station_sync s
        LEFT JOIN day_facts_cursor c ON c.station_id = s.station_id WHERE s.last_seq > coalesce(c.seq, 0)`),
      foldEvents: p(`SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = ? AND seq > ? AND seq <= ?
        AND type IN ('checkin', 'claim.committed', 'dispenser.restocked') ORDER BY seq LIMIT ?`),
      cursorSet: p(`INSERT INTO day_facts_cursor (station_id, seq) VALUES (?, ?) ON CONFLICT (station_id) DO UPDATE SET seq = excluded.seq`),
      // Rows of one batch are distinct keys (dayFactsOf groups them), so one statement may hold many.
      factsAdd: p(`INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count)
        VALUES ${Array(FACT_ROWS).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
        ON CONFLICT (day, station_id, kind, rider_id, compartment, sponsor) DO UPDATE SET events = events + excluded.events, count = count + excluded.count`),
      sumAdd: p(`INSERT INTO station_day_sums (day, station_id, checkins, bottles_hot, bottles_cold, bottles_other) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (day, station_id) DO UPDATE SET checkins = checkins + excluded.checkins, bottles_hot = bottles_hot + excluded.bottles_hot,
          bottles_cold = bottles_cold + excluded.bottles_cold, bottles_other = bottles_other + excluded.bottles_other`),
      sponsorDayAdd: p(`INSERT INTO station_day_sponsors (day, station_id, sponsor, bottles, restocked) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (day, station_id, sponsor) DO UPDATE SET bottles = bottles + excluded.bottles, restocked = restocked + excluded.restocked`),
      // A station's rider-day bits OR-ed into its (station, rider, year) row and the rider's (rider, year) row.
      stationRiderYearAdd: p(`INSERT INTO station_rider_year (year, station_id, rider_id, ${BITMAP_COLUMNS.join(', ')})
        VALUES (?, ?, ?, ${BITMAP_COLUMNS.map(() => '?').join(', ')})
        ON CONFLICT (year, station_id, rider_id) DO UPDATE SET ${BITMAP_COLUMNS.map((w) => `${w} = ${w} | excluded.${w}`).join(', ')}`),
      riderYearAdd: p(`INSERT INTO rider_year (year, rider_id, ${BITMAP_COLUMNS.join(', ')}) VALUES (?, ?, ${BITMAP_COLUMNS.map(() => '?').join(', ')})
        ON CONFLICT (year, rider_id) DO UPDATE SET ${BITMAP_COLUMNS.map((w) => `${w} = ${w} | excluded.${w}`).join(', ')}`),
      coversFleet: p(`SELECT NOT EXISTS (SELECT 1 FROM day_facts_cursor WHERE station_id NOT IN (SELECT value FROM json_each(?))) AS fleet`),
      // The range report (rangeFigures, the statements of pgReports.ts): @from, @to, @ids (the stations as a JSON array).
      rangeStations: p(`SELECT station_id, NULL AS day, sum(checkins) AS checkins, sum(bottles_hot) AS hot, sum(bottles_cold) AS cold, sum(bottles_other) AS other
        FROM station_day_sums WHERE day BETWEEN @from AND @to AND station_id IN (SELECT value FROM json_each(@ids)) GROUP BY station_id`),
      rangeDays: p(`SELECT NULL AS station_id, day, sum(checkins) AS checkins, sum(bottles_hot) AS hot, sum(bottles_cold) AS cold, sum(bottles_other) AS other
        FROM station_day_sums WHERE day BETWEEN @from AND @to AND station_id IN (SELECT value FROM json_each(@ids)) GROUP BY day`),
      rangeSponsors: p(`SELECT f.sponsor, r.sponsor_id AS relay_sponsor, sum(f.bottles) AS bottles, sum(f.restocked) AS restocked
        FROM station_day_sponsors f LEFT JOIN sponsor_relays r ON f.sponsor = '' AND r.station_id = f.station_id AND f.day BETWEEN r.from_day AND r.to_day
        WHERE f.day BETWEEN @from AND @to AND f.station_id IN (SELECT value FROM json_each(@ids)) GROUP BY 1, 2`),
      sponsorInsert: p('INSERT OR IGNORE INTO sponsors (id, name, name_key, contact, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)'),
      sponsors: p('SELECT * FROM sponsors ORDER BY name_key, id'),
      sponsor: p('SELECT * FROM sponsors WHERE id = ?'),
      overlap: p('SELECT * FROM sponsor_relays WHERE station_id = ? AND from_day <= ? AND to_day >= ? ORDER BY from_day LIMIT 1'),
      relayInsert: p('INSERT INTO sponsor_relays (sponsor_id, station_id, from_day, to_day, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING *'),
      relays: p('SELECT * FROM sponsor_relays ORDER BY station_id, from_day, id'),
      outreachInsert: p('INSERT INTO rider_outreach (rider_id, at, by_name, note) VALUES (?, ?, ?, ?)'),
      outreachCount: p('SELECT count(*) AS n FROM rider_outreach WHERE rider_id = ?'),
    };
  }

  /** Add the day facts of some events' rollup effects (inside the fold's transaction). */
  addDayFacts(stationId: string, effects: readonly (readonly RollupEffect[])[]): void {
    const facts = dayFactsOf(effects);
    // FACT_ROWS rows per statement (one statement step instead of one per row), the rest one by one.
    let i = 0;
    for (; i + FACT_ROWS <= facts.length; i += FACT_ROWS) {
      const params: unknown[] = [];
      for (let k = i; k < i + FACT_ROWS; k++) {
        const f = facts[k]!;
        params.push(f.day, stationId, f.kind, f.riderId, f.compartment, f.sponsor, f.events, f.count);
      }
      this.s.factsAdd!.run(params);
    }
    for (; i < facts.length; i++) {
      const f = facts[i]!;
      this.s.factAdd!.run(f.day, stationId, f.kind, f.riderId, f.compartment, f.sponsor, f.events, f.count);
    }
    // The range report's sums beside the facts (one row a station-day).
    const { sums, sponsors, riders } = daySumsOf(facts);
    for (const x of sums) this.s.sumAdd!.run(x.day, stationId, x.checkins, x.hot, x.cold, x.other);
    for (const x of sponsors) this.s.sponsorDayAdd!.run(x.day, stationId, x.sponsor, x.bottles, x.restocked);
    for (const b of riderYearBitsOf(riders)) {
      this.s.stationRiderYearAdd!.run(b.year, stationId, b.riderId, ...b.seen, ...b.checkedIn);
      this.s.riderYearAdd!.run(b.year, b.riderId, ...b.seen, ...b.checkedIn);
    }
  }

  /**
   * Fold the report events stored since each station's cursor into the day facts, and move the
   * cursor to the station's head, in one IMMEDIATE transaction (no append can come between).
   * Ingest stays as fast as before; the first report after an upload pays for its events once.
   */
  fold(): void {
    const behind = this.s.behind!.all() as Array<{ station_id: string; last_seq: number; folded: number }>;
    if (behind.length === 0) return;
    this.db.transaction(() => {
      for (const b of this.s.behind!.all() as Array<{ station_id: string; last_seq: number; folded: number }>) {
        let after = b.folded;
        for (;;) {
          const rows = this.s.foldEvents!.all(b.station_id, after, b.last_seq, FOLD_CHUNK) as Array<{ seq: number; type: string; ts: number; day: string; data: string; hash: string }>;
          if (rows.length === 0) break;
          const effects = rows.map((r) => rollupEffectsOf({ seq: r.seq, type: r.type, ts: r.ts, day: r.day, data: JSON.parse(r.data) as Record<string, unknown>, hash: r.hash }));
          this.addDayFacts(b.station_id, effects);
          after = rows[rows.length - 1]!.seq;
        }
        this.s.cursorSet!.run(b.station_id, b.last_seq);
      }
    }).immediate();
  }

  dayFacts(fromDay: string, toDay: string, stationIds: readonly string[] | null): DayFactRow[] {
    this.fold();
    const ids = stationIds === null ? null : JSON.stringify(stationIds);
    // Rows as arrays: a month of a district is tens of thousands of rows.
    return (this.s.facts!.all(fromDay, toDay, ids, ids) as Array<[string, string, DayFactRow['kind'], string, string, string, number, number]>).map(
      ([stationId, day, kind, riderId, compartment, sponsor, events, count]) => ({
        stationId, day, kind, riderId: riderId || null, compartment: compartment || null, sponsor, events, count,
      }),
    );
  }

  /**
   * The range report's figures, aggregated by SQLite (the statements of pgReports.ts; no grouping
   * sets here): sums from station_day_sums, distinct and lapsed riders from the day bitmaps.
   */
  rangeFigures(fromDay: string, toDay: string, lapsedFrom: string, stationIds: readonly string[]): RangeFigures {
    this.fold();
    const q = { from: fromDay, to: toDay, ids: JSON.stringify(stationIds) };
    const fleet = (this.s.coversFleet!.get(q.ids) as { fleet: number }).fleet === 1;
    const st = rangeStatements('sqlite', {
      from: fromDay, to: toDay, lapsedFrom, lapsedTo: addDays(fromDay, -1), fromWeek: isoWeekOf(fromDay), toWeek: isoWeekOf(toDay), stationIds, fleet,
    });
    const all = (x: BuiltStatement) => this.db.prepare(x.sql).all(x.args) as Row[];
    return rangeFiguresOf(
      [...(this.s.rangeStations!.all(q) as Row[]), ...(this.s.rangeDays!.all(q) as Row[])],
      [...all(st.perStation), ...all(st.totals)],
      this.s.rangeSponsors!.all(q) as Row[],
      all(st.lapsed),
    );
  }

  /** The weekly report's rows over the day bitmaps (reportRows.ts's weeklyStatements). */
  weeklyFigures(week: string, scope: string | null): WeeklyFigures {
    this.fold();
    const st = weeklyStatements('sqlite', { ...weekDaysOf(week, isoWeekMonday(week)), station: scope });
    const all = (x: BuiltStatement) => this.db.prepare(x.sql).all(x.args) as Row[];
    return weeklyFiguresOf(all(st.stations), all(st.totals), all(st.lapsed));
  }

  firstCheckinDays(riderIds: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < riderIds.length; i += CHUNK) {
      const chunk = riderIds.slice(i, i + CHUNK);
      const rows = this.db.prepare(`SELECT rider_id, first_day FROM rider_first_any WHERE rider_id IN (${chunk.map(() => '?').join(', ')})`).all(...chunk) as Row[];
      for (const r of rows) out.set(r.rider_id as string, r.first_day as string);
    }
    return out;
  }

  createSponsor(s: SponsorRecord): SponsorRecord | null {
    const added = this.s.sponsorInsert!.run(s.id, s.name, s.nameKey, s.contact, s.createdAt, s.createdBy).changes;
    return added === 1 ? s : null;
  }

  sponsorRecords(): SponsorRecord[] {
    return (this.s.sponsors!.all() as Row[]).map(sponsorOf);
  }

  sponsorRecord(id: string): SponsorRecord | null {
    const r = this.s.sponsor!.get(id) as Row | undefined;
    return r ? sponsorOf(r) : null;
  }

  /** One IMMEDIATE transaction: no other writer can add an overlapping relay between check and insert. */
  addRelays(r: { sponsorId: string; stationIds: readonly string[]; from: string; to: string; createdAt: number; createdBy: string }): AddRelaysResult {
    const tx = this.db.transaction((): AddRelaysResult => {
      for (const stationId of r.stationIds) {
        const hit = this.s.overlap!.get(stationId, r.to, r.from) as Row | undefined;
        if (hit) return { ok: false, overlap: relayOf(hit) };
      }
      const relays = r.stationIds.map((stationId) => relayOf(this.s.relayInsert!.get(r.sponsorId, stationId, r.from, r.to, r.createdAt, r.createdBy) as Row));
      return { ok: true, relays };
    });
    return tx.immediate();
  }

  relays(): RelayRow[] {
    return (this.s.relays!.all() as Row[]).map(relayOf);
  }

  addOutreach(o: OutreachRow): void {
    this.s.outreachInsert!.run(o.riderId, o.at, o.by, o.note);
  }

  outreachCount(riderId: string): number {
    return (this.s.outreachCount!.get(riderId) as { n: number }).n;
  }

  outreach(riderIds: readonly string[]): OutreachRow[] {
    const out: OutreachRow[] = [];
    for (let i = 0; i < riderIds.length; i += CHUNK) {
      const chunk = riderIds.slice(i, i + CHUNK);
      const rows = this.db
        .prepare(`SELECT * FROM rider_outreach WHERE rider_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY rider_id, at, id`)
        .all(...chunk) as Row[];
      for (const r of rows) out.push({ riderId: r.rider_id as string, at: r.at as number, by: r.by_name as string, note: r.note as string });
    }
    return out;
  }
}
