// Issue 14: metrics and alerts read the provisioned stations from the store, not config.stations.
// A station added with POST /v1/stations shows in /metrics (synced seq 0, its zone and time zone)
// and its alerts fire, are routed by its zone and say the time in its time zone — without a
// restart, on SQLite and on PostgreSQL.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { harness } from './appHarness.ts';
import { bearer, chain } from './helpers.ts';
import { pgInstance } from './pgHarness.ts';
import { receiver, type Receiver } from './notifyReceiver.ts';

const START = Date.parse('2026-11-25T04:00:00Z');

interface Instance {
  clock: ManualClock;
  app: Awaited<ReturnType<typeof harness>>['app'];
  admin(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ statusCode: number; body: string; json(): unknown }>;
  close(): Promise<void>;
}

let rx: Receiver;
const overrides = () => ({ alerts: { notifyPollMs: 200, evaluateIntervalMs: 500 }, notify: [{ kind: 'wecom', url: rx.url, zones: ['pudong'] }] });
beforeEach(async () => {
  rx = await receiver('/wecom?key=k');
});
afterEach(async () => {
  await rx.close();
});

async function scenario(h: Instance): Promise<void> {
  const before = (await h.admin('GET', '/metrics')).body;
  expect(before).not.toContain('pd-010');
  const made = await h.admin('POST', '/v1/stations', { id: 'pd-010', zone: 'pudong', timezone: 'Asia/Urumqi' });
  expect(made.statusCode).toBe(201);
  const { token } = made.json() as { token: string };

  const metrics = (await h.admin('GET', '/metrics')).body;
  expect(metrics).toContain('waystation_cloud_station_synced_seq{station="pd-010"} 0');
  expect(metrics).toContain('waystation_cloud_station_info{station="pd-010",zone="pudong",timezone="Asia/Urumqi",enabled="true"} 1');

  // Its dispenser jams and then it goes quiet: a heartbeat older than stationOfflineAfterMs.
  const now = h.clock.now();
  const events = chain(
    [
      { type: 'station.heartbeat', ts: now - 600_000, data: { uptimeS: 60 } },
      { type: 'device.fault', ts: now - 590_000, data: { deviceId: 'disp-9', kind: 'dispenser', faults: ['jam'] } },
    ],
    0,
    undefined,
    'Asia/Urumqi',
  );
  const up = await h.app.inject({ method: 'POST', url: '/v1/stations/pd-010/events', headers: bearer(token), payload: { events } });
  expect(up.json()).toEqual({ ackedSeq: 2 });
  expect((await h.admin('GET', '/metrics')).body).toContain('waystation_cloud_station_synced_seq{station="pd-010"} 2');

  await expect
    .poll(async () => ((await h.admin('GET', '/v1/alerts?state=firing')).json() as { alerts: Array<{ fingerprint: string }> }).alerts.map((a) => a.fingerprint).sort(), { timeout: 10_000, interval: 100 })
    .toEqual(['pd-010//station_silent', 'pd-010/disp-9/device_fault:jam']);
  // The pudong-only channel gets both (the zone is the store's), with times in Asia/Urumqi.
  await expect.poll(() => rx.received.length, { timeout: 10_000, interval: 50 }).toBe(2);
  const texts = rx.received.map((m) => JSON.stringify(m.body));
  for (const t of texts) {
    expect(t).toContain('pd-010');
    expect(t).toContain('zone pudong');
    expect(t).toContain('(Asia/Urumqi)');
  }
}

describe('a station provisioned at run time, in metrics and alerts', () => {
  const dbs: Array<{ drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('on SQLite', async () => {
    const h = await harness(START, overrides());
    try {
      await scenario(h);
    } finally {
      await h.close();
    }
  });

  it('on PostgreSQL', async () => {
    const db = await testDatabase('live');
    dbs.push(db);
    const h = await pgInstance(db.url, new ManualClock(START), overrides());
    try {
      await scenario(h);
    } finally {
      await h.close();
    }
  });
});
