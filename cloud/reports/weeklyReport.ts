/**
 * The weekly check-in report of SPEC §9 (contract fields) plus sponsors and totals, read from
 * rollups only. Weeks are ISO weeks; a check-in counts in the week of its service day.
 */
import { addDays, isoWeekMonday, isoWeekOf, serviceDayOf, type Clock } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import type { CloudStore, Scope } from '../store/store.ts';
import { csvTable, localDateTime, type CsvColumn, type CsvLang } from './csv.ts';

export const REPORT_TIMEZONE = 'Asia/Shanghai';

/** A station's row of the weekly report (SPEC §9). */
export type StationWeek = StationFigures;

export interface WeeklyReport {
  week: string;
  completeThrough: Record<string, number>;
  stations: StationWeek[];
  lapsedRiders: string[];
  // Extras beyond SPEC §9:
  from: string;
  to: string;
  totals: Omit<StationWeek, 'stationId'>;
  sponsors: { sponsor: string; bottles: number; restocked: number }[];
}

/** Validate `2026-W48`; throws `bad_week`. */
export function checkWeek(week: string): string {
  try {
    isoWeekMonday(week);
    return week;
  } catch {
    throw apiError('bad_week', `week must be an existing ISO week like 2026-W48, not ${JSON.stringify(week)}`);
  }
}

export function currentWeek(clock: Clock): string {
  return isoWeekOf(serviceDayOf(clock.now(), REPORT_TIMEZONE));
}

export function weekBefore(week: string, n = 1): string {
  return isoWeekOf(addDays(isoWeekMonday(week), -7 * n));
}

export async function weeklyReport(store: CloudStore, stationIds: readonly string[], week: string, scope: Scope): Promise<WeeklyReport> {
  checkWeek(week);
  const ids = scope === null ? stationIds : [scope];
  const heads = new Map((await store.syncHeads()).map((h) => [h.stationId, h.ts]));
  // Station rows, distinct totals and lapsed riders in one call: the distinct counts from the day
  // bitmaps (a row per rider), not the station-weeks of every rider (issue 14: 10,000 stations).
  const figures = await store.weeklyFigures(week, scope);
  const rows = new Map(figures.stations.map((r) => [r.stationId, r]));
  const conflicts = await store.weeklyConflicts(week, scope);
  const stations: StationWeek[] = ids.map((id) => {
    const r = rows.get(id);
    return {
      stationId: id,
      checkins: r?.checkins ?? 0,
      riders: r?.riders ?? 0,
      newRiders: r?.newRiders ?? 0,
      returningRiders: r?.returningRiders ?? 0,
      bottles: { hot: r?.bottlesHot ?? 0, cold: r?.bottlesCold ?? 0 },
      otherBottles: r?.bottlesOther ?? 0,
      conflicts: conflicts.get(id) ?? 0,
    };
  });
  const distinct = figures.totals;
  const sum = (f: (s: StationWeek) => number) => stations.reduce((a, s) => a + f(s), 0);
  const monday = isoWeekMonday(week);
  return {
    week,
    completeThrough: Object.fromEntries(ids.map((id) => [id, heads.get(id) ?? 0])),
    stations,
    lapsedRiders: figures.lapsedRiders,
    from: monday,
    to: addDays(monday, 6),
    totals: {
      checkins: sum((s) => s.checkins),
      ...distinct,
      bottles: { hot: sum((s) => s.bottles.hot), cold: sum((s) => s.bottles.cold) },
      otherBottles: sum((s) => s.otherBottles),
      // One conflict involves two stations or more: counted once here.
      conflicts: scope === null ? (await store.conflicts(week, null)).length : (conflicts.get(scope) ?? 0),
    },
    sponsors: await store.sponsors(week, scope),
  };
}

export interface TrendPoint {
  week: string;
  checkins: number;
  riders: number;
  newRiders: number;
  returningRiders: number;
  bottles: number;
}

/** The last `weeks` weeks up to `week`, oldest first. */
export async function weeklyTrend(store: CloudStore, week: string, weeks: number, scope: Scope): Promise<TrendPoint[]> {
  checkWeek(week);
  const out: TrendPoint[] = [];
  for (let i = weeks - 1; i >= 0; i--) {
    const w = weekBefore(week, i);
    const rows = await store.weeklyStations(w, scope);
    const t = await store.weeklyTotals(w, scope);
    out.push({
      week: w,
      checkins: rows.reduce((a, r) => a + r.checkins, 0),
      ...t,
      bottles: rows.reduce((a, r) => a + r.bottlesHot + r.bottlesCold + r.bottlesOther, 0),
    });
  }
  return out;
}

export const WEEKLY_CSV_TABLES = ['stations', 'sponsors', 'lapsed'] as const;
export type WeeklyCsvTable = (typeof WEEKLY_CSV_TABLES)[number];

/** The figures of a station row, as the weekly and the range report (SPEC §17) both have them. */
export interface StationFigures {
  stationId: string;
  checkins: number;
  riders: number;
  newRiders: number;
  returningRiders: number;
  bottles: { hot: number; cold: number };
  /** Extra: bottles whose compartment was not reported (claim.committed without a known compartment). */
  otherBottles: number;
  /** SPEC §13: zone conflicts of the period this station granted one of the claims of (totals: distinct conflicts). */
  conflicts: number;
}

/**
 * The station table's columns after the period's own (the week, or the range's dates): one list
 * for the weekly and the range report, so their CSV and xlsx stay alike.
 */
export function stationColumnsOf<T extends StationFigures>(
  period: { zh: string; en: string; value: string },
  completeThrough: Readonly<Record<string, number>>,
  timezoneOf: (stationId: string) => string,
): CsvColumn<T>[] {
  return [
    { zh: period.zh, en: period.en, value: () => period.value },
    { zh: '站点', en: 'station', value: (s) => s.stationId },
    { zh: '签到次数', en: 'check-ins', value: (s) => s.checkins },
    { zh: '骑手人数', en: 'riders', value: (s) => s.riders },
    { zh: '新骑手', en: 'new riders', value: (s) => s.newRiders },
    { zh: '回访骑手', en: 'returning riders', value: (s) => s.returningRiders },
    { zh: '热饮（瓶）', en: 'hot bottles', value: (s) => s.bottles.hot },
    { zh: '冷饮（瓶）', en: 'cold bottles', value: (s) => s.bottles.cold },
    { zh: '其他（瓶）', en: 'other bottles', value: (s) => s.otherBottles },
    { zh: '跨站冲突', en: 'conflicts', value: (s) => s.conflicts },
    {
      zh: '数据完整至（当地时间）', en: 'complete through (local time)',
      value: (s) => (completeThrough[s.stationId] ? localDateTime(completeThrough[s.stationId]!, timezoneOf(s.stationId)) : null),
    },
    { zh: '时区', en: 'time zone', value: (s) => timezoneOf(s.stationId) },
  ];
}

const stationColumns = (r: WeeklyReport, timezoneOf: (stationId: string) => string): CsvColumn<StationWeek>[] =>
  stationColumnsOf<StationWeek>({ zh: '周', en: 'week', value: r.week }, r.completeThrough, timezoneOf);

/** The columns of each table, shared by CSV and xlsx. */
export function weeklyColumns(r: WeeklyReport, timezoneOf: (stationId: string) => string) {
  return {
    stations: stationColumns(r, timezoneOf),
    sponsors: [
      { zh: '周', en: 'week', value: () => r.week },
      { zh: '赞助方', en: 'sponsor', value: (s) => s.sponsor },
      { zh: '发放（瓶）', en: 'bottles given', value: (s) => s.bottles },
      { zh: '补货（瓶）', en: 'bottles restocked', value: (s) => s.restocked },
    ] satisfies CsvColumn<WeeklyReport['sponsors'][number]>[],
    lapsed: [
      { zh: '周', en: 'week', value: () => r.week },
      { zh: '骑手编号', en: 'rider id', value: (id) => id },
    ] satisfies CsvColumn<string>[],
  };
}

/**
 * One table of the report as Excel-ready CSV (SPEC §17): `stations` (the SPEC §9 fields per
 * station), `sponsors` or `lapsed` riders.
 */
export function weeklyReportCsv(r: WeeklyReport, table: WeeklyCsvTable, lang: CsvLang, timezoneOf: (stationId: string) => string): string {
  const c = weeklyColumns(r, timezoneOf);
  switch (table) {
    case 'stations':
      return csvTable(c.stations, r.stations, lang);
    case 'sponsors':
      return csvTable(c.sponsors, r.sponsors, lang);
    case 'lapsed':
      return csvTable(c.lapsed, r.lapsedRiders, lang);
  }
}
