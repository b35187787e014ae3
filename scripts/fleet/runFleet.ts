/**
 * A simulated fleet syncing to a real cloud (issue 14): N stations' generated logs
 * (generate.ts) sent by the edge's own Uploader (batches, resend from expectedSeq on a gap,
 * backoff on failures) to `instances` cloud processes' apps on one PostgreSQL database (or one
 * SQLite cloud), round-robin as a load balancer would. Measures ingest throughput, upload
 * latency (p50/p99) and the weekly report's time over the fleet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Uploader } from '../../edge/sync/uploader.ts';
import { parseCloudConfig } from '../../cloud/config.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { newCloudKeyText } from '../../cloud/store/keyCipher.ts';
import { sha256Hex, systemClock, type StationEvent } from '../../protocol/index.ts';
import { generateStationLog } from './generate.ts';
import { MemoryLedger } from './memoryLedger.ts';

const silent = pino({ level: 'silent' });
export const FLEET_START = Date.parse('2026-11-23T00:00:00+08:00');

export interface FleetOptions {
  stations: number;
  days: number;
  backend: 'postgres' | 'sqlite';
  /** PostgreSQL database URL (the caller made it). */
  pgUrl?: string;
  instances: number;
  batchSize: number;
  /** Simulated time per real time (10 = ten times real pace); null sends every log at once. */
  pace: number | null;
  onProgress?: (done: number, total: number, elapsedMs: number) => void;
}

export interface FleetResult {
  stations: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  uploads: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 200 and 409 gap, and network failures. */
  errors: number;
  gaps: number;
  weeklyReportMs: number;
}

const pct = (s: number[], p: number) => {
  const x = [...s].sort((a, b) => a - b);
  return x.length ? x[Math.min(x.length - 1, Math.max(0, Math.ceil((p / 100) * x.length) - 1))]! : NaN;
};

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const ids = Array.from({ length: o.stations }, (_, i) => `fl-${String(i + 1).padStart(5, '0')}`);
  const token = (id: string) => `fleet-token-${id}`;
  const admin = 'fleet-admin-token';
  const dir = mkdtempSync(join(tmpdir(), 'ws-fleet-'));
  const env = { WAYSTATION_CLOUD_KEY: newCloudKeyText() };
  const config = parseCloudConfig({
    http: { host: '127.0.0.1', port: 0 },
    dataDir: join(dir, 'cloud'),
    ...(o.backend === 'postgres' ? { storage: { url: o.pgUrl, poolSize: 8 } } : {}),
    stations: ids.map((id) => ({ id, tokenSha256: sha256Hex(token(id)), zone: `z${id.slice(-1)}` })),
    adminTokens: [{ name: 'fleet', sha256: sha256Hex(admin) }],
    logLevel: 'silent',
  });
  const clouds: RunningCloud[] = [];
  try {
    // One instance first (it migrates and writes the stations), then the others.
    clouds.push(await startCloud(config, { logger: silent, env }));
    const more = o.backend === 'postgres' ? Math.max(0, o.instances - 1) : 0;
    clouds.push(...(await Promise.all(Array.from({ length: more }, () => startCloud(config, { logger: silent, env })))));
    const logs = ids.map((id, i) => generateStationLog({ stationId: id, startMs: FLEET_START, days: o.days, seed: i }));
    const total = logs.reduce((n, l) => n + l.length, 0);
    const ledgers = logs.map((l) => new MemoryLedger(l, o.pace === null ? l.length : 0));
    const latencies: number[] = [];
    let errors = 0;
    let gaps = 0;
    let next = 0;
    const base = 'http://fleet.invalid';
    // Round-robin over the instances, as a load balancer would; each upload timed.
    const lbFetch: typeof fetch = async (input, init) => {
      const url = String(input).replace(base, clouds[next++ % clouds.length]!.url);
      const t0 = performance.now();
      try {
        const res = await fetch(url, init);
        if (init?.method === 'POST') {
          latencies.push(performance.now() - t0);
          if (res.status === 409) gaps++;
          else if (res.status !== 200) errors++;
        }
        return res;
      } catch (e) {
        errors++;
        throw e;
      }
    };
    const uploaders = ids.map(
      (id, i) =>
        new Uploader({
          stationId: id,
          cloudUrl: base,
          token: token(id),
          ledger: ledgers[i]!,
          clock: systemClock,
          logger: silent,
          batchSize: o.batchSize,
          initialBackoffMs: 100,
          maxBackoffMs: 2_000,
          idlePollMs: 1_000,
          fetch: lbFetch,
        }),
    );
    const t0 = performance.now();
    for (const u of uploaders) u.start();
    const acked = () => ledgers.reduce((n, l) => n + l.ackedSeq(), 0);
    while (acked() < total) {
      await new Promise((r) => setTimeout(r, 100));
      if (o.pace !== null) {
        const simNow = FLEET_START + (performance.now() - t0) * o.pace;
        ledgers.forEach((l, i) => l.release(countUpTo(logs[i]!, simNow)));
      }
      o.onProgress?.(acked(), total, performance.now() - t0);
    }
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(uploaders.map((u) => u.stop()));
    o.onProgress?.(total, total, seconds * 1000);
    const reportTimes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r0 = performance.now();
      const res = await fetch(`${clouds[0]!.url}/v1/reports/weekly?week=2026-W48`, { headers: { authorization: `Bearer ${admin}` } });
      if (res.status !== 200) throw new Error(`weekly report answered ${res.status}`);
      await res.arrayBuffer();
      if (i > 0) reportTimes.push(performance.now() - r0);
    }
    return {
      stations: o.stations,
      events: total,
      seconds,
      eventsPerSecond: total / seconds,
      uploads: latencies.length,
      p50Ms: pct(latencies, 50),
      p99Ms: pct(latencies, 99),
      errors,
      gaps,
      weeklyReportMs: pct(reportTimes, 50),
    };
  } finally {
    await Promise.all(clouds.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How many events of a log have happened by `ms`. */
function countUpTo(log: readonly StationEvent[], ms: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (log[mid]!.ts <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
