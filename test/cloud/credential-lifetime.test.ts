/**
 * The longest credential lifetime (SPEC §4, issue 11 item 9): the cloud never issues longer
 * than `credentials.maxTtlDays` (default ttlDays), sends it with the config pull (§9) as
 * `credentials.maxLifetimeDays`, and a station refuses credentials that live longer — the
 * shorter of the cloud's and its own config's limit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, issueCredential, systemClock, type StationConfigDoc } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { resolveConfig } from '../../edge/config.ts';
import { TrustStore } from '../../edge/api/trust.ts';
import { silentLogger } from '../../edge/log.ts';
import { call } from '../edge/http.ts';
import { startHarness, waitFor, type Harness as StationHarness } from '../helpers/station.ts';
import { tempDir } from '../helpers/tmp.ts';
import { harness, type Harness } from './appHarness.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';

const DAY_S = 86_400;

describe('the cloud issues no credential longer than it tells stations to accept', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const pull = async () =>
    (await h.app.inject({ method: 'GET', url: '/v1/stations/dn-001/config', headers: bearer(TOKENS['dn-001']) })).json() as StationConfigDoc;

  it('defaults to ttlDays: sends 365 and refuses an admin asking for 366 days', async () => {
    h = await harness();
    expect((await pull()).credentials).toEqual({ requireDeviceBound: false, maxLifetimeDays: 365 });
    const rider = (await h.admin('POST', '/v1/riders', { group: 'courier' })).json() as { riderId: string };
    const long = await h.admin('POST', `/v1/riders/${rider.riderId}/credentials`, { ttlDays: 366 });
    expect([long.statusCode, long.json().error]).toEqual([400, 'bad_request']);
    expect(long.json().message).toMatch(/longer than this cloud issues \(365 days/);
    expect((await h.admin('POST', `/v1/riders/${rider.riderId}/credentials`, { ttlDays: 365 })).statusCode).toBe(201);
  });

  it('takes credentials.maxTtlDays as the maximum when it is longer than ttlDays', async () => {
    h = await harness(undefined, { credentials: { ttlDays: 30, maxTtlDays: 90 } });
    expect((await pull()).credentials?.maxLifetimeDays).toBe(90);
    const r = await h.admin('POST', '/v1/riders', { group: 'courier', issueCredential: true, ttlDays: 91 });
    expect(r.statusCode).toBe(400);
    const ok = await h.admin('POST', '/v1/riders', { group: 'courier', issueCredential: true, ttlDays: 90 });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().expiresAt - h.clock.now()).toBeLessThanOrEqual(90 * DAY_S * 1000);
  });
});

describe('a station refuses credentials that outlive the limit', () => {
  let cloud: RunningCloud;
  let s: StationHarness;
  beforeAll(async () => {
    cloud = await startCloud(testConfig(undefined, { credentials: { ttlDays: 30, maxTtlDays: 60 } }), { logger: silent });
    s = await startHarness({ locks: 0, config: { stationId: 'dn-001', cloud: { url: cloud.url, token: TOKENS['dn-001'] } } });
  });
  afterAll(async () => {
    await s?.stop();
    await cloud?.stop();
  });

  it('takes the cloud’s maxLifetimeDays from the config pull, for every key it trusts', async () => {
    await waitFor(() => s.station.trust.counts().cloudSynced, 10_000, 'config pulled');
    const within = await s.credential('r-within', { ttlSeconds: 60 * DAY_S });
    const beyond = await s.credential('r-beyond', { ttlSeconds: 61 * DAY_S });
    expect((await call(s.station.httpUrl, 'POST', '/v1/checkins', { credential: within })).status).toBe(201);
    const refused = await call(s.station.httpUrl, 'POST', '/v1/checkins', { credential: beyond });
    expect([refused.status, refused.body.error]).toEqual([401, 'invalid_credential']);
    expect(String(refused.body.message)).toMatch(/longer than the 60 days/);
  });
});

describe('the station’s own limit', () => {
  it('applies the shorter of its config’s maxLifetimeDays and the cloud’s', async () => {
    const key = await generateSigningKey('station-own');
    const config = resolveConfig(
      {
        stationId: 'dn-test',
        timezone: 'Asia/Shanghai',
        dataDir: './data',
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { host: '127.0.0.1', port: 0 },
        maintenanceTokens: [],
        dispensers: [],
        lockBuses: [],
        credentials: { jwks: { keys: [key.publicJwk] }, revokedRiders: [], maxLifetimeDays: 10 },
      },
      tempDir('waystation-trust-').dir,
    );
    const trust = new TrustStore({ config, clock: systemClock, logger: silentLogger() });
    const of = (days: number) => issueCredential(key, { riderId: `r-${days}`, issuedAtMs: Date.now(), ttlSeconds: days * DAY_S });
    expect((await trust.verifyCredential(await of(10))).ok).toBe(true);
    expect(await trust.verifyCredential(await of(11))).toMatchObject({ ok: false, reason: 'lifetime_too_long' });
    const doc = (maxLifetimeDays?: number): StationConfigDoc => ({
      stationId: 'dn-test',
      jwks: { keys: [] },
      revokedRiders: [],
      quota: { windowDays: 1, claimsPerDay: 1 },
      credentials: { requireDeviceBound: false, ...(maxLifetimeDays ? { maxLifetimeDays } : {}) },
      maintenanceTokens: [],
      devices: [],
    });
    trust.applyCloudConfig(doc(60)); // the station's 10 days still win
    expect(await trust.verifyCredential(await of(11))).toMatchObject({ reason: 'lifetime_too_long' });
    trust.applyCloudConfig(doc(5)); // and a shorter cloud limit wins over them
    expect(await trust.verifyCredential(await of(6))).toMatchObject({ reason: 'lifetime_too_long' });
    trust.applyCloudConfig(doc()); // an older cloud sends none: the station's own applies
    expect((await trust.verifyCredential(await of(10))).ok).toBe(true);
  });
});
