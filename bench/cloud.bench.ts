/**
 * Cloud benchmarks (issue 5):
 * 1. ingest events/s for batches of 500 through the Ingestor (chain check + rollups + store,
 *    the function behind POST /v1/stations/:id/events, without HTTP) against raw batched SQLite
 *    inserts of the same rows in the same run (target ≥ 0.5);
 * 2. the weekly report (the function behind GET /v1/reports/weekly) on a generated year of data
 *    for 100 stations (~900,000 claims) against the same report on one week of data (target < 2);
 * 3. the range report (GET /v1/reports/range, SPEC §17): the first one, which folds the year's
 *    events into day facts, then that week and a month on the year of data, against the weekly
 *    report on the same store.
 */
import { seededRandom } from '../firmware-sim/faults.ts';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { GENESIS_HASH, addDays, canonicalJson, isoWeekMonday, sealEvent, systemClock, type StationEvent } from '../protocol/index.ts';
import { Ingestor } from '../cloud/ingest/ingestor.ts';
import { rollupEffectsOf } from '../cloud/ingest/rollupEffects.ts';
import { weeklyReport } from '../cloud/reports/weeklyReport.ts';
import { rangeReport } from '../cloud/reports/rangeReport.ts';
import { SqliteStore } from '../cloud/store/sqlite.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';
import { newPairedTimes, pairedRatioText, summarize, timePair, type PairedTimes } from './paired.ts';

const silent = pino({ level: 'silent' });
const BATCH = 500;


type Unsealed = Omit<StationEvent, 'hash' | 'seq'>;

/**
 * One station-week of events: about half of 60 local riders check in on a random day and take
 * a bottle on most of the following days; a heartbeat a day.
 */
function stationWeek(station: number, monday: string, rnd: () => number): Unsealed[] {
  const out: Unsealed[] = [];
  const base = Date.parse(`${monday}T00:00:00+08:00`);
  for (let d = 0; d < 7; d++) out.push({ type: 'station.heartbeat', ts: base + d * 86_400_000 + 3_600_000, day: addDays(monday, d), data: { uptimeS: d * 86_400, backlog: 0 } });
  for (let r = 0; r < 60; r++) {
    if (rnd() >= 0.8) continue;
    // A few riders roam across 5 stations, so network-wide distinct counts have work to do.
    const riderId = r < 5 ? `roam-${(station % 20) * 5 + r}` : `s${station}-r${r}`;
    const first = Math.floor(rnd() * 7);
    const day = addDays(monday, first);
    const ts = base + first * 86_400_000 + 8 * 3_600_000 + Math.floor(rnd() * 36_000_000);
    out.push({ type: 'checkin', ts, day, data: { riderId, windowFrom: day, windowTo: addDays(day, 6) } });
    for (let k = 0; k < 7 - first; k++) {
      if (rnd() < 0.1) continue;
      const cd = addDays(monday, first + k);
      out.push({
        type: 'claim.committed',
        ts: ts + k * 86_400_000 + 60_000,
        day: cd,
        data: { claimId: `${station}-${cd}-${r}`, riderId, compartment: rnd() < 0.5 ? 'hot' : 'cold', dispenserId: 'disp-1', sponsor: `sponsor-${r % 4}` },
      });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/**
 * Seal events as an edge ledger does and hand them over as an upload body arrives: the edge
 * stores `data` as canonical JSON (edge/ledger/ledger.ts) and the route parses the body, so the
 * data's keys come in canonical order.
 */
function seal(prev: { seq: number; hash: string }, events: Unsealed[]): StationEvent[] {
  const out: StationEvent[] = [];
  let { seq, hash } = prev;
  for (const e of events) {
    const s = sealEvent(hash, { seq: ++seq, ...e });
    out.push({ ...s, data: JSON.parse(canonicalJson(s.data)) as Record<string, unknown> });
    hash = s.hash;
  }
  return out;
}

/**
 * Ingest against its baseline, batch by batch in turn: each batch is inserted raw (one
 * transaction of plain INSERTs of the same rows into a copy of the `events` table, in the same
 * database file) and ingested through the `Ingestor` (chain check, rollups, store), back to back,
 * the side that goes first alternating — so both share the file, its WAL and the disk's drifting
 * fsync time, and a slow fsync lands on one pair instead of on one side. `warm`: pairs run first
 * and not counted.
 */
async function interleaved(path: string, batches: { stationId: string; events: StationEvent[] }[], into: PairedTimes, warm = 0): Promise<void> {
  const store = SqliteStore.open(path);
  const ingestor = new Ingestor(store, systemClock, silent);
  const raw = new Database(path);
  raw.pragma('synchronous = FULL');
  raw.exec(`CREATE TABLE IF NOT EXISTS raw_events (station_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
    day TEXT NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (station_id, seq)) WITHOUT ROWID`);
  const ins = raw.prepare('INSERT INTO raw_events (station_id, seq, type, ts, day, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const tx = raw.transaction((b: { stationId: string; events: StationEvent[] }) => {
    for (const e of b.events) ins.run(b.stationId, e.seq, e.type, e.ts, e.day, JSON.stringify(e.data), e.hash);
  });
  for (const [i, b] of batches.entries()) {
    await timePair(
      into,
      b.events.length,
      i % 2 === 0,
      () => tx.immediate(b),
      async () => {
        const r = await ingestor.ingest(b.stationId, b.events);
        if (!r.ok) throw new Error(`ingest refused a batch: ${JSON.stringify(r)}`);
      },
      i >= warm,
    );
  }
  raw.close();
  await store.close();
}

/** The ingest bench's uploads: 8 weeks of 20 stations, in batches of BATCH. Exported for profiling. */
export function ingestBatches(): { stationId: string; events: StationEvent[] }[] {
  const rnd = seededRandom(5);
  const STATIONS = 20;
  const WEEKS = 8;
  const batches: { stationId: string; events: StationEvent[] }[] = [];
  for (let s = 0; s < STATIONS; s++) {
    let unsealed: Unsealed[] = [];
    for (let w = 0; w < WEEKS; w++) unsealed = unsealed.concat(stationWeek(s, addDays('2026-10-05', 7 * w), rnd));
    const events = seal({ seq: 0, hash: GENESIS_HASH }, unsealed);
    for (let i = 0; i < events.length; i += BATCH) batches.push({ stationId: `st-${s}`, events: events.slice(i, i + BATCH) });
  }
  return batches;
}

async function ingestBench(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  const ROUNDS = 3;
  const batches = ingestBatches();
  const total = batches.reduce((a, b) => a + b.events.length, 0);
  ctx.progress(`ingest: ${fmt(total)} events in ${batches.length} batches of ≤ ${BATCH}, raw and ingest in turn, ${ROUNDS} rounds`);
  const times = newPairedTimes();
  await interleaved(join(dir, 'warm.db'), batches.slice(0, 10), times, 10);
  for (let round = 0; round < ROUNDS; round++) await interleaved(join(dir, `ingest-${round}.db`), batches, times);
  const s = summarize(times);
  return [
    { name: 'raw batched SQLite inserts (baseline, 500/tx)', value: `${fmt(s.baseRate)} /s` },
    {
      name: 'cloud ingest, batches of 500 (Ingestor: chain + rollups)',
      value: `${fmt(s.testRate)} /s`,
      ratio: pairedRatioText(s, 'raw insert', 'target ≥ 0.5'),
    },
  ];
}

/** Fill a store with `weeks` weeks (ending at `lastWeek`) for `stations` stations, through the rollup path. */
async function generate(ctx: BenchContext, store: SqliteStore, stations: number, lastWeek: string, weeks: number): Promise<{ claims: number; events: number }> {
  const rnd = seededRandom(2026);
  const lastMonday = isoWeekMonday(lastWeek);
  let claims = 0;
  let events = 0;
  for (let s = 0; s < stations; s++) {
    let head = { seq: 0, hash: GENESIS_HASH };
    let pending: StationEvent[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const r = await store.appendEvents({ stationId: `st-${s}`, prev: head, events: pending, effects: pending.map(rollupEffectsOf), receivedAt: Date.now() });
      if (!r.ok) throw new Error('generation: head moved');
      head = { seq: pending.at(-1)!.seq, hash: pending.at(-1)!.hash };
      pending = [];
    };
    for (let w = weeks - 1; w >= 0; w--) {
      const sealed = seal(head.seq === 0 && pending.length === 0 ? head : { seq: (pending.at(-1) ?? { seq: head.seq }).seq, hash: (pending.at(-1) ?? head).hash }, stationWeek(s, addDays(lastMonday, -7 * w), rnd));
      for (const e of sealed) if (e.type === 'claim.committed') claims++;
      events += sealed.length;
      pending.push(...sealed);
      if (pending.length >= 20_000) await flush();
    }
    await flush();
    if (s % 20 === 19) ctx.progress(`generated ${s + 1}/${stations} stations, ${fmt(claims)} claims`);
  }
  return { claims, events };
}

async function timeReport(store: SqliteStore, stationIds: string[], week: string, runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = performance.now();
    await weeklyReport(store, stationIds, week, null);
    if (i >= 3) samples.push(performance.now() - t0);
  }
  return percentile(samples, 50);
}

async function timeRange(store: SqliteStore, stationIds: string[], from: string, to: string, runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    await rangeReport(store, stationIds, from, to);
    if (i >= 1) samples.push(performance.now() - t0);
  }
  return percentile(samples, 50);
}

async function reportBench(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  const STATIONS = 100;
  const WEEK = '2026-W48';
  const stationIds = Array.from({ length: STATIONS }, (_, i) => `st-${i}`).sort();
  const t0 = performance.now();
  const year = SqliteStore.open(join(dir, 'year.db'));
  const { claims, events } = await generate(ctx, year, STATIONS, WEEK, 52);
  const genS = (performance.now() - t0) / 1000;
  ctx.progress(`year: ${fmt(events)} events, ${fmt(claims)} claims in ${genS.toFixed(1)} s`);
  const one = SqliteStore.open(join(dir, 'week.db'));
  await generate(ctx, one, STATIONS, WEEK, 1);
  const monday = isoWeekMonday(WEEK);
  // The first report (weekly or range) folds the whole year's events into the day facts and the
  // day bitmaps (once); timed on its own, before the reports' medians.
  const f0 = performance.now();
  await rangeReport(year, stationIds, monday, addDays(monday, 6));
  const foldS = (performance.now() - f0) / 1000;
  await rangeReport(one, stationIds, monday, addDays(monday, 6));
  const yearMs = await timeReport(year, stationIds, WEEK, 40);
  const weekMs = await timeReport(one, stationIds, WEEK, 40);
  const rangeWeekMs = await timeRange(year, stationIds, monday, addDays(monday, 6), 10);
  const rangeMonthMs = await timeRange(year, stationIds, '2026-11-01', '2026-11-30', 5);
  await year.close();
  await one.close();
  return [
    { name: `generate a year for ${STATIONS} stations through the rollup path`, value: `${genS.toFixed(1)} s`, ratio: `${fmt(claims)} claims, ${fmt(events)} events` },
    { name: 'weekly report, one week of data (baseline, median)', value: `${weekMs.toFixed(2)} ms` },
    { name: 'weekly report, a year of data (median)', value: `${yearMs.toFixed(2)} ms`, ratio: `${(yearMs / weekMs).toFixed(2)}× one week (target < 2)` },
    { name: 'first report after a year of uploads (folds every event into day facts and bitmaps)', value: `${foldS.toFixed(1)} s`, ratio: `${((foldS * 1000) / (genS * 1000)).toFixed(2)}× generating the year` },
    { name: 'range report of that week, a year of data (median)', value: `${rangeWeekMs.toFixed(1)} ms`, ratio: `${(rangeWeekMs / yearMs).toFixed(1)}× the weekly report` },
    { name: 'range report of a month, a year of data (median)', value: `${rangeMonthMs.toFixed(1)} ms`, ratio: `${(rangeMonthMs / rangeWeekMs).toFixed(2)}× the range of one week` },
  ];
}

export default async function cloudBench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-cloud-bench-'));
  try {
    const only = process.env.CLOUD_BENCH_ONLY;
    return [...(only === "report" ? [] : await ingestBench(ctx, dir)), ...(only === "ingest" ? [] : await reportBench(ctx, dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
