/**
 * The range report's distinct and lapsed riders come from day bitmaps per (station, rider,
 * calendar year) and per (rider, year) (cloud/store/reportRows.ts). Here, on both backends, they
 * match a straightforward recount from the uploaded events over ranges that cross a year
 * boundary (one of them a leap year's, whose 31 December is day 366), for the whole fleet (the
 * per-rider rows) and for a subset of stations (the per-station rows), with a fold between two
 * uploads so the bitmaps are OR-ed into, not only written once, and after re-admitting part
 * of one station's log; and the weekly report's distinct counts and lapsed riders from them are
 * what the week rollups say.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addDays, GENESIS_HASH } from '../../protocol/index.ts';
import { rollupEffectsOf } from '../../cloud/ingest/rollupEffects.ts';
import { rangeReport } from '../../cloud/reports/rangeReport.ts';
import { weekBefore } from '../../cloud/reports/weeklyReport.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import type { CloudStore } from '../../cloud/store/store.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { chain, noonOf, tempDir, type EventSpec } from './helpers.ts';

const STATIONS = ['yr-1', 'yr-2', 'yr-3', 'yr-4'];
const RIDERS = Array.from({ length: 24 }, (_, i) => `yr-r${String(i).padStart(2, '0')}`);
/** Two year ends of data: 2024's (a leap year) and 2025's. */
const SPANS: Array<[string, string]> = [['2024-11-20', '2025-01-31'], ['2025-12-01', '2026-01-20']];

/** A small deterministic PRNG (mulberry32): the same events on every run and backend. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Visit {
  stationId: string;
  riderId: string;
  day: string;
  checkin: boolean;
}

/** Who came where on which day: a check-in (and often a bottle) or a bottle only. */
function visits(): Visit[] {
  const rnd = random(14);
  const out: Visit[] = [];
  for (const [from, to] of SPANS) {
    for (let day = from; day <= to; day = addDays(day, 1)) {
      for (const stationId of STATIONS) {
        // Rider i first comes 3i days in: some riders are new in each range of the first span.
        RIDERS.forEach((riderId, i) => {
          if (day >= addDays(SPANS[0]![0], 3 * i) && rnd() < 0.12) out.push({ stationId, riderId, day, checkin: rnd() < 0.7 });
        });
      }
    }
  }
  return out;
}

function specsOf(vs: readonly Visit[]): EventSpec[] {
  return vs.flatMap((v, i) => {
    const bottle: EventSpec = {
      type: 'claim.committed', ts: noonOf(v.day) + 60_000 + i,
      data: { claimId: `c-${v.stationId}-${v.riderId}-${v.day}`, riderId: v.riderId, compartment: 'cold', dispenserId: 'disp-1' },
    };
    if (!v.checkin) return [bottle];
    const checkin: EventSpec = { type: 'checkin', ts: noonOf(v.day) + i, data: { riderId: v.riderId, windowFrom: v.day, windowTo: v.day } };
    return i % 3 === 0 ? [checkin] : [checkin, bottle];
  });
}

/** The range report's rider figures counted from the visits themselves. */
function recount(all: readonly Visit[], scope: readonly string[], from: string, to: string) {
  const length = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1;
  const lapsedFrom = addDays(from, -length);
  const first = new Map<string, string>();
  for (const v of all) if (v.checkin && (first.get(v.riderId) ?? '9999') > v.day) first.set(v.riderId, v.day);
  const inScope = all.filter((v) => scope.includes(v.stationId));
  const inRange = inScope.filter((v) => v.day >= from && v.day <= to);
  const figures = (vs: readonly Visit[]) => {
    const checkedIn = new Set(vs.filter((v) => v.checkin).map((v) => v.riderId));
    const isNew = (r: string) => first.get(r)! >= from;
    return { riders: new Set(vs.map((v) => v.riderId)).size, newRiders: [...checkedIn].filter(isNew).length, returningRiders: [...checkedIn].filter((r) => !isNew(r)).length };
  };
  const seenBefore = new Set(inScope.filter((v) => v.day >= lapsedFrom && v.day < from).map((v) => v.riderId));
  const seenIn = new Set(inRange.map((v) => v.riderId));
  return {
    stations: scope.map((id) => ({ stationId: id, ...figures(inRange.filter((v) => v.stationId === id)) })),
    totals: figures(inRange),
    lapsedRiders: [...seenBefore].filter((r) => !seenIn.has(r)).sort(),
  };
}

const RANGES: Array<[string, string]> = [
  ['2024-12-20', '2025-01-10'], // across 2024's end; the period before it in 2024
  ['2024-12-31', '2024-12-31'], // a leap year's last day (day 366), the day before it lapsed
  ['2025-01-01', '2025-01-20'], // in 2025, the period before it in 2024
  ['2025-12-25', '2026-01-07'],
  ['2024-12-02', '2025-12-02'], // 366 days over three calendar years with the period before it
];
const SCOPES = [STATIONS, ['yr-1', 'yr-3'], ['yr-4'], [...STATIONS, 'yr-none']];

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

const backends: Array<{ name: string; open(): Promise<CloudStore> }> = [
  { name: 'sqlite', open: async () => SqliteStore.open(join(tempDir('wc-years-'), 'cloud.db')) },
  {
    name: 'postgres',
    open: async () => {
      const db = await testDatabase('years');
      dbs.push(db);
      return PgStore.open(db.url, { maxConnections: 4 });
    },
  },
];

describe.each(backends)('range report riders over year boundaries on $name', (backend) => {
  it('counts distinct, new, returning and lapsed riders as a recount from the events does', async () => {
    const store = await backend.open();
    try {
      const all = visits();
      // Two uploads per station with a report between them: the second fold ORs days into rows the first wrote.
      const cut = '2025-12-15';
      let yr2AfterFirst = 0;
      for (const part of [all.filter((v) => v.day < cut), all.filter((v) => v.day >= cut)]) {
        yr2AfterFirst ||= (await store.syncHead('yr-2'))?.seq ?? 0;
        for (const stationId of STATIONS) {
          const head = await store.syncHead(stationId);
          const events = chain(specsOf(part.filter((v) => v.stationId === stationId)), head?.seq ?? 0, head?.hash ?? GENESIS_HASH);
          const r = await store.appendEvents({ stationId, prev: head ? { seq: head.seq, hash: head.hash } : { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1 });
          expect(r).toMatchObject({ ok: true });
        }
        await rangeReport(store, STATIONS, '2024-12-20', '2025-01-10');
      }
      for (const scope of SCOPES) {
        for (const [from, to] of RANGES) {
          const r = await rangeReport(store, scope, from, to);
          const want = recount(all, scope, from, to);
          const got = {
            stations: r.stations.map((s) => ({ stationId: s.stationId, riders: s.riders, newRiders: s.newRiders, returningRiders: s.returningRiders })),
            totals: { riders: r.totals.riders, newRiders: r.totals.newRiders, returningRiders: r.totals.returningRiders },
            lapsedRiders: r.lapsedRiders,
          };
          expect(got, `${scope.join(',')} ${from}..${to}`).toEqual(want);
        }
      }
      // The weekly report's distinct counts and lapsed list (from the bitmaps) are the week rollups' own,
      // for weeks that cross 1 January (2025-W01 and 2026-W01 start in December) and around them.
      for (const week of ['2024-W51', '2024-W52', '2025-W01', '2025-W02', '2025-W05', '2026-W01', '2026-W02']) {
        for (const scope of [null, 'yr-2']) {
          const f = await store.weeklyFigures(week, scope);
          const prev = weekBefore(week);
          expect(f, `${week} ${scope}`).toEqual({
            stations: await store.weeklyStations(week, scope),
            totals: await store.weeklyTotals(week, scope),
            lapsedRiders: await store.lapsedRiders(week, prev, scope),
          });
          expect(f.stations.length).toBeGreaterThan(0);
        }
      }
      // Re-admitting yr-2's log from its second upload on takes its later days out of its rows and
      // out of its riders' network-wide rows, which keep the other stations' days.
      const r = await store.dropEventsFrom({ stationId: 'yr-2', fromSeq: yr2AfterFirst + 1, effectsOf: rollupEffectsOf, at: 2 });
      expect(r).toMatchObject({ ok: true });
      const kept = all.filter((v) => v.stationId !== 'yr-2' || v.day < cut);
      for (const scope of [STATIONS, ['yr-2', 'yr-3']]) {
        for (const [from, to] of [RANGES[3]!, ['2025-12-01', '2026-01-20'] as [string, string]]) {
          const x = await rangeReport(store, scope, from, to);
          expect({
            stations: x.stations.map((s) => ({ stationId: s.stationId, riders: s.riders, newRiders: s.newRiders, returningRiders: s.returningRiders })),
            totals: { riders: x.totals.riders, newRiders: x.totals.newRiders, returningRiders: x.totals.returningRiders },
            lapsedRiders: x.lapsedRiders,
          }, `after re-admit: ${scope.join(',')} ${from}..${to}`).toEqual(recount(kept, scope, from, to));
          if (from >= cut) expect(x.stations.find((s) => s.stationId === 'yr-2')?.riders ?? 0).toBe(0);
        }
      }
      expect(await store.weeklyFigures('2026-W01', null)).toEqual({
        stations: await store.weeklyStations('2026-W01', null),
        totals: await store.weeklyTotals('2026-W01', null),
        lapsedRiders: await store.lapsedRiders('2026-W01', '2025-W52', null),
      });
      // The figures are not all zero: ranges hold new and returning riders, and lapsed ones.
      const wants = SCOPES.flatMap((scope) => RANGES.map(([from, to]) => recount(all, scope, from, to)));
      expect(wants.filter((w) => w.totals.newRiders > 0).length).toBeGreaterThan(3);
      expect(wants.filter((w) => w.totals.returningRiders > 0).length).toBeGreaterThan(3);
      expect(wants.filter((w) => w.lapsedRiders.length > 0).length).toBeGreaterThan(3);
    } finally {
      await store.close();
    }
  });
});
