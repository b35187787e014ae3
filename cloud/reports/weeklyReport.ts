/**
 * The weekly check-in report of SPEC §9 (contract fields) plus sponsors and totals, read from
 * rollups only. Weeks are ISO weeks; a check-in counts in the week of its service day.
 */
import { addDays, isoWeekMonday, isoWeekOf, serviceDayOf, type Clock } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import type { CloudStore, Scope } from '../store/store.ts';

export const REPORT_TIMEZONE = 'Asia/Shanghai';

export interface StationWeek {
  stationId: string;
  checkins: number;
  riders: number;
  newRiders: number;
  returningRiders: number;
  bottles: { hot: number; cold: number };
  /** Extra: bottles whose compartment was not reported (claim.committed without a known compartment). */
  otherBottles: number;
}

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
  const rows = new Map((await store.weeklyStations(week, scope)).map((r) => [r.stationId, r]));
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
    };
  });
  const distinct = await store.weeklyTotals(week, scope);
  const sum = (f: (s: StationWeek) => number) => stations.reduce((a, s) => a + f(s), 0);
  const monday = isoWeekMonday(week);
  return {
    week,
    completeThrough: Object.fromEntries(ids.map((id) => [id, heads.get(id) ?? 0])),
    stations,
    lapsedRiders: await store.lapsedRiders(week, weekBefore(week), scope),
    from: monday,
    to: addDays(monday, 6),
    totals: {
      checkins: sum((s) => s.checkins),
      ...distinct,
      bottles: { hot: sum((s) => s.bottles.hot), cold: sum((s) => s.bottles.cold) },
      otherBottles: sum((s) => s.otherBottles),
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

const CSV_COLUMNS = [
  'record', 'week', 'stationId', 'completeThrough', 'checkins', 'riders', 'newRiders', 'returningRiders',
  'bottlesHot', 'bottlesCold', 'sponsor', 'sponsorBottles', 'sponsorRestocked', 'riderId',
] as const;

function csvCell(v: string | number): string {
  const s = String(v);
  // Quote what needs it, and defuse spreadsheet formulas (=, +, -, @ at the start).
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * The report as one rectangular CSV table: a `station` row per station (the SPEC §9 fields),
 * then a `sponsor` row per sponsor and a `lapsed_rider` row per lapsed rider.
 */
export function weeklyReportCsv(r: WeeklyReport): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  const row = (o: Partial<Record<(typeof CSV_COLUMNS)[number], string | number>>) =>
    lines.push(CSV_COLUMNS.map((c) => csvCell(o[c] ?? '')).join(','));
  for (const s of r.stations) {
    row({
      record: 'station', week: r.week, stationId: s.stationId, completeThrough: r.completeThrough[s.stationId] ?? 0,
      checkins: s.checkins, riders: s.riders, newRiders: s.newRiders, returningRiders: s.returningRiders,
      bottlesHot: s.bottles.hot, bottlesCold: s.bottles.cold,
    });
  }
  for (const s of r.sponsors) row({ record: 'sponsor', week: r.week, sponsor: s.sponsor, sponsorBottles: s.bottles, sponsorRestocked: s.restocked });
  for (const id of r.lapsedRiders) row({ record: 'lapsed_rider', week: r.week, riderId: id });
  return `${lines.join('\r\n')}\r\n`;
}
