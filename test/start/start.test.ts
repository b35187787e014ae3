/**
 * `npm start` (issue 6): the one command a new user runs. It is started here as the process the
 * README tells them to start (scripts/start.ts with two stations, in a fresh data directory),
 * and driven through what the README walks through: the printed kiosk, dashboard and rider code
 * work, a rider checks in and takes water, a fault typed into the simulator console shows in
 * the station's health and then in the cloud's fleet health, and Ctrl-C stops everything.
 */
import { readdirSync, statSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

const root = join(import.meta.dirname, '../..');
const tmp = tempDir('waystation-start-');
let child: ChildProcessWithoutNullStreams | undefined;
let out = '';
let blocker: Server | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  blocker?.close();
  tmp.cleanup();
});

async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; npm start printed:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('npm start', () => {
  it('starts a cloud and two stations, serves what it prints, shows a console fault in health, and stops on Ctrl-C', async () => {
    // The first kiosk's preferred port is taken (by a port the system picked for this test).
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--data', tmp.dir, '--stations', '2', '--kiosk-port', String(taken)], { cwd: root });
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('Ctrl-C stops everything'), 90_000, 'the start banner');

    const kiosks = [...out.matchAll(/kiosk (dn-\d+):\s+(http:\/\/\S+?)\/\s/g)].map((m) => ({ id: m[1]!, url: m[2]! }));
    expect(kiosks.map((k) => k.id)).toEqual(['dn-001', 'dn-002']);
    const [, dashboard, adminToken] = /dashboard:\s+(http:\/\/\S+)\s+admin token: (\S+)/.exec(out)!;
    const [, maintenanceToken] = /Bearer (\S+)"/.exec(out)!;
    const [, credential] = /^\s+1\. \S+ \(\S+\): (\S+)$/m.exec(out)!;
    const cloudUrl = dashboard!.replace(/\/dashboard$/, '');
    const kiosk = kiosks[0]!.url;
    // The taken port was replaced by a free one, and the printed URL says which.
    const [, replacement] = new RegExp(`port ${taken} \\(dn-001 kiosk and API\\) is taken; using (\\d+)`).exec(out) ?? [];
    expect(replacement, out).toBeDefined();
    expect(kiosk).toBe(`http://127.0.0.1:${replacement}`);

    // What it wrote is the owner's only: folders 0700, riders' codes, secrets, logs and ledgers 0600.
    const mode = (p: string) => statSync(join(tmp.dir, p)).mode & 0o777;
    expect(mode('.')).toBe(0o700);
    expect(mode('logs')).toBe(0o700);
    for (const f of ['riders.json', 'secrets.json', 'dn-001/station.db', ...readdirSync(join(tmp.dir, 'logs')).map((l) => `logs/${l}`)]) expect(mode(f), f).toBe(0o600);

    // The printed kiosk and dashboard answer.
    const page = await fetch(`${kiosk}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect((await fetch(dashboard!)).status).toBe(200);
    // The printed invite poster, and the kiosk's QR of the same enrolment page (README: the walk starts at the poster).
    const [, poster] = /invite poster:\s+(http:\/\/\S+)/.exec(out)!;
    const posterPage = await fetch(poster!);
    expect(posterPage.status).toBe(200);
    expect(await posterPage.text()).toContain('/r/?invite=');
    const qr = await fetch(`${kiosk}/kiosk/enrol-qr.svg`);
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toContain('image/svg+xml');

    // The printed rider code checks in and takes cold water.
    expect((await json(`${kiosk}/v1/checkins`, { method: 'POST', body: JSON.stringify({ credential }) })).status).toBe(201);
    const claim = await json(`${kiosk}/v1/claims`, { method: 'POST', body: JSON.stringify({ credential, compartment: 'cold' }) });
    expect(claim.status, JSON.stringify(claim.body)).toBe(201);

    // Every device the station drives is up, and the cloud's device list agrees with it.
    const auth = { authorization: `Bearer ${maintenanceToken}` };
    const health = async () => (await json(`${kiosk}/v1/health`, { headers: auth })).body;
    await waitFor(async () => {
      const h = await health();
      return (h.devices as { id: string; state: string }[]).every((d) => d.state === 'online') && h;
    }, 30_000, 'every device online');
    const station = (await health()).station as { faults: string[]; sync: { deviceList: unknown } };
    await waitFor(async () => ((await health()).station as { sync: { deviceList: unknown } }).sync.deviceList !== null, 30_000, 'the cloud config pulled');
    expect(((await health()).station as { sync: { deviceList: unknown } }).sync.deviceList).toEqual({ missingHere: [], notListed: [], kindDiffers: [] });
    expect(station.faults).not.toContain('device_list_mismatch');

    // A fault typed into the simulator console: the station sees it, then the cloud's fleet health.
    child.stdin.write('disp jam on\n');
    await waitFor(async () => {
      const d = ((await health()).devices as { id: string; faults: string[] }[]).find((x) => x.id === 'disp-1');
      return d?.faults.includes('jam');
    }, 30_000, 'the jam in the station health');
    await waitFor(async () => {
      const f = await json(`${cloudUrl}/v1/fleet/health`, { headers: { authorization: `Bearer ${adminToken}` } });
      return (f.body.openFaults as { stationId: string; deviceId: string; fault: string }[]).some((x) => x.stationId === 'dn-001' && x.deviceId === 'disp-1' && x.fault === 'jam');
    }, 60_000, 'the jam in the cloud fleet health');

    // Ctrl-C stops everything cleanly.
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    expect(code, out).toBe(0);
    expect(out).toContain('stopped.');
  }, 240_000);
});
