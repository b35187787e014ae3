/**
 * The dashboard for a street office (issue 15): Chinese first with an English toggle that is
 * remembered, every time in Beijing time (or the station's own zone) and labelled although the
 * browser runs in UTC, the trend chart's labelled axes and legend, the station comparison's
 * order, a 390 px phone without sideways scrolling, and the printed report on A4 — in headless
 * Chromium against a real cloud.
 */
import { readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, sha256Hex } from '../../protocol/index.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, testConfig, TOKENS, type EventSpec } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
/** "Today" for the cloud: Friday of 2026-W48, Beijing time. */
const NOW = noonOf('2026-11-27');

/** `n` riders' check-ins and bottles (`hot` of them hot, the rest cold) on one day. */
function visits(day: string, prefix: string, n: number, hot: number): EventSpec[] {
  const out: EventSpec[] = [];
  for (let i = 0; i < n; i++) {
    const riderId = `${prefix}-${i}`;
    out.push({ type: 'checkin', ts: noonOf(day) + i * 10, data: { riderId, windowFrom: day, windowTo: day } });
    out.push({ type: 'claim.committed', ts: noonOf(day) + i * 10 + 1, data: { claimId: `${prefix}-c${i}`, riderId, compartment: i < hot ? 'hot' : 'cold', dispenserId: 'disp-1', sponsor: 'bank-a' } });
  }
  return out;
}

describe('the dashboard in Chinese first, times in Beijing time, in a browser running in UTC', () => {
  let cloud: RunningCloud;
  let browser: Browser;
  const errors: string[] = [];
  afterEach(() => expect(errors.splice(0)).toEqual([]));

  async function upload(stationId: keyof typeof TOKENS, specs: EventSpec[], timezone = 'Asia/Shanghai'): Promise<void> {
    const res = await fetch(`${cloud.url}/v1/stations/${stationId}/events`, {
      method: 'POST',
      headers: { ...bearer(TOKENS[stationId]), 'content-type': 'application/json' },
      body: JSON.stringify({ events: chain(specs, 0, undefined, timezone) }),
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
    await expect.poll(() => page.locator('#weekly-table tbody tr').count()).toBe(3);
    return page;
  }

  beforeAll(async () => {
    const config = testConfig(undefined, {
      stations: [
        { id: 'dn-001', tokenSha256: sha256Hex(TOKENS['dn-001']), zone: 'daning' },
        { id: 'dn-002', tokenSha256: sha256Hex(TOKENS['dn-002']), zone: 'daning' },
        // A station far west keeps its own clock: its times show in its zone.
        { id: 'jd-003', tokenSha256: sha256Hex(TOKENS['jd-003']), zone: 'west', timezone: 'Asia/Urumqi' },
      ],
    });
    cloud = await startCloud(config, { logger: silent, clock: new ManualClock(NOW) });
    await upload('dn-001', [...visits('2026-11-24', 'a', 2, 1), ...visits('2026-11-25', 'b', 1, 0)]); // 3 check-ins, 1 hot 2 cold
    await upload('dn-002', visits('2026-11-26', 'c', 1, 0).slice(0, 1)); // 1 check-in, no bottle
    await upload('jd-003', [...visits('2026-11-16', 'd', 2, 2), ...visits('2026-11-25', 'e', 5, 4)], 'Asia/Urumqi'); // W48: 5 check-ins, 4 hot 1 cold
    // The browser process runs in UTC: nothing it shows may follow its own zone.
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

  it('is in Chinese by default, in English after the toggle, and still in English after a reload', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${cloud.url}/dashboard?refresh=0`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('#login')).toBe('登录');
    await page.fill('#token', 'wrong-token');
    await page.click('#login');
    // A refusal says what to do next.
    await expect.poll(() => page.textContent('#login-error')).toContain('请检查是否输入完整');
    await page.fill('#token', TOKENS.admin);
    await page.click('#login');
    await page.waitForSelector('#app-view:not([hidden])');
    await expect.poll(() => page.textContent('#week-range')).toContain('2026-W48：2026-11-23 至 2026-11-29');
    expect(await page.textContent('#report-title')).toBe('每周签到');
    expect(await page.textContent('#weekly-table thead')).toContain('签到次数');
    expect(await page.textContent('#trend-chart .x-title')).toBe('周（标注该周周一的日期，北京时间）');
    expect(await page.getAttribute('[data-set-lang="zh"]', 'aria-pressed')).toBe('true');
    // Every string is there in both languages.
    expect(await page.evaluate('i18n.missing()')).toEqual([]);

    await page.click('[data-set-lang="en"]');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.textContent('#report-title')).toBe('Weekly check-ins');
    expect(await page.textContent('#week-range')).toContain('2026-W48: 2026-11-23 to 2026-11-29');
    expect(await page.textContent('#weekly-table thead')).toContain('Check-ins');
    expect(await page.textContent('#trend-chart .x-title')).toBe('week (the date of its Monday, Beijing time)');
    expect(await page.textContent('#weekly-table tbody')).toContain('(Beijing time, UTC+8)');
    expect(await page.textContent('#logout')).toBe('Log out');

    await page.reload();
    await page.waitForSelector('#app-view:not([hidden])');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expect.poll(() => page.textContent('#report-title')).toBe('Weekly check-ins');
    expect(await page.textContent('#time-note')).toContain('All times on this page are Beijing time (Asia/Shanghai, UTC+8)');
    expect(await page.getAttribute('[data-set-lang="en"]', 'aria-pressed')).toBe('true');
    await page.click('[data-set-lang="zh"]');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('#report-title')).toBe('每周签到');
    // A token no longer accepted (revoked, say) sends the office back to log in, and says so.
    await page.evaluate(() => sessionStorage.setItem('waystation.adminToken', 'revoked-token'));
    await page.reload();
    await expect.poll(() => page.textContent('#login-error')).toBe('登录已失效：请重新输入令牌登录。');
    expect(await page.isVisible('#app-view')).toBe(false);
    await page.click('[data-set-lang="en"]');
    expect(await page.textContent('#login-error')).toBe('Your login is no longer valid: enter your token and log in again.');
    await page.click('[data-set-lang="zh"]');
    await page.close();
  });

  it('shows Beijing times, and a station\'s times in its own zone, labelled, although the browser runs in UTC', async () => {
    const page = await loggedIn();
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe('UTC');
    expect(await page.textContent('#time-note')).toBe('本页所有时间均为北京时间（Asia/Shanghai，UTC+8）；站点的时间按该站点所在时区显示并注明。');
    const synced = async () => Object.fromEntries(await page.$$eval('#weekly-table tbody tr', (trs) => trs.map((tr) => {
      const td = tr.querySelectorAll('td');
      return [td[0]!.textContent, td[7]!.textContent];
    })));
    // dn-001's last event: 2026-11-25 12:00:00.041 in Beijing; jd-003's at 12:00:00.041 Beijing is 10:00 in Urumqi.
    expect(await synced()).toEqual({
      'dn-001': '2026-11-25 12:00 (北京时间 UTC+8)',
      'dn-002': '2026-11-26 12:00 (北京时间 UTC+8)',
      'jd-003': '2026-11-25 10:00 (Asia/Urumqi UTC+6)',
    });
    // What the browser's own clock would have said, to show the difference is real.
    expect(await page.evaluate((ms) => new Date(ms).toLocaleTimeString('en-GB'), noonOf('2026-11-25'))).toBe('04:00:00');
    await expect.poll(() => page.locator('#stations-table tbody tr').count()).toBe(3);
    expect(await page.locator('#stations-table tbody tr', { hasText: 'jd-003' }).innerText()).toContain('(Asia/Urumqi UTC+6)');
    await expect.poll(() => page.textContent('#status')).toContain('(北京时间 UTC+8)');
    // The shared formatter (time.js) other modules use: summer time, odd offsets, ISO weeks.
    expect(await page.evaluate(`[
      times.dateTime(Date.UTC(2026, 6, 1, 12), 'Europe/Berlin'),
      times.dateTime(Date.UTC(2026, 0, 1, 12), 'Europe/Berlin'),
      times.dateTime(Date.UTC(2026, 0, 1, 12), 'Asia/Kathmandu', { seconds: true }),
      times.dayOf(Date.UTC(2026, 11, 3, 16, 30)),
      times.isoWeekOf('2026-12-31'), times.isoWeekOf('2027-01-03'), times.isoWeekOf('2024-12-30'),
      times.weekMonday('2026-W53'), times.weekMonday('2025-W01'),
    ]`)).toEqual([
      '2026-07-01 14:00 (Europe/Berlin UTC+2)',
      '2026-01-01 13:00 (Europe/Berlin UTC+1)',
      '2026-01-01 17:45:00 (Asia/Kathmandu UTC+5:45)',
      '2026-12-04',
      '2026-W53', '2026-W53', '2025-W01',
      '2026-12-28', '2024-12-30',
    ]);
    await page.close();
  });

  it('draws the 12-week trend as SVG with labelled axes, a legend, and lines told apart by colour, dash and marker', async () => {
    const page = await loggedIn();
    await expect.poll(() => page.locator('#trend-chart svg.line-chart').count()).toBe(1);
    expect(await page.textContent('#trend-title')).toBe('近 12 周趋势');
    expect(await page.textContent('#trend-chart .y-title')).toBe('数量（次 / 人 / 瓶）');
    expect(await page.$$eval('#trend-chart .legend li', (lis) => lis.map((li) => li.textContent))).toEqual(['签到次数（次）', '骑手人数（人）', '发放瓶数（瓶）']);
    const lines = await page.$$eval('#trend-chart path.series', (ps) => ps.map((p) => [p.getAttribute('stroke'), p.getAttribute('stroke-dasharray')]));
    expect(lines).toHaveLength(3);
    expect(new Set(lines.map((l) => l[0])).size).toBe(3);
    expect(new Set(lines.map((l) => l[1])).size).toBe(3);
    const shapes = await page.$$eval('#trend-chart g.markers', (gs) => gs.map((g) => `${g.children.length}:${g.firstElementChild!.tagName}:${g.firstElementChild!.getAttribute('fill')}`));
    expect(shapes).toEqual(['12:circle:#0072b2', '12:rect:none', '12:path:none']);
    // The x axis names weeks by their Monday; the last is this week (W48, Monday 11-23).
    const xTicks = await page.$$eval('#trend-chart .x-tick', (ts) => ts.map((t) => t.textContent));
    expect(xTicks.at(-1)).toBe('11-23');
    expect(await page.$$eval('#trend-chart .x-sub', (ts) => ts.at(-1)!.textContent)).toBe('W48');
    // W48 over all stations: 9 check-ins, 9 riders, 8 bottles; W47 (jd-003 only): 2, 2, 2.
    const last = (i: number) => page.$eval(`#trend-chart g.markers-${i}`, (g) => [g.children[10]!.textContent, g.children[11]!.textContent]);
    expect(await last(0)).toEqual(['2026-W47 (2026-11-16) · 签到次数: 2', '2026-W48 (2026-11-23) · 签到次数: 9']);
    expect(await last(2)).toEqual(['2026-W47 (2026-11-16) · 发放瓶数: 2', '2026-W48 (2026-11-23) · 发放瓶数: 8']);
    // The y axis reaches the highest value.
    const yTop = await page.$$eval('#trend-chart .y-tick', (ts) => Math.max(...ts.map((t) => Number(t.textContent))));
    expect(yTop).toBeGreaterThanOrEqual(9);
    await page.close();
  });

  it('compares the stations side by side, sorted by the chosen figure, on a 390 px phone without sideways scrolling', async () => {
    const page = await loggedIn({ width: 390 });
    const order = () => page.$$eval('#compare-bars li', (lis) => lis.map((li) => `${li.dataset.station}=${li.dataset.value}`));
    await expect.poll(order).toEqual(['jd-003=5', 'dn-001=3', 'dn-002=0']);
    // Bottles are stacked hot / cold, in proportion: jd-003's bar fills its track, 4 parts hot to 1 cold.
    const widths = await page.$eval('#compare-bars li[data-station="jd-003"] .track', (tr) =>
      [tr.getBoundingClientRect().width, ...Array.from(tr.children, (c) => c.getBoundingClientRect().width)]);
    expect(widths[1]! + widths[2]!).toBeCloseTo(widths[0]!, 0);
    expect(widths[1]! / widths[2]!).toBeCloseTo(4, 1);
    expect(await page.textContent('#compare-bars li[data-station="jd-003"] .value')).toBe('5 瓶（热饮 4 · 冷饮 1）');
    await page.selectOption('#compare-sort', 'asc');
    expect(await order()).toEqual(['dn-002=0', 'dn-001=3', 'jd-003=5']);
    await page.selectOption('#compare-metric', 'checkins');
    expect(await order()).toEqual(['dn-002=1', 'dn-001=3', 'jd-003=5']);
    await page.selectOption('#compare-sort', 'desc');
    expect(await order()).toEqual(['jd-003=5', 'dn-001=3', 'dn-002=1']);
    await page.selectOption('#compare-sort', 'id');
    expect(await order()).toEqual(['dn-001=3', 'dn-002=1', 'jd-003=5']);
    expect(await page.textContent('#compare-bars li[data-station="dn-001"] .value')).toBe('3 次');

    // The phone: nothing wider than the screen, tables as cards labelled by their column.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.$eval('#weekly-table thead', (h) => getComputedStyle(h).display)).toBe('none');
    expect(await page.$eval('#weekly-table tbody td:nth-child(2)', (td) => getComputedStyle(td, '::before').content)).toBe('"签到次数"');
    // Every control on the page is a touch target of at least 44 px.
    const small = await page.$$eval('button, select, input:not([type="radio"])', (els) =>
      els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => [e.id || e.textContent, e.getBoundingClientRect().height]).filter(([, h]) => (h as number) < 44));
    expect(small).toEqual([]);
    await page.click('[data-set-lang="en"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.click('[data-set-lang="zh"]');
    await page.close();
  });

  it('shows a month day by day from the range report, the stations compared over it, and its tables to download', async () => {
    const page = await loggedIn();
    await page.check('input[name="mode"][value="range"]');
    expect(await page.isVisible('#range-from')).toBe(true);
    expect(await page.isVisible('#week')).toBe(false);
    await page.fill('#range-from', '2026-11-01');
    await page.dispatchEvent('#range-from', 'change');
    await page.fill('#range-to', '2026-11-30');
    await page.dispatchEvent('#range-to', 'change');
    await expect.poll(() => page.textContent('#week-range')).toBe('2026-11-01 至 2026-11-30，共 30 天（按北京时间的服务日）');
    expect(await page.textContent('#report-title')).toBe('日期区间签到');
    const rows = await page.$$eval('#weekly-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent).slice(0, 7)));
    expect(rows).toEqual([
      ['dn-001', '3', '3', '3', '0', '1', '2'],
      ['dn-002', '1', '1', '1', '0', '0', '0'],
      ['jd-003', '7', '7', '7', '0', '6', '1'],
    ]);
    // The chart has the month's days: check-ins and bottles per service day.
    expect(await page.textContent('#trend-title')).toBe('每日趋势');
    expect(await page.textContent('#trend-chart .x-title')).toBe('日期（服务日，北京时间）');
    expect(await page.textContent('#trend-chart .y-title')).toBe('数量（次 / 瓶）');
    expect(await page.$$eval('#trend-chart .legend li', (lis) => lis.map((li) => li.textContent))).toEqual(['签到次数（次）', '发放瓶数（瓶）']);
    expect(await page.$$eval('#trend-chart .x-tick', (ts) => [ts[0]!.textContent, ts.at(-1)!.textContent])).toEqual(['11-01', '11-30']);
    const day = (i: number, d: number) => page.$eval(`#trend-chart g.markers-${i}`, (g, d) => g.children[d]!.textContent, d);
    expect(await day(0, 24)).toBe('2026-11-25 · 签到次数: 6');
    expect(await day(1, 15)).toBe('2026-11-16 · 发放瓶数: 2');
    expect(await day(1, 25)).toBe('2026-11-26 · 发放瓶数: 0');
    // Compared over the month, and nobody lapsed (nobody came in the 30 days before).
    await expect.poll(() => page.$$eval('#compare-bars li', (lis) => lis.map((li) => `${li.dataset.station}=${li.dataset.value}`))).toEqual(['jd-003=7', 'dn-001=3', 'dn-002=0']);
    expect(await page.textContent('#lapsed-hint')).toBe('2026-10-02 至 2026-10-31 来过、本区间没有来');
    expect(await page.textContent('#lapsed-list')).toBe('暂无');
    // A zone's stations (the range report's zone scope).
    await page.selectOption('#station', 'zone:daning');
    await expect.poll(() => page.$$eval('#weekly-table tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')!.textContent))).toEqual(['dn-001', 'dn-002']);
    expect(await page.textContent('#weekly-table tfoot')).toContain('合计');
    await page.selectOption('#station', '');
    await expect.poll(() => page.locator('#weekly-table tbody tr').count()).toBe(3);
    await page.selectOption('#csv-table', 'days');
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    expect(d.suggestedFilename()).toBe('waystation-range-2026-11-01-2026-11-30-days.csv');
    const lines = readFileSync((await d.path())!, 'utf8').slice(1).split('\r\n');
    expect(lines[0]).toBe('日期（服务日）,签到次数,发放（瓶）');
    expect(lines).toContain('2026-11-25,6,6');
    // An end before the start is not sent; the page says what to do.
    await page.fill('#range-to', '2026-10-01');
    await page.dispatchEvent('#range-to', 'change');
    await expect.poll(() => page.textContent('#report-message')).toBe('请选择开始和结束日期，开始日期不能晚于结束日期，然后再看。');
    expect(await page.textContent('#weekly-table tbody')).toBe('暂无');
    // More than a year: the cloud refuses it, and the page says what to do instead.
    await page.fill('#range-from', '2025-01-01');
    await page.fill('#range-to', '2026-11-30');
    await page.dispatchEvent('#range-to', 'change');
    await expect.poll(() => page.textContent('#report-message')).toBe('日期区间太长：一份报表最多 366 天，请缩短区间后再看。');
    // Back to the week: the day table is not offered there.
    await page.check('input[name="mode"][value="week"]');
    await expect.poll(() => page.isVisible('#report-message')).toBe(false);
    await expect.poll(() => page.textContent('#week-range')).toContain('2026-W48');
    expect(await page.$eval('#csv-table', (s) => (s as HTMLSelectElement).value)).toBe('stations');
    expect(await page.$eval('#csv-table option[value="days"]', (o) => (o as HTMLOptionElement).disabled)).toBe(true);
    // The week has no zone scope: its zones are offered but not choosable.
    expect(await page.$eval('#station option[value="zone:daning"]', (o) => (o as HTMLOptionElement).disabled)).toBe(true);
    await page.close();
  });

  it('prints the report alone, without controls, on A4', async () => {
    const page = await loggedIn();
    // The sponsors module's section (sponsors.js) is added by the module itself, not marked for print.
    expect(await page.locator('#sponsors-section').count()).toBe(1);
    await page.emulateMedia({ media: 'print' });
    for (const sel of ['#controls', '#inbox', '#stations-section', '#health-section', '#sponsors-section', '.lang', '.compare-controls']) {
      expect(await page.isVisible(sel), sel).toBe(false);
    }
    expect(await page.isVisible('#weekly-table')).toBe(true);
    expect(await page.isVisible('#compare-bars')).toBe(true);
    await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
    const head = (await page.textContent('#print-head'))!;
    expect(head).toContain('2026-W48 (2026-11-23 – 2026-11-29)');
    expect(head).toMatch(/打印于 \d{4}-\d\d-\d\d \d\d:\d\d \(北京时间 UTC\+8\)/);
    const pdf = (await page.pdf({ preferCSSPageSize: true })).toString('latin1');
    // A4 is 595 × 842 points.
    const boxes = [...pdf.matchAll(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
    expect(boxes.length).toBeGreaterThan(0);
    expect(new Set(boxes.map((b) => b.join('x')))).toEqual(new Set(['595x842']));
    await page.close();
  });

  it('downloads the chosen table as CSV in the page\'s language, for Excel as it is', async () => {
    const page = await loggedIn();
    const download = async () => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
      return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
    };
    const zh = await download();
    expect(zh.name).toBe('waystation-weekly-2026-W48-stations.csv');
    expect([...zh.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(zh.bytes.toString('utf8').slice(1).split('\r\n')[0]).toMatch(/^周,站点,签到次数,/);
    await page.click('[data-set-lang="en"]');
    await page.selectOption('#csv-table', 'sponsors');
    const en = await download();
    expect(en.bytes.toString('utf8').slice(1).split('\r\n')).toEqual(['week,sponsor,bottles given,bottles restocked', '2026-W48,bank-a,8,0', '']);
    await page.click('[data-set-lang="zh"]');
    await page.close();
  });
});
