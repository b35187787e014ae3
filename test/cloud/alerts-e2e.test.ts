/**
 * SPEC §15 end to end: a real station (edge daemon, embedded broker, the dispenser simulator
 * over MQTT) syncing to a real cloud on port 0, with all four channel kinds pointed at local
 * receivers. The dispenser loses power → one firing message per channel within the offline
 * threshold + 10 s; it comes back → one resolved message per channel, and nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { startHarness, type Harness } from '../helpers/station.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';
import { receiver, type Receiver } from './notifyReceiver.ts';

const OFFLINE_AFTER_MS = 3000;
let cloud: RunningCloud;
let h: Harness;
let rx: Receiver[];

beforeAll(async () => {
  rx = [await receiver('/am', {}), await receiver('/wecom?key=k'), await receiver('/ding?access_token=t'), await receiver('/feishu', { code: 0 })];
  const config = testConfig(undefined, {
    publicUrl: 'http://dashboard.test',
    alerts: { deviceOfflineAfterMs: OFFLINE_AFTER_MS, evaluateIntervalMs: 500, notifyPollMs: 200 },
    notify: [
      { kind: 'webhook', url: rx[0]!.url },
      { kind: 'wecom', url: rx[1]!.url },
      { kind: 'dingtalk', url: rx[2]!.url, secret: 'SEC-e2e' },
      { kind: 'feishu', url: rx[3]!.url, secret: 'fs-e2e' },
    ],
  });
  cloud = await startCloud(config, { logger: silent });
  h = await startHarness({ locks: 0, config: { stationId: 'dn-001', cloud: { url: cloud.url, token: TOKENS['dn-001'] } } });
});
afterAll(async () => {
  await h?.stop();
  await cloud?.stop();
  for (const r of rx ?? []) await r.close();
});

async function firing(): Promise<Array<{ fingerprint: string }>> {
  const res = await fetch(`${cloud.url}/v1/alerts?state=firing`, { headers: bearer(TOKENS.admin) });
  return ((await res.json()) as { alerts: Array<{ fingerprint: string }> }).alerts;
}

const textOf = (r: Receiver, i: number): string => JSON.stringify(r.received[i]!.body);
const counts = () => rx.map((r) => r.received.length);

describe('alerts reach people', () => {
  it('sends one firing message per channel when a dispenser goes silent, and one resolved when it is back', async () => {
    // The station synced the dispenser online; nothing is firing.
    await expect.poll(async () => (await fetch(`${cloud.url}/v1/fleet/health`, { headers: bearer(TOKENS.admin) }).then((r) => r.json()) as { devices: Array<{ deviceId: string; state: string }> }).devices.find((d) => d.deviceId === 'disp-1')?.state, { timeout: 15_000 }).toBe('online');
    expect(await firing()).toEqual([]);

    const t0 = Date.now();
    h.dispenser!.powerLoss(null); // the plug is pulled: the broker sees the socket die
    await expect.poll(counts, { timeout: OFFLINE_AFTER_MS + 10_000, interval: 50 }).toEqual([1, 1, 1, 1]);
    const elapsed = Math.max(...rx.map((r) => r.received[0]!.at)) - t0;
    expect(elapsed).toBeGreaterThanOrEqual(OFFLINE_AFTER_MS - 100);
    expect(elapsed).toBeLessThan(OFFLINE_AFTER_MS + 10_000);
    expect(rx[0]!.received[0]!.body).toMatchObject({ version: '4', status: 'firing', alerts: [{ labels: { alertname: 'device_offline', station: 'dn-001', subject: 'disp-1' } }] });
    for (let i = 1; i < 4; i++) {
      expect(textOf(rx[i]!, 0)).toContain('设备离线');
      expect(textOf(rx[i]!, 0)).toContain('disp-1');
      expect(textOf(rx[i]!, 0)).toContain('(Asia/Shanghai)');
    }
    expect(await firing()).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_offline' }]);

    await h.dispenser!.start(); // power back
    await expect.poll(counts, { timeout: 15_000, interval: 50 }).toEqual([2, 2, 2, 2]);
    expect(rx[0]!.received[1]!.body).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', labels: { alertname: 'device_offline' } }] });
    for (let i = 1; i < 4; i++) expect(textOf(rx[i]!, 1)).toContain('已恢复');
    await new Promise((r) => setTimeout(r, 1500));
    expect(counts()).toEqual([2, 2, 2, 2]);
    expect(await firing()).toEqual([]);
  }, 60_000);
});
