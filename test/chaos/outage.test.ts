/**
 * Cloud outage (issue 6, SPEC §9 "a station offline for a week syncs its whole backlog on
 * reconnect"; "nothing is deleted at the edge before the cloud acknowledged it"): a station
 * syncing to a real cloud; the cloud process is stopped for a simulated week while riders check
 * in, claim and use lockers (the station's ManualClock is advanced day by day; the devices run
 * in real time), then started again on the same port and data. A second, short outage hits in
 * the middle of the backlog upload. Afterwards every event arrives exactly once: the cloud holds
 * seqs 1..n for the station, no duplicates, each with the ledger's hash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseCloudConfig, type CloudConfig } from '../../cloud/config.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { ManualClock } from '../../protocol/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { post, rng, sha256, sleep, startRig, waitFor, type Rig } from './rig.ts';
import { scaled, summary } from './scale.ts';

const STATION_TOKEN = 'chaos-station-token-0123456789';
const START_MS = Date.parse('2026-11-23T01:00:00Z'); // Monday 09:00 in Shanghai
const DAY_MS = 86_400_000;

let cloudConfig: CloudConfig;
let cloud: RunningCloud | undefined;
let rig: Rig;
const clock = new ManualClock(START_MS);
const cloudDir = tempDir('waystation-chaos-cloud-');
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  cloudConfig = parseCloudConfig(
    {
      http: { host: '127.0.0.1', port: 0 },
      dataDir: cloudDir.dir,
      stations: [{ id: 'dn-chaos', tokenSha256: sha256(STATION_TOKEN), timezone: 'Asia/Shanghai', zone: 'daning' }],
      adminTokens: [{ name: 'street-office', sha256: sha256('chaos-admin') }],
      logLevel: 'silent',
    },
    { baseDir: cloudDir.dir },
  );
  cloud = await startCloud(cloudConfig, { logger: silent });
  rig = await startRig({ clock, boards: 1, locks: 12, config: { cloud: { url: cloud.url, token: STATION_TOKEN } } });
});
afterAll(async () => {
  await rig?.stop();
  await cloud?.stop();
  cloudDir.cleanup();
});

describe('cloud outage', () => {
  it('delivers every event exactly once after a week without the cloud', async () => {
    const riders = scaled(150, 25);
    const seed = 20261126;
    const r = rng(seed);
    const base = rig.station.httpUrl;
    const ledger = rig.station.ledger;
    const uploader = rig.station.uploader!;
    const creds = await Promise.all(Array.from({ length: riders }, (_, i) => rig.credential(`rider-week-${i}`)));
    const tally = { checkins: 0, claims: 0, deposits: 0, retrieves: 0, refused: 0 };
    const holding = new Set<number>();

    /** One service day: heartbeats and every rider's visit. */
    const serveDay = async () => {
      rig.dispenser!.publishTelemetry();
      await waitFor(() => rig.station.health.usable('disp-1'), 10_000, 'dispenser usable after the day changed');
      rig.station.jobs.heartbeat();
      const order = creds.map((_, i) => i).sort(() => r() - 0.5);
      for (const i of order) {
        if (r() < 0.15) continue; // not every rider comes every day
        const credential = creds[i]!;
        const c = await post(base, '/v1/checkins', { credential });
        if (c.status === 201) tally.checkins++;
        const k = await post(base, '/v1/claims', { credential, compartment: r() < 0.5 ? 'hot' : 'cold' });
        if (k.status === 201) tally.claims++;
        else if (k.status !== 409) tally.refused++;
        if (r() < 0.3) {
          const path = holding.has(i) ? '/v1/lockers/retrieve' : '/v1/lockers/deposit';
          const l = await post(base, path, { credential });
          if (l.status === 201) (tally.deposits++, holding.add(i));
          else if (l.status === 200) (tally.retrieves++, holding.delete(i));
          else tally.refused++;
        }
      }
      rig.station.jobs.heartbeat();
    };

    // Day 0 with the cloud up: everything acknowledged.
    await serveDay();
    await waitFor(() => ledger.ackedSeq() === ledger.head().seq, 30_000, 'day 0 synced');
    const ackedBeforeOutage = ledger.ackedSeq();

    // The cloud goes down for a simulated week.
    const port = cloud!.port;
    await cloud!.stop();
    cloud = undefined;
    for (let day = 1; day <= 7; day++) {
      clock.advance(DAY_MS);
      await serveDay();
    }
    const backlog = ledger.backlog();
    const status = uploader.status();
    expect(ledger.ackedSeq()).toBe(ackedBeforeOutage);
    expect(status.lastError?.code).toBe('unreachable');
    expect(backlog).toBeGreaterThan(0);

    // The cloud comes back on the same port and data; a second outage cuts the upload short.
    const config = { ...cloudConfig, http: { ...cloudConfig.http, port } };
    cloud = await startCloud(config, { logger: silent });
    await waitFor(() => ledger.ackedSeq() > ackedBeforeOutage, 120_000, 'upload under way');
    const cutAt = ledger.ackedSeq();
    const midBacklog = cutAt < ledger.head().seq;
    await cloud.stop();
    await sleep(500);
    cloud = await startCloud(config, { logger: silent });
    await waitFor(() => ledger.ackedSeq() === ledger.head().seq, 180_000, 'backlog synced');

    // Compare the cloud's copy with the ledger, event by event.
    const local = ledger.eventsAfter(0, 1_000_000);
    const head = local.length;
    await waitFor(async () => (await cloud!.store.countEvents('dn-chaos')) >= head, 10_000, 'cloud holds the head');
    const remote = (await cloud.store.eventsAfter('dn-chaos', 0, 1_000_000)).slice(0, head);
    const remoteCount = await cloud.store.countEvents('dn-chaos');
    const seqs = remote.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(local.map((e) => e.seq));
    expect(seqs[0]).toBe(1);
    expect(seqs[seqs.length - 1]).toBe(head);
    const hashMismatches = remote.filter((e, i) => e.hash !== local[i]!.hash).length;
    expect(hashMismatches).toBe(0);
    expect(remoteCount).toBe(ledger.head().seq);
    expect(ledger.verifyStoredChain().ok).toBe(true);

    summary('cloud outage', {
      simulatedDays: 7,
      riders,
      checkins: tally.checkins,
      claimsCommitted: tally.claims,
      lockerOps: tally.deposits + tally.retrieves,
      backlogAtReturn: backlog,
      uploadCutMidBacklog: midBacklog ? `yes (at seq ${cutAt})` : 'no (backlog went in one batch)',
      eventsInLedger: head,
      eventsInCloud: remoteCount,
      duplicates: seqs.length - new Set(seqs).size,
      hashMismatches,
      seed: String(seed),
    });
  });
});
