/**
 * A hazard report's round trip in real Chromium at 390 px (SPEC §17): a rider enrolled through
 * the real /r/ page files a report from /r/me with a photo (a 2400 × 1800 PNG picked with
 * setInputFiles, made a JPEG of at most 1280 px on the phone); the office, in the dashboard's
 * inbox, sees it, opens the photo, and resolves it with a note; the rider's page then shows
 * 已处理 / resolved with the note, and the locker it holds at a station. The dashboard's card button issues a card whose QR (read back
 * from a screenshot by zbarimg) is the new rider's credential, and prints it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { sha256Hex } from '../../protocol/index.ts';
import { bearer, chain, silent, tempDir, testConfig, TOKENS } from '../cloud/helpers.ts';
import { pngOf } from '../helpers/images.ts';
import { ZBARIMG } from '../setup/system-tools.ts';

const PHONE = { width: 390, height: 844 };
const OFFICE = 'office-token-clerk-li';
const FIXER = 'maintenance-token-fixer-zhao';
const dir = tempDir('ws-hazards-');
let cloud: RunningCloud;
let browser: Browser;
const dashboardErrors: string[] = [];

beforeAll(async () => {
  cloud = await startCloud(
    testConfig(tempDir('ws-hazards-cloud-'), {
      adminTokens: [
        { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
        { name: 'clerk-li', sha256: sha256Hex(OFFICE), role: 'office' },
        { name: 'fixer-zhao', sha256: sha256Hex(FIXER), role: 'maintenance' },
      ],
    }),
    { logger: silent },
  );
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

const noHorizontalOverflow = async (p: Page) => {
  const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll).toBeLessThanOrEqual(inner);
};

async function officeDashboard(): Promise<Page> {
  const page = await browser.newPage({ viewport: PHONE, locale: 'zh-CN' });
  page.on('pageerror', (e) => dashboardErrors.push(e.message));
  await page.goto(`${cloud.url}/dashboard`);
  await page.fill('#token', OFFICE);
  await page.click('#login');
  await page.waitForSelector('#app-view:not([hidden])');
  return page;
}

describe('a hazard report from the rider page to the office and back', () => {
  it('files with a photo resized on the phone, is resolved in the dashboard inbox, and shows 已处理 / resolved to the rider', async () => {
    const inv = await fetch(`${cloud.url}/v1/invites`, {
      method: 'POST',
      headers: { ...bearer(OFFICE), 'content-type': 'application/json' },
      body: JSON.stringify({ uses: 5, expiresAt: Date.now() + 86_400_000 }),
    });
    const { url } = (await inv.json()) as { url: string };

    const ctx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: 'zh-CN', isMobile: true, hasTouch: true });
    const phone = await ctx.newPage();
    const errors: string[] = [];
    phone.on('pageerror', (e) => errors.push(e.message));
    await phone.goto(url);
    await phone.waitForSelector('body[data-ready="true"]');
    await phone.click('#consent');
    await phone.click('input[value="courier"]');
    await phone.click('#submit');
    await phone.waitForURL('**/r/me');
    await phone.waitForSelector('#qr svg');
    await phone.waitForSelector('#hazard-list li');

    await phone.click('#hazard-details summary');
    // No photo picked yet: no empty preview image in the form.
    expect(await phone.locator('#hazard-preview').isVisible()).toBe(false);
    // Refused on the phone before anything is sent: no category, then no text.
    await phone.click('#hazard-send');
    await phone.waitForSelector('#hazard-message[data-code="no_category"]');
    await phone.click('input[name="category"][value="safety"]');
    await phone.click('#hazard-send');
    await phone.waitForSelector('#hazard-message[data-code="no_text"]');

    const photoFile = join(dir, 'manhole.png');
    writeFileSync(photoFile, pngOf(2400, 1800, [90, 90, 90]));
    await phone.fill('#hazard-text', '大宁路 100 号门口井盖缺失，晚上看不见');
    await phone.fill('#hazard-place', '大宁路 100 号');
    await phone.setInputFiles('#hazard-photo', photoFile);
    await phone.waitForSelector('#hazard-preview:not([hidden])');
    expect(await phone.getAttribute('#hazard-preview', 'data-width')).toBe('1280');
    expect(await phone.getAttribute('#hazard-preview', 'data-height')).toBe('960');
    await noHorizontalOverflow(phone);
    await phone.click('#hazard-send');
    await phone.waitForSelector('#hazard-message[data-code="sent"]');
    await phone.waitForSelector('#hazard-list li[data-state="new"]');
    expect(await phone.locator('#hazard-list li').first().textContent()).toMatch(/已提交 \/ sent[\s\S]*安全隐患[\s\S]*井盖缺失/);
    // The report's time says which clock it is.
    expect(await phone.locator('#hazard-list li').first().textContent()).toMatch(/\d\d:\d\d（北京时间 \/ Beijing time）/);

    // Stored as the JPEG the phone made, not the PNG that was picked.
    const [stored] = await cloud.store.hazards({ limit: 5 });
    expect(stored).toMatchObject({ category: 'safety', place: { text: '大宁路 100 号' }, photo: { type: 'image/jpeg' } });
    expect(stored!.photo!.bytes).toBeLessThan(614_400);

    const office = await officeDashboard();
    const card = office.locator(`#hazard-list article[data-id="${stored!.id}"]`);
    await card.waitFor();
    expect(await card.textContent()).toMatch(/安全隐患[\s\S]*\(北京时间 UTC\+8\)[\s\S]*井盖缺失[\s\S]*大宁路 100 号/);
    await card.locator('.hazard-photo-button').click();
    const img = card.locator('img.hazard-photo');
    await img.waitFor();
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(1280);
    await card.locator('.hazard-note').fill('已通知城管，井盖已补上 / cover replaced');
    await card.locator('button[data-to="resolved"]').click();
    // Resolved, it leaves the inbox of new reports and is listed under resolved, with who did it.
    await expect.poll(() => office.locator(`#hazard-list article[data-id="${stored!.id}"]`).count()).toBe(0);
    await office.selectOption('#hazard-state', 'resolved');
    await expect.poll(() => office.locator(`#hazard-list article[data-id="${stored!.id}"]`).textContent()).toMatch(/已处理[\s\S]*clerk-li \(office\)[\s\S]*cover replaced/);
    // The inbox follows the dashboard's language toggle; the note stays as the office wrote it.
    await office.click('[data-set-lang="en"]');
    expect(await office.locator(`#hazard-list article[data-id="${stored!.id}"]`).textContent()).toMatch(/^Safety · .* \(Beijing time, UTC\+8\) · Resolved[\s\S]*Resolved · .* · by clerk-li \(office\) · 已通知城管，井盖已补上 \/ cover replaced/);
    await noHorizontalOverflow(office);
    await office.click('[data-set-lang="zh"]');
    await noHorizontalOverflow(office);

    // Meanwhile the rider put things in a locker at dn-001 (a station synced): the page says which door and until when.
    const now = Date.now();
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(now);
    const up = await fetch(`${cloud.url}/v1/stations/dn-001/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
      body: JSON.stringify({
        events: chain([{ type: 'locker.deposited', ts: now - 60_000, day, data: { riderId: stored!.riderId, compartment: '1-5', bus: 'bus-1', label: 'A05', limitMs: 86_400_000 } }]),
      }),
    });
    expect(up.status).toBe(200);
    await phone.reload();
    await phone.waitForSelector('#hazard-list li[data-state="resolved"]');
    await expect.poll(() => phone.locator('#status .locker').textContent()).toMatch(/^储物柜 A05（dn-001）：(\d\d-\d\d )?\d\d:\d\d 存入，请在 \d\d-\d\d \d\d:\d\d 前取出 \/ take out by .* \/ Locker A05 at dn-001, in since (\d\d-\d\d )?\d\d:\d\d$/);
    const mine = (await phone.locator('#hazard-list li').first().textContent()) ?? '';
    expect(mine).toContain('已处理 / resolved');
    expect(mine).toContain('井盖已补上');
    expect(mine).not.toContain('clerk-li');
    expect(errors).toEqual([]);
    await ctx.close();
    await office.close();
  });

  it('says what to do when a token may not issue cards, in words, not a server message', async () => {
    const page = await browser.newPage({ viewport: PHONE, locale: 'zh-CN' });
    await page.goto(`${cloud.url}/dashboard`);
    await page.fill('#token', FIXER);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    await page.click('#card-issue');
    await expect.poll(() => page.textContent('#card-result')).toBe('未能发卡：这个令牌没有查看此内容的权限：请换用管理员或街道办的令牌登录。');
    await page.close();
  });

  it('issues a printed card from the dashboard: the QR is the new rider’s credential', async () => {
    const office = await officeDashboard();
    await office.selectOption('#card-group', 'outdoor_worker');
    await office.fill('#card-platform', 'Not Valid!');
    await office.click('#card-issue');
    await expect.poll(() => office.textContent('#card-result')).toContain('平台只能用小写字母');
    await office.fill('#card-platform', 'sanitation');
    await office.click('#card-issue');
    await office.waitForSelector('#card-print:not([hidden])');
    const riderId = (await office.getAttribute('#card-frame', 'data-rider-id'))!;
    expect(await office.textContent('#card-result')).toContain(riderId);
    const frame = office.frameLocator('#card-frame');
    expect(await frame.locator('main').textContent()).toMatch(/骑手驿站通行卡[\s\S]*Rider station card/);
    const shot = join(dir, 'card.png');
    await frame.locator('figure.qr').screenshot({ path: shot });
    const credential = execFileSync(ZBARIMG, ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', shot], { encoding: 'utf8' }).trim();
    expect(decodeJwt(credential)).toMatchObject({ sub: riderId, grp: 'outdoor_worker' });
    expect(await cloud.store.rider(riderId)).toMatchObject({ group: 'outdoor_worker', platform: 'sanitation' });
    // The print button prints the card's own document (the frame), not the dashboard.
    await office.evaluate(() => {
      const w = (document.getElementById('card-frame') as HTMLIFrameElement).contentWindow!;
      w.print = () => void (w.document.body.dataset.printed = 'true');
    });
    await office.click('#card-print');
    expect(await frame.locator('body').getAttribute('data-printed')).toBe('true');
    await noHorizontalOverflow(office);
    await office.close();
    expect(dashboardErrors).toEqual([]);
  });
});
