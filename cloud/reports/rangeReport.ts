/**
 * The range report of SPEC §17: the weekly report's fields (SPEC §9) over any service days
 * `from..to` (a month is a range), with a daily series for charts. Computed at report time from
 * the day facts (folded from the log), so sponsors follow the relays as they are now; the sums
 * and distinct counts are made by the database (store.rangeFigures), not here row by row.
 *
 * - `riders`: distinct riders who checked in or took water in the range; `newRiders`: who checked
 *   in in the range and whose first check-in ever (anywhere) is in it; `returningRiders`: who
 *   checked in in the range and first checked in before it.
 * - `lapsedRiders` for a range: riders seen (a check-in or a bottle) in the scope in the period of
 *   the same length just before `from`, and not seen in the scope in the range.
 */
import { addDays, daysBetween, isServiceDay } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import type { CloudStore } from '../store/store.ts';
import { csvTable, localDateTime, type CsvColumn, type CsvLang } from './csv.ts';
import { Sponsorship } from './sponsorship.ts';
import { stationColumnsOf, type StationFigures } from './weeklyReport.ts';
import { conflictsPerStation } from '../store/zoneRows.ts';

/** The longest range one report covers (a year, leap or not). */
export const MAX_RANGE_DAYS = 366;

/** A station's row of the range report (SPEC §17). */
export type RangeStation = StationFigures;

export interface RangeDay {
  day: string;
  checkins: number;
  bottles: number;
}

export interface RangeSponsor {
  sponsorId: string | null;
  sponsor: string;
  bottles: number;
  restocked: number;
}

export interface RangeReport {
  from: string;
  to: string;
  completeThrough: Record<string, number>;
  stations: RangeStation[];
  days: RangeDay[];
  lapsedRiders: string[];
  // Extras beyond SPEC §17:
  lapsedFrom: string;
  lapsedTo: string;
  totals: Omit<RangeStation, 'stationId'>;
  sponsors: RangeSponsor[];
}

/** `YYYY-MM-DD` that exists; throws 400 `bad_date` naming the parameter. */
export function checkDay(name: string, v: string | undefined): string {
  if (v === undefined || !isServiceDay(v)) throw apiError('bad_date', `${name} must be a date like 2026-11-01, not ${JSON.stringify(v ?? null)}`);
  return v;
}

/** A valid range of at most `MAX_RANGE_DAYS` days: 400 `bad_date` or `range_too_long`. */
export function checkRange(from: string | undefined, to: string | undefined): { from: string; to: string; days: number } {
  const f = checkDay('from', from);
  const t = checkDay('to', to);
  const days = daysBetween(f, t) + 1;
  if (days < 1) throw apiError('bad_date', `to (${t}) is before from (${f})`);
  if (days > MAX_RANGE_DAYS) throw apiError('range_too_long', `a report covers at most ${MAX_RANGE_DAYS} days; this range has ${days}`);
  return { from: f, to: t, days };
}

export function dayList(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

export async function rangeReport(store: CloudStore, stationIds: readonly string[], from: string, to: string): Promise<RangeReport> {
  const { days: length } = checkRange(from, to);
  const lapsedFrom = addDays(from, -length);
  const lapsedTo = addDays(from, -1);
  // Sums and distinct counts are made by the database (store.rangeFigures): a month of 10,000
  // stations is millions of day facts, too many to bring here row by row.
  const [fig, heads, sponsorRecords, relays, conflictKeys] = await Promise.all([
    store.rangeFigures(from, to, lapsedFrom, stationIds),
    store.syncHeads(),
    store.sponsorRecords(),
    store.relays(),
    store.conflictsBetween(from, to),
  ]);
  const inScope = new Set(stationIds);
  const per = new Map<string, RangeStation>(
    stationIds.map((id) => [id, { stationId: id, checkins: 0, riders: 0, newRiders: 0, returningRiders: 0, bottles: { hot: 0, cold: 0 }, otherBottles: 0, conflicts: 0 }]),
  );
  for (const f of fig.stations) {
    const p = per.get(f.stationId);
    if (!p) continue;
    p.checkins = f.checkins;
    p.riders = f.riders;
    p.newRiders = f.newRiders;
    p.returningRiders = f.returningRiders;
    p.bottles = { hot: f.hot, cold: f.cold };
    p.otherBottles = f.other;
  }
  const daily = new Map(dayList(from, to).map((d) => [d, { day: d, checkins: 0, bottles: 0 }]));
  for (const d of fig.days) {
    const x = daily.get(d.day);
    if (x) {
      x.checkins = d.checkins;
      x.bottles = d.bottles;
    }
  }
  const sponsorship = new Sponsorship(sponsorRecords, relays);
  const sponsors = new Map<string, RangeSponsor>();
  for (const f of fig.sponsors) {
    const a = sponsorship.ofRelay(f.sponsor, f.relaySponsorId);
    const key = a.sponsorId ?? `name:${a.sponsor}`;
    let s = sponsors.get(key);
    if (!s) sponsors.set(key, (s = { sponsorId: a.sponsorId, sponsor: a.sponsor, bottles: 0, restocked: 0 }));
    s.bottles += f.bottles;
    s.restocked += f.restocked;
  }
  // Conflicts: per station involved; in the totals each conflict once (it involves two stations or more).
  for (const [stationId, n] of conflictsPerStation(conflictKeys)) if (inScope.has(stationId)) per.get(stationId)!.conflicts = n;
  const conflictsInScope = new Set(conflictKeys.filter((c) => inScope.has(c.stationId)).map((c) => `${c.zone}\u0000${c.riderId}\u0000${c.day}`));
  const headTs = new Map(heads.map((h) => [h.stationId, h.ts]));
  const stations = [...per.values()];
  const sum = (f: (s: RangeStation) => number) => stations.reduce((a, s) => a + f(s), 0);
  const byName = (a: RangeSponsor, b: RangeSponsor) =>
    a.sponsor < b.sponsor ? -1 : a.sponsor > b.sponsor ? 1 : (a.sponsorId ?? '') < (b.sponsorId ?? '') ? -1 : (a.sponsorId ?? '') > (b.sponsorId ?? '') ? 1 : 0;
  return {
    from,
    to,
    completeThrough: Object.fromEntries(stationIds.map((id) => [id, headTs.get(id) ?? 0])),
    stations,
    days: [...daily.values()],
    lapsedRiders: fig.lapsedRiders.sort(),
    lapsedFrom,
    lapsedTo,
    totals: {
      checkins: sum((s) => s.checkins),
      riders: fig.totals.riders,
      newRiders: fig.totals.newRiders,
      returningRiders: fig.totals.returningRiders,
      bottles: { hot: sum((s) => s.bottles.hot), cold: sum((s) => s.bottles.cold) },
      otherBottles: sum((s) => s.otherBottles),
      conflicts: conflictsInScope.size,
    },
    sponsors: [...sponsors.values()].sort(byName),
  };
}

export const RANGE_TABLES = ['stations', 'days', 'sponsors', 'lapsed'] as const;
export type RangeTable = (typeof RANGE_TABLES)[number];

/** The columns of each table, shared by CSV and xlsx. */
export function rangeColumns(r: RangeReport, timezoneOf: (stationId: string) => string) {
  const range = `${r.from}..${r.to}`;
  return {
    stations: stationColumnsOf<RangeStation>({ zh: '日期范围', en: 'dates', value: range }, r.completeThrough, timezoneOf),
    days: [
      { zh: '日期（服务日）', en: 'service day', value: (d) => d.day },
      { zh: '签到次数', en: 'check-ins', value: (d) => d.checkins },
      { zh: '发放（瓶）', en: 'bottles given', value: (d) => d.bottles },
    ] satisfies CsvColumn<RangeDay>[],
    sponsors: [
      { zh: '日期范围', en: 'dates', value: () => range },
      { zh: '赞助方', en: 'sponsor', value: (s) => s.sponsor },
      { zh: '赞助方编号', en: 'sponsor id', value: (s) => s.sponsorId },
      { zh: '发放（瓶）', en: 'bottles given', value: (s) => s.bottles },
      { zh: '补货（瓶）', en: 'bottles restocked', value: (s) => s.restocked },
    ] satisfies CsvColumn<RangeSponsor>[],
    lapsed: [
      { zh: '日期范围', en: 'dates', value: () => range },
      { zh: '骑手编号', en: 'rider id', value: (id) => id },
    ] satisfies CsvColumn<string>[],
  };
}

export function rangeReportCsv(r: RangeReport, table: RangeTable, lang: CsvLang, timezoneOf: (stationId: string) => string): string {
  const c = rangeColumns(r, timezoneOf);
  switch (table) {
    case 'stations':
      return csvTable(c.stations, r.stations, lang);
    case 'days':
      return csvTable(c.days, r.days, lang);
    case 'sponsors':
      return csvTable(c.sponsors, r.sponsors, lang);
    case 'lapsed':
      return csvTable(c.lapsed, r.lapsedRiders, lang);
  }
}
