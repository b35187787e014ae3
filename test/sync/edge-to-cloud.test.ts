/**
 * A real station syncing to a real cloud (SPEC §9): what riders did at the kiosk is what the
 * street office reads in the weekly report — one bottle per bottle, including a claim that went
 * `unknown` (the dispenser's report came after the station's timeout) and was resolved as
 * dropped by that late report (the edge writes `claim.resolved` and then `claim.committed`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoWeekOf } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, silent, testConfig, TOKENS } from '../cloud/helpers.ts';
import { call } from '../edge/http.ts';
import { startHarness, waitFor, type Harness } from '../helpers/station.ts';

let cloud: RunningCloud;
let h: Harness;

beforeAll(async () => {
  cloud = await startCloud(testConfig(), { logger: silent });
  h = await startHarness({ locks: 0, config: { stationId: 'dn-001', cloud: { url: cloud.url, token: TOKENS['dn-001'] } } });
});
afterAll(async () => {
  await h?.stop();
  await cloud?.stop();
});

describe('edge to cloud', () => {
  it('counts each bottle once in the weekly report, a late-resolved one too', async () => {
    const base = h.station.httpUrl;
    const a = await h.credential('rider-e2e-a');
    const b = await h.credential('rider-e2e-b');
    for (const credential of [a, b]) expect((await call(base, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    expect((await call(base, 'POST', '/v1/claims', { credential: a, compartment: 'cold' })).status).toBe(201);

    // The bottle drops, but the report comes 2 s later, after the 1.5 s timeout: 504, unknown.
    h.dispenser!.failNext('late_event');
    const lost = await call(base, 'POST', '/v1/claims', { credential: b, compartment: 'hot' });
    expect([lost.status, lost.body.error]).toEqual([504, 'dispense_unknown']);
    const claimId = String(lost.body.claimId);
    await waitFor(() => h.station.quota.getClaim(claimId)?.status === 'committed', 10_000, 'resolved by the late report');
    expect(h.dispenser!.droppedTotal).toBe(2);
    const types = h.station.ledger.eventsAfter(0, 1000).filter((e) => e.data.claimId === claimId).map((e) => e.type);
    expect(types).toEqual(['claim.unknown', 'claim.resolved', 'claim.committed']);

    await waitFor(() => h.station.ledger.ackedSeq() === h.station.ledger.head().seq, 10_000, 'the cloud acknowledged the head');
    const week = isoWeekOf(h.station.quota.getClaim(claimId)!.day);
    const res = await fetch(`${cloud.url}/v1/reports/weekly?week=${week}&station=dn-001`, { headers: bearer(TOKENS.admin) });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { stations: Array<{ stationId: string; checkins: number; bottles: { hot: number; cold: number }; otherBottles: number }> };
    const station = report.stations.find((s) => s.stationId === 'dn-001')!;
    expect(station).toMatchObject({ checkins: 2, bottles: { hot: 1, cold: 1 }, otherBottles: 0 });
  });
});
