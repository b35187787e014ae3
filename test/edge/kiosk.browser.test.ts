/**
 * The kiosk page in headless Chromium (Debian's chromium, driven by playwright-core): a code
 * read by the serial scanner simulator reaches the page over server-sent events, the rider
 * checks in, takes cold water, and the page says "今日已领取 / already taken today".
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './http.ts';
import { startHarness, waitFor, type Harness } from '../helpers/station.ts';

const CHROMIUM = '/usr/bin/chromium';

let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // Debian's chromium (never a downloaded browser) is installed by test/setup/system-tools.ts.
  h = await startHarness({ scanner: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

async function openKiosk(): Promise<Page> {
  const p = await browser.newPage({ locale: 'zh-CN' });
  await p.goto(h.url('/'));
  await p.waitForSelector('body[data-ready="true"]');
  await p.waitForSelector('body[data-scanner="connected"]');
  return p;
}

describe('kiosk page', () => {
  it('scan → check in → take cold water → "今日已领取 / already taken today"', async () => {
    page = await openKiosk();
    await waitFor(() => h.station.kiosk.clientCount > 0, 5000, 'kiosk subscribed');
    expect(await page.locator('#idle').textContent()).toContain('请扫描您的二维码');

    const credential = await h.credential('rider-kiosk');
    await h.scanner!.scan(credential);
    await page.waitForSelector('#rider:not([hidden])');
    await expect(page.locator('#rider-status').textContent()).resolves.toMatch(/请先报到[\s\S]*please check in first/);

    await page.click('#btn-checkin');
    await page.waitForSelector('#outcome[data-code="checked_in"]');
    await expect(page.locator('#outcome').textContent()).resolves.toMatch(/报到成功[\s\S]*Checked in/);

    const drops = h.dispenser!.droppedTotal;
    await page.click('#btn-cold');
    await page.waitForSelector('#outcome[data-code="committed_cold"]');
    await expect(page.locator('#outcome').textContent()).resolves.toMatch(/请取走您的冷水[\s\S]*Please take your cold water/);
    await page.waitForSelector('#rider-status p.taken');
    const status = (await page.locator('#rider-status').textContent()) ?? '';
    expect(status).toContain('今日已领取');
    expect(status).toContain('Already taken today');
    expect(h.dispenser!.droppedTotal).toBe(drops + 1);
    expect(await page.locator('#btn-cold').isDisabled()).toBe(true);
    expect(await page.locator('#btn-hot').isDisabled()).toBe(true);
  });

  it('works with a pasted code: water waits for a check-in, and the locker opens', async () => {
    const p = await openKiosk();
    const credential = await h.credential('rider-paste');
    await p.fill('#code-input', credential);
    await p.click('#code-submit');
    await p.waitForSelector('#rider:not([hidden])');
    // Without a check-in, water is not offered: "请先报到 / please check in first".
    expect(await p.locator('#rider-status').textContent()).toMatch(/请先报到[\s\S]*please check in first/);
    expect(await p.locator('#btn-cold').isDisabled()).toBe(true);
    await p.click('#btn-deposit');
    await p.waitForSelector('#outcome[data-code="deposited"]');
    const text = (await p.locator('#outcome').textContent()) ?? '';
    const compartment = h.station.lockers.holdingOf('rider-paste')?.compartment;
    expect(compartment).toBeDefined();
    expect(text).toContain(`${compartment} 号柜门已打开`);
    expect(text).toContain(`Compartment ${compartment} is open`);
    await p.close();
  });

  it('shows no enrolment QR box when the station has no kiosk.enrolUrl (no broken image on the idle screen)', async () => {
    const failed: string[] = [];
    const p = await browser.newPage({ locale: 'zh-CN' });
    p.on('console', (m) => { if (m.type() === 'error') failed.push(`${m.text()} ${m.location().url}`); });
    await p.goto(h.url('/'));
    await p.waitForSelector('body[data-ready="true"]');
    expect(await p.locator('#enrol').getAttribute('hidden')).not.toBeNull();
    expect(await p.locator('#enrol').isVisible()).toBe(false);
    expect(await p.locator('#enrol-qr').isVisible()).toBe(false);
    // Nothing on the idle screen fails to load (its icon included).
    await expect.poll(() => p.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href)).toContain('/kiosk/icon.svg');
    expect(failed).toEqual([]);
    await p.close();
  });

  it('shows a clear refusal for a code that is not a rider credential', async () => {
    const p = await openKiosk();
    await p.fill('#code-input', 'https://example.com/not-a-credential');
    await p.click('#code-submit');
    await p.waitForSelector('#outcome[data-code="invalid_credential"]');
    await expect(p.locator('#outcome').textContent()).resolves.toMatch(/无法识别此二维码[\s\S]*not a valid rider code/);
    await p.close();
  });

  it('says "今日已领取 / already taken today" with the window end when the quota is used elsewhere', async () => {
    const credential = await h.credential('rider-twice');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    const p = await openKiosk();
    await h.scanner!.scan(credential);
    await p.waitForSelector('#rider:not([hidden])');
    // Taken from another screen (or a second tap) meanwhile.
    expect((await call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'hot' })).status).toBe(201);
    await p.click('#btn-cold');
    await p.waitForSelector('#outcome[data-code="already_claimed_today"]');
    const text = (await p.locator('#outcome').textContent()) ?? '';
    const to = h.station.quota.riderStatus('rider-twice').window!.to;
    expect(text).toContain(`今日已领取，有效期至 ${to}`);
    expect(text).toContain(`Already taken today; your window ends ${to}`);
    await p.close();
  });

  it('streams scanned codes only to the kiosk addresses in the config', async () => {
    const other = await startHarness({ dispenser: false, locks: 0, config: { kiosk: { allowedAddresses: ['10.9.9.9'] } } });
    try {
      const r = await call(other.station.httpUrl, 'GET', '/v1/kiosk/events');
      expect([r.status, r.body.error]).toEqual([403, 'forbidden']);
    } finally {
      await other.stop();
    }
  });
});
