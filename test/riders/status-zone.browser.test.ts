/**
 * The rider page's status on a station's own clock, in real Chromium at 390 px (SPEC §14, §6c):
 * a rider whose window was opened at a station in Asia/Urumqi sees the bottle's time, the
 * locker's deadline and the "updated at" caption in that zone, named, and not labelled Beijing
 * time. The browser itself runs in UTC, so only the page's own zone handling can get it right.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { serviceDayOf } from '../../protocol/index.ts';
import { bearer, chain, silent, tempDir, testConfig, TOKENS } from '../cloud/helpers.ts';

const PHONE = { width: 390, height: 844 };
const TZ = 'Asia/Urumqi';
let cloud: RunningCloud;
let browser: Browser;

beforeAll(async () => {
  cloud = await startCloud(testConfig(tempDir('ws-status-zone-')), { logger: silent });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

const hhmm = (ms: number, tz: string) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);

describe('the rider page reads a station’s times on its own clock', () => {
  it('shows the bottle, the locker and the caption in Asia/Urumqi, named as such', async () => {
    const made = await fetch(`${cloud.url}/v1/stations`, {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ur-001', zone: 'xinjiang', timezone: TZ }),
    });
    expect(made.status).toBe(201);
    const { token } = (await made.json()) as { token: string };
    const inv = await fetch(`${cloud.url}/v1/invites`, {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ uses: 1, expiresAt: Date.now() + 86_400_000 }),
    });
    const { url } = (await inv.json()) as { url: string };

    const ctx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'UTC', isMobile: true, hasTouch: true });
    const phone = await ctx.newPage();
    const errors: string[] = [];
    phone.on('pageerror', (e) => errors.push(e.message));
    await phone.goto(url);
    await phone.waitForSelector('body[data-ready="true"]');
    await phone.click('#consent');
    await phone.click('input[value="courier"]');
    // The code page asks the cloud who this phone is: its answer names the rider.
    const me = phone.waitForResponse((r) => r.url().endsWith('/v1/me'));
    await phone.click('#submit');
    await phone.waitForURL('**/r/me');
    const { riderId } = (await (await me).json()) as { riderId: string };
    expect(riderId).toMatch(/\S/);
    await phone.waitForSelector('#qr svg');

    // The station synced a check-in, a bottle and a deposit of this rider, seconds ago on its own service day.
    const now = Date.now();
    const claimAt = now - 2_000;
    const day = serviceDayOf(now, TZ);
    const windowTo = new Date(Date.parse(`${day}T00:00:00Z`) + 6 * 86_400_000).toISOString().slice(0, 10);
    const up = await fetch(`${cloud.url}/v1/stations/ur-001/events`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({
        events: chain(
          [
            { type: 'checkin', ts: claimAt - 1_000, data: { riderId, windowFrom: day, windowTo } },
            { type: 'claim.committed', ts: claimAt, data: { claimId: 'c-ur-1', riderId, compartment: 'cold', dispenserId: 'disp-1' } },
            { type: 'locker.deposited', ts: claimAt + 1_000, data: { riderId, compartment: '1-5', bus: 'bus-1', label: 'A05', limitMs: 3_600_000 } },
          ],
          0,
          undefined,
          TZ,
        ),
      }),
    });
    expect(up.status).toBe(200);

    await phone.reload();
    await phone.waitForSelector('#st-bottle');
    await expect.poll(() => phone.locator('#st-bottle').textContent()).toBe(
      `今日已领水（ur-001，${hhmm(claimAt, TZ)}）/ Today’s bottle: taken at ur-001, ${hhmm(claimAt, TZ)}`,
    );
    const locker = (await phone.locator('#status .locker').textContent()) ?? '';
    // The deadline an hour on may fall on the next day there, then it carries its date.
    expect(locker).toMatch(new RegExp(`：${hhmm(claimAt + 1_000, TZ)} 存入，请在 (\\d\\d-\\d\\d )?${hhmm(claimAt + 1_000 + 3_600_000, TZ)} 前取出`));
    const caption = (await phone.locator('#status-at').textContent()) ?? '';
    expect(caption).toMatch(/^更新于 \d\d:\d\d（当地时间 Asia\/Urumqi UTC\+6）\/ updated at \d\d:\d\d \(local time, Asia\/Urumqi UTC\+6\)$/);
    expect(caption).not.toContain('北京');
    // Urumqi is two hours behind Beijing: the times shown are not Beijing's.
    expect(hhmm(claimAt, TZ)).not.toBe(hhmm(claimAt, 'Asia/Shanghai'));
    const [scroll, inner] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scroll).toBeLessThanOrEqual(inner);
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
