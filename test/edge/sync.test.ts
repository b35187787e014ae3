/**
 * A station with `cloud` set (SPEC §9, §11): it uploads its log and merges the keys,
 * revocations and maintenance tokens it pulls with its own. The cloud here is a small fastify
 * server speaking the sync contract, so this test does not depend on the cloud's internals.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, issueCredential, type SigningKey, type StationEvent } from '../../protocol/index.ts';
import { deviceListDiff } from '../../edge/api/station-health.ts';
import { call } from './http.ts';
import { sha256, startHarness, waitFor, type Harness } from '../helpers/station.ts';

const STATION_TOKEN = 'station-token-for-sync-test';
let cloud: FastifyInstance;
let cloudKey: SigningKey;
const received: StationEvent[] = [];
let h: Harness;

beforeAll(async () => {
  cloudKey = await generateSigningKey('cloud-key');
  cloud = Fastify();
  cloud.post('/v1/stations/:id/events', async (req, reply) => {
    if (req.headers.authorization !== `Bearer ${STATION_TOKEN}`) return reply.code(401).send({ error: 'unauthorized', message: 'x' });
    const { events } = req.body as { events: StationEvent[] };
    const last = received.at(-1)?.seq ?? 0;
    for (const e of events) if (e.seq === (received.at(-1)?.seq ?? 0) + 1) received.push(e);
    if (events[0] && events[0].seq > last + 1) return reply.code(409).send({ error: 'gap', expectedSeq: last + 1 });
    return { ackedSeq: received.at(-1)?.seq ?? 0 };
  });
  cloud.get('/v1/stations/:id/config', async (_req, reply) =>
    reply.header('etag', '"v1"').send({
      stationId: 'dn-test',
      jwks: { keys: [cloudKey.publicJwk] },
      revokedRiders: ['rider-revoked-by-cloud'],
      quota: { windowDays: 7, claimsPerDay: 1 },
      maintenanceTokens: [{ name: 'cloud-ops', sha256: sha256('cloud-maintenance-token') }],
      // The cloud knows the harness's dispenser, expects a second one, and does not list the rest.
      devices: [
        { id: 'disp-1', kind: 'dispenser' },
        { id: 'disp-9', kind: 'dispenser' },
      ],
    }),
  );
  await cloud.listen({ host: '127.0.0.1', port: 0 });
  const port = (cloud.server.address() as { port: number }).port;
  h = await startHarness({ locks: 0, config: { cloud: { url: `http://127.0.0.1:${port}`, token: STATION_TOKEN } } });
});

afterAll(async () => {
  await h?.stop();
  await cloud?.close();
});

describe('station with a cloud', () => {
  it('uploads its events in order until the cloud has acknowledged the head', async () => {
    const credential = await h.credential('rider-sync');
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    await waitFor(() => h.station.ledger.ackedSeq() === h.station.ledger.head().seq, 10_000, 'cloud acknowledged the head');
    expect(received.map((e) => e.seq)).toEqual(received.map((_, i) => i + 1));
    expect(received.some((e) => e.type === 'checkin' && e.data.riderId === 'rider-sync')).toBe(true);
  });

  it('trusts the keys and maintenance tokens it pulled and refuses the riders the cloud revoked', async () => {
    await waitFor(() => h.station.trust.counts().cloudSynced, 10_000, 'config pulled');
    const fromCloud = await issueCredential(cloudKey, { riderId: 'rider-cloud-key', issuedAtMs: Date.now(), ttlSeconds: 600 });
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: fromCloud })).status).toBe(201);
    const revoked = await issueCredential(cloudKey, { riderId: 'rider-revoked-by-cloud', issuedAtMs: Date.now(), ttlSeconds: 600 });
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: revoked })).body.error).toBe('revoked');
    const health = await call(h.station.httpUrl, 'GET', '/v1/health', undefined, { token: 'cloud-maintenance-token' });
    expect(health.status).toBe(200);
    const station = health.body.station as { sync: Record<string, unknown>; faults: string[] };
    expect(station.sync).toMatchObject({ configured: true, uploader: expect.any(Object) });
    // The device list the cloud holds for this station is compared with what it drives.
    const local = (health.body.devices as { id: string }[]).map((d) => d.id).filter((id) => id !== 'disp-1').sort();
    expect(station.sync.deviceList).toEqual({ missingHere: ['disp-9'], notListed: local, kindDiffers: [] });
    expect(station.faults).toContain('device_list_mismatch');
  });

  it('compares device lists by id and kind, and has no opinion when the cloud lists none', () => {
    const local = [
      { id: 'disp-1', kind: 'dispenser' },
      { id: 'lockboard-1', kind: 'lockboard' },
      { id: 'scanner', kind: 'scanner' },
    ];
    expect(deviceListDiff([], local)).toBeNull();
    expect(deviceListDiff(undefined, local)).toBeNull();
    expect(deviceListDiff(local, local)).toEqual({ missingHere: [], notListed: [], kindDiffers: [] });
    expect(deviceListDiff([{ id: 'disp-1', kind: 'lockboard' }, { id: 'disp-2', kind: 'dispenser' }], local)).toEqual({
      missingHere: ['disp-2'],
      notListed: ['lockboard-1', 'scanner'],
      kindDiffers: ['disp-1'],
    });
  });
});
