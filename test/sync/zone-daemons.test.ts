/**
 * One quota across a zone with the stations as processes (issue 16 "Proof: two real stations
 * and a cloud (processes, simulators for devices)"): two compiled edge daemons
 * (`bin/waystation-edge.js` on plain node, config files with `cloud.zoneFeedWaitMs`), each with
 * its dispenser simulator over MQTT, and a real cloud. A check-in at one is honoured at the
 * other, and a bottle taken at one is refused at the other within the propagation time; what
 * the second daemon knows is read only through its HTTP API. Then the second daemon is killed
 * with SIGKILL in the middle of catching up a backlog of the first one's check-ins: opened
 * again, its ledger holds no entry twice, and the restarted daemon applies exactly the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { parseCloudConfig } from '../../cloud/config.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { generateSigningKey, issueCredential, sha256Hex, type SigningKey } from '../../protocol/index.ts';
import { ensureBuilt, startDaemon, type Daemon } from '../../bench/edge-daemon.ts';
import { getJson, post, waitFor } from '../chaos/rig.ts';

const MAINT = 'zone-daemon-maintenance-token-0123';
const tokenOf = (id: string) => `zone-daemon-station-token-${id}-0123456789`;
const IDS = ['dn-001', 'dn-002'] as const;

let cloud: RunningCloud;
let key: SigningKey;
const dirs: string[] = [];
const daemons: Record<string, Daemon> = {};
const daemonDirs: Record<string, string> = {};
const configs: Record<string, object> = {};
const sims: DispenserSimulator[] = [];

beforeAll(async () => {
  ensureBuilt();
  key = await generateSigningKey('zone-daemon-key');
  const cloudDir = mkdtempSync(join(tmpdir(), 'waystation-zone-daemon-cloud-'));
  dirs.push(cloudDir);
  cloud = await startCloud(
    parseCloudConfig(
      {
        http: { host: '127.0.0.1', port: 0 },
        dataDir: cloudDir,
        stations: IDS.map((id) => ({ id, tokenSha256: sha256Hex(tokenOf(id)), timezone: 'Asia/Shanghai', zone: 'daning' })),
        adminTokens: [{ name: 'office', sha256: sha256Hex('zone-daemon-admin') }],
        quota: { scope: 'zone' },
        // Small answers, so a backlog takes many and a kill lands between two.
        zoneFeed: { maxEntries: 20 },
        logLevel: 'silent',
      },
      { baseDir: cloudDir },
    ),
    { logger: pino({ level: 'silent' }) },
  );
  for (const id of IDS) {
    const dir = mkdtempSync(join(tmpdir(), `waystation-zone-daemon-${id}-`));
    dirs.push(dir);
    daemonDirs[id] = dir;
    configs[id] = {
      stationId: id,
      timezone: 'Asia/Shanghai',
      dataDir: './data',
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      credentials: { jwks: { keys: [key.publicJwk] }, revokedRiders: [] },
      maintenanceTokens: [{ name: 'ops', sha256: sha256Hex(MAINT) }],
      dispensers: [{ id: 'disp-1', password: 'disp-secret' }],
      lockBuses: [],
      dispense: { timeoutMs: 3000 },
      rateLimit: { perCredentialPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
      cloud: { url: cloud.url, token: tokenOf(id), zoneFeedWaitMs: 15_000 },
      logLevel: 'error',
    };
    const d = await startDaemon(dir, configs[id]!);
    daemons[id] = d;
    const sim = new DispenserSimulator({ url: `mqtt://127.0.0.1:${d.mqttPort}`, id: 'disp-1', password: 'disp-secret', motorMs: 0, telemetryIntervalMs: 1000, stock: 100 });
    await sim.start();
    sims.push(sim);
  }
  for (const id of IDS) {
    await waitFor(async () => {
      const h = await getJson(daemons[id]!.url, '/v1/health', MAINT);
      const st = h.body.station as { sync?: { zoneFeed?: { lastOkAt: number | null } } } | undefined;
      const devices = h.body.devices as Array<{ state: string }> | undefined;
      return st?.sync?.zoneFeed?.lastOkAt != null && devices?.[0]?.state === 'online';
    }, 30_000, `${id} in its zone with its dispenser online`);
  }
}, 120_000);

afterAll(async () => {
  for (const s of sims) await s.stop().catch(() => {});
  for (const d of Object.values(daemons)) await d.stop();
  await cloud?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('a zone of two station daemons', () => {
  it('honours a check-in at the other daemon and refuses a second bottle there within the propagation time', async () => {
    const credential = await issueCredential(key, { riderId: 'rider-daemons', issuedAtMs: Date.now(), ttlSeconds: 86_400 });
    const [a, b] = [daemons['dn-001']!.url, daemons['dn-002']!.url];
    const status = async () => (await getJson(b, `/v1/riders/status?credential=${encodeURIComponent(credential)}`)).body;
    expect((await post(a, '/v1/checkins', { credential })).status).toBe(201);
    await waitFor(async () => (await status()).window != null, 5000, 'the window at dn-002');
    expect((await post(b, '/v1/checkins', { credential })).body).toMatchObject({ status: 'already_checked_in', station: 'dn-001' });

    expect((await post(a, '/v1/claims', { credential, compartment: 'hot' })).status).toBe(201);
    const t0 = Date.now();
    await waitFor(async () => (await status()).claimedAt === 'dn-001', 5000, 'the claim at dn-002');
    expect(Date.now() - t0).toBeLessThan(2000);
    const refused = await post(b, '/v1/claims', { credential, compartment: 'cold' });
    expect([refused.status, refused.body.error, refused.body.station]).toEqual([409, 'already_claimed_today', 'dn-001']);
    expect(sims.map((s) => s.droppedTotal)).toEqual([1, 0]);
    const feed = ((await getJson(b, '/v1/health', MAINT)).body.station as { sync: { zoneFeed: Record<string, unknown> } }).sync.zoneFeed;
    expect(feed).toMatchObject({ active: true, zone: 'daning', consecutiveFailures: 0 });
    expect(typeof feed.cursor).toBe('string');
  }, 60_000);

  it('killed with SIGKILL while catching up, loses no entry, applies none twice and resumes from its stored cursor', async () => {
    const [a, b] = [daemons['dn-001']!, daemons['dn-002']!];
    const feedOf = async (url: string) =>
      ((await getJson(url, '/v1/health', MAINT)).body.station as { sync: { zoneFeed: { factsHeld: number; entriesApplied: number; cursor: string } } }).sync.zoneFeed;
    const boot = (await feedOf(b.url)).factsHeld;
    // dn-002 goes down; dn-001 checks in a crowd meanwhile, and uploads it.
    await b.stop();
    const total = 600;
    const creds = await Promise.all(Array.from({ length: total }, (_, i) => issueCredential(key, { riderId: `rider-daemon-bulk-${i}`, issuedAtMs: Date.now(), ttlSeconds: 86_400 })));
    for (let i = 0; i < total; i += 50) {
      const rs = await Promise.all(creds.slice(i, i + 50).map((credential) => post(a.url, '/v1/checkins', { credential })));
      for (const r of rs) expect(r.status).toBe(201);
    }
    await waitFor(async () => ((await getJson(a.url, '/v1/health', MAINT)).body.station as { sync: { backlog: number } }).sync.backlog === 0, 30_000, 'dn-001 uploaded');

    // dn-002 comes back, catches up in answers of 20 … and is killed part-way.
    const back = await startDaemon(daemonDirs['dn-002']!, configs['dn-002']!);
    await waitFor(async () => (await feedOf(back.url)).factsHeld > boot, 20_000, 'the first answers at dn-002');
    back.child.kill('SIGKILL');
    await new Promise<void>((r) => (back.child.exitCode !== null || back.child.signalCode !== null ? r() : back.child.once('exit', () => r())));
    const db = new Database(join(daemonDirs['dn-002']!, 'data', 'station.db'), { readonly: true });
    const heldAtKill = (db.prepare("SELECT COUNT(*) AS n FROM zone_facts WHERE rider_id LIKE 'rider-daemon-bulk-%'").get() as { n: number }).n;
    const cursorAtKill = (db.prepare('SELECT cursor FROM zone_feed').get() as { cursor: string }).cursor;
    db.close();
    expect(heldAtKill).toBeGreaterThan(0);
    expect(heldAtKill).toBeLessThan(total); // killed mid-feed, not after it

    const again = await startDaemon(daemonDirs['dn-002']!, configs['dn-002']!);
    daemons['dn-002'] = again;
    // It starts from the cursor stored with the last answer it applied.
    await waitFor(async () => (await feedOf(again.url)).factsHeld === boot + total, 30_000, 'the whole backlog at dn-002');
    const feed = await feedOf(again.url);
    expect(feed.entriesApplied).toBe(total - heldAtKill);
    expect(feed.cursor).not.toBe(cursorAtKill);
    const check = new Database(join(daemonDirs['dn-002']!, 'data', 'station.db'), { readonly: true });
    const bulk = check.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT rider_id) AS riders FROM zone_facts WHERE rider_id LIKE 'rider-daemon-bulk-%'").get();
    check.close();
    expect(bulk).toEqual({ n: total, riders: total });
    // And the facts decide: a rider of the crowd is already checked in here.
    expect((await post(again.url, '/v1/checkins', { credential: creds[total - 1]! })).body).toMatchObject({ status: 'already_checked_in', station: 'dn-001' });
  }, 120_000);
});
