/**
 * The sponsor statement of SPEC §17: what one sponsor gave over service days `from..to` —
 * bottles per station and ISO week, riders served (a distinct count), restocks by station and
 * date — attributed at report time (sponsorship.ts), so a relay added later counts. Tables for
 * CSV/xlsx here; the printable page is statementPage.ts.
 */
import { DEFAULT_TIMEZONE, isoWeekOf } from '../../protocol/index.ts';
import type { CloudStore, SponsorRecord } from '../store/store.ts';
import type { CsvColumn } from './csv.ts';
import { checkRange } from './rangeReport.ts';
import { Sponsorship } from './sponsorship.ts';

export interface StatementWeek {
  stationId: string;
  week: string;
  /** First and last service day of the week inside the range. */
  from: string;
  to: string;
  hot: number;
  cold: number;
  bottles: number;
}

export interface StatementRestock {
  stationId: string;
  day: string;
  restocks: number;
  bottles: number;
}

export interface SponsorStatement {
  sponsor: { id: string; name: string };
  from: string;
  to: string;
  /** Service days are the stations' local days; this is the zone the page labels them with. */
  timezone: string;
  bottles: StatementWeek[];
  ridersServed: number;
  restocks: StatementRestock[];
  totals: { bottles: number; restocks: number; restockedBottles: number; stations: number };
  /** The relays of this sponsor that touch the range. */
  relays: { stationId: string; from: string; to: string }[];
}

/**
 * `timezoneOf` names each station's zone: the page labels the service days with the stations'
 * one zone, or Asia/Shanghai when they differ (a district's stations share one).
 */
export async function sponsorStatement(
  store: CloudStore,
  sponsor: SponsorRecord,
  from: string,
  to: string,
  timezoneOf: (stationId: string) => string = () => DEFAULT_TIMEZONE,
): Promise<SponsorStatement> {
  checkRange(from, to);
  const [facts, sponsors, relays] = await Promise.all([store.dayFacts(from, to, null), store.sponsorRecords(), store.relays()]);
  const who = new Sponsorship(sponsors, relays);
  const weeks = new Map<string, StatementWeek>();
  const restocks = new Map<string, StatementRestock>();
  const riders = new Set<string>();
  const stations = new Set<string>();
  for (const f of facts) {
    if (f.kind === 'checkin' || who.of(f).sponsorId !== sponsor.id) continue;
    stations.add(f.stationId);
    if (f.kind === 'bottle') {
      riders.add(f.riderId!);
      const week = isoWeekOf(f.day);
      const key = `${f.stationId}\u0000${week}`;
      let w = weeks.get(key);
      if (!w) weeks.set(key, (w = { stationId: f.stationId, week, from: f.day, to: f.day, hot: 0, cold: 0, bottles: 0 }));
      if (f.day < w.from) w.from = f.day;
      if (f.day > w.to) w.to = f.day;
      if (f.compartment === 'hot') w.hot += f.events;
      if (f.compartment === 'cold') w.cold += f.events;
      w.bottles += f.events;
    } else {
      const key = `${f.stationId}\u0000${f.day}`;
      let r = restocks.get(key);
      if (!r) restocks.set(key, (r = { stationId: f.stationId, day: f.day, restocks: 0, bottles: 0 }));
      r.restocks += f.events;
      r.bottles += f.count;
    }
  }
  const byKey = <T extends { stationId: string }>(k: (t: T) => string) => (a: T, b: T) =>
    a.stationId < b.stationId ? -1 : a.stationId > b.stationId ? 1 : k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
  const weekRows = [...weeks.values()].sort(byKey((w) => w.week));
  const restockRows = [...restocks.values()].sort(byKey((r) => r.day));
  const zones = new Set([...stations].map(timezoneOf));
  return {
    sponsor: { id: sponsor.id, name: sponsor.name },
    from,
    to,
    timezone: zones.size === 1 ? [...zones][0]! : DEFAULT_TIMEZONE,
    bottles: weekRows,
    ridersServed: riders.size,
    restocks: restockRows,
    totals: {
      bottles: weekRows.reduce((a, w) => a + w.bottles, 0),
      restocks: restockRows.reduce((a, r) => a + r.restocks, 0),
      restockedBottles: restockRows.reduce((a, r) => a + r.bottles, 0),
      stations: stations.size,
    },
    relays: relays
      .filter((r) => r.sponsorId === sponsor.id && r.from <= to && r.to >= from)
      .map((r) => ({ stationId: r.stationId, from: r.from, to: r.to })),
  };
}

export const STATEMENT_TABLES = ['bottles', 'restocks', 'summary'] as const;
export type StatementTable = (typeof STATEMENT_TABLES)[number];

interface SummaryRow {
  zh: string;
  en: string;
  value: number | string;
}

export function statementSummary(s: SponsorStatement): SummaryRow[] {
  return [
    { zh: '赞助方', en: 'sponsor', value: s.sponsor.name },
    { zh: '起始日（服务日）', en: 'first service day', value: s.from },
    { zh: '截止日（服务日）', en: 'last service day', value: s.to },
    { zh: '时区', en: 'time zone', value: s.timezone },
    { zh: '发放（瓶）', en: 'bottles given', value: s.totals.bottles },
    { zh: '服务骑手（人）', en: 'riders served', value: s.ridersServed },
    { zh: '补货次数', en: 'restocks', value: s.totals.restocks },
    { zh: '补货（瓶）', en: 'bottles restocked', value: s.totals.restockedBottles },
    { zh: '站点数', en: 'stations', value: s.totals.stations },
  ];
}

/** The columns of each table, shared by CSV and xlsx. */
export function statementColumns(s: SponsorStatement) {
  return {
    bottles: [
      { zh: '赞助方', en: 'sponsor', value: () => s.sponsor.name },
      { zh: '站点', en: 'station', value: (w) => w.stationId },
      { zh: '周', en: 'week', value: (w) => w.week },
      { zh: '首日', en: 'first day', value: (w) => w.from },
      { zh: '末日', en: 'last day', value: (w) => w.to },
      { zh: '热饮（瓶）', en: 'hot bottles', value: (w) => w.hot },
      { zh: '冷饮（瓶）', en: 'cold bottles', value: (w) => w.cold },
      { zh: '合计（瓶）', en: 'bottles given', value: (w) => w.bottles },
    ] satisfies CsvColumn<StatementWeek>[],
    restocks: [
      { zh: '赞助方', en: 'sponsor', value: () => s.sponsor.name },
      { zh: '站点', en: 'station', value: (r) => r.stationId },
      { zh: '日期（服务日）', en: 'service day', value: (r) => r.day },
      { zh: '补货次数', en: 'restocks', value: (r) => r.restocks },
      { zh: '补货（瓶）', en: 'bottles restocked', value: (r) => r.bottles },
    ] satisfies CsvColumn<StatementRestock>[],
    summary: [
      { zh: '项目', en: 'item', value: (r) => r.zh },
      { zh: '项目（英文）', en: 'item (English)', value: (r) => r.en },
      { zh: '数值', en: 'value', value: (r) => r.value },
    ] satisfies CsvColumn<SummaryRow>[],
  };
}
