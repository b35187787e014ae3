/**
 * Notifications (SPEC §15) against local HTTP receivers: each channel's exact format, the
 * DingTalk and Feishu signatures, once per fire and once per resolve, filters, the 20-a-minute
 * limit with its digest, and retries of a receiver that answers 500, counted in /metrics.
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { bearer, chain, silent, testConfig, TOKENS, type EventSpec } from './helpers.ts';
import { receiver, type Receiver } from './notifyReceiver.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function recv(path: string, ok?: unknown): Promise<Receiver> {
  const r = await receiver(path, ok);
  closers.push(() => r.close());
  return r;
}

async function cloud(notify: unknown[], alerts: Record<string, unknown> = {}) {
  const config = testConfig(undefined, {
    notify,
    publicUrl: 'https://ops.example.cn',
    alerts: { deviceOfflineAfterMs: 60_000, evaluateIntervalMs: 200, notifyPollMs: 100, notifyRetryBaseMs: 100, ...alerts },
  });
  const store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
  const app = buildApp({ config, store, clock: systemClock, logger: silent });
  await app.ready();
  closers.push(async () => {
    await app.close();
    await store.close();
  });
  let log: ReturnType<typeof chain> = [];
  const upload = async (specs: EventSpec[]) => {
    const prev = log.at(-1);
    const events = chain(specs, prev?.seq ?? 0, prev?.hash);
    log = [...log, ...events];
    const r = await app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events } });
    expect(r.statusCode).toBe(200);
  };
  const metrics = async () => (await app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
  return { app, store, upload, metrics };
}

const jam = (ts = Date.now()): EventSpec => ({ type: 'device.fault', ts, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } });
const unjam = (ts = Date.now()): EventSpec => ({ type: 'device.recovered', ts, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } });
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notification config', () => {
  it('fills defaults and refuses two channels of one name or an unknown kind, naming the key', () => {
    const c = testConfig(undefined, { notify: [{ kind: 'feishu', url: 'https://open.feishu.cn/x', secret: 's' }] });
    expect(c.notify[0]).toMatchObject({ kind: 'feishu', maxPerMinute: 20 });
    expect(c.alerts.deviceOfflineAfterMs).toBe(300_000);
    expect(() => testConfig(undefined, { notify: [{ kind: 'webhook', url: 'http://a', name: 'x' }, { kind: 'wecom', url: 'http://b', name: 'x' }] })).toThrow(/\/notify\/1\/name: two channels are named x/);
    expect(() => testConfig(undefined, { notify: [{ kind: 'sms', url: 'http://a' }] })).toThrow(/\/notify\/0/);
    expect(() => testConfig(undefined, { notify: [{ kind: 'webhook', url: 'http://a', maxPerMinute: 50 }] })).toThrow(/\/notify\/0/);
  });
});

describe('notification channels', () => {
  it('sends each channel its own format, once when an alert fires and once when it resolves', async () => {
    const hook = await recv('/alertmanager', {});
    const wecom = await recv('/cgi-bin/webhook/send?key=k1');
    const ding = await recv('/robot/send?access_token=t1');
    const feishu = await recv('/open-apis/bot/v2/hook/h1', { code: 0, msg: 'success' });
    const c = await cloud([
      { kind: 'webhook', url: hook.url, name: 'am' },
      { kind: 'wecom', url: wecom.url },
      { kind: 'dingtalk', url: ding.url, secret: 'SECdingtalk' },
      { kind: 'feishu', url: feishu.url, secret: 'feishu-secret' },
    ]);
    const since = Date.parse('2026-12-02T13:15:03Z'); // 21:15:03 in Shanghai
    await c.upload([jam(since)]);
    await expect.poll(() => [hook, wecom, ding, feishu].map((r) => r.received.length), { timeout: 5000 }).toEqual([1, 1, 1, 1]);

    // Alertmanager webhook, version 4.
    const am = hook.received[0]!.body;
    expect(am).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'am',
      truncatedAlerts: 0,
      externalURL: 'https://ops.example.cn',
      groupLabels: { alertname: 'device_fault', station: 'dn-001' },
      commonLabels: { alertname: 'device_fault', station: 'dn-001', zone: 'daning', subject: 'disp-1', severity: 'critical' },
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'device_fault', station: 'dn-001', zone: 'daning', subject: 'disp-1', severity: 'critical' },
          startsAt: '2026-12-02T13:15:03.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://ops.example.cn/dashboard#station=dn-001',
          fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        },
      ],
    });
    expect(typeof am.groupKey).toBe('string');
    expect((am.alerts as Array<{ annotations: Record<string, string> }>)[0]!.annotations).toMatchObject({ since: '2026-12-02 21:15:03 (Asia/Shanghai)' });

    // WeCom robot markdown: Chinese first, station, device, what, since (labelled), what to do, link.
    const w = wecom.received[0]!;
    expect(w.url).toBe('/cgi-bin/webhook/send?key=k1');
    expect(Object.keys(w.body)).toEqual(['msgtype', 'markdown']);
    expect(w.body.msgtype).toBe('markdown');
    const content = (w.body.markdown as { content: string }).content;
    for (const s of ['告警', 'dn-001', 'disp-1', '卡货（jam）', 'is jammed', '2026-12-02 21:15:03 (Asia/Shanghai)', '清理出货通道', 'https://ops.example.cn/dashboard#station=dn-001']) expect(content).toContain(s);
    expect(content.indexOf('站点')).toBeLessThan(content.indexOf('Station'));

    // DingTalk: markdown {title, text}; timestamp and sign on the URL.
    const d = ding.received[0]!;
    const q = new URL(d.url, 'http://x').searchParams;
    expect(q.get('access_token')).toBe('t1');
    const ts = q.get('timestamp')!;
    expect(Math.abs(Number(ts) - Date.now())).toBeLessThan(10_000);
    expect(q.get('sign')).toBe(createHmac('sha256', 'SECdingtalk').update(`${ts}\nSECdingtalk`).digest('base64'));
    expect(d.url).toContain(`sign=${encodeURIComponent(q.get('sign')!)}`);
    expect(d.body).toMatchObject({ msgtype: 'markdown', markdown: { title: expect.stringContaining('dn-001'), text: expect.stringContaining('disp-1') } });

    // Feishu: text, with timestamp (seconds) and sign in the body.
    const f = feishu.received[0]!.body;
    expect(f).toMatchObject({ msg_type: 'text', content: { text: expect.stringContaining('2026-12-02 21:15:03 (Asia/Shanghai)') } });
    const fts = f.timestamp as string;
    expect(Math.abs(Number(fts) * 1000 - Date.now())).toBeLessThan(10_000);
    expect(f.sign).toBe(createHmac('sha256', `${fts}\nfeishu-secret`).update('').digest('base64'));

    // Resolved: once per channel, and nothing more.
    await c.upload([unjam()]);
    await expect.poll(() => [hook, wecom, ding, feishu].map((r) => r.received.length), { timeout: 5000 }).toEqual([2, 2, 2, 2]);
    expect(hook.received[1]!.body).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', endsAt: expect.not.stringMatching(/^0001/) }] });
    expect((wecom.received[1]!.body.markdown as { content: string }).content).toContain('已恢复');
    await settle(600);
    expect([hook, wecom, ding, feishu].map((r) => r.received.length)).toEqual([2, 2, 2, 2]);
    const m = await c.metrics();
    expect(m).toContain('waystation_cloud_notify_sent_total{channel="am",kind="webhook"} 2');
    expect(m).toContain('waystation_cloud_notify_sent_total{channel="feishu-3",kind="feishu"} 2');
  });

  it('lets a channel through only the zones, stations and severities it asks for', async () => {
    const jingan = await recv('/jingan', {});
    const critical = await recv('/critical', {});
    const dn = await recv('/dn', {});
    const c = await cloud([
      { kind: 'webhook', url: jingan.url, zones: ['jingan'] },
      { kind: 'webhook', url: critical.url, minSeverity: 'critical' },
      { kind: 'webhook', url: dn.url, stations: ['dn-001'] },
    ]);
    await c.upload([{ type: 'device.fault', ts: Date.now(), data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'door_open' } }]); // a warning
    await expect.poll(() => dn.received.length, { timeout: 5000 }).toBe(1);
    await c.upload([jam()]);
    await expect.poll(() => critical.received.length, { timeout: 5000 }).toBe(1);
    await settle(500);
    expect([jingan.received.length, critical.received.length, dn.received.length]).toEqual([0, 1, 2]);
  });

  it('sends at most 20 messages a minute to a channel and folds the rest of a burst into one digest', async () => {
    const wecom = await recv('/burst');
    const c = await cloud([{ kind: 'wecom', url: wecom.url }]);
    const now = Date.now();
    await c.upload(Array.from({ length: 100 }, (_, i) => ({ type: 'device.fault', ts: now, data: { deviceId: `disp-${i}`, kind: 'dispenser', fault: 'jam' } })));
    await expect.poll(() => wecom.received.length, { timeout: 10_000 }).toBe(20);
    await settle(1500);
    expect(wecom.received).toHaveLength(20);
    const texts = wecom.received.map((r) => (r.body.markdown as { content: string }).content);
    const digests = texts.filter((t) => t.includes('告警汇总 DIGEST'));
    expect(digests).toHaveLength(1);
    expect(texts.at(-1)).toBe(digests[0]);
    expect(digests[0]).toContain('81 条');
    expect(digests[0]).toContain('and 56 more');
    expect(Buffer.byteLength(digests[0]!, 'utf8')).toBeLessThanOrEqual(4096);
    expect(wecom.received.at(-1)!.at - wecom.received[0]!.at).toBeLessThan(60_000);
    expect(await c.store.notificationCounts()).toMatchObject({ pending: 0, sent: 100 });
    expect(await c.metrics()).toContain('waystation_cloud_notify_folded_total{channel="wecom-0"} 81');
  });

  it('retries a receiver that answers 500 with backoff, counts each failure, and gives up after the last attempt', async () => {
    const bad = await recv('/down', {});
    bad.answer(500, { error: 'down' });
    const ok = await recv('/up', {});
    const c = await cloud(
      [
        { kind: 'webhook', url: bad.url, name: 'down' },
        { kind: 'webhook', url: ok.url, name: 'up' },
      ],
      { notifyMaxAttempts: 4 },
    );
    await c.upload([jam()]);
    await expect.poll(() => bad.received.length, { timeout: 10_000 }).toBe(4);
    await settle(1000);
    expect(bad.received).toHaveLength(4);
    // Backoff: each wait at least half of 100, 200, 400 ms.
    const gaps = bad.received.slice(1).map((r, i) => r.at - bad.received[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    expect(ok.received).toHaveLength(1);
    const m = await c.metrics();
    expect(m).toContain('waystation_cloud_notify_failures_total{channel="down",kind="webhook",error="http_500"} 4');
    expect(m).toContain('waystation_cloud_notify_retries_total{channel="down"} 3');
    expect(m).toContain('waystation_cloud_notify_given_up_total{channel="down"} 1');
    expect(m).toContain('waystation_cloud_notify_sent_total{channel="up",kind="webhook"} 1');
  });

  it('delivers after a receiver comes back: a retry that succeeds is sent once', async () => {
    const flaky = await recv('/flaky');
    flaky.answer(200, { errcode: 45009, errmsg: 'api freq out of limit' });
    const c = await cloud([{ kind: 'wecom', url: flaky.url }]);
    await c.upload([jam()]);
    await expect.poll(() => flaky.received.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    flaky.answer(200, { errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await c.store.notificationCounts()).sent, { timeout: 10_000 }).toBe(1);
    const n = flaky.received.length;
    await settle(800);
    expect(flaky.received).toHaveLength(n);
    expect(await c.metrics()).toContain('waystation_cloud_notify_failures_total{channel="wecom-0",kind="wecom",error="refused_45009"}');
  });
});
