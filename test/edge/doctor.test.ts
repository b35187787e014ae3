/**
 * `waystation-edge doctor` (SPEC §16) on a good and a broken installation: a lock bus on a
 * socat pty with the simulator, a local "cloud" that checks the station token and sends its
 * Date, the MQTT port free or taken by another program, and the CLI's exit codes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSocat, openPtyPair, type PtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { openSerialLink, type SerialLink } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim.ts';
import { resolveConfig } from '../../edge/config.ts';
import { runDoctor, type DoctorLine } from '../../edge/tools/doctor.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../helpers/station.ts';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'edge/cli.ts');
const STATION_TOKEN = 'station-token-for-doctor';

let pair: PtyPair;
let link: SerialLink;
let sim: LockBoardSim;
let cloud: HttpServer;
let cloudUrl: string;
let clockOffsetMs = 0;
let squatter: Server;
let squattedPort: number;
const tmp = tempDir('waystation-doctor-');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  ensureSocat();
  pair = await openPtyPair();
  link = await openSerialLink(pair.device);
  sim = new LockBoardSim({ boards: [{ address: 3, locks: 24 }, { address: 9, locks: 24 }], latencyMs: 2, closeAfterMs: null });
  sim.attach(link);
  cloud = createHttpServer((req, res) => {
    res.setHeader('date', new Date(Date.now() + clockOffsetMs).toUTCString());
    if (req.url !== '/v1/stations/dn-doc/config') return res.writeHead(404).end('{"error":"unknown_station"}');
    if (req.headers.authorization !== `Bearer ${STATION_TOKEN}`) return res.writeHead(401).end('{"error":"unauthorized"}');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => cloud.listen(0, '127.0.0.1', () => r()));
  cloudUrl = `http://127.0.0.1:${(cloud.address() as { port: number }).port}`;
  squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  squattedPort = (squatter.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  sim?.stop();
  await link?.close();
  await pair?.close();
  await new Promise<void>((r) => cloud?.close(() => r()));
  await new Promise<void>((r) => squatter?.close(() => r()));
  tmp.cleanup();
});

async function doc(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    stationId: 'dn-doc',
    timezone: 'Asia/Shanghai',
    dataDir: './data',
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: { host: '127.0.0.1', port: await freePort() },
    credentials: { jwks: { keys: [] }, revokedRiders: [] },
    maintenanceTokens: [{ name: 'ops', sha256: sha256('t') }],
    dispensers: [{ id: 'disp-1', password: 'a-long-device-secret' }],
    lockBuses: [{ path: pair.host, boards: [{ address: 3 }, { address: 9 }] }],
    cloud: { url: cloudUrl, token: STATION_TOKEN },
    ...extra,
  };
}

const byCheck = (lines: DoctorLine[]) => Object.fromEntries(lines.map((l) => [l.check, l]));

describe('waystation-edge doctor', () => {
  it('passes every check on a good installation, one line each', async () => {
    const lines = await runDoctor(resolveConfig(await doc(), tmp.dir), { boardTimeoutMs: 200 });
    expect(lines.map((l) => [l.check, l.status])).toEqual([
      ['config', 'ok'],
      [`lock bus ${pair.host}`, 'ok'],
      ['mqtt port', 'ok'],
      ['disk free', 'ok'],
      ['clock', 'ok'],
      ['cloud', 'ok'],
    ]);
    expect(byCheck(lines)[`lock bus ${pair.host}`]!.detail).toBe('board 3: 24 locks, all closed; board 9: 24 locks, all closed');
    expect(byCheck(lines).cloud!.detail).toContain('station token accepted');
  });

  it('names every broken part of a broken one, with what to do', async () => {
    clockOffsetMs = -10 * 60_000;
    try {
      const config = resolveConfig(
        await doc({
          mqtt: { host: '127.0.0.1', port: squattedPort },
          lockBuses: [{ path: pair.host, boards: [{ address: 3 }, { address: 4 }] }, { path: '/dev/serial/by-id/usb-missing', boards: [{ address: 5 }] }],
          cloud: { url: cloudUrl, token: 'wrong-token' },
        }),
        tmp.dir,
      );
      const c = byCheck(await runDoctor(config, { boardTimeoutMs: 200 }));
      expect(c[`lock bus ${pair.host}`]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^board 4 did not answer: check its power, the RS-485 A\/B wires and its DIP address[\s\S]*answered: board 3/) });
      expect(c['lock bus /dev/serial/by-id/usb-missing']).toMatchObject({ status: 'fail', detail: expect.stringContaining('no such port: check the USB/RS-485 cable') });
      expect(c['mqtt port']).toMatchObject({ status: 'fail', detail: expect.stringContaining('in use by another program') });
      expect(c.clock).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^(599|600|601) s ahead of the cloud: turn on network time/) });
      expect(c.cloud).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused the station token (401)') });
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('says the cloud is unreachable, and exits 1 from the CLI when a check fails (0 when all pass)', async () => {
    const deadCloud = `http://127.0.0.1:${await freePort()}`;
    const bad = join(tmp.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(await doc({ lockBuses: [], cloud: { url: deadCloud, token: STATION_TOKEN } })));
    const good = join(tmp.dir, 'good.json');
    writeFileSync(good, JSON.stringify(await doc({ lockBuses: [] })));
    const run = (file: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(tsx, [cli, 'doctor', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });
    const [b, g] = await Promise.all([run(bad), run(good)]);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/^FAIL  cloud: http:\/\/127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\): check the network/m);
    expect(b.stderr).toContain('2 checks failed');
    expect(g.code).toBe(0);
    expect(g.stdout.trim().split('\n').map((l) => l.slice(0, 4))).toEqual(['ok  ', 'ok  ', 'ok  ', 'ok  ', 'ok  ']);
    const broken = join(tmp.dir, 'broken.json');
    writeFileSync(broken, '{"stationId": "dn-doc"');
    const x = await run(broken);
    expect(x.code).toBe(1);
    expect(x.stdout).toMatch(/^FAIL  config: invalid config/);
  });
});
