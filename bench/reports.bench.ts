/**
 * The weekly and the range report of a big fleet over a year of data (issue 14), on PostgreSQL
 * and on SQLite, each against the same report on one week of data in the same run.
 *
 * Data (scripts/fleet/reportData.ts): `REPORTS_SEEDS` seed stations (default 4) at the seed
 * station's pace (scripts/fleet/generate.ts: ~25 riders a day out of 60, ~24 bottles, a restock)
 * are uploaded through the Ingestor and folded into day facts by a first report; then their
 * report rows are copied in SQL up to `REPORTS_STATIONS` stations (default 400). Two stores per
 * backend: "a week" holds 2026-W48 only; "a year" holds the 52 weeks 2025-W49..2026-W48. The
 * reports asked: the weekly report of 2026-W48; the range report of that week and of
 * November 2026. Timings are medians, the two stores asked in turn.
 *
 * `REPORTS_BACKENDS=pg` or `sqlite` runs one; `REPORTS_RUNS` (default 9). The 10,000-station
 * figures of docs/performance.md: `REPORTS_STATIONS=10000 REPORTS_SEEDS=10 REPORTS_BACKENDS=pg
 * npm run bench -- reports --no-write` (~35 minutes here). Past 1,000 stations the day facts
 * themselves are copied for the seeds only (a year of 10,000 stations is ~180 M rows, ~25 GB on
 * PostgreSQL, and neither report reads them: the sums and the day bitmaps are copied);
 * `REPORTS_DAY_FACTS=copy` copies them anyway, `skip` leaves them out at any size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rangeReport } from '../cloud/reports/rangeReport.ts';
import { weeklyReport } from '../cloud/reports/weeklyReport.ts';
import { PgStore } from '../cloud/store/pg.ts';
import { SqliteStore } from '../cloud/store/sqlite.ts';
import type { CloudStore } from '../cloud/store/store.ts';
import { cloneSeeds, copySuffix, ingestLog, reportLog, type CloneTarget } from '../scripts/fleet/reportData.ts';
import { createDatabase, startCluster } from '../test/helpers/postgres.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';

const WEEK = '2026-W48';
const MONDAY = '2026-11-23';
const SUNDAY = '2026-11-29';
const MONTH = ['2026-11-01', '2026-11-30'] as const;
const DAY_MS = 86_400_000;
const shanghaiMidnight = (day: string) => Date.parse(`${day}T00:00:00+08:00`);

interface Fleet {
  store: CloudStore;
  stationIds: string[];
  rows: number;
  bitmapRows: number;
  buildS: number;
}

async function build(ctx: BenchContext, label: string, open: () => Promise<{ store: CloudStore; target: CloneTarget; rows: (sql: string) => Promise<number> }>, seeds: number, stations: number, days: number, withDayFacts: boolean): Promise<Fleet> {
  const t0 = performance.now();
  const { store, target, rows } = await open();
  const seedIds = Array.from({ length: seeds }, (_, i) => `fs-${String(i).padStart(3, '0')}`);
  const start = shanghaiMidnight(SUNDAY) + DAY_MS - days * DAY_MS;
  let events = 0;
  for (const id of seedIds) {
    const log = reportLog(id, start, days);
    events += log.length;
    await ingestLog(store, id, log);
  }
  // The first report folds the seeds' events into day facts; the copies are made from those.
  await rangeReport(store, seedIds, MONDAY, SUNDAY);
  ctx.progress(`${label}: ${seeds} seeds, ${fmt(events)} events ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s; copying to ${fmt(stations)} stations`);
  const copies = Math.ceil(stations / seeds);
  let last = 0;
  await cloneSeeds(target, seedIds, copies, {
    perStatement: 25,
    withDayFacts,
    progress: (done) => {
      if (done - last >= 100 || done === copies - 1) {
        last = done;
        ctx.progress(`${label}: ${fmt((done + 1) * seeds)} stations`);
      }
    },
  });
  const stationIds = seedIds.flatMap((s) => Array.from({ length: copies }, (_, k) => (k === 0 ? s : s + copySuffix(k)))).sort();
  return {
    store, stationIds, rows: await rows('SELECT count(*) AS n FROM day_facts'), bitmapRows: await rows('SELECT count(*) AS n FROM station_rider_year'), buildS: (performance.now() - t0) / 1000,
  };
}

/** Medians of `runs` runs of each of two calls, alternating (after one warm-up each). */
async function ab(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  const sa: number[] = [];
  const sb: number[] = [];
  await a();
  await b();
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await a();
    sa.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    sb.push(performance.now() - t0);
  }
  return [percentile(sa, 50), percentile(sb, 50)];
}

const kb = (o: unknown) => `${fmt(Math.round(Buffer.byteLength(JSON.stringify(o)) / 1024))} KiB`;
const ms = (x: number) => (x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`);

async function measure(ctx: BenchContext, name: string, week: Fleet, year: Fleet, runs: number, withDayFacts: boolean): Promise<BenchRow[]> {
  const ids = year.stationIds;
  const n = fmt(ids.length);
  ctx.progress(`${name}: weekly report, ${runs} runs each`);
  const [wWeek, wYear] = await ab(runs, () => weeklyReport(week.store, ids, WEEK, null), () => weeklyReport(year.store, ids, WEEK, null));
  ctx.progress(`${name}: range report of the week`);
  const [rWeek, rYear] = await ab(runs, () => rangeReport(week.store, ids, MONDAY, SUNDAY), () => rangeReport(year.store, ids, MONDAY, SUNDAY));
  ctx.progress(`${name}: range report of the month`);
  const [mWeek, mYear] = await ab(Math.max(3, Math.floor(runs / 2)), () => rangeReport(week.store, ids, ...MONTH), () => rangeReport(year.store, ids, ...MONTH));
  const weekly = await weeklyReport(year.store, ids, WEEK, null);
  const month = await rangeReport(year.store, ids, ...MONTH);
  // Issue 14's target is for 10,000 stations: ≤ 2× one week of data, and < 200 ms.
  const target = (x: number, base: number) => `${(x / base).toFixed(2)}× one week of data (target ≤ 2; < 200 ms at 10,000 stations)`;
  return [
    withDayFacts
      ? { name: `${name}: ${n} stations, a year copied from seeds (day facts)`, value: `${year.buildS.toFixed(0)} s`, ratio: `${fmt(year.rows)} day-fact rows (a week: ${fmt(week.rows)}); ${fmt(year.bitmapRows)} (station, rider, year) bitmap rows` }
      : {
          name: `${name}: ${n} stations, a year copied from seeds (day facts of the seeds only: no report reads them)`, value: `${year.buildS.toFixed(0)} s`,
          ratio: `${fmt(year.bitmapRows)} (station, rider, year) bitmap rows (a week: ${fmt(week.bitmapRows)})`,
        },
    { name: `${name}: weekly report, ${n} stations, one week of data (baseline)`, value: ms(wWeek) },
    { name: `${name}: weekly report, ${n} stations, a year of data`, value: ms(wYear), ratio: target(wYear, wWeek) },
    { name: `${name}: weekly report's answer, ${n} stations`, value: kb(weekly), ratio: `${fmt(weekly.lapsedRiders.length)} lapsed riders listed` },
    { name: `${name}: range report of the week, ${n} stations, one week of data (baseline)`, value: ms(rWeek) },
    { name: `${name}: range report of the week, ${n} stations, a year of data`, value: ms(rYear), ratio: target(rYear, rWeek) },
    { name: `${name}: range report of a month, ${n} stations, one week of data`, value: ms(mWeek) },
    { name: `${name}: range report of a month, ${n} stations, a year of data`, value: ms(mYear), ratio: `${(mYear / rWeek).toFixed(2)}× the week's range on one week of data; ${(mYear / mWeek).toFixed(2)}× the month on one week` },
    { name: `${name}: range report's answer (the month), ${n} stations`, value: kb(month), ratio: `${fmt(month.lapsedRiders.length)} lapsed riders listed` },
  ];
}

export default async function reportsBench(ctx: BenchContext): Promise<BenchRow[]> {
  const stations = Number(process.env.REPORTS_STATIONS ?? 400);
  const seeds = Math.min(stations, Number(process.env.REPORTS_SEEDS ?? 4));
  const runs = Number(process.env.REPORTS_RUNS ?? 9);
  const backends = (process.env.REPORTS_BACKENDS ?? 'pg,sqlite').split(',');
  // A year of 10,000 stations' day facts is ~180 M rows (~25 GB on PostgreSQL) that no report
  // reads (the range report reads the per station-day sums and the rider bitmaps): past 1,000
  // stations they are not copied unless REPORTS_DAY_FACTS=copy.
  const withDayFacts = (process.env.REPORTS_DAY_FACTS ?? (stations <= 1000 ? 'copy' : 'skip')) === 'copy';
  const out: BenchRow[] = [];
  if (backends.includes('pg')) {
    const cluster = await startCluster({ maxConnections: 50 });
    try {
      const open = async () => {
        const db = await createDatabase(cluster.adminUrl, 'reports');
        const store = await PgStore.open(db.url, { maxConnections: 8 });
        return {
          store,
          target: { kind: 'pg', url: db.url } as CloneTarget,
          rows: async (sql: string) => {
            const pg = await import('pg');
            const c = new pg.default.Client({ connectionString: db.url });
            await c.connect();
            try {
              return Number((await c.query<{ n: string }>(sql)).rows[0]!.n);
            } finally {
              await c.end();
            }
          },
        };
      };
      const week = await build(ctx, 'pg week', open, seeds, stations, 7, withDayFacts);
      const year = await build(ctx, 'pg year', open, seeds, stations, 364, withDayFacts);
      out.push(...(await measure(ctx, 'PostgreSQL', week, year, runs, withDayFacts)));
      await week.store.close();
      await year.store.close();
    } finally {
      await cluster.stop();
    }
  }
  if (backends.includes('sqlite')) {
    const dir = mkdtempSync(join(tmpdir(), 'ws-reports-bench-'));
    try {
      let n = 0;
      const open = async () => {
        const path = join(dir, `r${n++}.db`);
        const store = SqliteStore.open(path);
        return {
          store,
          target: { kind: 'sqlite', path } as CloneTarget,
          rows: async (sql: string) => {
            const Database = (await import('better-sqlite3')).default;
            const db = new Database(path, { readonly: true });
            try {
              return (db.prepare(sql).get() as { n: number }).n;
            } finally {
              db.close();
            }
          },
        };
      };
      const week = await build(ctx, 'sqlite week', open, seeds, stations, 7, withDayFacts);
      const year = await build(ctx, 'sqlite year', open, seeds, stations, 364, withDayFacts);
      out.push(...(await measure(ctx, 'SQLite', week, year, runs, withDayFacts)));
      await week.store.close();
      await year.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
