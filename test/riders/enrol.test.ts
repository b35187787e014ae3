/**
 * Getting a code (SPEC §14): invites and posters, enrolment with consent and a device key,
 * the credential bound to that key, replays, used-up and expired invites, the per-address
 * limit, the rider page's status and withdrawal, printed cards — over the real cloud app.
 */
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeVerifier, rotatingStep, signRotatingCode } from '../../protocol/index.ts';
import { bearer, chain, noonOf, TOKENS } from '../cloud/helpers.ts';
import { enrolHarness, phone, START } from './enrolHarness.ts';

let h: Awaited<ReturnType<typeof enrolHarness>>;
beforeEach(async () => {
  h = await enrolHarness();
});
afterEach(async () => h.close());

const body = (invite: string, p = phone(), more: object = {}) => ({ invite, consent: true, group: 'food_delivery', deviceKey: p.exported, ...more });

describe('invites and posters', () => {
  it('creates an invite whose URL opens the enrolment page, and prints its poster with a QR of that URL', async () => {
    const inv = await h.invite({ zone: 'daning', note: 'Daning Rd poster' });
    expect(inv.code).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(inv.url).toBe(`https://ws.example.org/r/?invite=${inv.code}`);
    const poster = await h.app.inject({ method: 'GET', url: `/v1/invites/${inv.code}/poster` });
    expect(poster.statusCode).toBe(200);
    expect(poster.headers['content-type']).toMatch(/text\/html/);
    expect(poster.body).toContain('<svg');
    expect(poster.body).toContain(`data-url="${inv.url}"`);
    expect(poster.body).toMatch(/免费饮用水[\s\S]*Free drinking water/);
    expect((await h.app.inject({ method: 'GET', url: '/v1/invites/nosuchinvite/poster' })).statusCode).toBe(404);
  });

  it('takes invites only from the office or an admin, with a future expiry', async () => {
    const anon = await h.app.inject({ method: 'POST', url: '/v1/invites', payload: { uses: 1, expiresAt: START + 1000 } });
    expect(anon.statusCode).toBe(401);
    const past = await h.admin('POST', '/v1/invites', { uses: 1, expiresAt: START - 1 });
    expect([past.statusCode, past.json().error]).toEqual([400, 'bad_request']);
    const zero = await h.admin('POST', '/v1/invites', { uses: 0, expiresAt: START + 1000 });
    expect(zero.statusCode).toBe(400);
  });
});

describe('enrolment', () => {
  it('enrols a rider and binds the credential to the phone’s key; stations verify the rotating code with the JWKS', async () => {
    const inv = await h.invite();
    const p = phone();
    const r = await h.enrol(body(inv.code, p, { platform: 'meituan' }));
    expect(r.statusCode).toBe(201);
    const { riderId, credential } = r.json() as { riderId: string; credential: string };
    expect(riderId).toMatch(/^r-[0-9a-f]{16}$/);
    const claims = decodeJwt(credential);
    expect(claims).toMatchObject({ sub: riderId, grp: 'food_delivery', cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: p.jwk.x } } });
    expect(Object.keys((claims.cnf as { jwk: object }).jwk).sort()).toEqual(['crv', 'kty', 'x']);
    const jwks = (await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const v = await codeVerifier(jwks)(h.codeOf(credential, p), [], h.clock.now(), { requireDeviceBound: true });
    expect(v).toMatchObject({ ok: true, riderId });
    expect(await h.store.rider(riderId)).toMatchObject({ group: 'food_delivery', platform: 'meituan', revokedAt: null });
    expect((await h.store.invite(inv.code))!.used).toBe(1);
  });

  it('refuses a wrong, an expired and a used-up invite with 403 invite_invalid, and creates no rider', async () => {
    const one = await h.invite({ uses: 1 });
    expect((await h.enrol(body(one.code))).statusCode).toBe(201);
    for (const [code, what] of [[one.code, 'used up'], ['wrong-invite-code', 'not known']] as const) {
      const r = await h.enrol(body(code));
      expect([r.statusCode, r.json().error]).toEqual([403, 'invite_invalid']);
      expect(r.json().message).toContain(what);
    }
    const soon = await h.invite({ expiresAt: START + 60_000 });
    h.clock.advance(60_000);
    const late = await h.enrol(body(soon.code));
    expect([late.statusCode, late.json().error, late.json().message]).toEqual([403, 'invite_invalid', expect.stringContaining('expired')]);
    expect((await h.store.invite(soon.code))!.used).toBe(0);
  });

  it('needs consent, an Ed25519 public key, and a separate consent for a contact', async () => {
    const inv = await h.invite();
    const noConsent = await h.enrol(body(inv.code, phone(), { consent: false }));
    expect([noConsent.statusCode, noConsent.json().error]).toEqual([400, 'consent_required']);
    const p = phone();
    const priv = await h.enrol(body(inv.code, p, { deviceKey: { ...p.jwk, d: 'A'.repeat(43) } }));
    expect([priv.statusCode, priv.json().error]).toEqual([400, 'device_key_invalid']);
    const ec = await h.enrol(body(inv.code, p, { deviceKey: { kty: 'EC', crv: 'P-256', x: p.jwk.x } }));
    expect([ec.statusCode, ec.json().error]).toEqual([400, 'device_key_invalid']);
    const contact = await h.enrol(body(inv.code, p, { contact: 'wx-rider-88' }));
    expect([contact.statusCode, contact.json().error]).toEqual([400, 'consent_required']);
    const badGroup = await h.enrol(body(inv.code, p, { group: 'astronaut' }));
    expect(badGroup.statusCode).toBe(400);
    expect((await h.store.invite(inv.code))!.used).toBe(0);
    const ok = await h.enrol(body(inv.code, p, { contact: 'wx-rider-88', contactConsent: true }));
    expect(ok.statusCode).toBe(201);
    expect(await h.store.riderContact(ok.json().riderId)).toBe('wx-rider-88');
  });

  it('answers a replayed enrolment with the same rider and counts the invite once', async () => {
    const inv = await h.invite({ uses: 1 });
    const p = phone();
    const first = await h.enrol(body(inv.code, p));
    const again = await h.enrol(body(inv.code, p));
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json()).toMatchObject({ status: 'replayed', riderId: first.json().riderId });
    expect((await h.store.invite(inv.code))!.used).toBe(1);
  });

  it('gives an invite’s last uses to exactly as many phones when they race', async () => {
    const inv = await h.invite({ uses: 3 });
    const answers = await Promise.all(Array.from({ length: 12 }, () => h.enrol(body(inv.code))));
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.statusCode === 403)).toHaveLength(9);
    expect((await h.store.invite(inv.code))!.used).toBe(3);
  });

  it('limits enrolments per client address: 1,000 from one address get 429s after the first 20', async () => {
    const inv = await h.invite({ uses: 100_000 });
    const codes: number[] = [];
    for (let i = 0; i < 1000; i++) codes.push((await h.enrol(body(inv.code), '198.51.100.9')).statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(20);
    expect(codes.filter((c) => c === 429)).toHaveLength(980);
    expect((await h.store.invite(inv.code))!.used).toBe(20);
    // Another address is not held back, and the first one gets in again after the window.
    expect((await h.enrol(body(inv.code), '198.51.100.10')).statusCode).toBe(201);
    const limited = await h.enrol(body(inv.code), '198.51.100.9');
    expect([limited.statusCode, limited.json().error, typeof limited.json().retryAfterS]).toEqual([429, 'rate_limited', 'number']);
    h.clock.advance(h.config.riders.enrolWindowMs);
    expect((await h.enrol(body(inv.code), '198.51.100.9')).statusCode).toBe(201);
  });
});

describe('the enrolment limit behind a load balancer', () => {
  it('counts the rider’s own address from X-Forwarded-For of a trusted balancer (http.trustProxy), the connection’s otherwise', async () => {
    const behind = await enrolHarness({ http: { host: '127.0.0.1', port: 0, trustProxy: '10.0.0.0/8' } });
    try {
      const inv = await behind.invite({ uses: 1000 });
      const via = (client: string, proxy = '10.0.0.5') =>
        behind.app.inject({ method: 'POST', url: '/v1/enrol', remoteAddress: proxy, headers: { 'x-forwarded-for': client }, payload: body(inv.code) });
      // Forty riders through the balancer: none held back by the others.
      for (let i = 0; i < 40; i++) expect((await via(`198.51.100.${i + 1}`)).statusCode).toBe(201);
      // One address behind it gets riders.enrolPerAddress (20), as without a balancer.
      for (let i = 0; i < 20; i++) expect((await via('203.0.113.50')).statusCode).toBe(201);
      expect((await via('203.0.113.50')).statusCode).toBe(429);
      // A header from a client that is not the balancer is not believed: its own address counts.
      for (let i = 0; i < 20; i++) expect((await via(`192.0.2.${i + 1}`, '198.18.0.9')).statusCode).toBe(201);
      expect((await via('192.0.2.200', '198.18.0.9')).statusCode).toBe(429);
    } finally {
      await behind.close();
    }
  });
});

describe('the rider page’s status and withdrawal, the office’s withdrawal and cards', () => {
  it('tells a rider about themselves for a fresh rotating code, refuses a stale or bare one', async () => {
    const inv = await h.invite();
    const p = phone();
    const { credential, riderId } = (await h.enrol(body(inv.code, p))).json();
    const me = await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: h.codeOf(credential, p) } });
    expect(me.json()).toMatchObject({ riderId, group: 'food_delivery', at: h.clock.now() });
    const old = h.codeOf(credential, p);
    h.clock.advance(95_000);
    const stale = await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: old } });
    expect([stale.statusCode, stale.json().error]).toEqual([401, 'stale_code']);
    const bare = await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: credential } });
    expect([bare.statusCode, bare.json().error]).toEqual([401, 'invalid_credential']);
  });

  it('withdraws from the rider page: revoked in every station’s config, group, platform and contact erased, past counts kept', async () => {
    const inv = await h.invite();
    const p = phone();
    const { credential, riderId } = (await h.enrol(body(inv.code, p, { platform: 'eleme', contact: '139-0000', contactConsent: true }))).json();
    const day = '2026-11-25';
    const events = chain([{ type: 'checkin', ts: noonOf(day), data: { riderId, windowFrom: day, windowTo: '2026-12-01' } }]);
    const up = await h.app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events } });
    expect(up.statusCode).toBe(200);

    const w = await h.app.inject({ method: 'POST', url: '/v1/me/withdraw', payload: { code: h.codeOf(credential, p) } });
    expect(w.statusCode).toBe(200);
    expect(await h.store.rider(riderId)).toMatchObject({ group: '', platform: null, zone: null, withdrawnAt: START, revokedAt: START });
    expect(await h.store.riderContact(riderId)).toBeNull();
    expect(await h.store.riderByDevice(p.jwk.x)).toBeNull();
    for (const station of ['dn-001', 'jd-003']) {
      const doc = (await h.app.inject({ method: 'GET', url: `/v1/stations/${station}/config`, headers: bearer(TOKENS[station as 'dn-001']) })).json();
      expect(doc.revokedRiders).toContain(riderId);
    }
    const report = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48')).json();
    expect(report.stations.find((s: { stationId: string }) => s.stationId === 'dn-001')).toMatchObject({ checkins: 1, riders: 1 });
    // The withdrawn phone's code no longer works at the cloud either.
    const after = await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: h.codeOf(credential, p) } });
    expect([after.statusCode, after.json().error]).toEqual([403, 'revoked']);
  });

  it('withdraws a rider by the office (DELETE), and prints a card with a static QR for a rider without a smartphone', async () => {
    const made = (await h.admin('POST', '/v1/riders', { group: 'courier' })).json();
    const card = await h.admin('GET', `/v1/riders/${made.riderId}/card`);
    expect(card.statusCode).toBe(200);
    expect(card.body).toContain('<svg');
    expect(card.body).toMatch(/骑手驿站通行卡[\s\S]*Rider station card/);
    expect((await h.app.inject({ method: 'GET', url: `/v1/riders/${made.riderId}/card` })).statusCode).toBe(401);

    const del = await h.admin('DELETE', `/v1/riders/${made.riderId}`);
    expect(del.json()).toMatchObject({ riderId: made.riderId, group: '', revokedAt: START });
    const doc = (await h.app.inject({ method: 'GET', url: '/v1/stations/dn-001/config', headers: bearer(TOKENS['dn-001']) })).json();
    expect(doc.revokedRiders).toContain(made.riderId);
    expect((await h.admin('DELETE', '/v1/riders/r-0000000000000000')).statusCode).toBe(404);
  });

  it('does not accept a code signed for another step than it says', async () => {
    const inv = await h.invite();
    const p = phone();
    const { credential } = (await h.enrol(body(inv.code, p))).json();
    const good = signRotatingCode(credential, rotatingStep(h.clock.now()) - 1, p.key);
    const sig = good.slice(good.lastIndexOf('.') + 1);
    const moved = `${credential}.${rotatingStep(h.clock.now())}.${sig}`;
    const r = await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: moved } });
    expect([r.statusCode, r.json().error]).toEqual([401, 'invalid_credential']);
  });
});
