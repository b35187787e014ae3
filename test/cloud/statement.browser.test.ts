/**
 * The sponsor statement page (SPEC §17) in headless Chromium whose own zone is UTC: printed with
 * `page.pdf({format: 'A4'})`, it is one A4 page that carries the sponsor's name and numbers in
 * Chinese and English, with the dates labelled in Asia/Shanghai time (read back with poppler's
 * pdftotext and pdfinfo); on a 390 px phone it does not scroll sideways.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { sha256Hex } from '../../protocol/index.ts';
import { bottleData, checkinData, restockData } from '../helpers/events.ts';
import { bearer, chain, silent, tempDir, testConfig, TOKENS, type EventSpec } from './helpers.ts';

function havePoppler(): boolean {
  return spawnSync('sh', ['-c', 'command -v pdftotext && command -v pdfinfo'], { stdio: 'ignore' }).status === 0;
}
// pdftotext and pdfinfo come from Debian's poppler-utils (.ci/run installs it too).
if (!havePoppler()) {
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils'], { stdio: 'inherit', timeout: 600_000 });
}

const SPONSOR_TOKEN = 'sponsor-nongfu-token';
const at = (day: string, hh: number) => Date.parse(`${day}T${String(hh).padStart(2, '0')}:00:00+08:00`);

describe('sponsor statement printed from headless Chromium', () => {
  let cloud: RunningCloud;
  let browser: Browser;
  const url = () => `${cloud.url}/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30&format=html`;

  beforeAll(async () => {
    const base = testConfig();
    cloud = await startCloud(
      testConfig(base.dataDir, {
        adminTokens: [
          { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
          { name: 'nongfu', sha256: sha256Hex(SPONSOR_TOKEN), role: 'sponsor', sponsorId: 'sp-nongfu' },
        ],
      }),
      { logger: silent },
    );
    const post = async (path: string, body: unknown, token: string) => {
      const r = await fetch(`${cloud.url}${path}`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, `${path}: ${await r.clone().text()}`).toBeLessThan(300);
      return r.json();
    };
    // 17 bottles to 4 riders at two stations in November; one restock of 48. None names a sponsor:
    // the relay, added afterwards, decides.
    const specs = (riders: string[], days: string[]): EventSpec[] =>
      days.flatMap((day, i) => [
        { type: 'checkin', ts: at(day, 9), data: checkinData(riders[i % riders.length]!, day) },
        { type: 'claim.committed', ts: at(day, 10), data: bottleData(`c-${day}-${i}`, riders[i % riders.length]!, i % 2 ? 'hot' : 'cold') },
      ]);
    const dn1 = [...specs(['r-a', 'r-b'], ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-10', '2026-11-11', '2026-11-17', '2026-11-24', '2026-11-25', '2026-11-30']),
      { type: 'dispenser.restocked', ts: at('2026-11-12', 8), data: restockData(48, 'cold') }];
    const dn2 = specs(['r-c', 'r-d'], ['2026-11-05', '2026-11-06', '2026-11-12', '2026-11-13', '2026-11-19', '2026-11-20', '2026-11-26', '2026-11-27']);
    await post('/v1/stations/dn-001/events', { events: chain(dn1) }, TOKENS['dn-001']);
    await post('/v1/stations/dn-002/events', { events: chain(dn2) }, TOKENS['dn-002']);
    await post('/v1/sponsors', { name: '农夫山泉 Nongfu Spring', id: 'sp-nongfu' }, TOKENS.admin);
    await post('/v1/sponsors/sp-nongfu/relays', { zone: 'daning', from: '2026-11-01', to: '2026-11-30' }, TOKENS.admin);
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

  it('prints on one A4 page with the sponsor\'s numbers, Chinese first and English beside, times labelled', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: bearer(SPONSOR_TOKEN) });
    const page = await context.newPage();
    const csp: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    const res = await page.goto(url());
    expect(res?.status()).toBe(200);
    expect(await page.locator('[data-figure="bottles"]').textContent()).toBe('17');
    // The style sheet applied (the CSP allows it by hash): the figures sit in bordered boxes.
    expect(await page.locator('.figure').first().evaluate((e) => getComputedStyle(e).borderTopStyle)).toBe('solid');
    expect(csp).toEqual([]);
    const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
    const file = join(tempDir('wc-statement-'), 'statement.pdf');
    writeFileSync(file, pdf);
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(info).toMatch(/^Pages:\s+1$/m);
    // A4 is 595.28 x 841.89 pt.
    const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info)!;
    expect([Math.round(Number(size[1])), Math.round(Number(size[2]))]).toEqual([595, 842]);
    // Lines wrap where the page is narrow: compare with whitespace runs as one space.
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    for (const s of ['感谢信', 'Thank-you statement', '农夫山泉 Nongfu Spring', 'Asia/Shanghai', '2026-11-01', '2026-11-30', '服务骑手', 'Bottles given', '2026-W45', '2026-W49', '2026-11-12']) {
      expect(text, s).toContain(s);
    }
    // Figures: 17 bottles, 4 riders, 1 restock of 48 bottles.
    expect(text).toMatch(/17 ?瓶水送到 ?了 ?4 ?位/);
    expect(text).toMatch(/the 17 bottles you sponsored reached 4 delivery riders/);
    expect(text).toMatch(/dn-001\s+2026-11-12\s+1\s+48/);
    // dn-001 in W45 (11-02..11-04): r-a cold, r-b hot, r-a cold.
    expect(text).toMatch(/dn-001\s+2026-W45\s+2026-11-02 – 2026-11-04\s+1\s+2\s+3/);
    await context.close();
  });

  it('fits a 390 px phone without sideways scrolling', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: bearer(TOKENS.admin), viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(url());
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.locator('h1').innerText()).toContain('感谢信');
    await context.close();
  });
});
