/**
 * The station takes rotating codes (SPEC §14) on its HTTP API (SPEC §8) — what the kiosk sends
 * for a scanned code — and applies the cloud's credential policy from the config pull (§9).
 * A real station (harness) whose wall clock the test moves, and a real cloud.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceJwkOf, issueCredential, rotatingStep, signRotatingCode, type DeviceJwk } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, silent, testConfig, TOKENS } from '../cloud/helpers.ts';
import { JumpableClock } from '../helpers/clock.ts';
import { call } from '../edge/http.ts';
import { ledgerSnapshot, startHarness, waitFor, type Harness } from '../helpers/station.ts';

function phone(): { key: KeyObject; jwk: DeviceJwk } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { key: privateKey, jwk: deviceJwkOf(publicKey.export({ format: 'jwk' }))! };
}

describe('rotating codes at the station', () => {
  let h: Harness;
  const clock = new JumpableClock();
  beforeAll(async () => {
    h = await startHarness({ locks: 0, station: { clock } });
  });
  afterAll(async () => h?.stop());

  const bound = (riderId: string, jwk: DeviceJwk) =>
    issueCredential(h.key, { riderId, issuedAtMs: Date.now(), ttlSeconds: 86_400, deviceJwk: jwk });

  it('checks in and gives water on a rotating code; the same code ~95 s later is stale_code; a fresh one works', async () => {
    const p = phone();
    const credential = await bound('r-aaaaaaaaaaaaaaaa', p.jwk);
    const shown = signRotatingCode(credential, rotatingStep(clock.now()), p.key);
    const checkin = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: shown });
    expect([checkin.status, checkin.body.riderId]).toEqual([201, 'r-aaaaaaaaaaaaaaaa']);
    const claim = await call(h.station.httpUrl, 'POST', '/v1/claims', { credential: shown, compartment: 'cold' });
    expect(claim.status).toBe(201);

    clock.offsetMs += 95_000;
    const before = ledgerSnapshot(h.station);
    const stale = await call(h.station.httpUrl, 'GET', `/v1/riders/status?credential=${encodeURIComponent(shown)}`);
    expect([stale.status, stale.body.error]).toEqual([401, 'stale_code']);
    expect(String(stale.body.message)).toMatch(/show the code on your phone again/);
    expect(ledgerSnapshot(h.station)).toEqual(before);

    const fresh = signRotatingCode(credential, rotatingStep(clock.now()), p.key);
    const status = await call(h.station.httpUrl, 'GET', `/v1/riders/status?credential=${encodeURIComponent(fresh)}`);
    expect([status.status, status.body.claimedToday]).toEqual([200, true]);
  });

  it('refuses a bare device-bound credential, a forged signature and another phone’s signature as invalid_credential', async () => {
    const p = phone();
    const credential = await bound('r-bbbbbbbbbbbbbbbb', p.jwk);
    const step = rotatingStep(clock.now());
    const good = signRotatingCode(credential, step, p.key);
    const forged = good.slice(0, -2) + (good.endsWith('AA') ? 'QA' : 'AA');
    const before = ledgerSnapshot(h.station);
    for (const code of [credential, forged, signRotatingCode(credential, step, phone().key)]) {
      const r = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: code });
      expect([r.status, r.body.error]).toEqual([401, 'invalid_credential']);
    }
    const future = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: signRotatingCode(credential, step + 100, p.key) });
    expect([future.status, future.body.error]).toEqual([401, 'stale_code']);
    expect(ledgerSnapshot(h.station)).toEqual(before);
  });

  it('still takes a static credential (a printed card) when the policy allows it', async () => {
    const r = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: await h.credential('r-cccccccccccccccc') });
    expect(r.status).toBe(201);
  });
});

describe('credential policy through the config pull', () => {
  let cloud: RunningCloud;
  let h: Harness;
  beforeAll(async () => {
    cloud = await startCloud(testConfig(undefined, { credentials: { requireDeviceBound: true } }), { logger: silent });
    h = await startHarness({ locks: 0, config: { stationId: 'dn-001', cloud: { url: cloud.url, token: TOKENS['dn-001'] } } });
  });
  afterAll(async () => {
    await h?.stop();
    await cloud?.stop();
  });

  it('sends requireDeviceBound to the station, which then refuses static codes and takes rotating ones', async () => {
    const doc = await fetch(`${cloud.url}/v1/stations/dn-001/config`, { headers: bearer(TOKENS['dn-001']) }).then((r) => r.json());
    expect(doc.credentials).toEqual({ requireDeviceBound: true, maxLifetimeDays: 365 });
    await waitFor(() => h.station.trust.counts().cloudSynced, 10_000, 'config pulled');

    const res = await fetch(`${cloud.url}/v1/riders`, {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ group: 'courier', issueCredential: true }),
    });
    const card = (await res.json()) as { credential: string };
    const refused = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: card.credential });
    expect([refused.status, refused.body.error]).toEqual([401, 'invalid_credential']);
    expect(String(refused.body.message)).toMatch(/changing code/);

    const p = phone();
    const credential = await issueCredential(h.key, { riderId: 'r-dddddddddddddddd', issuedAtMs: Date.now(), ttlSeconds: 3600, deviceJwk: p.jwk });
    const ok = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential: signRotatingCode(credential, rotatingStep(Date.now()), p.key) });
    expect(ok.status).toBe(201);
  });
});
