/**
 * A stolen station token (issue 11 item 8, visibility): someone holding dn-001's token uploads
 * a log of their own over seqs the cloud already holds. The upload is refused (422
 * `replay_mismatch`), and at once a critical alert naming the station goes out, saying the token
 * may be stolen and to rotate it (SPEC §12, §15). A real cloud on port 0, real receivers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS } from './helpers.ts';
import { receiver, type Received, type Receiver } from './notifyReceiver.ts';

const T = noonOf('2026-11-24');
const log = (who: string) =>
  chain([1, 2, 3].map((i) => ({ type: 'checkin', ts: T + i * 1000, data: { riderId: `${who}-${i}`, windowFrom: T, windowTo: T + 86_400_000 } })));

let cloud: RunningCloud;
let rx: Receiver[];
beforeAll(async () => {
  rx = [await receiver('/am', {}), await receiver('/wecom?key=k')];
  cloud = await startCloud(
    testConfig(undefined, {
      publicUrl: 'http://dashboard.test',
      alerts: { evaluateIntervalMs: 500, notifyPollMs: 200 },
      notify: [{ kind: 'webhook', url: rx[0]!.url }, { kind: 'wecom', url: rx[1]!.url }],
    }),
    { logger: silent },
  );
});
afterAll(async () => {
  await cloud?.stop();
  for (const r of rx ?? []) await r.close();
});

const upload = (events: unknown[]) =>
  fetch(`${cloud.url}/v1/stations/dn-001/events`, {
    method: 'POST',
    headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });

describe('a stolen station token', () => {
  it('raises a critical alert naming the station, saying the token may be stolen and to rotate it', async () => {
    // Other alerts (stations that never sent a heartbeat) may go out too; these are the chain's.
    const chainMessages = () => rx.map((r) => r.received.filter((m) => /chain_broken|令牌疑似被盗/.test(JSON.stringify(m.body))));
    const real = await upload(log('r-real'));
    expect([real.status, ((await real.json()) as { ackedSeq: number }).ackedSeq]).toEqual([200, 3]);

    const t0 = Date.now();
    const stolen = await upload(log('r-thief')); // a valid-looking chain of its own, from seq 1
    expect(stolen.status).toBe(422);
    expect(await stolen.json()).toMatchObject({ error: 'chain_broken', seq: 1, reason: 'replay_mismatch' });

    await expect.poll(() => chainMessages().map((m) => m.length), { timeout: 10_000, interval: 50 }).toEqual([1, 1]);
    const [am, wecom] = chainMessages().map((m) => m[0]!) as [Received, Received];
    expect(Math.max(am.at, wecom.at) - t0).toBeLessThan(5_000);
    expect(am.body).toMatchObject({
      status: 'firing',
      alerts: [{ labels: { alertname: 'chain_broken', station: 'dn-001', severity: 'critical' } }],
    });
    const text = JSON.stringify(wecom.body);
    expect(text).toContain('站点令牌疑似被盗');
    expect(text).toContain('station token may be stolen');
    expect(text).toContain('dn-001');
    expect(text).toContain('Rotate the token of dn-001');

    const alerts = (await (await fetch(`${cloud.url}/v1/alerts?state=firing`, { headers: bearer(TOKENS.admin) })).json()) as {
      alerts: Array<{ kind: string; stationId: string; severity: string; detail: string }>;
    };
    expect(alerts.alerts.filter((a) => a.kind === 'chain_broken')).toMatchObject([{ stationId: 'dn-001', severity: 'critical', detail: 'replay_mismatch' }]);
  }, 30_000);
});
