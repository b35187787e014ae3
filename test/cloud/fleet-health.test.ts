/**
 * Fleet health names every offline or degraded device (not only counts), the stock per
 * dispenser from the station heartbeat, and how many alerts are firing (SPEC §6b, §15).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './appHarness.ts';
import { chain } from './helpers.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('fleet health', () => {
  it('names the offline and degraded devices with since when and why, and the stock per dispenser', async () => {
    const t = h.clock.now();
    const events = chain([
      { type: 'device.online', ts: t - 9000, data: { deviceId: 'disp-1', kind: 'dispenser' } },
      { type: 'device.online', ts: t - 9000, data: { deviceId: 'disp-2', kind: 'dispenser' } },
      { type: 'device.online', ts: t - 9000, data: { deviceId: 'lockboard-1', kind: 'lockboard' } },
      { type: 'device.fault', ts: t - 5000, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'low_stock_cold' } },
      { type: 'device.offline', ts: t - 4000, data: { deviceId: 'lockboard-1', kind: 'lockboard', reason: 'silent' } },
      { type: 'station.heartbeat', ts: t - 1000, data: { backlog: 3, stock: { 'disp-1': { hot: 30, cold: 4 }, 'disp-2': { hot: 40, cold: 40 } } } },
    ]);
    expect((await h.upload('dn-001', events)).statusCode).toBe(200);
    const body = (await h.admin('GET', '/v1/fleet/health')).json();
    expect(body.problemDevices).toEqual([
      { stationId: 'dn-001', deviceId: 'disp-1', kind: 'dispenser', state: 'degraded', since: t - 5000, faults: ['low_stock_cold'] },
      { stationId: 'dn-001', deviceId: 'lockboard-1', kind: 'lockboard', state: 'offline', since: t - 4000, faults: [] },
    ]);
    expect(body.stock).toEqual([
      { stationId: 'dn-001', deviceId: 'disp-1', state: 'degraded', stock: { hot: 30, cold: 4 }, low: ['cold'] },
      { stationId: 'dn-001', deviceId: 'disp-2', state: 'online', stock: { hot: 40, cold: 40 }, low: [] },
    ]);
    // The low stock fires at once; the lock board only once it has been offline 5 minutes.
    expect(body.firingAlerts).toEqual({ critical: 0, warning: 1, info: 0 });
    expect(body.stations.find((s: { stationId: string }) => s.stationId === 'dn-001')).toMatchObject({ timezone: 'Asia/Shanghai', backlog: 3 });
  });
});
