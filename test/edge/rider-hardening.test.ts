/**
 * Riders and pages that are not the kiosk (issue 11): the rate limit follows the verified rider,
 * the limiter forgets its oldest key when full, rider routes answer only the kiosk, one rider's
 * locker actions are spaced, the station answers only under its own host names, and nothing it
 * serves can be framed or sniffed. A real station with the lock-board simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import { FixedWindowLimiter } from '../../edge/api/limiter.ts';
import { getWithHost } from '../helpers/hostile.ts';
import { call } from './http.ts';
import { ledgerSnapshot, sha256, startHarness, type Harness } from '../helpers/station.ts';

const KIOSK_TOKEN = 'kiosk-screen-token-0123456789abcdef';

describe('rider limits and kiosk scope', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      dispenser: false,
      config: {
        rateLimit: { perCredentialPerMinute: 3, perAddressPerMinute: 10_000 },
        lockers: { pollIntervalMs: 100, riderCooldownMs: 1500 },
      },
    });
  });
  afterAll(() => h?.stop());
  const post = (path: string, body: unknown, headers?: Record<string, string>) => call(h.station.httpUrl, 'POST', path, body, headers ? { headers } : {});

  it('limits by the verified rider: the same code with spaces around it gets no fresh answers', async () => {
    const credential = await h.credential('rider-padded');
    for (let i = 0; i < 3; i++) expect((await post('/v1/checkins', { credential })).status).toBeLessThan(300);
    for (const padded of [`  ${credential}`, `${credential}\n`, `\t${credential} `]) {
      expect((await post('/v1/checkins', { credential: padded })).body.error).toBe('rate_limited');
    }
    // A second code of the same rider (another card) counts against the same rider.
    expect((await post('/v1/checkins', { credential: await h.credential('rider-padded') })).body.error).toBe('rate_limited');
  });

  it('spaces one rider’s locker actions: a second door within riderCooldownMs gets 429 too_soon', async () => {
    const credential = await h.credential('rider-doors');
    expect((await post('/v1/lockers/deposit', { credential })).status).toBe(201);
    const before = ledgerSnapshot(h.station);
    const again = await post('/v1/lockers/retrieve', { credential });
    expect([again.status, again.body.error]).toEqual([429, 'too_soon']);
    expect(ledgerSnapshot(h.station)).toEqual(before);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await post('/v1/lockers/retrieve', { credential })).status).toBe(200);
  });

  it('answers the kiosk page and rider API only under the station’s own host names, not a rebound one', async () => {
    const port = new URL(h.station.httpUrl).port;
    expect((await getWithHost(`${h.station.httpUrl}/v1/kiosk/info`, `127.0.0.1:${port}`)).status).toBe(200);
    expect((await getWithHost(`${h.station.httpUrl}/v1/kiosk/info`, `localhost:${port}`)).status).toBe(200);
    for (const path of ['/', '/v1/kiosk/events', '/v1/kiosk/info']) {
      const r = await getWithHost(`${h.station.httpUrl}${path}`, `attacker.example:${port}`);
      expect([r.status, JSON.parse(r.body).error], path).toEqual([403, 'forbidden_host']);
    }
    // Maintenance and liveness use bearer tokens or nothing: any name may reach them.
    expect((await getWithHost(`${h.station.httpUrl}/healthz`, 'station-7.lan')).status).toBe(200);
  });

  it('says no page may frame it and no type may be sniffed', async () => {
    for (const path of ['/', '/kiosk/kiosk.js', '/v1/kiosk/info']) {
      const r = await call(h.station.httpUrl, 'GET', path);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
    }
    expect((await call(h.station.httpUrl, 'GET', '/')).headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('rider routes away from the kiosk', () => {
  let h: Harness;
  beforeAll(async () => {
    // The kiosk is a separate screen at 10.9.9.9; this test runs from 127.0.0.1, i.e. "elsewhere".
    h = await startHarness({ dispenser: false, config: { kiosk: { allowedAddresses: ['10.9.9.9'], tokenSha256: sha256(KIOSK_TOKEN) } } });
  });
  afterAll(() => h?.stop());

  it('refuses check-ins, claims, lockers and status from an address that is not the kiosk, and opens nothing', async () => {
    const credential = await h.credential('rider-elsewhere');
    const before = ledgerSnapshot(h.station);
    for (const [method, path, body] of [
      ['POST', '/v1/checkins', { credential }],
      ['POST', '/v1/claims', { credential, compartment: 'hot' }],
      ['POST', '/v1/lockers/deposit', { credential }],
      ['POST', '/v1/lockers/retrieve', { credential }],
      ['GET', `/v1/riders/status?credential=${encodeURIComponent(credential)}`, undefined],
    ] as const) {
      const r = await call(h.station.httpUrl, method, path, body);
      expect([r.status, r.body.error], path).toEqual([403, 'forbidden']);
    }
    expect(ledgerSnapshot(h.station)).toEqual(before);
    for (let lock = 1; lock <= 4; lock++) expect(h.board!.unlockCount(1, lock)).toBe(0);
  });

  it('serves a kiosk on a separate screen that shows the kiosk device token', async () => {
    const credential = await h.credential('rider-screen');
    const r = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential }, { headers: { 'x-kiosk-token': KIOSK_TOKEN } });
    expect(r.status).toBe(201);
    const wrong = await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential }, { headers: { 'x-kiosk-token': 'guess' } });
    expect(wrong.status).toBe(403);
  });
});

describe('the limiter when its table is full', () => {
  it('forgets the oldest key instead of refusing every new one for the rest of the window', () => {
    const clock = new ManualClock(0);
    const l = new FixedWindowLimiter(clock, 2, 60_000, 3);
    for (const k of ['a', 'b', 'c']) expect(l.hit(k).ok).toBe(true);
    expect(l.hit('kiosk').ok).toBe(true);
    expect(l.hit('kiosk').ok).toBe(true);
    expect(l.hit('kiosk').ok).toBe(false);
    // `a` was forgotten to make room: it starts again; a key still held keeps its count.
    expect(l.hit('a').ok).toBe(true);
  });
});
