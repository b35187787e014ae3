/**
 * The dashboard's stations list and "add a station" (SPEC §12) in headless Chromium at 390 px:
 * Chinese first with English beside, the last upload in the station's time zone and labelled,
 * and the token shown once works for the new station's uploads.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS } from './helpers.ts';

describe('dashboard stations in headless Chromium', () => {
  let cloud: RunningCloud;
  let browser: Browser;

  beforeAll(async () => {
    cloud = await startCloud(testConfig(), { logger: silent });
    const day = '2026-11-24';
    const res = await fetch(`${cloud.url}/v1/stations/dn-001/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain([{ type: 'checkin', ts: noonOf(day), data: { riderId: 'r1', windowFrom: day, windowTo: day } }]) }),
    });
    expect(res.status).toBe(200);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cloud?.stop();
  });

  it('lists the stations and adds one whose token works, at 390 px wide', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await expect.poll(() => page.locator('#stations-table tbody tr').count()).toBe(3);
    const first = await page.locator('#stations-table tbody tr').first().innerText();
    expect(first).toContain('dn-001');
    expect(first).toContain('启用');
    expect(first).toContain('(北京时间 UTC+8)');
    expect(await page.locator('#stations-table tbody tr').nth(1).innerText()).toContain('从未');

    await page.fill('#new-station-id', 'pd-030');
    await page.fill('#new-station-zone', 'pudong');
    await page.click('#station-add-button');
    await expect.poll(() => page.locator('#stations-table tbody tr').count()).toBe(4);
    expect(await page.textContent('#station-add-result')).toContain('已新增 pd-030');
    const token = (await page.textContent('#new-station-token'))!;
    const day = '2026-11-25';
    const up = await fetch(`${cloud.url}/v1/stations/pd-030/events`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain([{ type: 'checkin', ts: noonOf(day), data: { riderId: 'r9', windowFrom: day, windowTo: day } }]) }),
    });
    expect(await up.json()).toEqual({ ackedSeq: 1 });

    // The same id again: says what to do next.
    await page.fill('#new-station-id', 'pd-030');
    await page.click('#station-add-button');
    await expect.poll(() => page.textContent('#station-add-result')).toContain('请换一个编号');
    expect(await page.getAttribute('#station-add-result', 'class')).toBe('error');
    // Nothing wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });
});
