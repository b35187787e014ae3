/**
 * Lapsed riders the office can act on (SPEC §17): riders seen (a check-in or a bottle) at the
 * scope's stations in the week before `week`, and not seen at all — at any station — in `week`.
 * A rider still taking bottles on last week's window this week was seen, so is not lapsed.
 * Each comes with group, platform, the last station and day seen, the outreach notes, and the
 * contact where the rider opted in (the route audits every view of one). Withdrawn riders are
 * left out: they asked not to be kept.
 */
import { addDays, isoWeekMonday, isoWeekOf } from '../../protocol/index.ts';
import type { CloudStore } from '../store/store.ts';
import { csvTable, localDateTime, type CsvColumn, type CsvLang } from './csv.ts';
import { checkWeek, weekBefore } from './weeklyReport.ts';

/** Outreach notes shown per rider (the newest). */
export const OUTREACH_SHOWN = 20;

export interface LapsedRider {
  riderId: string;
  group: string | null;
  platform: string | null;
  lastStation: string;
  lastDay: string;
  outreach: { at: number; by: string; note: string }[];
  contact?: string;
}

export interface LapsedReport {
  week: string;
  /** The week they were seen in. */
  prevWeek: string;
  riders: LapsedRider[];
}

export async function lapsedReport(
  store: CloudStore,
  week: string,
  scopeStations: readonly string[] | null,
  opts: { withContacts: boolean },
): Promise<LapsedReport> {
  checkWeek(week);
  const prevWeek = weekBefore(week);
  const from = isoWeekMonday(prevWeek);
  const to = addDays(isoWeekMonday(week), 6);
  const facts = await store.dayFacts(from, to, null);
  const scope = scopeStations === null ? null : new Set(scopeStations);
  const inScope = (stationId: string) => scope === null || scope.has(stationId);
  const seenThisWeek = new Set<string>();
  const last = new Map<string, { station: string; day: string; inScope: boolean }>();
  for (const f of facts) {
    if (f.kind === 'restock') continue;
    const r = f.riderId!;
    if (isoWeekOf(f.day) === week) {
      seenThisWeek.add(r);
      continue;
    }
    const cur = last.get(r);
    const here = inScope(f.stationId);
    if (!cur) last.set(r, { station: f.stationId, day: f.day, inScope: here });
    else {
      if (f.day > cur.day || (f.day === cur.day && f.stationId < cur.station)) Object.assign(cur, { station: f.stationId, day: f.day });
      cur.inScope ||= here;
    }
  }
  const ids = [...last.entries()].filter(([r, l]) => l.inScope && !seenThisWeek.has(r)).map(([r]) => r).sort();
  const notes = new Map<string, LapsedRider['outreach']>();
  for (const o of await store.outreach(ids)) {
    let list = notes.get(o.riderId);
    if (!list) notes.set(o.riderId, (list = []));
    list.push({ at: o.at, by: o.by, note: o.note });
  }
  const riders: LapsedRider[] = [];
  for (const riderId of ids) {
    const row = await store.rider(riderId);
    if (row?.withdrawnAt) continue;
    const l = last.get(riderId)!;
    const contact = opts.withContacts && row ? await store.riderContact(riderId) : null;
    riders.push({
      riderId,
      group: row?.group || null,
      platform: row?.platform ?? null,
      lastStation: l.station,
      lastDay: l.day,
      outreach: (notes.get(riderId) ?? []).slice(-OUTREACH_SHOWN),
      ...(contact ? { contact } : {}),
    });
  }
  return { week, prevWeek, riders };
}

export function lapsedColumns(r: LapsedReport, timezone: string): CsvColumn<LapsedRider>[] {
  const lastNote = (x: LapsedRider) => x.outreach.at(-1);
  return [
    { zh: '周', en: 'week', value: () => r.week },
    { zh: '骑手编号', en: 'rider id', value: (x) => x.riderId },
    { zh: '群体', en: 'group', value: (x) => x.group },
    { zh: '平台', en: 'platform', value: (x) => x.platform },
    { zh: '最后到访站点', en: 'last station', value: (x) => x.lastStation },
    { zh: '最后到访日（服务日）', en: 'last day seen (service day)', value: (x) => x.lastDay },
    { zh: '联系次数', en: 'outreach count', value: (x) => x.outreach.length },
    { zh: `最近联系时间（${timezone}）`, en: `last outreach (${timezone})`, value: (x) => (lastNote(x) ? localDateTime(lastNote(x)!.at, timezone) : null) },
    { zh: '最近联系人', en: 'last outreach by', value: (x) => lastNote(x)?.by ?? null },
    { zh: '最近联系备注', en: 'last outreach note', value: (x) => lastNote(x)?.note ?? null },
    { zh: '联系方式（骑手同意）', en: 'contact (rider opted in)', value: (x) => x.contact ?? null },
  ];
}

export function lapsedCsv(r: LapsedReport, lang: CsvLang, timezone: string): string {
  return csvTable(lapsedColumns(r, timezone), r.riders, lang);
}
