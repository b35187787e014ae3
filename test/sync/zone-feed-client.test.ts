/**
 * The station's zone feed client against a real cloud (SPEC §13): it follows a zone change (the
 * old zone's facts dropped at once, the new zone loaded), does nothing in scope "station" (where
 * decisions are exactly per station), and while cut off from the cloud shows the failure and a
 * growing lag in health and metrics, then comes back by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, MAINTENANCE_TOKEN, metricSum, post, waitFor } from '../chaos/rig.ts';
import { startZone, type Zone } from './zoneRig.ts';

const MAINTENANCE = MAINTENANCE_TOKEN;
let z: Zone | undefined;
afterEach(async () => {
  await z?.stop();
  z = undefined;
});

const checkin = async (zone: Zone, id: string, rider: string) => post(zone.stations[id]!.station.httpUrl, '/v1/checkins', { credential: await zone.stations[id]!.credential(rider) });
const feedHealth = async (zone: Zone, id: string) =>
  ((await getJson(zone.stations[id]!.station.httpUrl, '/v1/health', MAINTENANCE)).body.station as { sync: { zoneFeed: Record<string, unknown> } }).sync.zoneFeed;

describe('zone feed client', () => {
  it('follows a zone change: drops the old zone’s facts at once and loads the new zone', async () => {
    z = await startZone({ stations: ['dn-001', 'dn-002', 'jd-003'], zones: { 'jd-003': 'jingan' }, zoneFeedWaitMs: 1000 });
    const b = z.stations['dn-002']!.station;
    expect((await checkin(z, 'dn-001', 'rider-move-a')).status).toBe(201);
    expect((await checkin(z, 'jd-003', 'rider-move-c')).status).toBe(201);
    await waitFor(() => b.zoneFacts.all().some((f) => f.riderId === 'rider-move-a'), 5000, 'dn-001’s check-in at dn-002');
    expect(b.zoneFacts.all().some((f) => f.riderId === 'rider-move-c')).toBe(false); // another zone's

    // The office moves dn-002 to jingan. Its next poll is refused (zone_changed), the config is pulled, the new zone loaded.
    expect((await z.admin('/v1/stations/dn-002', { method: 'PUT', body: { zone: 'jingan' } })).status).toBe(200);
    await waitFor(() => b.zoneFacts.state()?.zone === 'jingan' && b.zoneFacts.all().some((f) => f.riderId === 'rider-move-c'), 15_000, 'jingan loaded at dn-002');
    expect(b.zoneFacts.all().some((f) => f.riderId === 'rider-move-a')).toBe(false);
    expect(await feedHealth(z, 'dn-002')).toMatchObject({ active: true, zone: 'jingan' });
    // Decisions follow: dn-001's rider opens a window here now, jd-003's rider is already checked in.
    expect((await checkin(z, 'dn-002', 'rider-move-a')).status).toBe(201);
    expect((await checkin(z, 'dn-002', 'rider-move-c')).body).toMatchObject({ status: 'already_checked_in', station: 'jd-003' });
  }, 60_000);

  it('polls nothing in scope "station", where each station decides alone', async () => {
    z = await startZone({ stations: ['dn-001', 'dn-002'], cloud: { quota: { scope: 'station' } }, ready: 'config' });
    const a = z.stations['dn-001']!;
    const b = z.stations['dn-002']!;
    await waitFor(() => b.station.configPuller?.status().lastSuccessAt != null, 10_000, 'the config pull');
    expect(await feedHealth(z, 'dn-002')).toMatchObject({ active: false, cursor: null, lagMs: null, lastOkAt: null });
    const rider = 'rider-station-scope';
    expect((await checkin(z, 'dn-001', rider)).status).toBe(201);
    expect((await post(a.station.httpUrl, '/v1/claims', { credential: await a.credential(rider), compartment: 'cold' })).status).toBe(201);
    await z.synced();
    // SPEC §3 per station, exactly as before: dn-002 knows nothing of dn-001's rider.
    expect((await checkin(z, 'dn-002', rider)).status).toBe(201);
    expect((await post(b.station.httpUrl, '/v1/claims', { credential: await b.credential(rider), compartment: 'cold' })).status).toBe(201);
    expect(b.station.zoneFacts.count()).toBe(0);
    expect(await (await fetch(`${b.station.httpUrl}/metrics`)).text()).not.toMatch(/^waystation_zone_feed_lag_seconds /m);
  }, 60_000);

  it('cut off from the cloud, shows the failure and a growing lag, counts the errors, and comes back by itself', async () => {
    z = await startZone({ stations: ['dn-001', 'dn-002'], zoneFeedWaitMs: 1000 });
    const b = z.stations['dn-002']!.station;
    z.links['dn-002']!.partition();
    await waitFor(() => (b.zoneFeed?.status().consecutiveFailures ?? 0) >= 1, 10_000, 'a failed poll');
    const h1 = await feedHealth(z, 'dn-002');
    expect(h1).toMatchObject({ lastError: { code: 'unreachable' } });
    await new Promise((r) => setTimeout(r, 300));
    const h2 = await feedHealth(z, 'dn-002');
    expect(h2.lagMs as number).toBeGreaterThan(h1.lagMs as number);
    expect(metricSum(await (await fetch(`${b.httpUrl}/metrics`)).text(), 'waystation_zone_feed_errors_total', { key: 'code', value: 'unreachable' })).toBeGreaterThanOrEqual(1);
    // Meanwhile decisions stay local: a check-in at dn-001 is not known at dn-002.
    expect((await checkin(z, 'dn-001', 'rider-cut')).status).toBe(201);
    z.links['dn-002']!.heal();
    // Backoff with jitter (1 s doubling): it retries by itself and catches up.
    await waitFor(() => b.zoneFacts.all().some((f) => f.riderId === 'rider-cut'), 15_000, 'the check-in after the partition');
    expect(b.zoneFeed!.status()).toMatchObject({ consecutiveFailures: 0, lastError: null });
  }, 60_000);
});
