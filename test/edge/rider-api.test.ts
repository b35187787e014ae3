/**
 * The rider API of SPEC §8 against a whole station in-process (port 0) with the dispenser
 * simulator over MQTT and the lock-board simulator on a mock serial line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, issueCredential } from '../../protocol/index.ts';
import { call } from './http.ts';
import { ledgerSnapshot, startHarness, waitFor, type Harness } from '../helpers/station.ts';

let h: Harness;
const post = (path: string, body?: unknown, opts?: Parameters<typeof call>[4]) => call(h.station.httpUrl, 'POST', path, body, opts);
const get = (path: string) => call(h.station.httpUrl, 'GET', path);

beforeAll(async () => {
  h = await startHarness({ config: { rateLimit: { perCredentialPerMinute: 1000, perAddressPerMinute: 100_000 } } });
});
afterAll(async () => {
  await h?.stop();
});

/** Run `fn` and expect the ledger (head seq and every table's row count) unchanged. */
async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
  const before = ledgerSnapshot(h.station);
  const r = await fn();
  expect(ledgerSnapshot(h.station)).toEqual(before);
  return r;
}

describe('check-in (POST /v1/checkins)', () => {
  it('opens a seven-day window with 201, then answers 200 already_checked_in without writing again', async () => {
    const credential = await h.credential('rider-checkin');
    const first = await post('/v1/checkins', { credential });
    expect(first.status).toBe(201);
    expect(first.body.riderId).toBe('rider-checkin');
    const w = first.body.window as { from: string; to: string };
    expect(w.from).toBe(h.station.ledger.serviceDay());
    expect((Date.parse(w.to) - Date.parse(w.from)) / 86_400_000).toBe(6);
    const second = await unchanged(() => post('/v1/checkins', { credential }));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'already_checked_in', riderId: 'rider-checkin', window: w });
  });
});

describe('claims (POST /v1/claims)', () => {
  it('gives one cold bottle after check-in and refuses a second the same day with 409 and the window', async () => {
    const credential = await h.credential('rider-cold');
    await post('/v1/checkins', { credential });
    const dropsBefore = h.dispenser!.droppedTotal;
    const r = await post('/v1/claims', { credential, compartment: 'cold' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'committed', day: h.station.ledger.serviceDay() });
    expect(h.dispenser!.droppedFor(r.body.claimId as string)).toBe(1);
    const again = await unchanged(() => post('/v1/claims', { credential, compartment: 'hot' }));
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('already_claimed_today');
    expect(again.body.window).toMatchObject({ from: expect.any(String), to: expect.any(String) });
    expect(h.dispenser!.droppedTotal).toBe(dropsBefore + 1);
  });

  it('refuses a rider who has not checked in with 403 not_checked_in and records nothing', async () => {
    const credential = await h.credential('rider-no-checkin');
    const r = await unchanged(() => post('/v1/claims', { credential, compartment: 'hot' }));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: 'not_checked_in', message: expect.any(String) });
  });

  it('answers 502 dispense_failed when the dispenser jams, and gives the quota back', async () => {
    const credential = await h.credential('rider-jam');
    await post('/v1/checkins', { credential });
    h.dispenser!.failNext('jam');
    const r = await post('/v1/claims', { credential, compartment: 'hot' });
    expect(r.status).toBe(502);
    expect(r.body.error).toBe('dispense_failed');
    expect(h.station.quota.getClaim(r.body.claimId as string)?.status).toBe('released');
    const retry = await post('/v1/claims', { credential, compartment: 'hot' });
    expect(retry.status).toBe(201);
  });

  it('answers 504 dispense_unknown when no final answer comes in time, and keeps the quota held', async () => {
    const credential = await h.credential('rider-late');
    await post('/v1/checkins', { credential });
    h.dispenser!.failNext('late_event');
    const r = await post('/v1/claims', { credential, compartment: 'cold' });
    expect(r.status).toBe(504);
    expect(r.body.error).toBe('dispense_unknown');
    const claimId = r.body.claimId as string;
    const again = await post('/v1/claims', { credential, compartment: 'cold' });
    expect(again.status).toBe(409);
    // The late report settles the claim: the bottle did drop.
    await waitFor(() => h.station.quota.getClaim(claimId)?.status === 'committed', 5000, 'late report');
  });

  it('answers 503 out_of_stock when the chosen compartment is empty', async () => {
    const credential = await h.credential('rider-stock');
    await post('/v1/checkins', { credential });
    h.dispenser!.setStock('hot', 0);
    await waitFor(() => h.station.claims.availability()[0]?.stock.hot === 0, 5000, 'telemetry with empty hot');
    const r = await unchanged(() => post('/v1/claims', { credential, compartment: 'hot' }));
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('out_of_stock');
    h.dispenser!.setStock('hot', 40);
    await waitFor(() => h.station.claims.availability()[0]?.stock.hot === 40, 5000, 'telemetry restocked');
  });

  it('answers 503 dispenser_unavailable while the only dispenser is out of service', async () => {
    const credential = await h.credential('rider-oos');
    await post('/v1/checkins', { credential });
    h.station.health.setService('disp-1', false, 'test');
    try {
      const r = await unchanged(() => post('/v1/claims', { credential, compartment: 'cold' }));
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('dispenser_unavailable');
    } finally {
      h.station.health.setService('disp-1', true, 'test');
    }
  });
});

describe('credentials (SPEC §4) on every rider route', () => {
  const routes: Array<[string, string, (c: string) => unknown]> = [
    ['POST', '/v1/checkins', (c) => ({ credential: c })],
    ['POST', '/v1/claims', (c) => ({ credential: c, compartment: 'cold' })],
    ['POST', '/v1/lockers/deposit', (c) => ({ credential: c })],
    ['POST', '/v1/lockers/retrieve', (c) => ({ credential: c })],
    ['GET', '/v1/riders/status', () => undefined],
  ];
  const send = (method: string, path: string, body: (c: string) => unknown, credential: string) =>
    method === 'GET' ? get(`${path}?credential=${encodeURIComponent(credential)}`) : post(path, body(credential));

  it('refuses a credential signed by a key the station does not trust with 401 invalid_credential', async () => {
    const stranger = await generateSigningKey('test-key-1'); // same kid, other key: a forgery
    const forged = await issueCredential(stranger, { riderId: 'rider-forged', issuedAtMs: Date.now(), ttlSeconds: 600 });
    for (const [m, p, b] of routes) {
      const r = await unchanged(() => send(m, p, b, forged));
      expect([p, r.status, r.body.error]).toEqual([p, 401, 'invalid_credential']);
    }
  });

  it('refuses a tampered or garbage code with 401 invalid_credential', async () => {
    const good = await h.credential('rider-tamper');
    const [head, , sig] = good.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'someone-else', iat: 1, exp: 4_000_000_000 })).toString('base64url');
    for (const code of [`${head}.${payload}.${sig}`, 'not-a-jwt', 'a.b.c']) {
      for (const [m, p, b] of routes) {
        const r = await unchanged(() => send(m, p, b, code));
        expect([p, r.status, r.body.error]).toEqual([p, 401, 'invalid_credential']);
      }
    }
  });

  it('refuses an expired credential with 401 expired_credential', async () => {
    const expired = await h.credential('rider-expired', { issuedAtMs: Date.now() - 7_200_000, ttlSeconds: 3600 });
    for (const [m, p, b] of routes) {
      const r = await unchanged(() => send(m, p, b, expired));
      expect([p, r.status, r.body.error]).toEqual([p, 401, 'expired_credential']);
    }
  });

  it('refuses a revoked rider with 403 revoked', async () => {
    const revoked = await h.credential('rider-revoked');
    for (const [m, p, b] of routes) {
      const r = await unchanged(() => send(m, p, b, revoked));
      expect([p, r.status, r.body.error]).toEqual([p, 403, 'revoked']);
    }
  });

  it('accepts keys and refuses revocations synced from the cloud, merged with the local ones', async () => {
    const cloudKey = await generateSigningKey('cloud-key-2');
    h.station.trust.applyCloudConfig({
      stationId: 'dn-test',
      jwks: { keys: [cloudKey.publicJwk as { kty: string }] },
      revokedRiders: ['rider-cloud-revoked'],
      quota: { windowDays: 7, claimsPerDay: 1 },
      maintenanceTokens: [],
      devices: [],
    });
    const fromCloud = await issueCredential(cloudKey, { riderId: 'rider-cloud', issuedAtMs: Date.now(), ttlSeconds: 600 });
    expect((await post('/v1/checkins', { credential: fromCloud })).status).toBe(201);
    expect((await post('/v1/checkins', { credential: await h.credential('rider-local') })).status).toBe(201);
    const revoked = await issueCredential(cloudKey, { riderId: 'rider-cloud-revoked', issuedAtMs: Date.now(), ttlSeconds: 600 });
    expect((await post('/v1/checkins', { credential: revoked })).body.error).toBe('revoked');
    expect((await post('/v1/checkins', { credential: await h.credential('rider-revoked') })).body.error).toBe('revoked');
  });
});

describe('bad input is refused and changes nothing', () => {
  it('answers malformed JSON with 400 bad_request', async () => {
    for (const path of ['/v1/checkins', '/v1/claims', '/v1/lockers/deposit', '/v1/lockers/retrieve']) {
      const r = await unchanged(() => post(path, undefined, { raw: '{"credential": "abc",' }));
      expect([path, r.status, r.body.error]).toEqual([path, 400, 'bad_request']);
    }
  });

  it('answers wrong types, missing and unknown fields with 400 bad_request', async () => {
    const credential = await h.credential('rider-types');
    await post('/v1/checkins', { credential });
    const bad: Array<[string, unknown]> = [
      ['/v1/checkins', { credential: 42 }],
      ['/v1/checkins', {}],
      ['/v1/checkins', { credential, extra: true }],
      ['/v1/checkins', [credential]],
      ['/v1/checkins', 'just a string'],
      ['/v1/claims', { credential, compartment: 'warm' }],
      ['/v1/claims', { credential, compartment: 1 }],
      ['/v1/claims', { credential }],
      ['/v1/lockers/deposit', { credential: null }],
      ['/v1/lockers/retrieve', { credential: '' }],
    ];
    for (const [path, body] of bad) {
      const r = await unchanged(() => post(path, body));
      expect([path, body, r.status, r.body.error]).toEqual([path, body, 400, 'bad_request']);
      expect(typeof r.body.message).toBe('string');
    }
    const q = await unchanged(() => get('/v1/riders/status'));
    expect([q.status, q.body.error]).toEqual([400, 'bad_request']);
  });

  it('answers an empty body and a body that is not JSON with 400 and 415', async () => {
    const empty = await unchanged(() => post('/v1/checkins', undefined, { raw: '' }));
    expect([empty.status, empty.body.error]).toEqual([400, 'bad_request']);
    const form = await unchanged(() => post('/v1/checkins', undefined, { raw: 'credential=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect([form.status, form.body.error]).toEqual([415, 'unsupported_media_type']);
  });

  it('answers a body over the size limit with 413 payload_too_large', async () => {
    const huge = JSON.stringify({ credential: 'x'.repeat(h.config.bodyLimitBytes + 10) });
    for (const path of ['/v1/checkins', '/v1/claims', '/v1/lockers/deposit']) {
      const r = await unchanged(() => post(path, undefined, { raw: huge }));
      expect([path, r.status, r.body.error]).toEqual([path, 413, 'payload_too_large']);
    }
    const tooLongCredential = await unchanged(() => post('/v1/checkins', { credential: 'x'.repeat(5000) }));
    expect(tooLongCredential.status).toBe(400);
  });

  it('answers an unknown route with 404 not_found in the error shape', async () => {
    const r = await get('/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: 'not_found', message: expect.any(String) });
  });
});

describe('lockers (POST /v1/lockers/deposit, /retrieve)', () => {
  it('deposits into a free compartment (201), refuses a second deposit (409), and retrieves the same one (200)', async () => {
    const credential = await h.credential('rider-locker');
    const d = await post('/v1/lockers/deposit', { credential });
    expect(d.status).toBe(201);
    const compartment = d.body.compartment as string;
    expect(compartment).toMatch(/^1-\d+$/);
    const twice = await post('/v1/lockers/deposit', { credential });
    expect([twice.status, twice.body.error, twice.body.compartment]).toEqual([409, 'locker_already_held', compartment]);
    await waitFor(() => h.board!.door(1, Number(compartment.split('-')[1])) === 'closed', 3000, 'door shut by the rider');
    const r = await post('/v1/lockers/retrieve', { credential });
    expect([r.status, r.body.compartment]).toEqual([200, compartment]);
    const none = await unchanged(() => post('/v1/lockers/retrieve', { credential }));
    expect([none.status, none.body.error]).toEqual([404, 'no_locker_held']);
  });

  it('answers 503 no_free_compartment when every compartment is held', async () => {
    const riders = await Promise.all([1, 2, 3, 4].map((i) => h.credential(`rider-full-${i}`)));
    await waitFor(() => h.station.lockers.compartments().every((c) => c.state === 'free'), 5000, 'all compartments free');
    for (const credential of riders) expect((await post('/v1/lockers/deposit', { credential })).status).toBe(201);
    const late = await h.credential('rider-full-5');
    const r = await post('/v1/lockers/deposit', { credential: late });
    expect([r.status, r.body.error]).toEqual([503, 'no_free_compartment']);
    for (const credential of riders) {
      await waitFor(() => h.station.lockers.compartments().every((c) => c.door !== 'open'), 3000, 'doors shut');
      expect((await post('/v1/lockers/retrieve', { credential })).status).toBe(200);
    }
  });

  it('answers 503 locker_unavailable while the lock board does not answer, and the holding survives', async () => {
    const credential = await h.credential('rider-board-down');
    await waitFor(() => h.station.lockers.compartments().some((c) => c.state === 'free' && c.door === 'closed'), 5000, 'a free compartment');
    const d = await post('/v1/lockers/deposit', { credential });
    expect(d.status).toBe(201);
    await waitFor(() => h.station.lockers.compartments().every((c) => c.door !== 'open'), 3000, 'doors shut');
    h.board!.inject(1, 'offline');
    try {
      await waitFor(() => !h.station.health.usable('lockboard-1'), 5000, 'board offline');
      const r = await post('/v1/lockers/retrieve', { credential });
      expect([r.status, r.body.error]).toEqual([503, 'locker_unavailable']);
      const other = await post('/v1/lockers/deposit', { credential: await h.credential('rider-board-down-2') });
      expect([other.status, other.body.error]).toEqual([503, 'locker_unavailable']);
    } finally {
      h.board!.clear(1, 'offline');
    }
    await waitFor(() => h.station.health.usable('lockboard-1'), 8000, 'board back');
    const r = await post('/v1/lockers/retrieve', { credential });
    expect([r.status, r.body.compartment]).toEqual([200, d.body.compartment]);
  });
});

describe('rider status (GET /v1/riders/status)', () => {
  it('shows the window, whether today is taken, and the held compartment', async () => {
    const credential = await h.credential('rider-status');
    const q = `/v1/riders/status?credential=${encodeURIComponent(credential)}`;
    expect((await get(q)).body).toMatchObject({ window: null, claimedToday: false, locker: null });
    await post('/v1/checkins', { credential });
    await post('/v1/claims', { credential, compartment: 'cold' });
    await waitFor(() => h.station.lockers.compartments().some((c) => c.state === 'free' && c.door === 'closed'), 5000, 'a free compartment');
    const dep = await post('/v1/lockers/deposit', { credential });
    const s = await get(q);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ window: { from: expect.any(String), to: expect.any(String) }, claimedToday: true, locker: { compartment: dep.body.compartment } });
  });
});

describe('ledger failure', () => {
  it('answers 503 ledger_unavailable and never dispenses when the ledger cannot write', async () => {
    const credential = await h.credential('rider-disk-full');
    await post('/v1/checkins', { credential });
    const drops = h.dispenser!.droppedTotal;
    h.station.ledger.db.pragma('query_only = ON');
    try {
      const c = await post('/v1/claims', { credential, compartment: 'cold' });
      expect([c.status, c.body.error]).toEqual([503, 'ledger_unavailable']);
      const k = await post('/v1/checkins', { credential: await h.credential('rider-disk-full-2') });
      expect([k.status, k.body.error]).toEqual([503, 'ledger_unavailable']);
    } finally {
      h.station.ledger.db.pragma('query_only = OFF');
    }
    expect(h.dispenser!.droppedTotal).toBe(drops);
    expect((await post('/v1/claims', { credential, compartment: 'cold' })).status).toBe(201);
  });
});
