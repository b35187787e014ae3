/**
 * The dashboard's sponsors section (SPEC §17) in headless Chromium at 390 px (its own zone UTC):
 * add a sponsor and a relay by zone, be told what to do on a duplicate name and an overlap, and
 * read the month's thank-you figures for the sponsor, with the time zone named.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bottleData } from '../helpers/events.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS } from './helpers.ts';

describe('dashboard sponsors in headless Chromium', () => {
  let cloud: RunningCloud;
  let browser: Browser;

  beforeAll(async () => {
    cloud = await startCloud(testConfig(), { logger: silent });
    const events = chain(['2026-11-03', '2026-11-16', '2026-11-17'].map((day, i) => ({ type: 'claim.committed', ts: noonOf(day), data: bottleData(`c${i}`, `r${i % 2}`, 'cold') })));
    const res = await fetch(`${cloud.url}/v1/stations/dn-001/events`, { method: 'POST', headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    expect(res.status).toBe(200);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      env: { ...process.env, TZ: 'UTC' },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await cloud?.stop();
  });

  it('adds a sponsor and a relay, explains refusals, and shows the month\'s statement figures, at 390 px wide', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await expect.poll(() => page.locator('#sponsors-table tbody tr').count()).toBe(1);
    // No sponsor yet: the sponsor boxes say what to do first, at a touchable size.
    for (const id of ['#relay-sponsor', '#statement-sponsor']) {
      expect(await page.locator(id).innerText()).toBe('请先新增赞助方');
      const box = (await page.locator(id).boundingBox())!;
      expect(box.width).toBeGreaterThanOrEqual(44);
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
    // At 390 px each field's label sits above its box (not broken across lines beside it).
    const misplaced = await page.evaluate(() => Array.from(document.querySelectorAll('#sponsors-section form label'), (label) => {
      const box = label.querySelector('input, select')!.getBoundingClientRect();
      const l = label.getBoundingClientRect();
      return Math.abs(box.left - l.left) > 1 || box.right > 390 ? label.textContent : null;
    }).filter(Boolean));
    expect(misplaced).toEqual([]);
    // The empty table and the empty sponsor boxes follow the language toggle.
    await page.click('[data-set-lang="en"]');
    await expect.poll(() => page.locator('#sponsors-table tbody td.empty').innerText()).toBe('none');
    expect(await page.locator('#relay-sponsor').innerText()).toBe('Add a sponsor first');
    await page.click('[data-set-lang="zh"]');
    await expect.poll(() => page.locator('#sponsors-table tbody td.empty').innerText()).toBe('暂无');

    await page.fill('#sponsor-name', '农夫山泉 Nongfu Spring');
    await page.fill('#sponsor-contact', '王经理 / Mr Wang');
    await page.click('#sponsor-add-button');
    await expect.poll(() => page.textContent('#sponsor-add-result')).toContain('已新增 农夫山泉 Nongfu Spring');
    await expect.poll(() => page.locator('#sponsors-table tbody tr').first().innerText()).toContain('王经理 / Mr Wang');
    // The same name with other spaces and case: what to do next.
    await page.fill('#sponsor-name', '农夫山泉  NONGFU spring');
    await page.click('#sponsor-add-button');
    await expect.poll(() => page.textContent('#sponsor-add-result')).toContain('已有同名赞助方');

    await page.fill('#relay-zone', 'daning');
    await page.fill('#relay-from', '2026-11-15');
    await page.fill('#relay-to', '2026-11-30');
    await page.click('#relay-add-button');
    await expect.poll(() => page.textContent('#relay-add-result')).toContain('已保存：dn-001, dn-002');
    await expect.poll(() => page.locator('#sponsors-table tbody tr').first().innerText()).toContain('dn-001 2026-11-15 – 2026-11-30');
    await page.fill('#relay-stations', 'dn-001');
    await page.fill('#relay-zone', '');
    await page.fill('#relay-from', '2026-11-01');
    await page.fill('#relay-to', '2026-11-20');
    await page.click('#relay-add-button');
    await expect.poll(() => page.textContent('#relay-add-result')).toContain('请调整日期');

    await page.fill('#statement-month', '2026-11');
    await page.click('#statement-show');
    // Bottles on 11-16 and 11-17 fall in the relay; the one on 11-03 does not.
    await expect.poll(() => page.textContent('#statement-summary')).toContain('发放 2 瓶，服务骑手 2 人');
    expect(await page.textContent('#statement-summary')).toBe('农夫山泉 Nongfu Spring，2026-11-01 至 2026-11-30（服务日，北京时间 UTC+8）：发放 2 瓶，服务骑手 2 人，补货 0 次（0 瓶）。');
    // Said again in English on the toggle, the zone's label too.
    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#statement-summary')).toBe('农夫山泉 Nongfu Spring, 2026-11-01 to 2026-11-30 (service days, Beijing time, UTC+8): 2 bottles given, 2 riders served, 0 restocks (0 bottles).');
    expect(await page.textContent('#relay-add-result')).toContain('change the dates');
    await page.click('[data-set-lang="zh"]');

    const download = page.waitForEvent('download');
    await page.click('#statement-csv');
    expect((await download).suggestedFilename()).toMatch(/^statement-sp-[0-9a-f]{12}-2026-11\.csv$/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });
});
