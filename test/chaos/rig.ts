/**
 * What the chaos tests share: an in-process station on port 0 with the real simulators (the
 * dispenser over MQTT, lock boards on a mock serial line, optionally a scanner) — the one
 * station harness of the tests (test/helpers/station.ts) at the chaos runs' sizes — credentials
 * signed by a key the station trusts, and small measuring helpers (resident memory, open file
 * descriptors). Nothing of ours is mocked: the station is `startStation` with a real config.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { DispenserSimOptions, DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { seededRandom } from '../../firmware-sim/faults.ts';
import type { LockBoardSim, LockBoardSimOptions } from '../../firmware-sim/lockboard/sim.ts';
import type { ScannerSim, ScannerSimOptions } from '../../firmware-sim/scanner/sim.ts';
import { systemClock, type Clock, type SigningKey } from '../../protocol/index.ts';
import type { StationConfig } from '../../edge/config.ts';
import type { Station, StationOptions } from '../../edge/station.ts';
import { deviceClockBeside } from '../helpers/clock.ts';
import { startHarness } from '../helpers/station.ts';

export { DISPENSER_PASSWORD, MAINTENANCE_TOKEN } from '../helpers/station.ts';

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32, seeded, so a failing run can be replayed (firmware-sim/faults.ts). */
export const rng = seededRandom;

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A port nobody listens on right now (for a child process's config; in-process parts use 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Open file descriptors of this process (Linux). */
export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const rssMb = (): number => process.memoryUsage().rss / 1e6;

export interface RigOptions {
  clock?: Clock;
  /** Lock boards on one bus (addresses 1..n) and locks per board; 0 boards = no lock bus. */
  boards?: number;
  locks?: number;
  board?: Partial<LockBoardSimOptions>;
  dispenser?: Partial<DispenserSimOptions> | false;
  scanner?: ScannerSimOptions;
  /** Extra or overriding config keys. */
  config?: Record<string, unknown>;
  station?: StationOptions;
}

export interface Rig {
  station: Station;
  config: StationConfig;
  key: SigningKey;
  dispenser: DispenserSimulator | undefined;
  boards: LockBoardSim | undefined;
  scanner: ScannerSim | undefined;
  dir: string;
  credential(riderId: string, opts?: { ttlSeconds?: number; issuedAtMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

export async function startRig(o: RigOptions = {}): Promise<Rig> {
  const clock = o.clock ?? systemClock;
  // The one station harness (test/helpers/station.ts), with the chaos runs' sizes and pace.
  const h = await startHarness({
    boards: o.boards ?? 1,
    locks: (o.boards ?? 1) > 0 ? (o.locks ?? 8) : 0,
    ...(o.board ? { board: o.board } : {}),
    ...(o.scanner ? { scannerSim: o.scanner } : {}),
    dispenser: o.dispenser !== false,
    sim: {
      clock: o.clock ? deviceClockBeside(o.clock) : systemClock,
      telemetryIntervalMs: 500,
      stock: 100_000,
      reconnectPeriodMs: 100,
      powerOffMs: 100,
      offlineMs: 100,
      lateEventMs: 400,
      ...(o.dispenser || {}),
    },
    credentialTtlSeconds: 30 * 86_400,
    config: {
      stationId: 'dn-chaos',
      rateLimit: { perCredentialPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
      logLevel: 'silent',
      ...o.config,
    },
    station: { clock, ...o.station },
  });
  return {
    get station() {
      return h.station;
    },
    config: h.config,
    key: h.key,
    get dispenser() {
      return h.dispenser;
    },
    boards: h.board,
    scanner: h.scanner,
    dir: h.dir,
    credential: (riderId, c = {}) => h.credential(riderId, c),
    stop: () => h.stop(),
  };
}

/** JSON over HTTP to a station; never throws on a status, only on a broken connection. */
export async function post(base: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export async function getJson(base: string, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Sum the samples of one Prometheus metric, optionally filtered by a label. */
export function metricSum(text: string, name: string, label?: { key: string; value: string }): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (label && !line.includes(`${label.key}="${label.value}"`)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let gcFn: (() => void) | undefined;
/** A full garbage collection before a memory reading (the vitest fork runs without --expose-gc). */
export async function collectGarbage(): Promise<void> {
  if (!gcFn) {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  await sleep(50);
  gcFn();
}

/**
 * Resident memory in a settled state: two full collections a second apart, then a pause. V8
 * hands freed pages back to the OS on a background thread, so RSS read right after one
 * collection still counts a burst's garbage and swings by ±10 % from run to run.
 */
export async function settledMemory(): Promise<{ rssMb: number; heapMb: number }> {
  await collectGarbage();
  await sleep(1000);
  await collectGarbage();
  const heapMb = process.memoryUsage().heapUsed / 1e6;
  await sleep(300);
  return { rssMb: rssMb(), heapMb };
}
