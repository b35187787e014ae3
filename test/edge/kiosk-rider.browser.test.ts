/**
 * The kiosk as a rider meets it at 2 a.m. (issue 12, "a kiosk that tells the truth"), in real
 * Chromium against a real station with the dispenser and lock-board simulators: 完成 / Done after
 * every action, buttons that follow what the station can serve, the unknown-vend message, days
 * left and the locker's deadline, the idle screen, and layouts at 390 px and 1080×1920.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import { ZBARIMG } from '../setup/system-tools.ts';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, sha256, startHarness, waitFor, type Harness } from '../helpers/station.ts';

const ENROL_URL = 'https://waystation.example/r/?invite=KX7Q2M';
const HELP_LINE = '服务电话 / Help: 021-5555 0000';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({
    config: {
      kiosk: { afterLockerResetMs: 3000, enrolUrl: ENROL_URL, helpLine: HELP_LINE },
      lockers: { pollIntervalMs: 100, riderCooldownMs: 0, labels: { '1-1': 'A01', '1-2': 'A02', '1-3': 'A03', '1-4': 'A04' } },
    },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const PHONE = { width: 390, height: 844 };

async function openKiosk(viewport = PHONE): Promise<Page> {
  const p = await browser.newPage({ locale: 'zh-CN', viewport });
  await p.goto(h.url('/'));
  await p.waitForSelector('body[data-ready="true"]');
  return p;
}

async function enter(p: Page, credential: string): Promise<void> {
  await p.fill('#code-input', credential);
  await p.click('#code-submit');
  await p.waitForSelector('#rider:not([hidden])');
}

const text = async (p: Page, sel: string) => (await p.locator(sel).textContent()) ?? '';
const m = (method: string, path: string, body?: unknown) => call(h.station.httpUrl, method, path, body, { token: MAINTENANCE_TOKEN });

async function noHorizontalOverflow(p: Page): Promise<void> {
  const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll).toBeLessThanOrEqual(inner);
}

describe('kiosk: what a rider is told', () => {
  it('keeps 完成 / Done usable after every action, and ends the session soon after a locker opens, with a countdown', async () => {
    const p = await openKiosk();
    await enter(p, await h.credential('rider-done'));
    expect(await p.locator('#btn-done').isEnabled()).toBe(true);
    await p.click('#btn-checkin');
    await p.waitForSelector('#outcome[data-code="checked_in"]');
    expect(await p.locator('#btn-done').isEnabled()).toBe(true);
    await p.click('#btn-cold');
    await p.waitForSelector('#outcome[data-code="committed_cold"]');
    expect(await p.locator('#btn-done').isEnabled()).toBe(true);

    await p.click('#btn-deposit');
    await p.waitForSelector('#outcome[data-code="deposited"]');
    expect(await p.locator('#btn-done').isEnabled()).toBe(true);
    // The session ends in afterLockerResetMs (3 s here), and the screen says so.
    await p.waitForSelector('#countdown:not([hidden])');
    expect(await text(p, '#countdown')).toMatch(/[1-3] 秒后自动退出[\s\S]*ending in [1-3] s/);
    await p.waitForSelector('#idle:not([hidden])', { timeout: 6000 });
    expect(await p.locator('#rider').isHidden()).toBe(true);

    // Done itself hands the screen back at once: the next person cannot press 取物.
    await enter(p, await h.credential('rider-done'));
    await p.click('#btn-done');
    await p.waitForSelector('#idle:not([hidden])');
    expect(await p.inputValue('#code-input')).toBe('');
    await p.close();
  });

  it('shows days left, the next bottle day, the door label as printed and the locker deadline in local time', async () => {
    const p = await openKiosk();
    await enter(p, await h.credential('rider-days'));
    await p.click('#btn-checkin');
    await p.waitForSelector('#outcome[data-code="checked_in"]');
    await p.waitForSelector('#rider-status p.window');
    expect(await text(p, '#rider-status p.window')).toMatch(/还剩 7 天[\s\S]*7 days left/);
    await p.click('#btn-hot');
    await p.waitForSelector('#outcome[data-code="committed_hot"]');
    await p.waitForSelector('#rider-status p.next');
    expect(await text(p, '#rider-status p.next')).toMatch(/明天可再领[\s\S]*Next bottle tomorrow/);
    await p.click('#btn-deposit');
    await p.waitForSelector('#outcome[data-code="deposited"]');
    const label = h.config.lockers.labels[h.station.lockers.holdingOf('rider-days')!.compartment]!;
    expect(label).toMatch(/^A0[1-4]$/);
    expect(await text(p, '#outcome')).toContain(`${label} 号柜门已打开`);
    await p.waitForSelector('#rider-status p.locker');
    // Storage time starts when the door is seen closed again (the simulator closes it).
    await waitFor(() => h.station.lockers.holdingOf('rider-days')?.since != null, 5000, 'items stored');
    await p.click('#btn-done');
    await enter(p, await h.credential('rider-days'));
    const held = h.station.lockers.holdingOf('rider-days')!;
    const due = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(held.since! + h.config.lockers.storageLimitMs));
    const part = (t: string) => due.find((x) => x.type === t)!.value;
    const locker = await text(p, '#rider-status p.locker');
    expect(locker).toContain(`您的柜格：${label}`);
    expect(locker).toContain(`请在 ${part('month')}-${part('day')} ${part('hour')}:${part('minute')} 前取走`);
    expect(await text(p, '#rider-status p.tz')).toContain('当地时间（Asia/Shanghai）');
    await p.close();
  });

  it('greys hot out when it is empty, both when the dispenser jams or is out of service, and says so plainly', async () => {
    const credential = await h.credential('rider-grey');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    const disp = h.dispenser!;
    const look = async () => {
      const p = await openKiosk();
      await enter(p, credential);
      const r = { hot: await p.locator('#btn-hot').isDisabled(), cold: await p.locator('#btn-cold').isDisabled(), status: await text(p, '#rider-status') };
      await p.close();
      return r;
    };
    try {
      disp.setStock('hot', 0);
      await waitFor(() => h.station.claims.serving('hot') === 'empty', 5000, 'hot empty at the station');
      expect(await look()).toMatchObject({ hot: true, cold: false });

      disp.setStock('cold', 0);
      await waitFor(() => h.station.claims.serving('cold') === 'empty', 5000, 'cold empty at the station');
      const empty = await look();
      expect(empty).toMatchObject({ hot: true, cold: true });
      expect(empty.status).toMatch(/饮水已发完[\s\S]*run out/);

      disp.setStock('hot', 40);
      disp.setStock('cold', 40);
      disp.setCondition('jam', true);
      await waitFor(() => h.station.claims.serving('hot') === 'unavailable', 5000, 'jam seen at the station');
      const jammed = await look();
      expect(jammed).toMatchObject({ hot: true, cold: true });
      expect(jammed.status).toMatch(/暂停服务[\s\S]*out of service/);

      disp.clearFaults();
      await waitFor(() => h.station.claims.serving('hot') === 'ok', 5000, 'jam cleared');
      expect(await look()).toMatchObject({ hot: false, cold: false });
      expect((await m('PUT', '/v1/maintenance/devices/disp-1/service', { inService: false })).status).toBe(200);
      expect(await look()).toMatchObject({ hot: true, cold: true });
    } finally {
      await m('PUT', '/v1/maintenance/devices/disp-1/service', { inService: true });
      disp.clearFaults();
      disp.setStock('hot', 40);
      disp.setStock('cold', 40);
      await waitFor(() => h.station.claims.serving('hot') === 'ok' && h.station.claims.serving('cold') === 'ok', 5000, 'dispenser back');
    }
  });

  it('after a second failed vend says to come back later instead of "try again"', async () => {
    const credential = await h.credential('rider-fail');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    const p = await openKiosk();
    await enter(p, credential);
    h.dispenser!.failNext('jam', 'jam');
    await p.click('#btn-hot');
    await p.waitForSelector('#outcome[data-code="dispense_failed"]');
    expect(await text(p, '#outcome')).toMatch(/额度已退回，请再试一次[\s\S]*try once more/);
    await p.waitForSelector('#btn-hot:enabled');
    await p.click('#btn-hot');
    await p.waitForSelector('#outcome[data-code="dispense_failed_again"]');
    expect(await text(p, '#outcome')).toMatch(/请稍后再来[\s\S]*come back later/);
    await p.close();
    h.dispenser!.clearFaults();
  });

  it('says "not counted yet, staff will check" with a reference for a vend whose outcome is unknown — also when scanned again', async () => {
    const credential = await h.credential('rider-unknown');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    const p = await openKiosk();
    await enter(p, credential);
    // Power lost mid-vend: the device itself cannot tell whether the bottle came out.
    h.dispenser!.failNext('power_loss');
    await p.click('#btn-cold');
    await p.waitForSelector('#outcome[data-code="dispense_unknown"]', { timeout: 8000 });
    const claim = h.station.quota.riderStatus('rider-unknown').claimsToday[0]!;
    const ref = claim.id.replace(/-/g, '').slice(0, 8).toUpperCase();
    expect(await text(p, '#outcome')).toMatch(new RegExp(`尚未计入，工作人员会核实（编号 ${ref}）[\\s\\S]*not counted yet, staff will check \\(reference ${ref}\\)`));
    await p.click('#btn-done');
    await enter(p, credential);
    const status = await text(p, '#rider-status');
    expect(status).toContain(`今日这瓶尚未计入，工作人员会核实（编号 ${ref}）`);
    expect(status).not.toContain('今日已领取');
    await p.close();
    await waitFor(() => h.station.health.usable('disp-1'), 10_000, 'dispenser back after the power loss');
  });

  it('idle screen: what the station offers, the enrolment QR (it decodes to the poster URL), the help line and the local clock', async () => {
    const p = await openKiosk();
    const offers = await text(p, '#offers');
    expect(offers).toMatch(/热水[\s\S]*hot water[\s\S]*冷水[\s\S]*cold water[\s\S]*储物柜/);
    await p.waitForSelector('#enrol:not([hidden])');
    expect(await text(p, '#enrol')).toMatch(/还没有骑手码[\s\S]*No rider code yet/);
    await p.waitForFunction(() => (document.getElementById('enrol-qr') as HTMLImageElement).complete);
    const shot = join(h.dir, 'enrol-qr.png');
    await p.locator('#enrol-qr').screenshot({ path: shot });
    expect(execFileSync(ZBARIMG, ['-q', '--raw', shot], { encoding: 'utf8' }).trim()).toBe(ENROL_URL);
    expect(await text(p, '#help-line')).toBe(HELP_LINE);
    expect(await text(p, '#clock')).toMatch(/^\d{2}:\d{2}（Asia\/Shanghai 当地时间 \/ local time）$/);
    expect(await p.getAttribute('body', 'data-scanner')).toBe('none');
    await p.close();
  });

  for (const viewport of [PHONE, { width: 1080, height: 1920 }]) {
    it(`fits ${viewport.width}×${viewport.height} with touch targets of 64 px or more, and greyed buttons that look greyed`, async () => {
      const p = await openKiosk(viewport);
      await noHorizontalOverflow(p);
      await enter(p, await h.credential(`rider-layout-${viewport.width}`));
      await noHorizontalOverflow(p);
      for (const id of ['btn-checkin', 'btn-hot', 'btn-cold', 'btn-deposit', 'btn-retrieve', 'btn-done']) {
        const box = (await p.locator(`#${id}`).boundingBox())!;
        expect(box.height, id).toBeGreaterThanOrEqual(64);
        expect(box.width, id).toBeGreaterThanOrEqual(64);
        expect(box.x + box.width, id).toBeLessThanOrEqual(viewport.width);
      }
      // Not checked in: water is greyed out and looks it (no colour, dashed edge).
      const look = (id: string) => p.locator(`#${id}`).evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderStyle]);
      expect(await p.locator('#btn-hot').isDisabled()).toBe(true);
      const [greyBg, greyBorder] = await look('btn-hot');
      const [liveBg] = await look('btn-checkin');
      expect(greyBorder).toBe('dashed');
      expect(greyBg).not.toBe(liveBg);
      await p.close();
    });
  }
});

describe('kiosk: a window that has ended', () => {
  it('says when the last window ended and offers a new check-in', async () => {
    const clock = new ManualClock(Date.now());
    const e = await startHarness({ dispenser: false, locks: 0, station: { clock } });
    try {
      const credential = await e.credential('rider-ended', { ttlSeconds: 30 * 86_400 });
      expect((await call(e.station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBe(201);
      clock.advance(8 * 86_400_000);
      const to = e.station.quota.windowsOf('rider-ended')[0]!.to;
      const p = await browser.newPage({ locale: 'zh-CN', viewport: PHONE });
      await p.goto(`${e.station.httpUrl}/`);
      await p.waitForSelector('body[data-ready="true"]');
      await enter(p, credential);
      expect(await text(p, '#rider-status p.ended')).toMatch(new RegExp(`上次报到已于 ${to} 结束，请重新报到[\\s\\S]*ended ${to}: check in again`));
      expect(await p.locator('#btn-checkin').isEnabled()).toBe(true);
      await p.close();
    } finally {
      await e.stop();
    }
  });
});

describe('kiosk: on a separate screen', () => {
  it('keeps the kiosk device token from its first URL and uses it for every rider request', async () => {
    const token = 'screen-7-token-abcdefghijklmnop';
    const e = await startHarness({ dispenser: false, locks: 0, config: { kiosk: { allowedAddresses: ['10.9.9.9'], tokenSha256: sha256(token) } } });
    try {
      const ctx = await browser.newContext({ locale: 'zh-CN', viewport: PHONE });
      const p = await ctx.newPage();
      await p.goto(`${e.station.httpUrl}/#kiosk-token=${token}`);
      await p.waitForSelector('body[data-ready="true"]');
      expect(new URL(p.url()).hash).toBe('');
      await p.reload();
      await p.waitForSelector('body[data-ready="true"]');
      await enter(p, await e.credential('rider-screen'));
      await p.click('#btn-checkin');
      await p.waitForSelector('#outcome[data-code="checked_in"]');
      await ctx.close();
    } finally {
      await e.stop();
    }
  });
});
