/** Row mappers of the SPEC §17 tables, shared by both store backends. */
import type { DayFactRow, RangeFigures, RelayRow, SponsorRecord, WeeklyFigures } from './store.ts';

type Row = Record<string, unknown>;

export function dayFactOf(r: Row): DayFactRow {
  return {
    stationId: r.station_id as string,
    day: r.day as string,
    kind: r.kind as DayFactRow['kind'],
    riderId: r.rider_id ? (r.rider_id as string) : null,
    compartment: r.compartment ? (r.compartment as string) : null,
    sponsor: (r.sponsor as string | null) ?? '',
    events: Number(r.events),
    count: Number(r.count ?? 0),
  };
}

export function sponsorOf(r: Row): SponsorRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    nameKey: r.name_key as string,
    contact: (r.contact as string | null) ?? null,
    createdAt: Number(r.created_at),
    createdBy: r.created_by as string,
  };
}

export function relayOf(r: Row): RelayRow {
  return {
    id: Number(r.id),
    sponsorId: r.sponsor_id as string,
    stationId: r.station_id as string,
    from: r.from_day as string,
    to: r.to_day as string,
    createdAt: Number(r.created_at),
    createdBy: r.created_by as string,
  };
}

/**
 * The range report's figures from the rows of its four statements (both backends): `sums` per
 * station (day null) and per day (station null); `pairs` per station and, station null, over
 * all of them; sponsors; lapsed riders.
 */
export function rangeFiguresOf(sums: readonly Row[], pairs: readonly Row[], sponsors: readonly Row[], lapsed: readonly Row[]): RangeFigures {
  const n = (v: unknown) => Number(v ?? 0);
  const perStation = new Map<string, RangeFigures['stations'][number]>();
  const days: RangeFigures['days'] = [];
  for (const r of sums) {
    if (r.station_id !== null) {
      perStation.set(r.station_id as string, {
        stationId: r.station_id as string, checkins: n(r.checkins), riders: 0, newRiders: 0, returningRiders: 0, hot: n(r.hot), cold: n(r.cold), other: n(r.other),
      });
    } else days.push({ day: r.day as string, checkins: n(r.checkins), bottles: n(r.hot) + n(r.cold) + n(r.other) });
  }
  let totals = { riders: 0, newRiders: 0, returningRiders: 0 };
  for (const r of pairs) {
    const figures = { riders: n(r.riders), newRiders: n(r.new_riders), returningRiders: n(r.checked_in) - n(r.new_riders) };
    if (r.station_id === null) {
      totals = figures;
      continue;
    }
    let s = perStation.get(r.station_id as string);
    if (!s) perStation.set(r.station_id as string, (s = { stationId: r.station_id as string, checkins: 0, riders: 0, newRiders: 0, returningRiders: 0, hot: 0, cold: 0, other: 0 }));
    Object.assign(s, figures);
  }
  return {
    stations: [...perStation.values()],
    days,
    totals,
    sponsors: sponsors.map((r) => ({ sponsor: r.sponsor as string, relaySponsorId: (r.relay_sponsor as string | null) ?? null, bottles: n(r.bottles), restocked: n(r.restocked) })),
    lapsedRiders: lapsed.map((r) => r.rider_id as string),
  };
}

/**
 * Day bitmaps of the range report (issue 14): one row per (station, rider, calendar year) in
 * `station_rider_year` and one per (rider, year) in `rider_year` (over every station), each with
 * `WORDS` integers of the days the rider was seen (`s0..s5`: a check-in or a bottle) and checked
 * in (`c0..c5`). Day `d` of the year (0-based) is bit `d % BITS` of word `floor(d / BITS)`. A
 * word holds 63 bits, not 64, so every value is a non-negative 64-bit integer on both backends
 * (no sign bit to mind in literals, sums or JSON); six words cover 378 days.
 */
export const WORDS = 6;
export const BITS = 63;
export const SEEN_COLUMNS = Array.from({ length: WORDS }, (_, i) => `s${i}`);
export const CHECKIN_COLUMNS = Array.from({ length: WORDS }, (_, i) => `c${i}`);
export const BITMAP_COLUMNS = [...SEEN_COLUMNS, ...CHECKIN_COLUMNS];

/** The calendar year and 0-based day of the year of a service day `YYYY-MM-DD`. */
export function yearDayOf(day: string): { year: number; doy: number } {
  const year = Number(day.slice(0, 4));
  const doy = (Date.UTC(year, Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) - Date.UTC(year, 0, 1)) / 86_400_000;
  return { year, doy };
}

/** One (rider, year) row's bitmaps: `seen` and `checkedIn`, `WORDS` words each. */
export interface RiderYearBits {
  riderId: string;
  year: number;
  seen: bigint[];
  checkedIn: bigint[];
}

/** The bitmaps of some (day, rider, checked in) rows of one station, one row per (rider, year). */
export function riderYearBitsOf(riders: readonly { day: string; riderId: string; checkedIn: boolean }[]): RiderYearBits[] {
  const out = new Map<string, RiderYearBits>();
  for (const r of riders) {
    const { year, doy } = yearDayOf(r.day);
    const key = `${r.riderId}\u0000${year}`;
    let b = out.get(key);
    if (!b) out.set(key, (b = { riderId: r.riderId, year, seen: Array<bigint>(WORDS).fill(0n), checkedIn: Array<bigint>(WORDS).fill(0n) }));
    const w = Math.floor(doy / BITS);
    const bit = 1n << BigInt(doy % BITS);
    b.seen[w] = b.seen[w]! | bit;
    if (r.checkedIn) b.checkedIn[w] = b.checkedIn[w]! | bit;
  }
  return [...out.values()];
}

/** The masks of the days `from..to` (inclusive), per calendar year: `WORDS` words each. */
export function dayMasks(from: string, to: string): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  if (to < from) return out;
  const a = yearDayOf(from);
  const b = yearDayOf(to);
  for (let year = a.year; year <= b.year; year++) {
    const first = year === a.year ? a.doy : 0;
    const last = year === b.year ? b.doy : yearDayOf(`${year}-12-31`).doy;
    const m = Array<bigint>(WORDS).fill(0n);
    for (let d = first; d <= last; d++) m[Math.floor(d / BITS)] = m[Math.floor(d / BITS)]! | (1n << BigInt(d % BITS));
    out.set(year, m);
  }
  return out;
}

/**
 * SQL true where a bitmap row (`alias.year`, `alias.<prefix>0..5`) has a day of `masks`: the
 * masks are our own integers, written in as literals (a range is one to three years of them).
 */
export function hitSql(masks: ReadonlyMap<number, readonly bigint[]>, prefix: 's' | 'c', alias = ''): string {
  const a = alias ? `${alias}.` : '';
  const years = [...masks].map(([year, m]) => {
    const words = m.flatMap((x, i) => (x === 0n ? [] : [`(${a}${prefix}${i} & ${x}) <> 0`]));
    return words.length === 0 ? null : `(${a}year = ${year} AND (${words.join(' OR ')}))`;
  }).filter((x): x is string => x !== null);
  return years.length === 0 ? 'FALSE' : years.length === 1 ? years[0]! : `(${years.join(' OR ')})`;
}

/** `year IN (...)` of some masks' years (with `alias.`). */
export function yearsSql(masks: ReadonlyMap<number, readonly bigint[]>, alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return masks.size === 0 ? 'FALSE' : `${a}year IN (${[...masks.keys()].join(', ')})`;
}

/** A statement and its parameters, positional for PostgreSQL, named for SQLite. */
export interface Statement {
  sql: string;
  args: unknown[] | Record<string, unknown>;
}

/** Builds one statement's parameters in the dialect of its backend. */
class Params {
  private readonly list: unknown[] = [];
  private readonly named: Record<string, unknown> = {};
  private readonly at = new Map<string, string>();
  constructor(private readonly dialect: 'pg' | 'sqlite') {}

  p(name: string, value: unknown, pgType = 'text'): string {
    if (this.dialect === 'sqlite') {
      this.named[name] = value;
      return `@${name}`;
    }
    let ref = this.at.get(name);
    if (!ref) {
      this.list.push(value);
      this.at.set(name, (ref = `$${this.list.length}::${pgType}`));
    }
    return ref;
  }

  /** `station_id` among `ids` (a JSON array's values on SQLite). */
  inStations(ids: readonly string[]): string {
    return this.dialect === 'pg' ? `station_id = ANY(${this.p('ids', [...ids], 'text[]')})` : `station_id IN (SELECT value FROM json_each(${this.p('ids', JSON.stringify(ids))}))`;
  }

  args(): unknown[] | Record<string, unknown> {
    return this.dialect === 'pg' ? this.list : this.named;
  }
}

/** The days and stations of a count over the day bitmaps (see riderSql). */
interface RiderQuery {
  from: string;
  to: string;
  lapsedFrom: string;
  lapsedTo: string;
  fromWeek: string;
  toWeek: string;
  stationIds: readonly string[];
  /** The scope holds every station with folded facts. */
  fleet: boolean;
}

/**
 * Distinct riders over the day bitmaps (both backends, see the bitmaps above): the rows read are
 * one per (station, rider, year) in scope, whatever the range's length. `fleet`: the scope is the
 * whole network, so the counts over it read `rider_year` (one row a rider) instead of grouping
 * the station rows by rider, and the station rows need no station filter. Within one calendar
 * year a rider has one row per table, so no grouping is needed; across years the rows are
 * grouped by rider.
 *
 * - `perStation`: per station, riders seen, checked in, and checked in and new (first check-in
 *   ever, rider_first_any, in the range);
 * - `totals`: the same over the scope's stations, each rider once (station_id NULL);
 * - `lapsed`: riders seen (`s`) or checked in (`c`) in the scope in `lapsedFrom..lapsedTo` and
 *   not in `from..to`.
 */
function riderSql(dialect: 'pg' | 'sqlite', r: RiderQuery) {
  const any = dialect === 'pg' ? 'bool_or' : 'max';
  const range = dayMasks(r.from, r.to);
  const prev = dayMasks(r.lapsedFrom, r.lapsedTo);
  const oneYear = range.size === 1;
  const seen = hitSql(range, 's');
  const checkedIn = hitSql(range, 'c');
  const newRiders = (q: Params) =>
    `SELECT rider_id FROM rider_first_any WHERE first_week BETWEEN ${q.p('fromWeek', r.fromWeek)} AND ${q.p('toWeek', r.toWeek)}
     AND first_day BETWEEN ${q.p('from', r.from)} AND ${q.p('to', r.to)}`;
  /** Riders seen in the range (one row each, `ci` whether they checked in) from `table`. */
  const pairs = (q: Params, table: string, key: string, scoped: boolean) =>
    oneYear
      ? `SELECT ${key}, ${checkedIn} AS ci FROM ${table} WHERE ${yearsSql(range)}${scoped ? ` AND ${q.inStations(r.stationIds)}` : ''} AND ${seen}`
      : `SELECT ${key}, ${any}(${checkedIn}) AS ci FROM ${table} WHERE ${yearsSql(range)}${scoped ? ` AND ${q.inStations(r.stationIds)}` : ''} AND ${seen} GROUP BY ${key}`;
  // New riders joined (one row a rider at most: rider_first_any's key), not looked up per row in
  // a subquery: in a fleet's first week every rider is new, and PostgreSQL then built the
  // subquery's hash of all of them once per parallel worker (~3 s at 10,000 stations).
  const counts = (q: Params, from: string) =>
    `count(*) AS riders, count(*) FILTER (WHERE p.ci) AS checked_in, count(*) FILTER (WHERE p.ci AND n.rider_id IS NOT NULL) AS new_riders
     FROM (${from}) p LEFT JOIN (${newRiders(q)}) n ON n.rider_id = p.rider_id`;
  return {
    perStation: (q: Params) => `SELECT p.station_id, ${counts(q, pairs(q, 'station_rider_year', 'station_id, rider_id', !r.fleet))} GROUP BY p.station_id`,
    totals: (q: Params) =>
      r.fleet
        ? `SELECT NULL AS station_id, ${counts(q, pairs(q, 'rider_year', 'rider_id', false))}`
        : `SELECT NULL AS station_id, ${counts(q, `SELECT rider_id, ${any}(ci) AS ci FROM (${pairs(q, 'station_rider_year', 'station_id, rider_id', true)}) s GROUP BY rider_id`)}`,
    lapsed: (q: Params, prefix: 's' | 'c') => {
      const both = new Map([...prev, ...range]);
      const was = hitSql(prev, prefix);
      const is = hitSql(range, prefix);
      return r.fleet && both.size === 1
        ? `SELECT rider_id FROM rider_year WHERE ${yearsSql(both)} AND ${was} AND NOT ${is}`
        : `SELECT rider_id FROM ${r.fleet ? 'rider_year' : 'station_rider_year'} WHERE ${yearsSql(both)}${r.fleet ? '' : ` AND ${q.inStations(r.stationIds)}`}
           AND (${was} OR ${is}) GROUP BY rider_id HAVING NOT ${any}(${is})`;
    },
  };
}

function statement(dialect: 'pg' | 'sqlite', build: (q: Params) => string): Statement {
  const q = new Params(dialect);
  const sql = build(q);
  return { sql, args: q.args() };
}

/** The range report's distinct counts (riderSql), lapsed riders being those seen before and not in the range. */
export function rangeStatements(dialect: 'pg' | 'sqlite', r: RiderQuery): { perStation: Statement; totals: Statement; lapsed: Statement } {
  const x = riderSql(dialect, r);
  return { perStation: statement(dialect, x.perStation), totals: statement(dialect, x.totals), lapsed: statement(dialect, (q) => x.lapsed(q, 's')) };
}

/**
 * The weekly report's rows (SPEC §9) with the distinct counts from the day bitmaps: per station
 * the week's rollup row (`week_station`: check-ins, riders, bottles) with its new and returning
 * riders (checked in there this week; new: first check-in ever this week); the totals over the
 * network (`station` null) or the station; lapsed riders (checked in the week before, not this
 * week), ordered by id.
 */
export function weeklyStatements(
  dialect: 'pg' | 'sqlite',
  w: { week: string; monday: string; sunday: string; prevMonday: string; station: string | null },
): { stations: Statement; totals: Statement; lapsed: Statement } {
  const x = riderSql(dialect, {
    from: w.monday, to: w.sunday, lapsedFrom: w.prevMonday, lapsedTo: addDaysUtc(w.monday, -1), fromWeek: w.week, toWeek: w.week,
    stationIds: w.station === null ? [] : [w.station], fleet: w.station === null,
  });
  return {
    stations: statement(dialect, (q) => {
      const scope = w.station === null ? '' : ` AND s.station_id = ${q.p('station', w.station)}`;
      return `SELECT s.*, coalesce(nr.new_riders, 0) AS new_riders, coalesce(nr.checked_in - nr.new_riders, 0) AS returning_riders
        FROM week_station s LEFT JOIN (${x.perStation(q)}) nr ON nr.station_id = s.station_id
        WHERE s.week = ${q.p('week', w.week)}${scope} ORDER BY s.station_id`;
    }),
    totals: statement(dialect, x.totals),
    lapsed: statement(dialect, (q) => `${x.lapsed(q, 'c')} ORDER BY 1`),
  };
}

/** `day` plus `n` days (`YYYY-MM-DD`). */
function addDaysUtc(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The weekly report's figures from the rows of weeklyStatements (both backends). */
export function weeklyFiguresOf(stations: readonly Row[], totals: readonly Row[], lapsed: readonly Row[]): WeeklyFigures {
  const n = (v: unknown) => Number(v ?? 0);
  const t = totals[0] ?? {};
  return {
    stations: stations.map((r) => ({
      stationId: r.station_id as string,
      checkins: n(r.checkins),
      riders: n(r.riders),
      newRiders: n(r.new_riders),
      returningRiders: n(r.returning_riders),
      bottlesHot: n(r.bottles_hot),
      bottlesCold: n(r.bottles_cold),
      bottlesOther: n(r.bottles_other),
    })),
    totals: { riders: n(t.riders), newRiders: n(t.new_riders), returningRiders: n(t.checked_in) - n(t.new_riders) },
    lapsedRiders: lapsed.map((r) => r.rider_id as string),
  };
}

/** The weekly statements' days: the ISO week's Monday and Sunday, and the Monday before. */
export function weekDaysOf(week: string, monday: string): { week: string; monday: string; sunday: string; prevMonday: string } {
  return { week, monday, sunday: addDaysUtc(monday, 6), prevMonday: addDaysUtc(monday, -7) };
}
