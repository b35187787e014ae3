/**
 * The one station harness of the tests (issue 10, item 7): a whole station in-process through
 * `startStation` (edge/station.ts) — real ledger, broker, drivers, services and HTTP on port 0 —
 * with dispenser simulators over MQTT (TCP loopback, or the broker's in-memory connection), the
 * lock-board simulator on a mock serial line (binding-mock) and, on request, a scanner.
 * Credentials are signed with a fresh key the station trusts. Nothing of ours is mocked.
 * test/dispenser/harness.ts is this harness seen from the dispenser tests.
 */
import { createHash } from 'node:crypto';
import { DispenserSimulator, type DispenserSimOptions } from '../../firmware-sim/dispenser/simulator.ts';
import { createMockLine, type MockLine } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim, type LockBoardSimOptions } from '../../firmware-sim/lockboard/sim.ts';
import { ScannerSim, type ScannerSimOptions } from '../../firmware-sim/scanner/sim.ts';
import { generateSigningKey, issueCredential, systemClock, type SigningKey } from '../../protocol/index.ts';
import { resolveConfig, type StationConfig } from '../../edge/config.ts';
import type { BindingInterface } from '../../edge/drivers/lockbus/open-port.ts';
import { silentLogger } from '../../edge/log.ts';
import { startStation, type Station, type StationOptions } from '../../edge/station.ts';
import { tempDir } from './tmp.ts';

export const MAINTENANCE_TOKEN = 'maint-token-for-tests-0123456789';
export const DISPENSER_PASSWORD = 'disp-secret';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface HarnessOptions {
  /** Extra or overriding config keys. */
  config?: Record<string, unknown>;
  /** The dispensers the station drives (default `['disp-1']`), each with the password `passwordOf(id)`. */
  dispensers?: string[];
  /** Start a simulator for the first dispenser (default true); more with `addSim`. */
  dispenser?: boolean;
  /** Options of every simulator the harness starts (motor, telemetry period, stock…). */
  sim?: Partial<DispenserSimOptions>;
  /** Simulators connect through the broker's in-memory connection instead of TCP loopback. */
  inMemory?: boolean;
  /** An existing data directory (a restart test reopens the same one); kept at stop. */
  dir?: string;
  /** Locks per lock board (default 4; 0 = no lock bus). */
  locks?: number;
  /** Lock boards on the one bus, addresses 1..n (default 1). */
  boards?: number;
  /** Options of the lock-board simulator (latency, faults…). */
  board?: Partial<LockBoardSimOptions>;
  /** Options of the scanner simulator. */
  scannerSim?: ScannerSimOptions;
  /** How long the credentials `credential()` signs live by default (default 1 h). */
  credentialTtlSeconds?: number;
  station?: StationOptions;
  /** Close an opened door again after this long (default 150 ms). */
  closeAfterMs?: number | null;
  /** A serial QR scanner (simulator on a mock line). */
  scanner?: boolean;
}

export interface Harness {
  station: Station;
  /** The station's MQTT URL (simulators dial it). */
  mqttUrl: string;
  /** The password of a configured dispenser. */
  password(id: string): string;
  /** Start one more simulator (`id` must be configured) and wait until the station sees it online. */
  addSim(id: string, opts?: Partial<DispenserSimOptions>): Promise<DispenserSimulator>;
  /** Stop the station only, keeping its data directory and the simulators' state (a crash or restart test). */
  stopStation(): Promise<void>;
  config: StationConfig;
  key: SigningKey;
  dispenser: DispenserSimulator | undefined;
  board: LockBoardSim | undefined;
  line: MockLine | undefined;
  scanner: ScannerSim | undefined;
  dir: string;
  url(path: string): string;
  credential(riderId: string, opts?: { ttlSeconds?: number; issuedAtMs?: number; key?: SigningKey }): Promise<string>;
  /** Stop and start the station on the same data directory and devices. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const passwordOf = (id: string): string => (id === 'disp-1' ? DISPENSER_PASSWORD : `secret-of-${id}`);

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fresh = opts.dir === undefined ? tempDir('waystation-edge-') : undefined;
  const dir = opts.dir ?? fresh!.dir;
  const cleanup = fresh?.cleanup ?? (() => {});
  const dispenserIds = opts.dispensers ?? ['disp-1'];
  const key = await generateSigningKey('test-key-1');
  const locks = opts.locks ?? 4;
  const addresses = locks > 0 ? Array.from({ length: opts.boards ?? 1 }, (_, i) => ({ address: i + 1, locks })) : [];
  const line = addresses.length > 0 ? createMockLine() : undefined;
  const board = line
    ? new LockBoardSim({ boards: addresses, latencyMs: 2, closeAfterMs: opts.closeAfterMs === undefined ? 150 : opts.closeAfterMs, ...opts.board })
    : undefined;
  if (board && line) board.attach(line.device);
  const scannerLine = opts.scanner || opts.scannerSim ? createMockLine() : undefined;
  const scanner = scannerLine ? new ScannerSim(scannerLine.device, opts.scannerSim) : undefined;
  const boardsOnline = () => waitFor(() => addresses.every((b) => station.health.usable(`lockboard-${b.address}`)), 10_000, 'lock boards online');
  const doc = {
    stationId: 'dn-test',
    timezone: 'Asia/Shanghai',
    dataDir: './data',
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { host: '127.0.0.1', port: 0 },
    credentials: { jwks: { keys: [key.publicJwk] }, revokedRiders: ['rider-revoked'] },
    maintenanceTokens: [{ name: 'ops-wang', sha256: sha256(MAINTENANCE_TOKEN) }],
    dispensers: dispenserIds.map((id) => ({ id, password: passwordOf(id) })),
    lockBuses: line ? [{ path: line.path, baudRate: 9600, boards: addresses }] : [],
    ...(scannerLine ? { scanner: { path: scannerLine.path, baudRate: 9600 } } : {}),
    heartbeatIntervalMs: 2000,
    dispense: { timeoutMs: 1500 },
    lockers: { pollIntervalMs: 100, riderCooldownMs: 0 },
    ...opts.config,
  };
  const config = resolveConfig(doc, dir);
  const stationOpts: StationOptions = {
    logger: silentLogger(),
    scheduleJobs: false,
    bindings: {
      ...(line ? { [line.path]: line.binding as unknown as BindingInterface } : {}),
      ...(scannerLine ? { [scannerLine.path]: scannerLine.binding as unknown as BindingInterface } : {}),
    },
    lockBusTimeouts: { replyTimeoutMs: 200, queryRetries: 1 },
    ...opts.station,
  };
  let station = await startStation(config, stationOpts);
  let dispenser: DispenserSimulator | undefined;
  const sims: DispenserSimulator[] = [];
  let stationStopped = false;

  async function addSim(id: string, o: Partial<DispenserSimOptions> = {}): Promise<DispenserSimulator> {
    // A test's own `url` or `connect` wins; otherwise the harness's way of connecting.
    const dial = o.url !== undefined || o.connect !== undefined ? {} : opts.inMemory ? { connect: () => station.broker.connectInMemory() } : { url: `mqtt://127.0.0.1:${station.mqttPort}` };
    const sim = new DispenserSimulator({ ...dial, id, password: passwordOf(id), motorMs: 0, telemetryIntervalMs: 1000, stock: 40, ...opts.sim, ...o });
    sims.push(sim);
    await sim.start();
    await waitFor(() => station.health.usable(id), 5000, `${id} online`);
    return sim;
  }

  async function startDispenser(): Promise<void> {
    if (opts.dispenser === false) return;
    dispenser = await addSim(dispenserIds[0]!);
  }
  await startDispenser();
  if (board) await boardsOnline();

  const h: Harness = {
    get station() {
      return station;
    },
    get mqttUrl() {
      return `mqtt://127.0.0.1:${station.mqttPort}`;
    },
    password: passwordOf,
    addSim,
    async stopStation() {
      if (stationStopped) return;
      stationStopped = true;
      await station.stop();
    },
    config,
    key,
    get dispenser() {
      return dispenser;
    },
    board,
    line,
    scanner,
    dir,
    url: (path) => `${station.httpUrl}${path}`,
    credential: (riderId, o = {}) =>
      issueCredential(o.key ?? key, {
        riderId,
        // Signed at the station's own time (a ManualClock in long-running tests).
        issuedAtMs: o.issuedAtMs ?? (opts.station?.clock ?? systemClock).now(),
        ttlSeconds: o.ttlSeconds ?? opts.credentialTtlSeconds ?? 3600,
      }),
    async restart() {
      await Promise.all(sims.splice(0).map((s) => s.stop()));
      await station.stop();
      station = await startStation(config, stationOpts);
      stationStopped = false;
      await startDispenser();
      if (board) await boardsOnline();
    },
    async stop() {
      await Promise.all(sims.splice(0).map((s) => s.stop().catch(() => {})));
      await h.stopStation();
      board?.stop();
      cleanup();
    },
  };
  return h;
}

/** Everything that a refused request must leave untouched. */
export function ledgerSnapshot(station: Station): Record<string, number> {
  const db = station.ledger.db;
  const count = (t: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name);
  const snap: Record<string, number> = { headSeq: station.ledger.head().seq };
  for (const t of tables) if (t !== 'meta' && t !== 'devices') snap[t] = count(t);
  return snap;
}
