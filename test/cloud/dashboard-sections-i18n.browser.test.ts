/**
 * The dashboard's last four sections follow the language toggle as the others do (issue 15): the
 * zone conflicts, the hazard inbox, the rider card form and the sponsors. In real Chromium at
 * 390 px (the browser in UTC): Chinese by default; after the toggle English, with no Chinese left
 * in a section's headings, labels, buttons, placeholders and rendered rows other than its data (a
 * rider's words, a sponsor's name); English still after a reload; no sideways scrolling in either
 * language — against a real cloud.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { pngOf } from '../helpers/images.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS } from './helpers.ts';

const PHONE = { width: 390, height: 844 };
/** "Today" for the cloud: Friday of 2026-W48, Beijing time. */
const NOW = noonOf('2026-11-27');
const SECTIONS = ['#conflicts-section', '#hazards-section', '#cards-section', '#sponsors-section'] as const;
/** What riders and the office typed: data, shown as written in either language. */
const DATA = ['大宁路 100 号门口井盖缺失，晚上看不见', '大宁路 100 号', '已通知城管', '农夫山泉', '王经理'];
/** Chinese characters and the full-width punctuation that goes with them. */
const CJK = /[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]/;

let cloud: RunningCloud;
let browser: Browser;
const errors: string[] = [];

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${cloud.url}${path}`, { method: 'POST', headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  cloud = await startCloud(testConfig(undefined, { quota: { zones: { daning: { scope: 'zone' } } } }), { logger: silent, clock: new ManualClock(NOW) });
  // A conflict: r-77 granted at dn-001 and at dn-002 of zone daning on 2026-11-25.
  const claim = (claimId: string, ts: number, zoneFeedAgeMs?: number) => ({
    type: 'claim.committed', ts, data: { claimId, riderId: 'r-77', compartment: 'cold', dispenserId: 'disp-1', ...(zoneFeedAgeMs !== undefined ? { zoneFeedAgeMs } : {}) },
  });
  for (const [station, spec] of [['dn-001', claim('a-1', noonOf('2026-11-25'), 125_000)], ['dn-002', claim('b-1', noonOf('2026-11-25') + 3_600_000)]] as const) {
    const res = await fetch(`${cloud.url}/v1/stations/${station}/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS[station]), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain([spec]) }),
    });
    expect(res.status).toBe(200);
  }
  // Two hazard reports: one new with a place and a photo, one the office acknowledged with a note.
  const filed = await cloud.store.fileHazard({
    id: 'h-00000000000000a1', riderId: 'r-0000000000000001', category: 'safety', text: DATA[0]!,
    place: { text: DATA[1]!, lat: 31.28, lon: 121.45 }, photo: { type: 'image/png', data: pngOf(40, 30) }, at: NOW - 3_600_000,
  }, { since: 0, max: 10 });
  expect(filed.kind).toBe('filed');
  await cloud.store.fileHazard({
    id: 'h-00000000000000a2', riderId: 'r-0000000000000002', category: 'traffic', text: 'signal out at the crossing', place: null, photo: null, at: NOW - 7_200_000,
  }, { since: 0, max: 10 });
  expect((await post('/v1/hazards/h-00000000000000a2/state', { state: 'acknowledged', note: DATA[2] })).status).toBe(200);
  // A sponsor supplying zone daning for the second half of November.
  const sponsor = await post('/v1/sponsors', { name: DATA[3], contact: DATA[4], id: 'sp-nongfu' });
  expect(sponsor.status).toBe(201);
  expect((await post('/v1/sponsors/sp-nongfu/relays', { zone: 'daning', from: '2026-11-15', to: '2026-11-30' })).status).toBe(201);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    env: { ...process.env, TZ: 'UTC' },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});
afterEach(() => expect(errors.splice(0)).toEqual([]));

async function dashboard(): Promise<Page> {
  const page = await browser.newPage({ viewport: PHONE });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${cloud.url}/dashboard?refresh=0`);
  await page.fill('#token', TOKENS.admin);
  await page.click('#login');
  await loaded(page);
  return page;
}

/** Every section has what it loads on the page. */
async function loaded(page: Page): Promise<void> {
  await page.waitForSelector('#app-view:not([hidden])');
  await expect.poll(() => page.locator('#conflicts-table ul.claims').count()).toBe(1);
  await page.waitForSelector('#hazard-list[data-loaded]');
  await expect.poll(() => page.locator('#sponsors-table tbody td:not(.empty)').count()).toBeGreaterThan(0);
}

/** The words a section shows or tells a screen reader, without the data in it. */
function words(page: Page, section: string): Promise<string> {
  return page.$eval(section, (s, data) => {
    const parts = [(s as HTMLElement).innerText];
    const attrs = ['placeholder', 'title', 'aria-label', 'alt', 'data-label'];
    for (const e of Array.from(s.querySelectorAll(attrs.map((a) => `[${a}]`).join(', ')))) {
      for (const a of attrs) if (e.hasAttribute(a)) parts.push(e.getAttribute(a)!);
    }
    for (const o of Array.from(s.querySelectorAll('option'))) parts.push(o.textContent ?? '');
    let all = parts.join('\n');
    for (const d of data) all = all.split(d).join('');
    return all;
  }, DATA);
}

async function noChineseLeft(page: Page): Promise<void> {
  for (const s of SECTIONS) {
    const w = await words(page, s);
    expect(w.match(new RegExp(`.{0,20}${CJK.source}.{0,20}`, 'g')), `${s}: ${w}`).toBeNull();
  }
}

async function fitsThePhone(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  // Nothing in these sections scrolls sideways inside its section either.
  for (const s of SECTIONS) {
    const [scroll, client] = await page.$eval(s, (e) => [e.scrollWidth, e.clientWidth]);
    expect(scroll, s).toBeLessThanOrEqual(client);
    const wide = await page.$$eval(`${s} .scroll`, (els) => els.filter((e) => e.scrollWidth > e.clientWidth).length);
    expect(wide, `${s} .scroll`).toBe(0);
  }
}

describe('the conflicts, hazards, cards and sponsors sections follow the language toggle', () => {
  it('are in Chinese by default, in English after the toggle with no Chinese left but data, and still in English after a reload', async () => {
    const page = await dashboard();
    // Chinese by default, labelled times in Beijing time.
    expect(await page.textContent('#conflicts-section h2')).toBe('跨站冲突 2026-W48 · 1 起');
    expect(await page.locator('#conflicts-table tbody tr').innerText()).toContain('dn-001 · 2026-11-25 12:00:00 (北京时间 UTC+8) · 数据延迟 2 分钟');
    expect(await page.getAttribute('#conflicts-zone', 'placeholder')).toBe('全部片区');
    expect(await page.textContent('#hazards-section h2')).toBe('骑手隐患上报 共 1 条');
    const fresh = page.locator('#hazard-list article[data-id="h-00000000000000a1"]');
    expect(await fresh.innerText()).toMatch(/^安全隐患 · 2026-11-27 11:00 \(北京时间 UTC\+8\) · 新上报/);
    expect(await fresh.innerText()).toContain('地点：大宁路 100 号 · 31.28, 121.45');
    expect(await fresh.locator('button[data-to="acknowledged"]').innerText()).toBe('受理');
    expect(await page.textContent('#cards-section h2')).toBe('打印骑手卡 给没有智能手机的骑手');
    expect(await page.textContent('#card-issue')).toBe('发卡');
    expect(await page.textContent('#sponsors-section h2')).toBe('赞助方');
    expect(await page.locator('#sponsors-table ul.relays li').allInnerTexts()).toEqual(['dn-001 2026-11-15 – 2026-11-30', 'dn-002 2026-11-15 – 2026-11-30']);
    expect(await page.$eval('#sponsors-table tbody td:nth-child(3)', (td) => td.dataset.label)).toBe('供应站点和日期（服务日）');
    expect(await page.textContent('#statement-csv')).toBe('下载 CSV');
    expect(await page.evaluate('i18n.missing()')).toEqual([]);
    await fitsThePhone(page);

    // Every report, with the changes the office made.
    await page.selectOption('#hazard-state', 'all');
    await expect.poll(() => page.locator('#hazard-list article').count()).toBe(2);
    const acked = page.locator('#hazard-list article[data-id="h-00000000000000a2"]');
    expect(await acked.innerText()).toContain('已受理 · 2026-11-27 12:00 (北京时间 UTC+8) · 处理人 street-office (admin) · 已通知城管');
    await fresh.locator('.hazard-photo-button').click();
    await fresh.locator('img.hazard-photo').waitFor();
    // A note half written stays through the toggle.
    await fresh.locator('.hazard-note').fill('on my way');
    // A refusal in the card form, said again in the other language.
    await page.fill('#card-platform', 'Not Valid!');
    await page.click('#card-issue');
    await expect.poll(() => page.textContent('#card-result')).toContain('平台只能用小写字母');

    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#conflicts-section h2')).toBe('Zone conflicts 2026-W48 · 1 case');
    const conflict = await page.locator('#conflicts-table tbody tr').innerText();
    expect(conflict).toContain('dn-001 · 2026-11-25 12:00:00 (Beijing time, UTC+8) · feed lag 2 min');
    expect(conflict).toContain('dn-002 · 2026-11-25 13:00:00 (Beijing time, UTC+8) · feed lag unknown');
    // The phone's card layout labels each value with its column, in the page's language.
    expect(await page.$eval('#conflicts-table tbody td:nth-child(3)', (td) => td.dataset.label)).toBe('Rider');
    expect(await page.textContent('#hazards-section h2')).toBe('Hazard reports from riders 2 listed');
    expect(await fresh.innerText()).toMatch(/^Safety · 2026-11-27 11:00 \(Beijing time, UTC\+8\) · New/);
    expect(await fresh.innerText()).toContain('Place: 大宁路 100 号 · 31.28, 121.45');
    expect(await fresh.locator('img.hazard-photo').getAttribute('alt')).toBe('Photo of report h-00000000000000a1');
    expect(await fresh.locator('.hazard-note').inputValue()).toBe('on my way');
    expect(await acked.innerText()).toContain('Acknowledged · 2026-11-27 12:00 (Beijing time, UTC+8) · by street-office (admin) · 已通知城管');
    expect(await acked.locator('button[data-to="resolved"]').innerText()).toBe('Mark resolved');
    expect(await page.textContent('#card-result')).toBe('A platform is lowercase letters, digits, -, _ and . (like meituan): correct it and try again.');
    expect(await page.textContent('#card-issue')).toBe('Issue a card');
    expect(await page.$eval('#sponsors-table tbody td:nth-child(3)', (td) => td.dataset.label)).toBe('Relays (service days)');
    expect(await page.getAttribute('#sponsor-name', 'placeholder')).toBe('e.g. Nongfu Spring');
    await noChineseLeft(page);
    await fitsThePhone(page);

    // Issued in English: what the form says, then a card to print.
    await page.fill('#card-platform', 'sanitation');
    await page.click('#card-issue');
    await page.waitForSelector('#card-print:not([hidden])');
    const riderId = (await page.getAttribute('#card-frame', 'data-rider-id'))!;
    expect(await page.textContent('#card-result')).toBe(`Card issued, rider no. ${riderId}. Press "Print the card".`);
    expect(await page.textContent('#card-print')).toBe('Print the card');
    expect(await page.getAttribute('#card-frame', 'title')).toBe('Rider card');
    // Acknowledged in English: the list reloads in English.
    await fresh.locator('button[data-to="acknowledged"]').click();
    await expect.poll(() => page.locator('#hazard-list article[data-id="h-00000000000000a1"]').getAttribute('data-state')).toBe('acknowledged');
    expect(await page.locator('#hazard-list article[data-id="h-00000000000000a1"] .hazard-change').innerText()).toBe('Acknowledged · 2026-11-27 12:00 (Beijing time, UTC+8) · by street-office (admin) · on my way');
    await noChineseLeft(page);
    await fitsThePhone(page);

    // Remembered: English after a reload, every section drawn in it.
    await page.reload();
    await loaded(page);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.textContent('#conflicts-section h2')).toBe('Zone conflicts 2026-W48 · 1 case');
    await page.selectOption('#hazard-state', 'all');
    await expect.poll(() => page.locator('#hazard-list article').count()).toBe(2);
    expect(await page.locator('#hazard-list article[data-id="h-00000000000000a1"]').innerText()).toMatch(/^Safety · 2026-11-27 11:00 \(Beijing time, UTC\+8\) · Acknowledged/);
    expect(await page.textContent('#sponsors-section h3')).toBe('Add a sponsor');
    await noChineseLeft(page);
    await fitsThePhone(page);

    // And back to Chinese.
    await page.click('[data-set-lang="zh"]');
    expect(await page.textContent('#conflicts-section h2')).toBe('跨站冲突 2026-W48 · 1 起');
    expect(await page.textContent('#card-issue')).toBe('发卡');
    expect(await page.$eval('#conflicts-table tbody td:nth-child(3)', (td) => td.dataset.label)).toBe('骑手');
    await page.close();
  });

  it('say what went wrong and what to do next in the page\'s language, and say it again on the toggle', async () => {
    await cloud.store.fileHazard({
      id: 'h-00000000000000a3', riderId: 'r-0000000000000003', category: 'other', text: 'bench broken', place: null, photo: null, at: NOW - 60_000,
    }, { since: 0, max: 10 });
    const page = await dashboard();
    // A name the cloud has already (spaces and case aside).
    await page.fill('#sponsor-name', '农夫山泉 ');
    await page.click('#sponsor-add-button');
    await expect.poll(() => page.textContent('#sponsor-add-result')).toBe('已有同名赞助方（不区分大小写和空格）：请直接使用它。');
    // Stations and a zone both: refused on the page, nothing sent.
    await page.fill('#relay-stations', 'dn-001');
    await page.fill('#relay-zone', 'daning');
    await page.fill('#relay-from', '2026-12-01');
    await page.fill('#relay-to', '2026-12-31');
    await page.click('#relay-add-button');
    await expect.poll(() => page.textContent('#relay-add-result')).toBe('请填写站点或片区中的一项（不要两项都填）。');
    // A zone no station is in.
    await page.fill('#relay-stations', '');
    await page.fill('#relay-zone', 'nowhere');
    await page.click('#relay-add-button');
    await expect.poll(() => page.textContent('#relay-add-result')).toBe('没有这个片区：请从列表中选择。');
    expect(await page.$$eval('#relay-zones option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['daning', 'jingan']);
    // A report someone else has resolved meanwhile: the button refused, in words.
    const id = 'h-00000000000000a3';
    const fresh = page.locator(`#hazard-list article[data-id="${id}"]`);
    expect((await post(`/v1/hazards/${id}/state`, { state: 'resolved', note: 'done elsewhere' })).status).toBe(200);
    await fresh.locator('button[data-to="resolved"]').click();
    await expect.poll(() => fresh.locator('.hazard-result').textContent()).toBe('未能更改：这条上报已被别人处理过：请点“刷新”查看它现在的状态。');

    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#sponsor-add-result')).toBe('A sponsor with this name exists already (case and spaces aside): use that one.');
    expect(await page.textContent('#relay-add-result')).toBe('No such zone: choose one from the list.');
    expect(await page.locator(`#hazard-list article[data-id="${id}"] .hazard-result`).textContent()).toBe('Not changed: Someone has moved this report on already: press Refresh to see its state now.');
    await noChineseLeft(page);
    await fitsThePhone(page);
    await page.click('[data-set-lang="zh"]');
    await page.close();
  });
});
