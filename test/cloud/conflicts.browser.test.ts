/**
 * The dashboard's zone conflicts (SPEC §13) in headless Chromium at 390 px: a rider granted at
 * two stations of a zone-scoped zone on one day is listed once, in Chinese by default and in
 * English on the toggle, each claim at its station's local time (labelled) with how stale its
 * feed was.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS } from './helpers.ts';

describe('dashboard conflicts in headless Chromium', () => {
  let cloud: RunningCloud;
  let browser: Browser;

  beforeAll(async () => {
    cloud = await startCloud(testConfig(undefined, { quota: { zones: { daning: { scope: 'zone' } } } }), { logger: silent });
    const day = '2026-11-25';
    const claim = (claimId: string, ts: number, zoneFeedAgeMs?: number) => ({
      type: 'claim.committed', ts, data: { claimId, riderId: 'r-77', compartment: 'cold', dispenserId: 'disp-1', ...(zoneFeedAgeMs !== undefined ? { zoneFeedAgeMs } : {}) },
    });
    for (const [station, spec] of [['dn-001', claim('a-1', noonOf(day), 45_000)], ['dn-002', claim('b-1', noonOf(day) + 3_600_000)]] as const) {
      const res = await fetch(`${cloud.url}/v1/stations/${station}/events`, {
        method: 'POST',
        headers: { ...bearer(TOKENS[station]), 'content-type': 'application/json' },
        body: JSON.stringify({ events: chain([spec]) }),
      });
      expect(res.status).toBe(200);
    }
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cloud?.stop();
  });

  it('lists the week’s conflict with both claims, local times and feed lag, at 390 px wide', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard?refresh=0`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    await expect.poll(() => page.textContent('#conflicts-count')).toBe('2026-W48 · 1 起');
    const row = await page.locator('#conflicts-table tbody tr').first().innerText();
    expect(row).toContain('2026-11-25');
    expect(row).toContain('daning');
    expect(row).toContain('r-77');
    expect(row).toContain('dn-001 · 2026-11-25 12:00:00 (北京时间 UTC+8) · 数据延迟 45 秒');
    expect(row).toContain('dn-002 · 2026-11-25 13:00:00 (北京时间 UTC+8) · 数据延迟 未知');
    expect(await page.textContent('#conflicts-section h2')).toContain('跨站冲突');

    // The same list in English after the toggle.
    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#conflicts-count')).toBe('2026-W48 · 1 case');
    const en = await page.locator('#conflicts-table tbody tr').first().innerText();
    expect(en).toContain('dn-001 · 2026-11-25 12:00:00 (Beijing time, UTC+8) · feed lag 45 s');
    expect(en).toContain('dn-002 · 2026-11-25 13:00:00 (Beijing time, UTC+8) · feed lag unknown');
    await page.click('[data-set-lang="zh"]');

    // Another zone: none, said in words.
    await page.fill('#conflicts-zone', 'jingan');
    await page.dispatchEvent('#conflicts-zone', 'change');
    await expect.poll(() => page.locator('#conflicts-table tbody').innerText()).toBe('本周没有冲突');
    expect(await page.textContent('#conflicts-count')).toBe('2026-W48 · 0 起');
    await page.click('[data-set-lang="en"]');
    expect(await page.locator('#conflicts-table tbody').innerText()).toBe('No conflicts this week');
    await page.click('[data-set-lang="zh"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });
});
