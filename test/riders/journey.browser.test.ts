/**
 * The rider's journey in real Chromium (SPEC §14, §7, §8): the office's poster QR opens the
 * enrolment page on a 390 px phone; the rider consents and gets a code; the code page's QR,
 * read back from a screenshot by zbarimg, goes through the scanner simulator over a socat pty
 * into a real station, whose kiosk page checks in and gives water. The same code 95 s later is
 * refused as stale_code, a fresh one works, the code page works offline, and a withdrawal from
 * the phone revokes the rider at the station with its next config pull.
 *
 * The station and the cloud share one wall clock the test moves (JumpableClock); the phone page
 * gets Playwright's clock, moved by the same amount.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, type PtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { ScannerSim } from '../../firmware-sim/scanner/sim.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { bearer, silent, tempDir, testConfig, TOKENS } from '../cloud/helpers.ts';
import { JumpableClock } from '../helpers/clock.ts';
import { startHarness, waitFor, type Harness } from '../helpers/station.ts';
import { ZBARIMG } from '../setup/system-tools.ts';

const PHONE = { width: 390, height: 844 };
const clock = new JumpableClock();
const shots = tempDir('ws-journey-');

let cloud: RunningCloud;
let pair: PtyPair;
let port: SerialPort;
let scanner: ScannerSim;
let h: Harness;
let browser: Browser;
let phoneContext: BrowserContext;
let phone: Page;

beforeAll(async () => {
  cloud = await startCloud(testConfig(tempDir('ws-journey-cloud-')), { clock, logger: silent });
  pair = await openPtyPair();
  h = await startHarness({
    locks: 0,
    station: { clock },
    config: { stationId: 'dn-001', cloud: { url: cloud.url, token: TOKENS['dn-001'] }, scanner: { path: pair.host, baudRate: 9600 } },
  });
  port = new SerialPort({ path: pair.device, baudRate: 9600 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  scanner = new ScannerSim({
    write: (bytes) => void port.write(Buffer.from(bytes)),
    onData: (l) => {
      port.on('data', l);
      return () => port.off('data', l);
    },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  phoneContext = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: 'zh-CN', isMobile: true, hasTouch: true });
  phone = await phoneContext.newPage();
  await phone.clock.install({ time: clock.now() });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await new Promise((r) => (port?.isOpen ? port.close(r) : r(null)));
  await pair?.close();
  await cloud?.stop();
});

let shotNo = 0;
/** Screenshot an element and read its QR code back with zbarimg. */
async function readQr(page: Page, selector: string): Promise<string> {
  const file = join(shots, `qr-${++shotNo}.png`);
  await page.locator(selector).screenshot({ path: file });
  return execFileSync(ZBARIMG, ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', file], { encoding: 'utf8' }).trim();
}

async function openKiosk(): Promise<Page> {
  const k = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1080, height: 1920 } });
  await k.goto(h.url('/'));
  await k.waitForSelector('body[data-ready="true"]');
  await waitFor(() => h.station.kiosk.clientCount > 0, 5000, 'kiosk subscribed');
  return k;
}

async function scan(kiosk: Page, code: string): Promise<void> {
  // A fresh session, as the next person would find it.
  if (await kiosk.locator('#btn-done').isVisible()) await kiosk.click('#btn-done');
  await kiosk.waitForSelector('#idle:not([hidden])');
  await scanner.scan(code, 'CR');
}

const noHorizontalOverflow = async (p: Page) => {
  const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll).toBeLessThanOrEqual(inner);
};

describe('the rider journey, poster to kiosk', () => {
  let invite: { code: string; url: string };
  let code = '';
  let riderId = '';
  let kiosk: Page;

  it('prints a poster whose QR is the invite’s enrolment URL', async () => {
    const res = await fetch(`${cloud.url}/v1/invites`, {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ uses: 10, expiresAt: clock.now() + 7 * 86_400_000, zone: 'daning' }),
    });
    expect(res.status).toBe(201);
    invite = (await res.json()) as { code: string; url: string };
    expect(invite.url).toBe(`${cloud.url}/r/?invite=${invite.code}`);
    const poster = await browser.newPage({ viewport: { width: 794, height: 1123 } });
    await poster.goto(`${cloud.url}/v1/invites/${invite.code}/poster`);
    expect(await readQr(poster, 'figure.qr')).toBe(invite.url);
    expect(await poster.locator('main').textContent()).toMatch(/免费饮用水[\s\S]*Free drinking water/);
    await poster.close();
  });

  it('enrols on a 390 px phone page: notice first, consent unticked, one button, then the code page', async () => {
    await phone.goto(invite.url);
    await phone.waitForSelector('body[data-ready="true"]');
    const notice = (await phone.locator('#notice').textContent()) ?? '';
    for (const words of ['用途', 'Purpose', '随机编号', 'pseudonym', '分组和平台', '报到和领水', '保存 730 天', '联系谁', '退出并删除', 'Withdraw and erase']) expect(notice).toContain(words);
    expect(await phone.locator('#consent').isChecked()).toBe(false);
    expect(await phone.locator('button').count()).toBe(1);
    await noHorizontalOverflow(phone);

    await phone.click('#submit');
    await phone.waitForSelector('#message[data-code="no_consent"]');
    await phone.click('#consent');
    await phone.click('input[value="food_delivery"]');
    await phone.selectOption('#platform', 'meituan');
    await phone.click('#submit');
    await phone.waitForURL('**/r/me');
    await phone.waitForSelector('#qr svg');
    await noHorizontalOverflow(phone);
    expect(await phone.locator('#code .hint').textContent()).toMatch(/调高屏幕亮度[\s\S]*brightness/);
    expect(Number(await phone.locator('#seconds').textContent())).toBeGreaterThan(0);
    // The key in IndexedDB cannot be exported: its private half never leaves the phone.
    const extractable = await phone.evaluate(
      () =>
        new Promise((resolve) => {
          const r = indexedDB.open('waystation-rider', 1);
          r.onsuccess = () => {
            const g = r.result.transaction('kv').objectStore('kv').get('device');
            g.onsuccess = () => resolve((g.result as { privateKey: CryptoKey }).privateKey.extractable);
          };
        }),
    );
    expect(extractable).toBe(false);
    await phone.waitForSelector('#status [class="small"]');
    expect(await phone.locator('#status').textContent()).toMatch(/外卖骑手[\s\S]*还没有领水期[\s\S]*updated at/);
  });

  it('reads the screenshot’s QR at a real station’s scanner: check in, take water', async () => {
    code = await readQr(phone, '#qr');
    expect(code.split('.')).toHaveLength(5);
    riderId = decodeJwt(code.split('.').slice(0, 3).join('.')).sub!;
    kiosk = await openKiosk();
    await scan(kiosk, code);
    await kiosk.waitForSelector('#rider:not([hidden])');
    await kiosk.click('#btn-checkin');
    await kiosk.waitForSelector('#outcome[data-code="checked_in"]');
    const drops = h.dispenser!.droppedTotal;
    await kiosk.click('#btn-cold');
    await kiosk.waitForSelector('#outcome[data-code="committed_cold"]');
    expect(h.dispenser!.droppedTotal).toBe(drops + 1);
    expect(h.station.quota.riderStatus(riderId).claimedToday).toBe(true);
  });

  it('shows on the code page the window, days left and today’s bottle once the station synced the claim (issue 12)', async () => {
    // The station uploads as soon as it writes an event; the cloud's status rollup is kept at ingest.
    await expect.poll(async () => (await cloud.store.riderStatus(riderId)).lastClaim?.stationId, { timeout: 15_000 }).toBe('dn-001');
    await phone.reload();
    await phone.waitForSelector('#st-bottle');
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(clock.now());
    const sixLater = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(clock.now() + 6 * 86_400_000);
    await expect.poll(() => phone.locator('#st-bottle').textContent()).toMatch(/今日已领水（dn-001，\d\d:\d\d）[\s\S]*taken at dn-001/);
    expect(await phone.locator('#st-window').textContent()).toContain(`领水期 ${today} 至 ${sixLater}，还剩 7 天 / Window ${today} – ${sixLater}: 7 days left`);
    expect(await phone.locator('#status-at').textContent()).toMatch(/^更新于 \d\d:\d\d（北京时间）\/ updated at \d\d:\d\d \(Beijing time\)$/);
    await noHorizontalOverflow(phone);
  });

  it('refuses the same screenshot’s code 95 s later as stale_code; the page’s fresh code works', async () => {
    clock.offsetMs += 95_000;
    await scan(kiosk, code);
    await kiosk.waitForSelector('#outcome[data-code="stale_code"]');
    expect(await kiosk.locator('#outcome').textContent()).toMatch(/二维码已过期[\s\S]*out of date/);

    const before = await phone.locator('#qr').getAttribute('data-step');
    await phone.clock.fastForward(95_000);
    await phone.waitForFunction((s) => document.getElementById('qr')?.dataset.step !== s, before);
    const fresh = await readQr(phone, '#qr');
    expect(fresh).not.toBe(code);
    await scan(kiosk, fresh);
    await kiosk.waitForSelector('#rider:not([hidden])');
    expect(await kiosk.locator('#rider-status').textContent()).toMatch(/今日已领取|已领/);
  });

  it('keeps the code page working offline once loaded (service worker)', async () => {
    await phone.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await phone.reload(); // now under the worker's control, and the shell is cached
    await phone.waitForSelector('#qr svg');
    await phoneContext.setOffline(true);
    try {
      await phone.reload();
      await phone.waitForSelector('body[data-ready="true"]');
      await phone.waitForSelector('#qr svg');
      // Offline, the last answer is still shown, with its time.
      expect(await phone.locator('#status').textContent()).toMatch(/今日已领水[\s\S]*updated at/);
    } finally {
      await phoneContext.setOffline(false);
    }
  });

  it('withdraws from the phone; the station refuses the rider after its next config pull', async () => {
    const last = await readQr(phone, '#qr');
    await phone.click('#withdraw');
    await phone.click('#confirm-yes');
    await phone.waitForSelector('body[data-withdrawn="true"]');
    expect(await phone.locator('#gone').textContent()).toMatch(/已退出[\s\S]*Withdrawn/);

    // Before the pull the station still knows nothing of it; a restart pulls at once.
    expect(h.station.trust.cloudConfig()?.revokedRiders ?? []).not.toContain(riderId);
    await kiosk.close();
    await h.restart();
    await waitFor(() => (h.station.trust.cloudConfig()?.revokedRiders ?? []).includes(riderId), 10_000, 'the revocation pulled');
    kiosk = await openKiosk();
    await scan(kiosk, last);
    await kiosk.waitForSelector('#outcome[data-code="revoked"]');
    await phone.goto(`${cloud.url}/r/me`);
    await phone.waitForSelector('#none:not([hidden])'); // the phone's key and code are erased too
  });
});
