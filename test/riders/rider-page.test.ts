/**
 * The rider page's answers over the real cloud app (issue 12, SPEC §17): POST /v1/me tells the
 * rider's window, days left, today's bottle and the locker held from what stations synced; hazard
 * reports filed with a device-bound code, refused (and nothing stored) when the category, text,
 * photo or code is wrong; the office lists them, sees the photo, and moves them forward with a
 * note, recorded with its name and role; the rider sees the state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/index.ts';
import { bearer, chain, noonOf, TOKENS } from '../cloud/helpers.ts';
import { pngOf } from '../helpers/images.ts';
import { enrolHarness, phone, type Phone } from './enrolHarness.ts';

const OFFICE = 'office-token-clerk-li';
const MAINT = 'maintenance-token-ops';
let h: Awaited<ReturnType<typeof enrolHarness>>;
let p: Phone;
let credential = '';
let riderId = '';

beforeEach(async () => {
  h = await enrolHarness({
    adminTokens: [
      { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
      { name: 'clerk-li', sha256: sha256Hex(OFFICE), role: 'office' },
      { name: 'ops-wang', sha256: sha256Hex(MAINT), role: 'maintenance' },
    ],
    riders: { publicUrl: 'https://ws.example.org', hazardsPerDay: 3, hazardPhotoMaxBytes: 65_536 },
  });
  const inv = await h.invite();
  p = phone();
  ({ credential, riderId } = (await h.enrol({ invite: inv.code, consent: true, group: 'courier', deviceKey: p.exported })).json());
});
afterEach(async () => h.close());

const code = () => h.codeOf(credential, p);
const me = async () => (await h.app.inject({ method: 'POST', url: '/v1/me', payload: { code: code() } })).json();
const file = (body: object) => h.app.inject({ method: 'POST', url: '/v1/hazards', payload: { code: code(), ...body } });
const as = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  h.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

describe('the rider page’s status (POST /v1/me)', () => {
  it('shows the window, days left, today’s bottle and the locker held from what the station synced', async () => {
    // START is 2026-11-25 12:00 in Shanghai.
    const day = '2026-11-25';
    expect(await me()).toMatchObject({ window: null, daysLeft: 0, claimedToday: false, lastClaim: null, lockers: [], hazards: [] });
    const t = noonOf(day) - 3_600_000;
    const events = chain([
      { type: 'checkin', ts: noonOf('2026-11-23'), data: { riderId, windowFrom: '2026-11-23', windowTo: '2026-11-29' } },
      { type: 'claim.committed', ts: t, data: { claimId: 'c1', riderId, compartment: 'hot', dispenserId: 'disp-1' } },
      { type: 'locker.deposited', ts: t + 60_000, data: { riderId, compartment: '1-5', bus: 'bus-1', label: 'A05', limitMs: 86_400_000 } },
    ]);
    const up = await h.app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events } });
    expect(up.json()).toEqual({ ackedSeq: 3 });
    // A replay of the same upload changes nothing.
    await h.app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events } });
    expect(await me()).toMatchObject({
      today: day,
      timezone: 'Asia/Shanghai',
      window: { from: '2026-11-23', to: '2026-11-29', stationId: 'dn-001', active: true },
      daysLeft: 5,
      claimedToday: true,
      lastClaim: { day, stationId: 'dn-001', at: t, compartment: 'hot' },
      lockers: [{ stationId: 'dn-001', compartment: '1-5', label: 'A05', depositedAt: t + 60_000, deadlineAt: t + 60_000 + 86_400_000, overdue: false }],
      lastSeen: { stationId: 'dn-001', at: t + 60_000 },
    });
    // The next day: the bottle is not taken yet, one day fewer left; past the deadline the locker is overdue.
    h.clock.advance(86_400_000);
    expect(await me()).toMatchObject({ today: '2026-11-26', daysLeft: 4, claimedToday: false, lockers: [{ overdue: true }] });
    h.clock.advance(4 * 86_400_000);
    expect(await me()).toMatchObject({ today: '2026-11-30', daysLeft: 0, window: { active: false } });
  });
});

describe('hazard reports (SPEC §17)', () => {
  const png = pngOf(32, 24);

  it('files a report with a photo and place; the office lists it, sees the photo, and resolves it; the rider sees the state', async () => {
    const r = await file({ category: 'safety', text: '路口井盖缺失，夜里很危险', place: { text: '大宁路共和新路口', lat: 31.281, lon: 121.456 }, photo: { type: 'image/png', data: png.toString('base64') } });
    expect(r.statusCode).toBe(201);
    const filed = r.json();
    expect(filed).toMatchObject({ category: 'safety', state: 'new', hasPhoto: true, place: { text: '大宁路共和新路口' } });
    expect(filed.riderId).toBeUndefined();

    const list = await as(OFFICE, 'GET', '/v1/hazards?state=new');
    expect(list.statusCode).toBe(200);
    expect(list.json().hazards).toEqual([expect.objectContaining({ id: filed.id, riderId, text: '路口井盖缺失，夜里很危险', photo: { type: 'image/png', bytes: png.length, url: `/v1/hazards/${filed.id}/photo` } })]);

    const photo = await as(OFFICE, 'GET', `/v1/hazards/${filed.id}/photo`);
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/png');
    expect(photo.headers['x-content-type-options']).toBe('nosniff');
    expect(photo.rawPayload.equals(png)).toBe(true);
    expect((await h.app.inject({ method: 'GET', url: `/v1/hazards/${filed.id}/photo` })).statusCode).toBe(401);
    expect((await as(MAINT, 'GET', `/v1/hazards/${filed.id}/photo`)).json().error).toBe('forbidden');
    expect((await as(MAINT, 'GET', '/v1/hazards')).statusCode).toBe(403);

    const ack = await as(OFFICE, 'POST', `/v1/hazards/${filed.id}/state`, { state: 'acknowledged', note: '已通知城管 / city management told' });
    expect(ack.json()).toMatchObject({ state: 'acknowledged', changes: [{ by: 'clerk-li (office)', state: 'acknowledged' }] });
    const done = await as(TOKENS.admin, 'POST', `/v1/hazards/${filed.id}/state`, { state: 'resolved', note: '井盖已补上 / cover replaced' });
    expect(done.json().changes.map((c: { by: string }) => c.by)).toEqual(['clerk-li (office)', 'street-office (admin)']);
    const back = await as(OFFICE, 'POST', `/v1/hazards/${filed.id}/state`, { state: 'acknowledged' });
    expect([back.statusCode, back.json().error]).toEqual([409, 'hazard_state']);
    expect((await as(OFFICE, 'POST', '/v1/hazards/h-ffffffffffffffff/state', { state: 'resolved' })).statusCode).toBe(404);

    expect((await me()).hazards).toEqual([expect.objectContaining({ id: filed.id, state: 'resolved', note: '井盖已补上 / cover replaced' })]);
    const mine = await h.app.inject({ method: 'POST', url: '/v1/me/hazards', payload: { code: code() } });
    expect(mine.json().hazards[0]).toMatchObject({ id: filed.id, state: 'resolved' });
    expect(JSON.stringify(mine.json())).not.toContain('clerk-li');
    expect((await as(OFFICE, 'GET', '/v1/hazards?state=resolved')).json().hazards).toHaveLength(1);
    expect((await as(OFFICE, 'GET', '/v1/hazards')).json().hazards).toHaveLength(0);
  });

  it('refuses a wrong category, an empty or long text, an oversized photo, bytes that are no image, a forged code — and stores nothing', async () => {
    const refusals: Array<[object, number, string]> = [
      [{ category: 'gossip', text: 'x' }, 400, 'bad_request'],
      [{ category: 'traffic', text: '   ' }, 400, 'bad_request'],
      [{ category: 'traffic', text: '长'.repeat(1001) }, 400, 'bad_request'],
      [{ category: 'traffic', text: 'x', place: { text: '地'.repeat(201) } }, 400, 'bad_request'],
      [{ category: 'traffic', text: 'x', place: { lat: 31.2 } }, 400, 'bad_request'],
      [{ category: 'traffic', text: 'x', photo: { type: 'image/png', data: pngOf(200, 200, undefined, true).toString('base64') } }, 413, 'photo_too_large'],
      [{ category: 'traffic', text: 'x', photo: { type: 'image/png', data: Buffer.from('<svg onload=alert(1)>').toString('base64') } }, 400, 'photo_invalid'],
      [{ category: 'traffic', text: 'x', photo: { type: 'image/jpeg', data: png.toString('base64') } }, 400, 'photo_invalid'],
      [{ category: 'traffic', text: 'x', photo: { type: 'image/gif', data: png.toString('base64') } }, 400, 'bad_request'],
      [{ category: 'traffic', text: 'x', photo: { type: 'image/png', data: '!!notbase64!!' } }, 400, 'photo_invalid'],
    ];
    for (const [b, status, error] of refusals) {
      const r = await file(b);
      expect([r.statusCode, r.json().error], JSON.stringify(b).slice(0, 80)).toEqual([status, error]);
    }
    const forged = `${code().slice(0, -4)}AAAA`;
    const f = await h.app.inject({ method: 'POST', url: '/v1/hazards', payload: { code: forged, category: 'other', text: 'x' } });
    expect([f.statusCode, f.json().error]).toEqual([401, 'invalid_credential']);
    const bare = await h.app.inject({ method: 'POST', url: '/v1/hazards', payload: { code: credential, category: 'other', text: 'x' } });
    expect(bare.statusCode).toBe(401);
    // A body far past the photo limit is refused before it is read.
    const huge = await h.app.inject({ method: 'POST', url: '/v1/hazards', payload: { code: code(), category: 'other', text: 'x', photo: { type: 'image/png', data: 'A'.repeat(400_000) } } });
    expect(huge.statusCode).toBe(413);
    expect(await h.store.hazards({ limit: 100 })).toEqual([]);
  });

  it('limits one rider to riders.hazardsPerDay reports in 24 hours (429), and lets them report again a day later', async () => {
    for (let i = 0; i < 3; i++) expect((await file({ category: 'city_appearance', text: `垃圾堆放 ${i}` })).statusCode).toBe(201);
    const over = await file({ category: 'city_appearance', text: 'one more' });
    expect([over.statusCode, over.json().error]).toEqual([429, 'rate_limited']);
    expect(await h.store.hazards({ limit: 100 })).toHaveLength(3);
    h.clock.advance(86_400_001);
    expect((await file({ category: 'food_safety', text: '摊贩食品变质' })).statusCode).toBe(201);
  });

  it('deletes reports older than riders.keepDays, photo and all, as the form’s notice says', async () => {
    const kept = await enrolHarness({ riders: { keepDays: 2 } });
    try {
      const inv = await kept.invite();
      const q = phone();
      const c = (await kept.enrol({ invite: inv.code, consent: true, group: 'courier', deviceKey: q.exported })).json().credential as string;
      const send = (text: string) =>
        kept.app.inject({ method: 'POST', url: '/v1/hazards', payload: { code: kept.codeOf(c, q), category: 'other', text, photo: { type: 'image/png', data: png.toString('base64') } } });
      const first = (await send('old')).json().id as string;
      kept.clock.advance(3 * 86_400_000);
      expect((await send('new')).statusCode).toBe(201);
      expect((await kept.store.hazards({ limit: 10 })).map((x) => x.text)).toEqual(['new']);
      expect(await kept.store.hazardPhoto(first)).toBeNull();
      // The rider page's form says so.
      const page = await kept.app.inject({ method: 'GET', url: '/r/me' });
      expect(page.body).toContain('保存 2 天');
    } finally {
      await kept.close();
    }
  });
});
