/**
 * Fleet benchmarks (issue 14), on a throwaway PostgreSQL cluster with its default durability:
 * 1. PostgreSQL ingest (the Ingestor: chain check, rollups, store, per-station lock) against a raw
 *    multi-row INSERT of the same rows into the same database, batch by batch in turn (target ≥ 0.5);
 * 2. a fleet syncing at a pace that gives the event rate of thousands of stations at 10× real pace,
 *    through 2 instances on PostgreSQL: upload p50/p99, errors, weekly report over the fleet;
 * 3. the same fleet on SQLite (one instance), for comparison.
 * `npm run fleet -- --stations 10000` runs the full-size fleet (see docs/performance.md).
 */
import pg from 'pg';
import { pino } from 'pino';
import { canonicalJson, systemClock, type StationEvent } from '../protocol/index.ts';
import { Ingestor } from '../cloud/ingest/ingestor.ts';
import { PgStore } from '../cloud/store/pg.ts';
import { FLEET_START, runFleet, type FleetResult } from '../scripts/fleet/runFleet.ts';
import { generateStationLog } from '../scripts/fleet/generate.ts';
import { createDatabase, startCluster } from '../test/helpers/postgres.ts';
import { fmt, type BenchContext, type BenchRow } from './lib.ts';
import { newPairedTimes, pairedRatioText, summarize, timePair } from './paired.ts';

const silent = pino({ level: 'silent' });
const BATCH = 500;

/**
 * Ingest against a raw multi-row INSERT of the same rows into a copy of `events` in the same
 * database (issue 14), batch by batch, the two back to back with the side that goes first
 * alternating (bench/paired.ts): the figure is the median of the per-batch ratios. The batches
 * are what an edge uploads — `data` in canonical key order (the edge stores it so, and the route
 * parses the body) — as in the cloud bench. Exported for a run of this part alone.
 */
export async function ingestVsRaw(ctx: BenchContext, url: string): Promise<BenchRow[]> {
  const store = await PgStore.open(url, { maxConnections: 4 });
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await raw.query('CREATE TABLE raw_events (LIKE events INCLUDING ALL)');
    const STATIONS = 32;
    const WARM = 6;
    const asUploaded = (e: StationEvent): StationEvent => ({ ...e, data: JSON.parse(canonicalJson(e.data)) as Record<string, unknown> });
    const logs = Array.from({ length: STATIONS }, (_, i) => generateStationLog({ stationId: `ing-${i}`, startMs: FLEET_START, days: 1, seed: i }).map(asUploaded));
    const batches: { stationId: string; events: StationEvent[] }[] = [];
    for (const [i, l] of logs.entries()) for (let k = 0; k < l.length; k += BATCH) batches.push({ stationId: `ing-${i}`, events: l.slice(k, k + BATCH) });
    const ingestor = new Ingestor(store, systemClock, silent);
    const times = newPairedTimes();
    for (const [i, b] of batches.entries()) {
      await timePair(
        times,
        b.events.length,
        i % 2 === 0,
        async () => {
          await raw.query('BEGIN');
          await raw.query(
            `INSERT INTO raw_events (station_id, seq, type, ts, day, data, hash)
             SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])`,
            [b.stationId, b.events.map((e) => e.seq), b.events.map((e) => e.type), b.events.map((e) => e.ts), b.events.map((e) => e.day), b.events.map((e) => JSON.stringify(e.data)), b.events.map((e) => e.hash)],
          );
          await raw.query('COMMIT');
        },
        async () => {
          const r = await ingestor.ingest(b.stationId, b.events);
          if (!r.ok) throw new Error(`ingest refused a batch: ${r.error}`);
        },
        i >= WARM,
      );
    }
    const n = times.rows.reduce((a, x) => a + x, 0);
    ctx.progress(`ingest vs raw: ${fmt(n)} events in ${times.rows.length} paired batches (after ${WARM} not counted)`);
    const s = summarize(times);
    return [
      { name: `PostgreSQL raw multi-row INSERT, batches of ${BATCH} (baseline)`, value: `${fmt(s.baseRate)} ev/s` },
      { name: `PostgreSQL ingest (chain, rollups, lock), batches of ${BATCH}`, value: `${fmt(s.testRate)} ev/s`, ratio: pairedRatioText(s, 'raw insert', 'target ≥ 0.5') },
    ];
  } finally {
    await raw.end();
    await store.close();
  }
}

const fleetRows = (label: string, r: FleetResult, equiv: number): BenchRow[] => [
  {
    name: `${label}: ${r.stations} stations, a day in ${(86_400 / PACE).toFixed(0)} s (≈ ${fmt(equiv)} stations at 10× pace)`,
    value: `p99 ${r.p99Ms.toFixed(1)} ms`,
    ratio: `p50 ${r.p50Ms.toFixed(1)} ms, ${r.uploads} uploads, ${r.errors} errors, ${fmt(r.eventsPerSecond)} ev/s, ${r.cpuMsPerUpload.toFixed(2)} ms CPU per upload${r.cpuPerUpload.postgres !== null ? ` (+ ${r.cpuPerUpload.postgres.toFixed(2)} ms of PostgreSQL)` : ''}, backlog kept up: ${r.seconds < (86_400 / PACE) * 1.5 ? 'yes' : 'no'}`,
  },
  { name: `${label}: weekly report over the fleet's stations (median)`, value: `${r.weeklyReportMs.toFixed(1)} ms` },
];

const STATIONS = 10;
const PACE = 8_640; // a simulated day in 10 s

export default async function fleetBench(ctx: BenchContext): Promise<BenchRow[]> {
  const cluster = await startCluster({ maxConnections: 200 });
  try {
    const rows = await ingestVsRaw(ctx, (await createDatabase(cluster.adminUrl, 'bench_ingest')).url);
    // The event rate of N stations at PACE× equals that of N × PACE / 10 stations at 10×.
    const equiv = (STATIONS * PACE) / 10;
    const opts = { stations: STATIONS, days: 1, batchSize: 500, pace: PACE } as const;
    const pgRun = await runFleet({ ...opts, backend: 'postgres', instances: 2, pgUrl: (await createDatabase(cluster.adminUrl, 'bench_fleet')).url });
    ctx.progress(`postgres fleet: ${fmt(pgRun.events)} events in ${pgRun.seconds.toFixed(1)} s`);
    const sqliteRun = await runFleet({ ...opts, backend: 'sqlite', instances: 1 });
    ctx.progress(`sqlite fleet: ${fmt(sqliteRun.events)} events in ${sqliteRun.seconds.toFixed(1)} s`);
    return [...rows, ...fleetRows('fleet on PostgreSQL, 2 instances', pgRun, equiv), ...fleetRows('fleet on SQLite, 1 instance', sqliteRun, equiv)];
  } finally {
    await cluster.stop();
  }
}
