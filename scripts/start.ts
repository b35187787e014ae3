/**
 * `npm start`: a cloud, N stations (default 1) with two simulated lock boards, a hot/cold
 * dispenser and a scanner each, and a few seeded riders — everything on this machine.
 * Serial devices run over socat pseudo-terminals when socat is there, in-process otherwise.
 * Taken ports are replaced by free ones; the printed URLs say which. Ctrl-C stops it all.
 *
 *   npm start [-- --stations 3] [--data ./data/demo] [--fresh]
 *
 * Standard input takes commands (type `help`): scan a rider's code, inject lock-board and
 * dispenser faults, and watch them in the kiosk and the dashboard.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { systemClock } from '../protocol/index.ts';
import { parseCloudConfig } from '../cloud/config.ts';
import { RiderRegistry } from '../cloud/riders/riderRegistry.ts';
import { CLOUD_LOG_REDACT, startCloud } from '../cloud/server.ts';
import { keyFromFile } from '../cloud/store/keyCipher.ts';
import { resolveConfig } from '../edge/config.ts';
import { REDACT_PATHS } from '../edge/log.ts';
import { startStation, type Station } from '../edge/station.ts';
import { applyConsoleCommand } from '../firmware-sim/dispenser/cli.ts';
import { DispenserSimulator } from '../firmware-sim/dispenser/simulator.ts';
import { runControlCommand } from '../firmware-sim/lockboard/control.ts';
import { createMockLine, openSerialLink, type ByteLink } from '../firmware-sim/lockboard/link.ts';
import { hasSocat, openPtyPair, type PtyPair } from '../firmware-sim/lockboard/pty.ts';
import { LockBoardSim } from '../firmware-sim/lockboard/sim.ts';
import { ScannerSim } from '../firmware-sim/scanner/sim.ts';

const { values } = parseArgs({
  options: {
    stations: { type: 'string', default: '1' },
    data: { type: 'string', default: './data/demo' },
    fresh: { type: 'boolean', default: false },
    riders: { type: 'string', default: '3' },
    // Preferred ports (station n adds n - 1); a taken one is replaced by a free one.
    'kiosk-port': { type: 'string', default: '8080' },
    'mqtt-port': { type: 'string', default: '1883' },
    'cloud-port': { type: 'string', default: '8090' },
    // SPEC §12: the cloud on PostgreSQL (postgres://user:password@host:port/database) instead of SQLite.
    postgres: { type: 'string' },
  },
});
if (values.postgres !== undefined && !/^postgres(ql)?:\/\//.test(values.postgres)) {
  process.stderr.write('--postgres takes a URL like postgres://user:password@127.0.0.1:5432/waystation\n');
  process.exit(2);
}
const preferred = (name: 'kiosk-port' | 'mqtt-port' | 'cloud-port'): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    process.stderr.write(`--${name} takes a port number from 1 to 65535\n`);
    process.exit(2);
  }
  return n;
};
const ports = { kiosk: preferred('kiosk-port'), mqtt: preferred('mqtt-port'), cloud: preferred('cloud-port') };
const stationCount = Number(values.stations);
if (!Number.isInteger(stationCount) || stationCount < 1 || stationCount > 20) {
  process.stderr.write('--stations takes a whole number from 1 to 20\n');
  process.exit(2);
}
const dataDir = resolve(values.data);
if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
// The demo's folders and files are the owner's only: riders' codes, tokens and logs (issue 11).
mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
chmodSync(dataDir, 0o700);

const say = (s: string) => process.stdout.write(`${s}\n`);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The preferred port if it is free, else one the system picks (and say so). */
async function freePort(preferred: number, what: string): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((done) => {
      const srv = createServer();
      srv.once('error', () => done(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : undefined;
        srv.close(() => done(p));
      });
    });
  const port = await tryListen(preferred);
  if (port !== undefined) return port;
  const other = (await tryListen(0))!;
  say(`port ${preferred} (${what}) is taken; using ${other}`);
  return other;
}

/** Secrets survive restarts of the demo, so codes printed once keep working. */
const secretsFile = join(dataDir, 'secrets.json');
const secrets: { admin: string; maintenance: string; stations: Record<string, { token: string; disp: string }>; invite?: string } = existsSync(secretsFile)
  ? JSON.parse(readFileSync(secretsFile, 'utf8'))
  : { admin: randomBytes(16).toString('hex'), maintenance: randomBytes(16).toString('hex'), stations: {} };
const stationIds = Array.from({ length: stationCount }, (_, i) => `dn-${String(i + 1).padStart(3, '0')}`);
for (const id of stationIds) secrets.stations[id] ??= { token: randomBytes(16).toString('hex'), disp: randomBytes(8).toString('hex') };
writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
chmodSync(secretsFile, 0o600);

const logFile = (name: string) => {
  const dest = join(dataDir, 'logs', `${name}.log`);
  if (existsSync(dest)) chmodSync(dest, 0o600);
  return pino.destination({ dest, sync: false, mode: 0o600 });
};
/** The demo's cloud key file (made on first use, 0600). */
const demoKeyFile = (): string => {
  const path = join(dataDir, 'cloud.key');
  keyFromFile(path, true);
  return path;
};
const stoppers: Array<() => Promise<void> | void> = [];

/**
 * The demo's invite (kept in the secrets file while it is valid, made again otherwise), made
 * through the office's own API: 1,000 uses for 30 days in the demo's zone.
 */
async function demoInvite(cloudUrl: string): Promise<{ code: string; url: string }> {
  const auth = { authorization: `Bearer ${secrets.admin}` };
  if (secrets.invite) {
    const res = await fetch(`${cloudUrl}/v1/invites/${encodeURIComponent(secrets.invite)}`, { headers: auth });
    const body = (await res.json().catch(() => null)) as { url?: string; expiresAt?: number; uses?: number; used?: number } | null;
    if (res.ok && body?.url && (body.expiresAt ?? 0) > Date.now() + 86_400_000 && (body.used ?? 0) < (body.uses ?? 0)) return { code: secrets.invite, url: body.url };
  }
  const res = await fetch(`${cloudUrl}/v1/invites`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ uses: 1000, expiresAt: Date.now() + 30 * 86_400_000, zone: 'daning' }),
  });
  const body = (await res.json()) as { code?: string; url?: string; message?: string };
  if (res.status !== 201 || !body.code || !body.url) throw new Error(`the demo's invite was refused (${res.status} ${body.message ?? ''}); try npm start -- --fresh`);
  secrets.invite = body.code;
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { code: body.code, url: body.url };
}

async function main(): Promise<void> {
  // ---- cloud ----
  const cloudPort = await freePort(ports.cloud, 'cloud');
  const cloudConfig = parseCloudConfig(
    {
      http: { host: '127.0.0.1', port: cloudPort },
      dataDir: join(dataDir, 'cloud'),
      stations: stationIds.map((id) => ({
        id,
        tokenSha256: sha256(secrets.stations[id]!.token),
        timezone: 'Asia/Shanghai',
        zone: 'daning',
        // What each station drives (below); the station compares it with its own config.
        devices: [
          { id: 'disp-1', kind: 'dispenser' },
          { id: 'lockboard-1', kind: 'lockboard' },
          { id: 'lockboard-2', kind: 'lockboard' },
          { id: 'scanner', kind: 'scanner' },
        ],
      })),
      adminTokens: [{ name: 'street-office', sha256: sha256(secrets.admin) }],
      // On PostgreSQL the signing keys are sealed with a key kept beside the demo's data (SPEC §12).
      ...(values.postgres ? { storage: { url: values.postgres }, keyFile: demoKeyFile() } : {}),
    },
    { baseDir: dataDir },
  );
  const cloudLog = pino({ level: 'info', redact: { paths: CLOUD_LOG_REDACT, censor: '[redacted]' } }, logFile('cloud'));
  const cloud = await startCloud(cloudConfig, { logger: cloudLog });
  stoppers.push(() => cloud.stop());

  // ---- riders ----
  const registry = new RiderRegistry(cloud.store, systemClock, { ttlDays: cloudConfig.credentials.ttlDays }, cloudLog);
  const ridersFile = join(dataDir, 'riders.json');
  let riders: Array<{ riderId: string; group: string; credential: string }> = existsSync(ridersFile) ? JSON.parse(readFileSync(ridersFile, 'utf8')) : [];
  const wanted = Number(values.riders);
  const groups = ['courier', 'food_delivery', 'outdoor_worker'];
  while (riders.length < wanted) {
    const group = groups[riders.length % groups.length]!;
    const row = await registry.register({ group, platform: 'demo' });
    const issued = await registry.issue(row.riderId);
    riders.push({ riderId: row.riderId, group, credential: issued.credential });
  }
  riders = riders.slice(0, Math.max(wanted, riders.length));
  writeFileSync(ridersFile, JSON.stringify(riders, null, 2), { mode: 0o600 });
  chmodSync(ridersFile, 0o600);
  const jwks = await registry.jwks();

  // ---- the office's invite: its poster, and the kiosk's "no code yet?" QR (SPEC §14) ----
  const invite = await demoInvite(cloud.url);

  // ---- stations ----
  const useSocat = hasSocat();
  const sims: Array<{ id: string; station: Station; locks: LockBoardSim; disp: DispenserSimulator; scanner: ScannerSim }> = [];
  for (const [i, id] of stationIds.entries()) {
    const locks = new LockBoardSim({ boards: [{ address: 1, locks: 24 }, { address: 2, locks: 24 }], latencyMs: 30, closeAfterMs: 10_000 });
    let lockPath: string;
    let scanPath: string;
    let scanLink: ByteLink;
    const bindings: Record<string, unknown> = {};
    if (useSocat) {
      const lockPair: PtyPair = await openPtyPair();
      const scanPair: PtyPair = await openPtyPair();
      stoppers.push(() => lockPair.close(), () => scanPair.close());
      const lockLink = await openSerialLink(lockPair.device);
      scanLink = await openSerialLink(scanPair.device);
      stoppers.push(() => lockLink.close(), () => (scanLink as Awaited<ReturnType<typeof openSerialLink>>).close());
      locks.attach(lockLink);
      lockPath = lockPair.host;
      scanPath = scanPair.host;
    } else {
      const lockLine = createMockLine();
      const scanLine = createMockLine();
      locks.attach(lockLine.device);
      scanLink = scanLine.device;
      lockPath = lockLine.path;
      scanPath = scanLine.path;
      bindings[lockPath] = lockLine.binding;
      bindings[scanPath] = scanLine.binding;
    }
    stoppers.push(() => locks.stop());
    const httpPort = await freePort(ports.kiosk + i, `${id} kiosk and API`);
    const mqttPort = await freePort(ports.mqtt + i, `${id} MQTT broker`);
    const stationDir = join(dataDir, id);
    const config = resolveConfig(
      {
        stationId: id,
        timezone: 'Asia/Shanghai',
        dataDir: stationDir,
        http: { host: '127.0.0.1', port: httpPort },
        mqtt: { host: '127.0.0.1', port: mqttPort },
        credentials: { jwks, revokedRiders: [] },
        maintenanceTokens: [{ name: 'ops-demo', sha256: sha256(secrets.maintenance) }],
        dispensers: [{ id: 'disp-1', password: secrets.stations[id]!.disp }],
        lockBuses: [{ path: lockPath, baudRate: 9600, boards: [{ address: 1, locks: 24 }, { address: 2, locks: 24 }] }],
        scanner: { path: scanPath, baudRate: 9600 },
        cloud: { url: cloud.url, token: secrets.stations[id]!.token },
        kiosk: { enrolUrl: invite.url },
      },
      dataDir,
      `${id} (npm start)`,
    );
    const logger = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { stationId: id } }, logFile(id));
    const station = await startStation(config, { logger, bindings: bindings as never });
    stoppers.push(() => station.stop());
    const disp = new DispenserSimulator({
      url: `mqtt://127.0.0.1:${station.mqttPort}`,
      id: 'disp-1',
      password: secrets.stations[id]!.disp,
      stock: 40,
      motorMs: 1200,
      telemetryIntervalMs: 10_000,
      memory: undefined,
    });
    await disp.start();
    stoppers.push(() => disp.stop());
    sims.push({ id, station, locks, disp, scanner: new ScannerSim(scanLink, { terminator: 'CR' }) });
  }
  // Stop in reverse start order: devices, then stations, then the cloud.
  stoppers.reverse();

  // ---- what to open ----
  const first = sims[0]!;
  say('');
  say('Waystation is running.');
  say(`  serial devices:   ${useSocat ? 'socat pseudo-terminals (real serialport binding)' : 'in-process (socat not found)'}`);
  for (const s of sims) say(`  kiosk ${s.id}:      ${s.station.httpUrl}/        (MQTT broker on port ${s.station.mqttPort})`);
  say(`  dashboard:        ${cloud.url}/dashboard   admin token: ${secrets.admin}`);
  say(`  invite poster:    ${cloud.url}/v1/invites/${invite.code}/poster   (its QR opens the rider's enrolment page)`);
  say(`  maintenance:      ${first.station.httpUrl}/maintenance   token: ${secrets.maintenance}`);
  say(`  maintenance API:  curl -H "Authorization: Bearer ${secrets.maintenance}" ${first.station.httpUrl}/v1/health`);
  say('  riders (paste a code into the kiosk, or type "scan 1" here to scan it):');
  riders.forEach((r, i) => say(`    ${i + 1}. ${r.riderId} (${r.group}): ${r.credential}`));
  say(`  logs: ${join(dataDir, 'logs')}   data: ${dataDir}`);
  say('Type "help" for commands; Ctrl-C stops everything.');

  const help = `commands:
  scan <n> [station]        scan rider n's code at the station's scanner (default the first)
  lock <command>            lock-board simulator console, e.g. "lock fault 2 offline", "lock help"
  disp <command>            dispenser simulator console, e.g. "disp jam on", "disp help"
  station <n>               direct lock/disp/scan commands at station n (1-based)
  riders                    list the rider codes again`;
  let current = first;
  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (raw) => {
    const line = raw.trim();
    const [cmd, ...rest] = line.split(/\s+/);
    try {
      if (!cmd) return;
      if (cmd === 'help') say(help);
      else if (cmd === 'riders') riders.forEach((r, i) => say(`${i + 1}. ${r.riderId}: ${r.credential}`));
      else if (cmd === 'station') {
        const s = sims[Number(rest[0]) - 1];
        if (!s) say(`no station ${rest[0]}`);
        else say(`commands now go to ${(current = s).id}`);
      } else if (cmd === 'scan') {
        const r = riders[Number(rest[0]) - 1];
        const s = rest[1] ? sims[Number(rest[1]) - 1] : current;
        if (!r || !s) say('usage: scan <rider number> [station number]');
        else void s.scanner.scan(r.credential).then(() => say(`scanned rider ${rest[0]} at ${s.id}`));
      } else if (cmd === 'lock') say(runControlCommand(current.locks, rest.join(' ')));
      else if (cmd === 'disp') applyConsoleCommand(current.disp, rest.join(' '), say);
      else say(`unknown command "${cmd}"; type help`);
    } catch (e) {
      say(`error: ${(e as Error).message}`);
    }
  });
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nstopping …');
  for (const stop of stoppers) {
    try {
      await stop();
    } catch (e) {
      process.stderr.write(`while stopping: ${(e as Error).message}\n`);
    }
  }
  say('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().catch((e: unknown) => {
  process.stderr.write(`npm start failed: ${(e as Error).message}\n`);
  void shutdown(1);
});
