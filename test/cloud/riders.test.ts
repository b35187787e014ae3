import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyCredential, type StationConfigDoc } from '../../protocol/index.ts';
import { bearer, TOKENS } from './helpers.ts';
import { harness, type Harness } from './appHarness.ts';

describe('riders, credentials, keys and the station config (SPEC §4, §9)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  const pullConfig = async (etag?: string) =>
    h.app.inject({
      method: 'GET',
      url: '/v1/stations/dn-001/config',
      headers: { ...bearer(TOKENS['dn-001']), ...(etag ? { 'if-none-match': etag } : {}) },
    });

  async function newRider(): Promise<{ riderId: string; credential: string; kid: string }> {
    const r = await h.admin('POST', '/v1/riders', { group: 'courier', platform: 'meituan', issueCredential: true });
    expect(r.statusCode).toBe(201);
    return r.json();
  }

  it('registers a rider with a group and platform only, and issues a credential stations can verify offline', async () => {
    const { riderId, credential } = await newRider();
    expect(riderId).toMatch(/^r-[0-9a-f]{16}$/);
    const rider = (await h.admin('GET', `/v1/riders/${riderId}`)).json();
    expect(Object.keys(rider).sort()).toEqual(['createdAt', 'group', 'lastCredentialExp', 'platform', 'revokeReason', 'revokedAt', 'riderId', 'withdrawnAt', 'zone']);
    const doc = (await pullConfig()).json() as StationConfigDoc;
    const v = await verifyCredential(credential, { jwks: doc.jwks as never, revokedRiders: doc.revokedRiders, nowMs: h.clock.now() });
    expect(v).toMatchObject({ ok: true, riderId, group: 'courier' });
  });

  it('answers 304 to If-None-Match with the current ETag, and a new ETag when the config changes', async () => {
    const first = await pullConfig();
    expect(first.statusCode).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await pullConfig(etag);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    await h.admin('POST', '/v1/keys/rotate');
    const changed = await pullConfig(etag);
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it('key rotation keeps old credentials verifiable until they expire', async () => {
    const old = await newRider();
    const rotated = (await h.admin('POST', '/v1/keys/rotate')).json();
    expect(rotated.kid).not.toBe(old.kid);
    const fresh = (await h.admin('POST', `/v1/riders/${old.riderId}/credentials`, { ttlDays: 30 })).json();
    expect(fresh.kid).toBe(rotated.kid);
    const doc = (await pullConfig()).json() as StationConfigDoc;
    expect(doc.jwks.keys.map((k) => k.kid).sort()).toEqual([old.kid, rotated.kid].sort());
    for (const c of [old.credential, fresh.credential]) {
      expect(await verifyCredential(c, { jwks: doc.jwks as never, revokedRiders: [], nowMs: h.clock.now() })).toMatchObject({ ok: true });
    }
    // Once everything the old key signed has expired (365 days), it leaves the JWKS.
    h.clock.advance(366 * 86_400_000);
    await h.admin('POST', '/v1/keys/rotate');
    const later = (await pullConfig()).json() as StationConfigDoc;
    expect(later.jwks.keys.map((k) => k.kid)).not.toContain(old.kid);
    const keys = (await h.admin('GET', '/v1/keys')).json().keys;
    expect(keys.find((k: { kid: string }) => k.kid === old.kid)).toMatchObject({ published: false });
  });

  it('revocation appears in the config and stops new credentials', async () => {
    const { riderId, credential } = await newRider();
    const before = await pullConfig();
    const r = await h.admin('POST', `/v1/riders/${riderId}/revoke`, { reason: 'lost phone' });
    expect(r.statusCode).toBe(200);
    const after = await pullConfig(before.headers.etag as string);
    expect(after.statusCode).toBe(200);
    const doc = after.json() as StationConfigDoc;
    expect(doc.revokedRiders).toEqual([riderId]);
    expect(await verifyCredential(credential, { jwks: doc.jwks as never, revokedRiders: doc.revokedRiders, nowMs: h.clock.now() })).toMatchObject({
      ok: false,
      error: 'revoked',
    });
    const refused = await h.admin('POST', `/v1/riders/${riderId}/credentials`, {});
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('revoked');
  });

  it('serves each station its own maintenance token hashes and devices, and no other station’s config', async () => {
    const doc = (await pullConfig()).json() as StationConfigDoc;
    expect(doc).toMatchObject({ stationId: 'dn-001', quota: { windowDays: 7, claimsPerDay: 1 }, devices: [{ id: 'disp-1', kind: 'dispenser' }] });
    expect(doc.maintenanceTokens.map((t) => t.name)).toEqual(['ops-wang']);
    const other = await h.app.inject({ method: 'GET', url: '/v1/stations/dn-002/config', headers: bearer(TOKENS['dn-001']) });
    expect(other.statusCode).toBe(403);
  });

  it('keeps admin routes behind an admin token', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/v1/riders', payload: { group: 'courier' }, headers: bearer(TOKENS['dn-001']) });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({ error: 'unauthorized', message: 'the admin token is not known' });
    expect((await h.app.inject({ method: 'GET', url: '/v1/reports/weekly?week=2026-W48' })).statusCode).toBe(401);
    expect((await h.admin('GET', '/v1/riders/r-0000000000000000')).json().error).toBe('unknown_rider');
    expect((await h.admin('POST', '/v1/riders', { group: 'courier', name: 'Zhang San' })).statusCode).toBe(400);
  });
});
