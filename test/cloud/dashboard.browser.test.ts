/**
 * Headless Chromium logs into the dashboard, reads the weekly check-in table and fleet health,
 * and acknowledges a hash-chain alert.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS, type EventSpec } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

// Chromium is installed by the global setup (test/setup/system-tools.ts) when missing.
describe('dashboard in headless Chromium', () => {
  let cloud: RunningCloud;
  let browser: Browser;
  let uploaded: EventSpec[] = [];

  beforeAll(async () => {
    cloud = await startCloud(testConfig(), { logger: silent });
    const specs: EventSpec[] = [];
    for (const [i, rider] of ['r1', 'r2', 'r3'].entries()) {
      const day = `2026-11-2${3 + i}`;
      specs.push({ type: 'checkin', ts: noonOf(day), data: { riderId: rider, windowFrom: day, windowTo: day } });
      specs.push({ type: 'claim.committed', ts: noonOf(day) + 1, data: { claimId: `c${i}`, riderId: rider, compartment: i ? 'cold' : 'hot', dispenserId: 'disp-1', sponsor: 'bank-a' } });
    }
    specs.push({ type: 'device.fault', ts: noonOf('2026-11-25') + 5, data: { deviceId: 'disp-1', faults: ['jam'] } });
    // For the alert inbox and the device list (SPEC §15): a dispenser offline for long, low stock.
    specs.push({ type: 'device.online', ts: noonOf('2026-11-25') + 6, data: { deviceId: 'disp-2', kind: 'dispenser' } });
    specs.push({ type: 'device.offline', ts: noonOf('2026-11-25') + 7, data: { deviceId: 'disp-2', kind: 'dispenser', reason: 'will' } });
    specs.push({ type: 'device.fault', ts: noonOf('2026-11-25') + 8, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'low_stock_hot' } });
    specs.push({ type: 'station.heartbeat', ts: noonOf('2026-11-25') + 9, data: { backlog: 0, stock: { 'disp-1': { hot: 3, cold: 20 } } } });
    uploaded = specs;
    const res = await fetch(`${cloud.url}/v1/stations/dn-001/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain(specs) }),
    });
    expect(res.status).toBe(200);
    // A forged upload from dn-002 raises a hash-chain alert for the fleet-health table.
    const forged = chain(specs.slice(0, 2)).map((e) => (e.seq === 2 ? { ...e, ts: e.ts + 1 } : e));
    const bad = await fetch(`${cloud.url}/v1/stations/dn-002/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS['dn-002']), 'content-type': 'application/json' },
      body: JSON.stringify({ events: forged }),
    });
    expect(bad.status).toBe(422);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await cloud?.stop();
  });

  it('logs in with an admin token and reads the weekly check-in table', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // No console errors either (the wrong token's 401 aside): not even a missing icon.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401/.test(m.text())) errors.push(`${m.text()} ${m.location().url}`);
    });
    await page.goto(`${cloud.url}/dashboard`);
    await page.fill('#token', 'wrong-token');
    await page.click('#login');
    await expect.poll(() => page.textContent('#login-error')).toContain('这个令牌不被接受');

    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    await expect.poll(() => page.textContent('#week-range')).toContain('2026-W48');
    const rows = await page.$$eval('#weekly-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    expect(rows.map((r) => r.slice(0, 7))).toEqual([
      ['dn-001', '3', '3', '3', '0', '1', '2'],
      ['dn-002', '0', '0', '0', '0', '0', '0'],
      ['jd-003', '0', '0', '0', '0', '0', '0'],
    ]);
    expect(await page.textContent('#sponsor-table tbody')).toContain('bank-a');
    await expect.poll(() => page.textContent('#fault-table tbody')).toContain('卡货');
    // The trend chart is drawn as SVG.
    expect(await page.locator('#trend-chart svg.line-chart').count()).toBe(1);
    // The hash-chain alert, acknowledged with its button, leaves the table.
    await expect.poll(() => page.textContent('#alert-table tbody')).toContain('dn-002');
    await page.click('#alert-table tbody button');
    await expect.poll(() => page.textContent('#alert-table tbody')).toBe('暂无');
    // The token lives in sessionStorage, so a reload stays logged in.
    await page.reload();
    await page.waitForSelector('#app-view:not([hidden])');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('on a 390 px phone: names the offline and degraded devices, stock per dispenser, and an alert inbox with acknowledge', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard?refresh=0`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    const rows = (id: string) => page.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    await expect.poll(() => rows('problem-table')).toEqual([
      ['dn-001', 'disp-1', '故障', '2026-11-25 12:00:00 (北京时间 UTC+8)', '卡货, 热水快空了'],
      ['dn-001', 'disp-2', '离线', '2026-11-25 12:00:00 (北京时间 UTC+8)', '—'],
    ]);
    expect((await rows('stock-table'))[0]).toEqual(['dn-001', 'disp-1', '3', '20', '故障']);
    expect(await page.getAttribute('#stock-table tbody tr td:nth-child(3)', 'class')).toContain('low');
    // The inbox: in Chinese, the station's time labelled.
    await expect.poll(async () => (await rows('inbox-table')).map((r) => r.slice(0, 4))).toEqual(
      expect.arrayContaining([
        ['严重', 'dn-001', 'disp-1', '设备故障 · 卡货'],
        ['严重', 'dn-001', 'disp-2', '设备离线'],
        ['警告', 'dn-001', 'disp-1', '库存不足 · 热水'],
      ]),
    );
    const jam = async () => (await rows('inbox-table')).find((r) => r[3]!.includes('卡货'))!;
    expect((await jam())[4]).toBe('2026-11-25 12:00:00 (北京时间 UTC+8)');
    await page.click('#inbox-table tbody tr:has-text("卡货") button');
    await expect.poll(async () => (await jam())[5]).toContain('已由 street-office');
    // Acknowledged is not resolved: the jam is still firing until the station clears it.
    await page.selectOption('#inbox-state', 'resolved');
    await expect.poll(() => page.textContent('#inbox-table tbody')).toContain('日志校验失败');
    // Fault codes are named in the page's language.
    await page.click('[data-set-lang="en"]');
    await expect.poll(async () => (await rows('problem-table'))[0]![4]).toBe('jam, hot stock low');
    await page.click('[data-set-lang="zh"]');
    await expect.poll(async () => (await rows('problem-table'))[0]![4]).toBe('卡货, 热水快空了');
    // Nothing makes the page itself scroll sideways at 390 px.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refreshes itself: a batch synced after the page loaded shows without pressing Refresh', async () => {
    const page = await browser.newPage();
    await page.goto(`${cloud.url}/dashboard?refresh=2`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    const dn001 = () => page.$eval('#weekly-table tbody tr', (tr) => tr.querySelectorAll('td')[1]?.textContent);
    await expect.poll(dn001).toBe('3');
    // The status line is written when the whole refresh is done, which may be after the table.
    await expect.poll(() => page.textContent('#status')).toContain('每 2 秒自动刷新');
    // dn-001 syncs one more check-in (seq 8, continuing its chain).
    const last = chain(uploaded).at(-1)!;
    const more = chain([{ type: 'checkin', ts: noonOf('2026-11-26'), data: { riderId: 'r4', windowFrom: '2026-11-26', windowTo: '2026-12-02' } }], last.seq, last.hash);
    const res = await fetch(`${cloud.url}/v1/stations/dn-001/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
      body: JSON.stringify({ events: more }),
    });
    expect(res.status).toBe(200);
    await expect.poll(dn001, { timeout: 10_000 }).toBe('4');
    await page.close();
  });
});
