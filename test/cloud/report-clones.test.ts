/**
 * The big-fleet report data of the bench (scripts/fleet/reportData.ts) copies a few seed
 * stations' report rows in SQL under new station and rider ids instead of ingesting every
 * station. Here, at small scale on both backends, the copies give the same weekly and range
 * reports as ingesting the copies' own logs (the seeds' logs with the riders renamed) would.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rangeReport } from '../../cloud/reports/rangeReport.ts';
import { weeklyReport } from '../../cloud/reports/weeklyReport.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import type { CloudStore } from '../../cloud/store/store.ts';
import { cloneSeeds, copySuffix, ingestLog, reportLog, type CloneTarget } from '../../scripts/fleet/reportData.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { tempDir } from './helpers.ts';

const SEEDS = ['fs-a', 'fs-b'];
const COPIES = 3;
const START = Date.parse('2026-11-09T00:00:00+08:00'); // Monday of 2026-W46
const DAYS = 21; // through Sunday 2026-11-29 (W48)
const ALL = SEEDS.flatMap((s) => Array.from({ length: COPIES }, (_, k) => (k === 0 ? s : s + copySuffix(k)))).sort();

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

interface Backend {
  name: string;
  open(): Promise<{ store: CloudStore; target: CloneTarget }>;
}
const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => {
      const path = join(tempDir('wc-clones-'), 'cloud.db');
      return { store: SqliteStore.open(path), target: { kind: 'sqlite', path } };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const db = await testDatabase('clones');
      dbs.push(db);
      return { store: await PgStore.open(db.url, { maxConnections: 4 }), target: { kind: 'pg', url: db.url } };
    },
  },
];

/** Everything the office reads: the weekly reports of the three weeks and range reports over them. */
async function reports(store: CloudStore) {
  return {
    weeks: await Promise.all(['2026-W46', '2026-W47', '2026-W48'].map((w) => weeklyReport(store, ALL, w, null))),
    stationWeek: await weeklyReport(store, ALL, '2026-W48', 'fs-b-k0002'),
    ranges: await Promise.all(
      [['2026-11-09', '2026-11-29'], ['2026-11-23', '2026-11-29'], ['2026-11-17', '2026-11-20'], ['2026-11-01', '2026-11-30']].map(([f, t]) => rangeReport(store, ALL, f!, t!)),
    ),
    zoneRange: await rangeReport(store, ['fs-a-k0001', 'fs-b'], '2026-11-16', '2026-11-29'),
  };
}

/** The range report's figures from the rows of store.dayFacts, one fact at a time (the way rangeReport.ts counted before the database did). */
async function byHand(store: CloudStore, from: string, to: string, lapsedFrom: string) {
  const facts = await store.dayFacts(lapsedFrom, to, null);
  const inRange = facts.filter((x) => x.day >= from && x.kind !== 'restock');
  const firstDays = await store.firstCheckinDays([...new Set(inRange.filter((x) => x.kind === 'checkin').map((x) => x.riderId!))]);
  const isNew = (r: string) => (firstDays.get(r) ?? from) >= from;
  const stations = ALL.map((id) => {
    const mine = inRange.filter((x) => x.stationId === id);
    const checkedIn = new Set(mine.filter((x) => x.kind === 'checkin').map((x) => x.riderId!));
    const bottles = (c: string | null) => mine.filter((x) => x.kind === 'bottle' && x.compartment === c).reduce((a, x) => a + x.events, 0);
    return {
      stationId: id,
      checkins: mine.filter((x) => x.kind === 'checkin').reduce((a, x) => a + x.events, 0),
      riders: new Set(mine.map((x) => x.riderId)).size,
      newRiders: [...checkedIn].filter(isNew).length,
      returningRiders: [...checkedIn].filter((r) => !isNew(r)).length,
      bottles: { hot: bottles('hot'), cold: bottles('cold') },
      otherBottles: mine.filter((x) => x.kind === 'bottle' && x.compartment !== 'hot' && x.compartment !== 'cold').reduce((a, x) => a + x.events, 0),
    };
  });
  const days = [];
  for (let d = from; d <= to; d = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) {
    const mine = inRange.filter((x) => x.day === d);
    days.push({ day: d, checkins: mine.filter((x) => x.kind === 'checkin').reduce((a, x) => a + x.events, 0), bottles: mine.filter((x) => x.kind === 'bottle').reduce((a, x) => a + x.events, 0) });
  }
  const during = new Set(inRange.map((x) => x.riderId!));
  const before = new Set(facts.filter((x) => x.day < from && x.kind !== 'restock').map((x) => x.riderId!));
  const checkedIn = new Set(inRange.filter((x) => x.kind === 'checkin').map((x) => x.riderId!));
  const sum = (f: (s: (typeof stations)[number]) => number) => stations.reduce((a, s) => a + f(s), 0);
  return {
    stations,
    days,
    lapsed: [...before].filter((r) => !during.has(r)).sort(),
    totals: {
      checkins: sum((s) => s.checkins),
      riders: during.size,
      newRiders: [...checkedIn].filter(isNew).length,
      returningRiders: [...checkedIn].filter((r) => !isNew(r)).length,
      bottles: { hot: sum((s) => s.bottles.hot), cold: sum((s) => s.bottles.cold) },
      otherBottles: sum((s) => s.otherBottles),
      conflicts: 0,
    },
  };
}

describe.each(backends)('big-fleet report data copied in SQL on $name', (backend) => {
  it('gives the reports that ingesting the copies\' logs gives', async () => {
    const ingested = await backend.open();
    const cloned = await backend.open();
    try {
      for (const seed of SEEDS) {
        await ingestLog(ingested.store, seed, reportLog(seed, START, DAYS));
        await ingestLog(cloned.store, seed, reportLog(seed, START, DAYS));
        for (let k = 1; k < COPIES; k++) {
          const suf = copySuffix(k);
          await ingestLog(ingested.store, seed + suf, reportLog(seed, START, DAYS, (r) => r + suf));
        }
      }
      // The seeds are folded into day facts by a report, then copied.
      await rangeReport(cloned.store, SEEDS, '2026-11-09', '2026-11-29');
      await cloneSeeds(cloned.target, SEEDS, COPIES, { perStatement: 2 });
      const want = await reports(ingested.store);
      const got = await reports(cloned.store);
      // Not vacuous: every station has riders, distinct riders add up across the copies, some lapsed.
      const w48 = want.weeks[2]!;
      expect(w48.stations).toHaveLength(ALL.length);
      for (const s of w48.stations) expect(s.riders).toBeGreaterThan(20);
      expect(w48.totals.riders).toBe(w48.stations.reduce((a, s) => a + s.riders, 0));
      expect(want.weeks[0]!.totals.newRiders).toBeGreaterThan(0);
      expect(want.ranges[2]!.lapsedRiders.length).toBeGreaterThan(0);
      expect(want.ranges[0]!.sponsors.map((s) => s.sponsor)).toEqual(['bank-a', 'water-co']);
      expect(got).toEqual(want);
      // And the figures the database aggregates are what the day facts say, counted here one by one.
      for (const [f, t] of [['2026-11-09', '2026-11-29'], ['2026-11-17', '2026-11-20'], ['2026-11-23', '2026-11-29']] as const) {
        const r = await rangeReport(cloned.store, ALL, f, t);
        const ref = await byHand(cloned.store, f, t, r.lapsedFrom);
        expect({ stations: r.stations.map(({ conflicts: _, ...x }) => x), days: r.days, lapsed: r.lapsedRiders, totals: r.totals }).toEqual(ref);
      }
    } finally {
      await ingested.store.close();
      await cloned.store.close();
    }
  }, 120_000);
});
