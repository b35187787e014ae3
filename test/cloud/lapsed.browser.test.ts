/**
 * The dashboard's lapsed riders you can act on (issue 15, SPEC §17), in headless Chromium running
 * in UTC against a real cloud fed through the real ingest: two weeks of visits where riders lapse
 * and one still on last week's window takes a bottle this week (not listed), group and platform
 * in words, the opted-in contact for admin, outreach recorded from the page and still there after
 * a reload, the note's limits and errors saying what to do, English after the toggle, a 390 px
 * phone with one card per rider, and the printed list without its forms.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, sha256Hex } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS, type EventSpec } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
/** "Today" for the cloud: Friday of 2026-W49, noon Beijing time. */
const NOW = noonOf('2026-12-04');
const R = (n: number) => `r-${String(n).padStart(16, '0')}`;
/** Opted in to be contacted; seen at two stations in W48, last at dn-002. */
const CONTACTED = R(1);
/** Checked in on the last day of W48 with a window into W49, took a bottle on it in W49: not lapsed. */
const ON_WINDOW = R(2);
/** Seen in W48 at jd-003, no platform, no contact. */
const QUIET = R(3);

let claimNo = 0;
const checkin = (riderId: string, day: string, windowTo = day): EventSpec => ({ type: 'checkin', ts: noonOf(day), data: { riderId, windowFrom: day, windowTo } });
const bottle = (riderId: string, day: string): EventSpec => ({
  type: 'claim.committed', ts: noonOf(day) + 1, data: { claimId: `c-${++claimNo}`, riderId, compartment: 'cold', dispenserId: 'disp-1', sponsor: 'bank-a' },
});

describe('the lapsed riders on the dashboard, to act on (a browser in UTC)', () => {
  let cloud: RunningCloud;
  let browser: Browser;
  const errors: string[] = [];
  afterEach(() => expect(errors.splice(0)).toEqual([]));

  async function upload(stationId: keyof typeof TOKENS, specs: EventSpec[]): Promise<void> {
    const res = await fetch(`${cloud.url}/v1/stations/${stationId}/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS[stationId]), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain(specs) }),
    });
    expect(res.status).toBe(200);
  }

  async function loggedIn(opts: { width?: number } = {}): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1100, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard?refresh=0`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    await expect.poll(() => page.getAttribute('#lapsed-riders-list', 'data-week')).toBe('2026-W49');
    return page;
  }

  const card = (page: Page, riderId: string) => page.locator(`#lapsed-riders-list li[data-rider="${riderId}"]`);
  const riders = (page: Page) => page.$$eval('#lapsed-riders-list li.lapsed-rider', (lis) => lis.map((li) => (li as HTMLElement).dataset.rider));
  const facts = (page: Page, riderId: string) => card(page, riderId).locator('dl').evaluate((dl) =>
    Object.fromEntries(Array.from(dl.querySelectorAll('dt'), (dt) => [dt.textContent, (dt.nextElementSibling as HTMLElement).textContent])));
  const outreachApi = async () => (await (await fetch(`${cloud.url}/v1/reports/lapsed?week=2026-W49`, { headers: bearer(TOKENS.admin) })).json()) as
    { riders: { riderId: string; outreach: { at: number; by: string; note: string }[] }[] };

  beforeAll(async () => {
    const config = testConfig(undefined, {
      stations: [
        { id: 'dn-001', tokenSha256: sha256Hex(TOKENS['dn-001']), zone: 'daning' },
        { id: 'dn-002', tokenSha256: sha256Hex(TOKENS['dn-002']), zone: 'daning' },
        { id: 'jd-003', tokenSha256: sha256Hex(TOKENS['jd-003']), zone: 'west' },
      ],
    });
    cloud = await startCloud(config, { logger: silent, clock: new ManualClock(NOW) });
    // Two weeks through the real ingest: W48 (11-23..11-29) and W49 so far (11-30..12-04).
    await upload('dn-001', [
      checkin(CONTACTED, '2026-11-24'), bottle(CONTACTED, '2026-11-24'),
      checkin(ON_WINDOW, '2026-11-29', '2026-12-05'), bottle(ON_WINDOW, '2026-11-29'),
      bottle(ON_WINDOW, '2026-12-01'), // W49, on the W48 check-in's window: seen this week
    ]);
    await upload('dn-002', [checkin(CONTACTED, '2026-11-26'), checkin(R(9), '2026-12-02')]); // R(9): only this week, not lapsed
    await upload('jd-003', [checkin(QUIET, '2026-11-25'), bottle(QUIET, '2026-11-25')]);
    // The riders the cloud knows: one enrolled with a contact (opted in), one without, one from a card.
    await cloud.store.createInvite({ code: 'inv-lapsed', uses: 5, expiresAt: Date.parse('2027-01-01T00:00:00Z'), zone: 'daning', note: null, createdAt: 1, createdBy: 'street-office (admin)' });
    expect(await cloud.store.enrolRider({ invite: 'inv-lapsed', riderId: CONTACTED, group: 'courier', platform: 'meituan', deviceX: 'device-of-r1', contact: '138-0000-0001', at: 2 })).toMatchObject({ kind: 'enrolled' });
    expect(await cloud.store.enrolRider({ invite: 'inv-lapsed', riderId: ON_WINDOW, group: 'food_delivery', platform: 'eleme', deviceX: 'device-of-r2', contact: '139-0000-0002', at: 2 })).toMatchObject({ kind: 'enrolled' });
    await cloud.store.createRider({ riderId: QUIET, group: 'outdoor_worker', platform: null, createdAt: 3 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      env: { ...process.env, TZ: 'UTC' },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await cloud?.stop();
  });

  it('lists who lapsed this week with group and platform in words, last visit and the opted-in contact, not a rider still on last week\'s window', async () => {
    const page = await loggedIn();
    expect(await riders(page)).toEqual([CONTACTED, QUIET]);
    expect(await page.textContent('#lapsed-riders-section h2 [data-i18n]')).toBe('流失骑手与联系记录');
    expect(await page.textContent('#lapsed-riders-hint')).toBe('2026-W48 来过（签到或领水），2026-W49 一次也没有来');
    expect(await facts(page, CONTACTED)).toEqual({
      分组: '快递员', 平台: '美团', 最后到访站点: 'dn-002', '最后到访日（服务日）': '2026-11-26', 联系方式: '138-0000-0001（骑手同意联系）',
    });
    expect(await card(page, CONTACTED).locator('a.lapsed-tel').getAttribute('href')).toBe('tel:13800000001');
    // No contact where the rider did not opt in; a platform not given says so.
    expect(await facts(page, QUIET)).toEqual({ 分组: '户外劳动者', 平台: '未登记', 最后到访站点: 'jd-003', '最后到访日（服务日）': '2026-11-25' });
    expect(await card(page, QUIET).locator('.lapsed-notes').textContent()).toBe('还没有联系记录');
    // Every string is there in both languages.
    expect(await page.evaluate('i18n.missing()')).toEqual([]);

    // The station filter scopes the list; a week where nobody lapsed says so.
    await page.selectOption('#station', 'jd-003');
    await expect.poll(() => riders(page)).toEqual([QUIET]);
    await page.selectOption('#station', '');
    await expect.poll(() => riders(page)).toEqual([CONTACTED, QUIET]);
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    await expect.poll(() => page.getAttribute('#lapsed-riders-list', 'data-week')).toBe('2026-W48');
    expect(await page.textContent('#lapsed-riders-list')).toBe('本周没有流失的骑手');
    // The range view has no lapsed list of this kind: the page says to use the week.
    await page.check('input[name="mode"][value="range"]');
    await expect.poll(() => page.textContent('#lapsed-riders-message')).toBe('流失骑手按周列出：请切换到“按周”查看。');
    await page.close();
  });

  it('records outreach from the page, shows it after a reload, and says what to do when a note cannot be recorded', async () => {
    const page = await loggedIn();
    const box = card(page, CONTACTED).locator('textarea');
    const button = card(page, CONTACTED).locator('button.lapsed-record');
    const result = card(page, CONTACTED).locator('.lapsed-result');
    expect(await button.textContent()).toBe('记录联系');
    // A blank note is not sent.
    await box.fill('   ');
    await button.click();
    await expect.poll(() => result.textContent()).toBe('请先写下这次联系的情况，再点“记录联系”。');
    expect((await outreachApi()).riders.find((r) => r.riderId === CONTACTED)!.outreach).toEqual([]);
    // The page holds a note to 500 characters and counts them.
    await box.fill('话'.repeat(600));
    expect((await box.inputValue()).length).toBe(500);
    expect(await card(page, CONTACTED).locator('.lapsed-counter').textContent()).toBe('500 / 500 字');
    const note = '电话联系，下周回来';
    await box.fill(note);
    expect(await card(page, CONTACTED).locator('.lapsed-counter').textContent()).toBe('9 / 500 字');
    await button.click();
    await expect.poll(() => card(page, CONTACTED).locator('.lapsed-notes li').allTextContents())
      .toEqual([`2026-12-04 12:00 (北京时间 UTC+8) · street-office (admin) · ${note}`]);
    expect(await card(page, CONTACTED).locator('.lapsed-result').textContent()).toBe('已记录。');
    expect(await card(page, CONTACTED).locator('textarea').inputValue()).toBe('');
    // It is the cloud's record, not the page's.
    expect((await outreachApi()).riders.find((r) => r.riderId === CONTACTED)!.outreach).toEqual([{ at: NOW, by: 'street-office (admin)', note }]);
    await page.reload();
    await page.waitForSelector('#app-view:not([hidden])');
    await expect.poll(() => card(page, CONTACTED).locator('.lapsed-notes li').allTextContents())
      .toEqual([`2026-12-04 12:00 (北京时间 UTC+8) · street-office (admin) · ${note}`]);

    // A rider with as many notes as are kept: the cloud refuses, the page says what to do next.
    for (let i = 0; i < 200; i++) await cloud.store.addOutreach({ riderId: QUIET, at: NOW - 1000 + i, by: 'clerk (office)', note: `n${i}` });
    await card(page, QUIET).locator('textarea').fill('又打了一次');
    await card(page, QUIET).locator('button.lapsed-record').click();
    await expect.poll(() => card(page, QUIET).locator('.lapsed-result').textContent()).toBe('这位骑手的联系记录已达上限（200 条）：无法再记录，请联系管理员。');
    expect(await card(page, QUIET).locator('.lapsed-result').getAttribute('class')).toContain('error');
    // What was typed stays, to copy elsewhere.
    expect(await card(page, QUIET).locator('textarea').inputValue()).toBe('又打了一次');
    await page.close();
  });

  it('follows the English toggle, keeping a note being written', async () => {
    const page = await loggedIn();
    await card(page, QUIET).locator('textarea').fill('half-written');
    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#lapsed-riders-section h2 [data-i18n]')).toBe('Lapsed riders and outreach');
    expect(await page.textContent('#lapsed-riders-hint')).toBe('seen in 2026-W48 (a check-in or a bottle), not at all in 2026-W49');
    expect(await facts(page, CONTACTED)).toEqual({
      Group: 'Courier', Platform: 'Meituan', 'Last station': 'dn-002', 'Last day seen (service day)': '2026-11-26', Contact: '138-0000-0001 (rider opted in)',
    });
    expect(await facts(page, QUIET)).toMatchObject({ Group: 'Outdoor worker', Platform: 'not recorded' });
    expect(await card(page, CONTACTED).locator('button.lapsed-record').textContent()).toBe('Record outreach');
    expect(await card(page, CONTACTED).locator('.lapsed-notes li').first().textContent()).toContain('2026-12-04 12:00 (Beijing time, UTC+8) · street-office (admin)');
    expect(await card(page, QUIET).locator('textarea').inputValue()).toBe('half-written');
    expect(await card(page, QUIET).locator('.lapsed-counter').textContent()).toBe('12 / 500 characters');
    // The newest 20 notes are shown, newest first.
    expect(await card(page, QUIET).locator('.lapsed-notes li').count()).toBe(20);
    expect(await card(page, QUIET).locator('.lapsed-notes li').first().textContent()).toContain('n199');
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    await expect.poll(() => page.textContent('#lapsed-riders-list')).toBe('No lapsed riders this week');
    await page.click('[data-set-lang="zh"]');
    expect(await page.textContent('#lapsed-riders-list')).toBe('本周没有流失的骑手');
    await page.close();
  });

  it('reloads the list (an audited view of its contacts) on Refresh and on a new week, not on every tick of the timer', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    const asked: string[] = [];
    const ticks: number[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/v1/reports/lapsed') asked.push(u.search);
      if (u.pathname === '/v1/reports/weekly') ticks.push(Date.now());
    });
    await page.goto(`${cloud.url}/dashboard?refresh=2`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await expect.poll(() => page.getAttribute('#lapsed-riders-list', 'data-week')).toBe('2026-W49');
    // The timer refreshes the rest of the page twice more; the list is not asked for again.
    await expect.poll(() => ticks.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(asked).toEqual(['?week=2026-W49']);
    await page.click('#refresh');
    await expect.poll(() => asked.length).toBe(2);
    await page.fill('#week', '2026-W48');
    await page.dispatchEvent('#week', 'change');
    await expect.poll(() => asked.at(-1)).toBe('?week=2026-W48');
    await page.close();
  });

  it('fits a 390 px phone: one card per rider, no sideways scrolling, touch targets of 44 px; prints without the forms', async () => {
    const page = await loggedIn({ width: 390 });
    for (const lang of ['zh', 'en']) {
      await page.click(`[data-set-lang="${lang}"]`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
    await page.click('[data-set-lang="zh"]');
    const boxes = await page.$$eval('#lapsed-riders-list li.lapsed-rider', (lis) => lis.map((li) => { const r = li.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right), Math.round(r.top)]; }));
    expect(boxes).toHaveLength(2);
    // One column: the cards share their left edge, one under the other, inside the screen.
    expect(boxes[0]![0]).toBe(boxes[1]![0]);
    expect(boxes[1]![2]).toBeGreaterThan(boxes[0]![2]!);
    for (const b of boxes) expect(b[1]!).toBeLessThanOrEqual(390);
    const small = await page.$$eval('#lapsed-riders-section button, #lapsed-riders-section textarea, #lapsed-riders-section a', (els) =>
      els.map((e) => [e.className, e.getBoundingClientRect().height]).filter(([, h]) => (h as number) < 44));
    expect(small).toEqual([]);

    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#lapsed-riders-section')).toBe(true);
    expect(await card(page, CONTACTED).isVisible()).toBe(true);
    expect(await page.isVisible('#lapsed-riders-list form')).toBe(false);
    await page.close();
  });
});
