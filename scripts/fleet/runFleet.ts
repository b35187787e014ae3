/**
 * A simulated fleet syncing to a real cloud (issue 14): N stations' generated logs
 * (generate.ts) sent by the edge's own Uploader (batches, resend from expectedSeq on a gap,
 * backoff on failures) to `instances` cloud processes' apps on one PostgreSQL database (or one
 * SQLite cloud), round-robin as a load balancer would. Measures ingest throughput, upload
 * latency (p50/p99) and the weekly report's time over the fleet.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Uploader } from '../../edge/sync/uploader.ts';
import { parseCloudConfig, type CloudConfig } from '../../cloud/config.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { StationRegistry } from '../../cloud/stations/stationRegistry.ts';
import { startCloud } from '../../cloud/server.ts';
import { newCloudKeyText } from '../../cloud/store/keyCipher.ts';
import { sha256Hex, systemClock, type Clock } from '../../protocol/index.ts';
import { generateStationLog, streamStationLog } from './generate.ts';
import { MemoryLedger } from './memoryLedger.ts';
import { StreamLedger } from './streamLedger.ts';
import { parentPid, processCpuMs, processTreeCpuMs } from './processCpu.ts';
import { SOCKETS_PER_INSTANCE, instanceFetch, type FleetResponse } from './httpFetch.ts';
import pg from 'pg';

const silent = pino({ level: process.env.FLEET_DEBUG ? 'error' : 'silent' });
export { FLEET_START } from './fleetTime.ts';
import { FLEET_START } from './fleetTime.ts';

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
  /**
   * With a pace: simulate only the first `hours` of the logs (default: all `days`). The logs are
   * then streamed — each station holds only its unsent events — so 10,000 stations fit.
   */
  hours?: number;
  /**
   * Each PostgreSQL instance in a process of its own (scripts/fleet/instance.ts), as behind a
   * real load balancer; otherwise they share this process's event loop with the stations.
   */
  processes?: boolean;
  onProgress?: (p: FleetProgress) => void;
}

export interface FleetProgress {
  /** Events the cloud acknowledged so far. */
  acked: number;
  /** Events that have happened so far (all of them when the logs are sent at once). */
  released: number;
  /** 0..1 of the run: simulated time with a pace, acknowledged events without. */
  fraction: number;
  elapsedMs: number;
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
  /** The errors by HTTP status (0: no answer). */
  errorsByStatus: Record<string, number>;
  gaps: number;
  weeklyReportMs: number;
  /** Simulated hours the run covered. */
  simulatedHours: number;
  /** With a pace: the cloud acknowledged everything within 5 % (and 2 s) of the simulated time. */
  keptUp: boolean;
  /**
   * CPU time of this process (the cloud instances and the simulated stations) per upload, ms: on
   * a shared machine less noisy than the latencies, which wait for the CPU other jobs hold.
   */
  cpuMsPerUpload: number;
  /**
   * Where the machine's CPU per upload went, ms, read from /proc (processCpu.ts): the cloud
   * instances' own processes (0 when they run in this one), the PostgreSQL server (postmaster and
   * backends; null on SQLite or when it is not on this machine) and this process (the stations:
   * uploaders, log generation, HTTP client — and the instances when they share it).
   */
  cpuPerUpload: { instances: number; postgres: number | null; fleet: number; total: number };
  /** The 1-minute load average at the end of the run. */
  loadAverage: number;
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
  const rawConfig = {
    http: { host: '127.0.0.1', port: 0 },
    dataDir: join(dir, 'cloud'),
    ...(o.backend === 'postgres' ? { storage: { url: o.pgUrl, poolSize: 8 } } : {}),
    stations: ids.map((id) => ({ id, tokenSha256: sha256Hex(token(id)), zone: `z${id.slice(-1)}` })),
    adminTokens: [{ name: 'fleet', sha256: sha256Hex(admin) }],
    logLevel: 'silent',
  };
  const config = parseCloudConfig(rawConfig);
  const clouds: Instance[] = [];
  let closeClients = () => {};
  // With a pace the cloud keeps the simulated time too, as a real one keeps the time the events
  // happen in: on the wall clock every simulated heartbeat would be days old, every station
  // silent, and each upload's alerts would look at a fleet that does not exist.
  let simFrom: number | null = null;
  const simClock: Clock = {
    now: () => (simFrom === null ? FLEET_START : FLEET_START + Math.floor((performance.now() - simFrom) * o.pace!)),
    monotonic: () => performance.now(),
  };
  const cloudClock = o.pace !== null ? { clock: simClock } : {};
  try {
    const processes = o.processes === true && o.backend === 'postgres';
    const start = (): Promise<Instance> =>
      processes ? instanceProcess(join(dir, 'cloud.json'), rawConfig, o.pace ?? 0, env) : startCloud(config, { logger: silent, env, ...cloudClock }).then((c) => ({ url: c.url, pid: null, stop: () => c.stop(), startClock: () => undefined }));
    // The fleet's stations written first, in parallel, as the instances would at start (the
    // same StationRegistry.applyConfig): one instance writing 10,000 of them one by one, each a
    // durable commit, outlasts fastify's 10 s for an onReady hook on a busy machine. The
    // instances then find every station as configured, and only read them.
    if (o.backend === 'postgres' && o.pgUrl) await provisionStations(o.pgUrl, config, o.pace !== null ? simClock : systemClock);
    // One instance first (it migrates and writes the stations), then the others.
    clouds.push(await start());
    const more = o.backend === 'postgres' ? Math.max(0, o.instances - 1) : 0;
    clouds.push(...(await Promise.all(Array.from({ length: more }, start))));
    const paced = o.pace !== null;
    const endMs = FLEET_START + (o.hours ?? o.days * 24) * 3_600_000;
    // Without a pace every log is made up front and sent at once; with one they are streamed.
    const fixed = paced ? [] : ids.map((id, i) => new MemoryLedger(generateStationLog({ stationId: id, startMs: FLEET_START, days: o.days, seed: i })));
    const streams = paced ? ids.map((id, i) => new StreamLedger(streamStationLog({ stationId: id, startMs: FLEET_START, days: o.days, seed: i }))) : [];
    const ledgers: Array<MemoryLedger | StreamLedger> = paced ? streams : fixed;
    const due = new DueStreams(streams);
    const fixedTotal = fixed.reduce((n, l) => n + l.events.length, 0);
    const latencies: number[] = [];
    let errors = 0;
    let gaps = 0;
    const statuses = new Map<number, number>();
    let next = 0;
    const base = 'http://fleet.invalid';
    // Round-robin over the instances, as a load balancer would; each upload timed.
    const clients = clouds.map((c) => instanceFetch(c.url, SOCKETS_PER_INSTANCE));
    closeClients = () => clients.forEach((c) => c.close());
    const lbFetch = async (input: string | URL | Request, init?: RequestInit): Promise<FleetResponse> => {
      const path = String(input).slice(base.length);
      const t0 = performance.now();
      try {
        const i = next++ % clients.length;
        // FLEET_GLOBAL_FETCH=1: the global fetch instead, to compare the two clients' cost.
        const res = process.env.FLEET_GLOBAL_FETCH ? ((await fetch(clouds[i]!.url + path, init)) as unknown as FleetResponse) : await clients[i]!.fetch(path, init);
        if (init?.method === 'POST') {
          latencies.push(performance.now() - t0);
          if (res.status === 409) gaps++;
          else if (res.status !== 200) {
            if (process.env.FLEET_DEBUG) void res.clone().text().then((t) => process.stderr.write(`\n${res.status} ${t}\n`));
            errors++;
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }
        return res;
      } catch (e) {
        errors++;
        if (process.env.FLEET_DEBUG && !statuses.has(0)) process.stderr.write(`\nno answer: ${(e as Error).message}\n`);
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
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
          // The Uploader reads an answer's status and JSON body, which FleetResponse has (httpFetch.ts).
          fetch: lbFetch as unknown as typeof fetch,
        }),
    );
    const postmaster = o.backend === 'postgres' && o.pgUrl ? await postmasterOf(o.pgUrl) : null;
    const othersCpu = () => ({
      instances: clouds.reduce((n, c) => n + (c.pid === null ? 0 : processCpuMs(c.pid)), 0),
      postgres: postmaster === null ? null : processTreeCpuMs(postmaster),
    });
    const others0 = othersCpu();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    simFrom = t0;
    const simFromEpochMs = Date.now();
    for (const c of clouds) c.startClock(simFromEpochMs);
    for (const u of uploaders) u.start();
    const acked = () => ledgers.reduce((n, l) => n + l.ackedSeq(), 0);
    const released = () => ledgers.reduce((n, l) => n + l.head().seq, 0);
    const finished = (simNow: number) =>
      paced ? simNow >= endMs && streams.every((l) => l.backlog() === 0) : acked() >= fixedTotal;
    let lastProgress = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const simNow = Math.min(endMs, FLEET_START + (performance.now() - t0) * (o.pace ?? 1));
      if (paced) due.releaseUntil(simNow);
      const done = finished(simNow);
      const a = acked();
      if (done || performance.now() - lastProgress >= 500) {
        lastProgress = performance.now();
        o.onProgress?.({ acked: a, released: paced ? released() : fixedTotal, fraction: paced ? (simNow - FLEET_START) / (endMs - FLEET_START) : a / fixedTotal, elapsedMs: performance.now() - t0 });
      }
      if (done) break;
    }
    const total = paced ? released() : fixedTotal;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const others1 = othersCpu();
    await Promise.all(uploaders.map((u) => u.stop()));
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
      errorsByStatus: Object.fromEntries([...statuses].map(([k, v]) => [String(k), v])),
      gaps,
      weeklyReportMs: pct(reportTimes, 50),
      simulatedHours: (endMs - FLEET_START) / 3_600_000,
      keptUp: !paced || seconds <= ((endMs - FLEET_START) / o.pace! / 1000) * 1.05 + 2,
      cpuMsPerUpload: (cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length),
      cpuPerUpload: perUpload(
        { instances: others1.instances - others0.instances, postgres: others1.postgres === null ? null : others1.postgres - others0.postgres!, fleet: (cpu.user + cpu.system) / 1000 },
        latencies.length,
      ),
      loadAverage: loadavg()[0]!,
    };
  } finally {
    closeClients();
    await Promise.all(clouds.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}


/**
 * The streams by the ts of their next event (a binary heap), so each tick releases only the
 * stations with an event due: a tick over every station cost 10,000 stations' fleet ~0.1 of a
 * core at 10 ticks a second, nearly all of it finding nothing due.
 */
class DueStreams {
  private readonly heap: { at: number; l: StreamLedger }[];

  constructor(streams: readonly StreamLedger[]) {
    this.heap = [];
    for (const l of streams) this.push({ at: l.nextTs(), l });
  }

  releaseUntil(ms: number): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= ms) {
      const top = this.heap[0]!;
      top.l.release(ms);
      top.at = top.l.nextTs();
      this.siftDown(0);
    }
  }

  private push(x: { at: number; l: StreamLedger }): void {
    const h = this.heap;
    h.push(x);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const a = 2 * i + 1;
      const b = a + 1;
      let m = i;
      if (a < h.length && h[a]!.at < h[m]!.at) m = a;
      if (b < h.length && h[b]!.at < h[m]!.at) m = b;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}

function perUpload(ms: { instances: number; postgres: number | null; fleet: number }, uploads: number): FleetResult['cpuPerUpload'] {
  const n = Math.max(1, uploads);
  return { instances: ms.instances / n, postgres: ms.postgres === null ? null : ms.postgres / n, fleet: ms.fleet / n, total: (ms.instances + (ms.postgres ?? 0) + ms.fleet) / n };
}

/** Migrate the database and write the config's stations, 8 at a time (StationRegistry.applyConfig). */
async function provisionStations(url: string, config: CloudConfig, clock: Clock): Promise<void> {
  const store = await PgStore.open(url, { maxConnections: 8 });
  try {
    const registry = new StationRegistry(store, clock, silent);
    const lanes = 8;
    await Promise.all(Array.from({ length: lanes }, (_, k) => registry.applyConfig(config.stations.filter((_, i) => i % lanes === k))));
  } finally {
    await store.close();
  }
}

/** The postmaster serving `url` if it runs on this machine (a backend's parent), else null. */
async function postmasterOf(url: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return parentPid(rows[0]!.pid);
  } catch {
    return null;
  } finally {
    await c.end();
  }
}

interface Instance {
  url: string;
  /** Its process when it runs in one of its own. */
  pid: number | null;
  stop(): Promise<void>;
  /** Start the simulated clock of an instance in its own process (the same start as ours). */
  startClock(simFromEpochMs: number): void;
}

const INSTANCE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'instance.ts');
/** tsx's loader, so the child runs our TypeScript as this process does (node's own process, IPC intact). */
const TSX_LOADER = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** A cloud instance in a child process (instance.ts), listening on a port of its own. */
function instanceProcess(configPath: string, rawConfig: object, pace: number, env: Record<string, string>): Promise<Instance> {
  // A file: 10,000 stations' config is more than a command line holds.
  writeFileSync(configPath, JSON.stringify(rawConfig), { mode: 0o600 });
  // FLEET_CPU_PROF=<dir>: each instance writes a V8 CPU profile there when it stops (`node --cpu-prof`).
  const prof = process.env.FLEET_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLEET_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', TSX_LOADER, INSTANCE_SCRIPT, configPath, String(pace)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`a fleet cloud instance exited with ${code} before it listened`)));
    child.once('message', (m: { url: string }) =>
      resolve({
        url: m.url,
        pid: child.pid ?? null,
        startClock: (simFromEpochMs) => child.send({ simFromEpochMs }),
        stop: async () => {
          if (child.exitCode === null) child.send({ stop: true });
          await exited;
        },
      }),
    );
  });
}
