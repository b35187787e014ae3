// SPEC §12 station provisioning, on SQLite (one instance) and on PostgreSQL (two instances on one
// database: a token replaced or a station disabled through one stops at once on the other).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/index.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { harness, type Harness } from './appHarness.ts';
import { bearer, chain, noonOf, silent, TOKENS } from './helpers.ts';
import { pgInstance, type PgInstance } from './pgHarness.ts';

const day = '2026-11-24';
const log = chain([
  { type: 'checkin', ts: noonOf(day), data: { riderId: 'r1', windowFrom: day, windowTo: day } },
  { type: 'checkin', ts: noonOf(day) + 1, data: { riderId: 'r2', windowFrom: day, windowTo: day } },
]);

type Instance = { app: Harness['app']; store: Harness['store'] | PgInstance['store'] };
const inject = (i: Instance, method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: object) =>
  i.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

/**
 * SPEC §12 with the upload token kept for a few seconds (auth.ts): `b` has just let the token in,
 * `a` replaces it or disables the station; the next upload through `b` is refused at once, a
 * replay and a batch with fresh events alike, and nothing is stored.
 */
async function keptTokenStopsAtOnce(a: Instance, b: Instance, id: string): Promise<void> {
  const created = (await inject(a, 'POST', '/v1/stations', TOKENS.admin, { id, zone: 'pudong' })).json() as { token: string };
  const up = (token: string, events: typeof log) => inject(b, 'POST', `/v1/stations/${id}/events`, token, { events });
  expect((await up(created.token, log.slice(0, 1))).json()).toEqual({ ackedSeq: 1 });
  const { token } = (await inject(a, 'POST', `/v1/stations/${id}/token`, TOKENS.admin)).json() as { token: string };
  // A batch whose own chain is broken (refused before it reaches the store), a replay, fresh events.
  const broken = [log[0]!, { ...log[1]!, hash: 'f'.repeat(64) }];
  for (const events of [broken, log.slice(0, 1), log]) {
    const old = await up(created.token, events);
    expect(old.statusCode).toBe(401);
    expect(old.json()).toMatchObject({ error: 'unauthorized' });
  }
  expect(await a.store.countEvents(id)).toBe(1);
  expect((await up(token, log.slice(0, 1))).json()).toEqual({ ackedSeq: 1 });
  expect((await inject(a, 'PUT', `/v1/stations/${id}`, TOKENS.admin, { enabled: false })).statusCode).toBe(200);
  for (const events of [broken, log.slice(0, 1), log]) {
    const off = await up(token, events);
    expect(off.statusCode).toBe(403);
    expect(off.json()).toMatchObject({ error: 'station_disabled' });
  }
  expect(await a.store.countEvents(id)).toBe(1);
  expect((await inject(a, 'PUT', `/v1/stations/${id}`, TOKENS.admin, { enabled: true })).statusCode).toBe(200);
  expect((await up(token, log)).json()).toEqual({ ackedSeq: 2 });
}

describe('station provisioning on one instance (SQLite)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('creates a station with a token shown once, lists it with its sync state, and refuses a second one', async () => {
    h = await harness();
    const r = await h.app.inject({ method: 'POST', url: '/v1/stations', headers: bearer(TOKENS.admin), payload: { id: 'pd-010', zone: 'pudong' } });
    expect(r.statusCode).toBe(201);
    const created = r.json() as { id: string; token: string; timezone: string; zone: string };
    expect(created).toMatchObject({ id: 'pd-010', timezone: 'Asia/Shanghai', zone: 'pudong' });
    expect(created.token.length).toBeGreaterThan(30);
    // The store keeps the hash only.
    expect((await h.store.station('pd-010'))!.tokenSha256).toBe(sha256Hex(created.token));
    const up = await h.app.inject({ method: 'POST', url: '/v1/stations/pd-010/events', headers: bearer(created.token), payload: { events: log } });
    expect(up.json()).toEqual({ ackedSeq: 2 });
    const list = (await h.admin('GET', '/v1/stations')).json() as { stations: Array<Record<string, unknown>> };
    expect(list.stations.map((s) => s.id)).toEqual(['dn-001', 'dn-002', 'jd-003', 'pd-010']);
    const mine = list.stations.find((s) => s.id === 'pd-010')!;
    expect(mine).toMatchObject({ zone: 'pudong', enabled: true, sync: { ackedSeq: 2, completeThrough: log[1]!.ts } });
    expect(JSON.stringify(list)).not.toContain(created.token);
    const again = await h.app.inject({ method: 'POST', url: '/v1/stations', headers: bearer(TOKENS.admin), payload: { id: 'pd-010' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'station_exists' });
    const bad = await h.app.inject({ method: 'POST', url: '/v1/stations', headers: bearer(TOKENS.admin), payload: { id: 'pd-011', timezone: 'Mars/Olympus' } });
    expect(bad.statusCode).toBe(400);
    const anon = await h.app.inject({ method: 'POST', url: '/v1/stations', headers: bearer(TOKENS['dn-001']), payload: { id: 'pd-012' } });
    expect(anon.statusCode).toBe(401);
    // The new station is in the weekly report.
    const w = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48&station=pd-010')).json() as { stations: Array<{ checkins: number }> };
    expect(w.stations[0]!.checkins).toBe(2);
  });

  it('stops a replaced token and a disabled station at once though the upload token was just let in', async () => {
    h = await harness();
    await keptTokenStopsAtOnce(h, h, 'pd-030');
  });
});

describe('station provisioning across two instances (PostgreSQL)', () => {
  let a: PgInstance;
  let b: PgInstance;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await testDatabase('stations');
    drop = db.drop;
    [a, b] = await Promise.all([pgInstance(db.url), pgInstance(db.url)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it('applies the config file stations once though both instances start together', async () => {
    expect((await a.store.stations()).map((s) => s.id)).toEqual(['dn-001', 'dn-002', 'jd-003']);
    expect((await b.upload('dn-001', log.slice(0, 1))).json()).toEqual({ ackedSeq: 1 });
  });

  it('stops the old token at once on the other instance when a new one is made', async () => {
    const created = (await a.admin('POST', '/v1/stations', { id: 'pd-020', zone: 'pudong' })).json() as { token: string };
    const pull = (inst: PgInstance, token: string) => inst.app.inject({ method: 'GET', url: '/v1/stations/pd-020/config', headers: bearer(token) });
    expect((await pull(b, created.token)).statusCode).toBe(200);
    const r = await a.admin('POST', '/v1/stations/pd-020/token');
    expect(r.statusCode).toBe(200);
    const { token } = r.json() as { token: string };
    expect(token).not.toBe(created.token);
    const old = await pull(b, created.token);
    expect(old.statusCode).toBe(401);
    expect(old.json()).toMatchObject({ error: 'unauthorized' });
    expect((await pull(b, token)).statusCode).toBe(200);
    // The ETag it pulled is in the store, for every instance to show.
    const seen = (await b.admin('GET', '/v1/stations/pd-020')).json() as { config: { etag: string | null } };
    expect(seen.config.etag).toBe((await pull(a, token)).headers.etag);
  });

  it('keeps a token replaced through the API across a restart, until the config file changes it', async () => {
    const r = (await a.admin('POST', '/v1/stations/jd-003/token')).json() as { token: string };
    const pull = (inst: PgInstance, token: string) => inst.app.inject({ method: 'GET', url: '/v1/stations/jd-003/config', headers: bearer(token) });
    // A third instance starts with the same config file: it applies stations[] again.
    const c = await pgInstance(a.config.storage.url!);
    try {
      expect((await pull(c, r.token)).statusCode).toBe(200);
      expect((await pull(c, TOKENS['jd-003'])).statusCode).toBe(401);
    } finally {
      await c.close();
    }
    // The file's entry changes its token: that change is applied at the next start.
    const { StationRegistry } = await import('../../cloud/stations/stationRegistry.ts');
    const reg = new StationRegistry(a.store, a.clock, silent);
    const entry = a.config.stations.find((s) => s.id === 'jd-003')!;
    await reg.applyConfig([{ ...entry, tokenSha256: sha256Hex('from-the-file') }]);
    expect((await pull(b, 'from-the-file')).statusCode).toBe(200);
    expect((await pull(b, r.token)).statusCode).toBe(401);
  });

  it('answers 403 station_disabled to a disabled station on every instance, and keeps its history in reports', async () => {
    expect((await a.upload('dn-002', log)).json()).toEqual({ ackedSeq: 2 });
    const put = await a.admin('PUT', '/v1/stations/dn-002', { enabled: false, zone: 'daning-north' });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id: 'dn-002', enabled: false, zone: 'daning-north' });
    for (const inst of [a, b]) {
      const up = await inst.upload('dn-002', log);
      expect(up.statusCode).toBe(403);
      expect(up.json()).toMatchObject({ error: 'station_disabled' });
      const cfg = await inst.app.inject({ method: 'GET', url: '/v1/stations/dn-002/config', headers: bearer(TOKENS['dn-002']) });
      expect(cfg.statusCode).toBe(403);
      expect(cfg.json()).toMatchObject({ error: 'station_disabled' });
    }
    const w = (await b.admin('GET', '/v1/reports/weekly?week=2026-W48')).json() as { stations: Array<{ stationId: string; checkins: number }> };
    expect(w.stations.find((s) => s.stationId === 'dn-002')?.checkins).toBe(2);
    expect((await b.admin('PUT', '/v1/stations/dn-002', { enabled: true })).json()).toMatchObject({ enabled: true });
    expect((await b.upload('dn-002', log)).json()).toEqual({ ackedSeq: 2 });
    expect((await a.admin('PUT', '/v1/stations/nope', { enabled: false })).statusCode).toBe(404);
  });

  it('stops a replaced token and a disabled station at once on the instance that just let the token in', async () => {
    await keptTokenStopsAtOnce(a, b, 'pd-031');
  });
});
