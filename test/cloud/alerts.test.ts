/**
 * Alerts per SPEC §15: the pure rules, and the cloud keeping them from what stations sync —
 * fired on ingest or on silence, resolved when the condition clears, listed by state.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { classifyFault, diffAlerts, eventAlerts, fleetAlerts, type FleetState } from '../../cloud/alerts/rules.ts';
import type { AlertRow, DeviceRow } from '../../cloud/store/store.ts';
import { bearer, chain, silent, testConfig, TOKENS, type EventSpec } from './helpers.ts';

const T0 = Date.parse('2026-12-02T04:00:00Z');
const device = (over: Partial<DeviceRow>): DeviceRow => ({ stationId: 'dn-001', deviceId: 'disp-1', kind: 'dispenser', state: 'online', inService: true, lastSeenAt: T0, faults: [], stock: null, ...over });
const fleet = (over: Partial<FleetState>): FleetState => ({ nowMs: T0, stationIds: ['dn-001', 'dn-002'], heartbeats: [], devices: [], faults: [], overdue: [], ...over });
const RULES = { deviceOfflineAfterMs: 300_000, stationSilentAfterMs: 180_000 };

describe('alert rules (pure)', () => {
  it('fires device_offline only once the device has been offline longer than the threshold', () => {
    const d = device({ state: 'offline', lastSeenAt: T0 - 299_000 });
    expect(fleetAlerts(fleet({ devices: [d] }), RULES)).toEqual([]);
    expect(fleetAlerts(fleet({ devices: [{ ...d, lastSeenAt: T0 - 300_000 }] }), RULES)).toMatchObject([
      { fingerprint: 'dn-001/disp-1/device_offline', kind: 'device_offline', severity: 'critical', since: T0 - 300_000, subject: 'disp-1' },
    ]);
    // Out of service: maintenance knows, nobody is paged.
    expect(fleetAlerts(fleet({ devices: [{ ...d, lastSeenAt: 0, inService: false }] }), RULES)).toEqual([]);
  });

  it('names faults, low stock and temperatures as their own alerts with a severity', () => {
    expect(classifyFault('jam')).toEqual({ kind: 'device_fault', qualifier: 'jam', severity: 'critical' });
    expect(classifyFault('door_open')).toEqual({ kind: 'device_fault', qualifier: 'door_open', severity: 'warning' });
    expect(classifyFault('low_stock_hot')).toEqual({ kind: 'low_stock', qualifier: 'hot', severity: 'warning' });
    expect(classifyFault('out_of_stock_cold')).toEqual({ kind: 'low_stock', qualifier: 'cold', severity: 'critical' });
    expect(classifyFault('temp_out_of_range_cold')).toEqual({ kind: 'temperature', qualifier: 'cold', severity: 'warning' });
    const faults = [
      { stationId: 'dn-001', deviceId: 'disp-1', fault: 'low_stock_hot', since: T0 - 10 },
      { stationId: 'dn-001', deviceId: 'disp-1', fault: 'out_of_stock_hot', since: T0 - 5 },
      { stationId: 'dn-001', deviceId: 'board-1', fault: 'door_stuck:1-5', since: T0 - 7 },
    ];
    const got = fleetAlerts(fleet({ faults, devices: [device({ stock: { hot: 0, cold: 12 } })] }), RULES);
    // Low and out of stock of one compartment are one alert, at the worse severity, from the earlier time.
    expect(got.map((c) => [c.fingerprint, c.severity, c.since])).toEqual([
      ['dn-001/disp-1/low_stock:hot', 'critical', T0 - 10],
      ['dn-001/board-1/device_fault:door_stuck:1-5', 'critical', T0 - 7],
    ]);
  });

  it('fires station_silent for a known station whose heartbeat is too old, and overdue lockers', () => {
    const got = fleetAlerts(
      fleet({
        heartbeats: [
          { stationId: 'dn-001', ts: T0 - 180_001, data: {} },
          { stationId: 'dn-002', ts: T0 - 1000, data: {} },
          { stationId: 'zz-999', ts: 0, data: {} },
        ],
        overdue: [{ stationId: 'dn-002', compartment: '1-3', since: T0 - 5, riderId: 'r-1' }],
      }),
      RULES,
    );
    expect(got.map((c) => c.fingerprint)).toEqual(['dn-001//station_silent', 'dn-002/1-3/locker_overdue']);
  });

  it('resolves only the level alerts whose condition is gone', () => {
    const row = (fingerprint: string, kind: string): AlertRow =>
      ({ fingerprint, kind, state: 'firing', severity: 'critical' }) as AlertRow;
    const firing = [row('dn-001/disp-1/device_offline', 'device_offline'), row('dn-001/seq:3/chain_broken', 'chain_broken'), row('dn-001/1-2/door_left_open', 'door_left_open')];
    expect(diffAlerts([], firing)).toEqual({ fire: [], resolve: ['dn-001/disp-1/device_offline'] });
  });

  it('fires door_left_open from its event and clears it on the compartment\'s next locker event', () => {
    const events = chain([
      { type: 'locker.door_left_open', ts: T0, data: { compartment: '1-2', openForMs: 120_000 } },
      { type: 'locker.door_left_open', ts: T0, data: { compartment: '1-3', openForMs: 130_000 } },
      { type: 'locker.retrieved', ts: T0 + 5, data: { compartment: '1-3', riderId: 'r' } },
    ]);
    expect(eventAlerts('dn-001', events)).toMatchObject({
      fire: [{ fingerprint: 'dn-001/1-2/door_left_open', since: T0 - 120_000, severity: 'warning' }],
      resolve: ['dn-001/1-3/door_left_open'],
    });
  });
});

describe('alerts kept by the cloud', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  async function cloud(evaluateIntervalMs = 100) {
    const config = testConfig(undefined, { alerts: { deviceOfflineAfterMs: 60_000, evaluateIntervalMs } });
    const store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
    const clock = new ManualClock(T0);
    const app = buildApp({ config, store, clock, logger: silent });
    await app.ready();
    closers.push(async () => {
      await app.close();
      await store.close();
    });
    const logs = new Map<string, ReturnType<typeof chain>>();
    const upload = async (specs: EventSpec[], stationId: 'dn-001' | 'dn-002' = 'dn-001') => {
      const log = logs.get(stationId) ?? [];
      const prev = log.at(-1);
      const events = chain(specs, prev?.seq ?? 0, prev?.hash);
      logs.set(stationId, [...log, ...events]);
      const r = await app.inject({ method: 'POST', url: `/v1/stations/${stationId}/events`, headers: bearer(TOKENS[stationId]), payload: { events } });
      expect(r.statusCode).toBe(200);
    };
    const list = async (state: string) => {
      const r = await app.inject({ method: 'GET', url: `/v1/alerts?state=${state}`, headers: bearer(TOKENS.admin) });
      expect(r.statusCode).toBe(200);
      return (r.json() as { alerts: AlertRow[] }).alerts;
    };
    return { app, clock, upload, list };
  }

  it('fires device_offline on silence, after the threshold, and resolves it when the device is back', async () => {
    const c = await cloud();
    await c.upload([{ type: 'device.offline', ts: T0, data: { deviceId: 'disp-1', kind: 'dispenser', reason: 'will' } }]);
    expect(await c.list('firing')).toEqual([]);
    // No upload comes while the device is silent: the timer's evaluation fires it.
    c.clock.advance(60_000);
    await expect.poll(() => c.list('firing')).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_offline', stationId: 'dn-001', subject: 'disp-1', kind: 'device_offline', severity: 'critical', state: 'firing', since: T0, until: null }]);
    c.clock.advance(1000);
    await c.upload([{ type: 'device.online', ts: c.clock.now(), data: { deviceId: 'disp-1', kind: 'dispenser' } }]);
    expect(await c.list('firing')).toEqual([]);
    expect(await c.list('resolved')).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_offline', state: 'resolved', until: T0 + 61_000 }]);
    expect(await c.list('all')).toHaveLength(1);
  });

  it('fires a fault on ingest and resolves it when the device recovers', async () => {
    const c = await cloud();
    await c.upload([{ type: 'device.fault', ts: T0, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } }]);
    expect(await c.list('firing')).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_fault:jam', severity: 'critical' }]);
    await c.upload([{ type: 'device.recovered', ts: T0 + 10, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } }]);
    expect(await c.list('resolved')).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_fault:jam' }]);
  });

  it('reads only the uploading station on upload: another station\'s silent device waits for the fleet evaluation or its own upload', async () => {
    // The timer's evaluation runs once at start, then not within this test.
    const c = await cloud(600_000);
    await c.upload([{ type: 'device.offline', ts: T0, data: { deviceId: 'disp-1', kind: 'dispenser', reason: 'will' } }], 'dn-002');
    c.clock.advance(60_000);
    await c.upload([{ type: 'device.fault', ts: c.clock.now(), data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } }]);
    expect((await c.list('firing')).map((a) => a.fingerprint)).toEqual(['dn-001/disp-1/device_fault:jam']);
    // dn-002's own next health event looks at dn-002: its dispenser is offline past the threshold.
    await c.upload([{ type: 'device.online', ts: c.clock.now(), data: { deviceId: 'board-1', kind: 'lockboard' } }], 'dn-002');
    expect((await c.list('firing')).map((a) => a.fingerprint).sort()).toEqual(['dn-001/disp-1/device_fault:jam', 'dn-002/disp-1/device_offline']);
  });

  it('fires station_silent for a heartbeat that arrives too old, and clears it with the next fresh one', async () => {
    const c = await cloud(600_000);
    await c.upload([{ type: 'station.heartbeat', ts: T0 - 200_000, data: { uptimeS: 1 } }]);
    expect(await c.list('firing')).toMatchObject([{ fingerprint: 'dn-001//station_silent', since: T0 - 200_000 }]);
    // Check-ins change no alert.
    await c.upload([{ type: 'checkin', ts: T0 - 100_000, data: { riderId: 'r1', windowFrom: '2026-12-02', windowTo: '2026-12-02' } }]);
    expect(await c.list('firing')).toHaveLength(1);
    await c.upload([{ type: 'station.heartbeat', ts: T0 - 1000, data: { uptimeS: 200 } }]);
    expect(await c.list('firing')).toEqual([]);
    expect(await c.list('resolved')).toMatchObject([{ fingerprint: 'dn-001//station_silent', until: T0 }]);
  });

  it('refuses an unknown state with a stable code', async () => {
    const c = await cloud();
    const r = await c.app.inject({ method: 'GET', url: '/v1/alerts?state=open', headers: bearer(TOKENS.admin) });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: 'bad_request' });
    expect((await c.app.inject({ method: 'GET', url: '/v1/alerts' })).statusCode).toBe(401);
  });
});
