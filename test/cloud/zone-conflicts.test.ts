// Reconciliation at the cloud (SPEC §13): two stations of a zone-scoped zone, partitioned from
// the cloud, both grant one rider's claim on one day; once both have synced the cloud reports
// exactly one conflict, with how stale each station's feed was, and still counts both bottles.
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../protocol/index.ts';
import { harness, type Harness } from './appHarness.ts';
import { bearer, chain, noonOf, TOKENS, type EventSpec } from './helpers.ts';

const DAY = '2026-11-25';
const checkin = (riderId: string): EventSpec => ({ type: 'checkin', ts: noonOf(DAY), data: { riderId, windowFrom: DAY, windowTo: '2026-12-01' } });
const claim = (riderId: string, claimId: string, compartment: 'hot' | 'cold', zoneFeedAgeMs?: number, at = noonOf(DAY) + 60_000): EventSpec => ({
  type: 'claim.committed',
  ts: at,
  data: { claimId, riderId, compartment, dispenserId: 'disp-1', ...(zoneFeedAgeMs !== undefined ? { zoneFeedAgeMs } : {}) },
});

const ZONE_POLICY = { quota: { zones: { daning: { scope: 'zone' } } } };
let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('zone conflicts (SPEC §13)', () => {
  it('reports one conflict for a rider granted at two stations of a zone on one day, replays and all, and counts both bottles', async () => {
    h = await harness(undefined, ZONE_POLICY);
    const a = chain([checkin('r1'), claim('r1', 'a-1', 'hot', 45_000)]);
    const b = chain([claim('r1', 'b-1', 'cold', 3_600_000, noonOf(DAY) + 120_000), claim('r2', 'b-2', 'cold')]);
    expect((await h.upload('dn-001', a)).statusCode).toBe(200);
    expect((await h.upload('dn-002', b)).statusCode).toBe(200);
    // Replays of both logs change nothing.
    expect((await h.upload('dn-002', b)).json()).toEqual({ ackedSeq: 2 });
    expect((await h.upload('dn-001', a)).json()).toEqual({ ackedSeq: 2 });
    const r = await h.admin('GET', '/v1/reports/conflicts?week=2026-W48');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      week: '2026-W48',
      conflicts: [
        {
          riderId: 'r1', day: DAY, zone: 'daning', foundAt: h.clock.now(),
          claims: [
            { stationId: 'dn-001', claimId: 'a-1', ts: noonOf(DAY) + 60_000, feedLagMs: 45_000 },
            { stationId: 'dn-002', claimId: 'b-1', ts: noonOf(DAY) + 120_000, feedLagMs: 3_600_000 },
          ],
        },
      ],
    });
    expect((await h.admin('GET', '/v1/reports/conflicts?week=2026-W48&zone=jingan')).json()).toEqual({ week: '2026-W48', conflicts: [] });
    expect((await h.admin('GET', '/v1/reports/conflicts?week=2026-W48&zone=daning')).json().conflicts).toHaveLength(1);

    const weekly = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48')).json();
    expect(weekly.stations.map((s: { stationId: string; conflicts: number; bottles: unknown }) => [s.stationId, s.conflicts, s.bottles])).toEqual([
      ['dn-001', 1, { hot: 1, cold: 0 }],
      ['dn-002', 1, { hot: 0, cold: 2 }],
      ['jd-003', 0, { hot: 0, cold: 0 }],
    ]);
    expect(weekly.totals).toMatchObject({ conflicts: 1, bottles: { hot: 1, cold: 2 } });
    const one = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48&station=dn-002')).json();
    expect(one.stations[0].conflicts).toBe(1);
    // The range report over the same week carries the same conflicts (SPEC §17: the weekly report's fields).
    const range = (await h.admin('GET', '/v1/reports/range?from=2026-11-23&to=2026-11-29')).json();
    expect(range.stations.map((s: { stationId: string; conflicts: number }) => [s.stationId, s.conflicts])).toEqual([['dn-001', 1], ['dn-002', 1], ['jd-003', 0]]);
    expect(range.totals.conflicts).toBe(1);
    const outside = (await h.admin('GET', '/v1/reports/range?from=2026-11-30&to=2026-12-06')).json();
    expect(outside.totals.conflicts).toBe(0);
    const csv = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48&format=csv')).body.replace(/^\uFEFF/, '').split('\r\n');
    const col = csv[0]!.split(',').indexOf('跨站冲突');
    expect(col).toBeGreaterThan(0);
    expect(csv.slice(1, 4).map((l) => l.split(',')[col])).toEqual(['1', '1', '0']);

    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
    expect(metrics).toMatch(/^waystation_cloud_zone_conflicts_found_total 1$/m);
  });

  it('reports nothing where the zone is station-scoped, or where the second station was told in time', async () => {
    h = await harness();
    expect((await h.upload('dn-001', chain([claim('r1', 'a-1', 'hot')]))).statusCode).toBe(200);
    expect((await h.upload('dn-002', chain([claim('r1', 'b-1', 'hot')]))).statusCode).toBe(200);
    expect((await h.admin('GET', '/v1/reports/conflicts?week=2026-W48')).json().conflicts).toEqual([]);
    await h.close();
    // Zone-scoped: dn-002 learned of a-1 from the feed and refused; only dn-001's claim is granted.
    h = await harness(undefined, ZONE_POLICY);
    expect((await h.upload('dn-001', chain([claim('r1', 'a-1', 'hot')]))).statusCode).toBe(200);
    expect((await h.upload('dn-002', chain([claim('r2', 'b-1', 'hot')]))).statusCode).toBe(200);
    expect((await h.admin('GET', '/v1/reports/conflicts?week=2026-W48')).json().conflicts).toEqual([]);
  });

  it('sends the zone-scoped policy to the stations of that zone only', async () => {
    h = await harness(undefined, { quota: { windowDays: 7, claimsPerDay: 1, zones: { daning: { scope: 'zone', claimsPerDay: 2 } } } });
    const cfg = async (id: 'dn-001' | 'jd-003') => (await h.app.inject({ method: 'GET', url: `/v1/stations/${id}/config`, headers: bearer(TOKENS[id]) })).json();
    expect(await cfg('dn-001')).toMatchObject({ zone: 'daning', quota: { windowDays: 7, claimsPerDay: 2, scope: 'zone' } });
    expect(await cfg('jd-003')).toMatchObject({ zone: 'jingan', quota: { windowDays: 7, claimsPerDay: 1, scope: 'station' } });
  });

  it('takes an admin or office token and an ISO week', async () => {
    h = await harness(undefined, {
      ...ZONE_POLICY,
      adminTokens: [
        { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
        { name: 'office-li', sha256: sha256Hex('office-token'), role: 'office' },
        { name: 'ops', sha256: sha256Hex('maint-token'), role: 'maintenance' },
      ],
    });
    expect((await h.app.inject({ method: 'GET', url: '/v1/reports/conflicts?week=2026-W48' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/reports/conflicts?week=2026-W48', headers: bearer('office-token') })).statusCode).toBe(200);
    const m = await h.app.inject({ method: 'GET', url: '/v1/reports/conflicts?week=2026-W48', headers: bearer('maint-token') });
    expect(m.statusCode).toBe(403);
    expect((await h.admin('GET', '/v1/reports/conflicts?week=2026-W99')).json()).toMatchObject({ error: 'bad_week' });
  });
});
