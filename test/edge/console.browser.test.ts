/**
 * The maintenance console as a maintainer meets it on a phone (issue 13), in real Chromium
 * against a real station with the dispenser and lock-board simulators: log in with the token
 * (kept for the tab only), restock by "set to", open a compartment with a reason from the list,
 * decide an unknown vend, and see a jam appear live when the simulator reports it — at 390 px
 * without horizontal overflow.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, startHarness, waitFor, type Harness } from '../helpers/station.ts';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({
    config: {
      sponsors: ['农夫山泉 Nongfu Spring', '街道办 Street office'],
      lockers: { pollIntervalMs: 100, labels: { '1-1': 'A01', '1-2': 'A02', '1-3': 'A03', '1-4': 'A04' } },
    },
    closeAfterMs: 400,
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

async function openConsole(): Promise<Page> {
  const p = await browser.newPage({ locale: 'zh-CN', viewport: PHONE });
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error' && !/401/.test(m.text())) errors.push(`${m.text()} ${m.location().url}`);
  });
  (p as Page & { errors: string[] }).errors = errors;
  await p.goto(h.url('/maintenance'));
  await p.waitForSelector('body[data-ready="login"]');
  return p;
}

async function logIn(p: Page, token = MAINTENANCE_TOKEN): Promise<void> {
  await p.fill('#token-input', token);
  await p.click('#login-submit');
}

async function loggedIn(): Promise<Page> {
  const p = await openConsole();
  await logIn(p);
  await p.waitForSelector('body[data-ready="true"]');
  await p.waitForSelector('#live[data-live="true"]');
  return p;
}

async function noHorizontalOverflow(p: Page): Promise<void> {
  const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll).toBeLessThanOrEqual(inner);
}

const text = async (p: Page, sel: string) => (await p.locator(sel).first().textContent()) ?? '';

function eventsOf(type: string): Array<Record<string, unknown>> {
  return (h.station.ledger.db.prepare('SELECT data FROM events WHERE type = ? ORDER BY seq').all(type) as Array<{ data: string }>).map((r) => JSON.parse(r.data) as Record<string, unknown>);
}

describe('maintenance console', () => {
  it('refuses a wrong token with what to do, and keeps a good one for this tab only', async () => {
    const p = await openConsole();
    await logIn(p, 'not-the-token');
    await p.waitForSelector('#msg[data-code="unauthorized"]');
    expect(await text(p, '#msg')).toMatch(/令牌无效[\s\S]*enter it again/);
    expect(await p.locator('#app').isHidden()).toBe(true);
    await logIn(p);
    await p.waitForSelector('body[data-ready="true"]');
    expect(await p.evaluate(() => [sessionStorage.getItem('waystation.maintenanceToken'), localStorage.length])).toEqual([MAINTENANCE_TOKEN, 0]);
    // Devices in plain words, times labelled with the station's zone.
    expect(await text(p, '[data-device="disp-1"]')).toMatch(/正常 \/ online[\s\S]*热水 hot: 40 瓶/);
    expect(await text(p, '#clock')).toContain('Station time (Asia/Shanghai)');
    // A reload in the same tab stays logged in; the token never went into a URL.
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    expect(p.url()).not.toContain(MAINTENANCE_TOKEN);
    await noHorizontalOverflow(p);
    expect((p as Page & { errors: string[] }).errors).toEqual([]);
    await p.close();
  });

  it('restocks by "set to" with a sponsor from the list: the dispenser is told the difference and the page shows the new count', async () => {
    const p = await loggedIn();
    expect(await p.locator('#restock-sponsor option').allTextContents()).toEqual(['无 / none', '农夫山泉 Nongfu Spring', '街道办 Street office']);
    const before = h.dispenser!.stock.hot;
    await p.selectOption('#restock-compartment', 'hot');
    await p.check('input[name="mode"][value="set"]');
    await p.fill('#restock-count', String(before + 15));
    await p.selectOption('#restock-sponsor', '农夫山泉 Nongfu Spring');
    await p.click('#restock-submit');
    await p.waitForSelector('#msg[data-code="restock_set"]');
    expect(await text(p, '#msg')).toContain(`设为 ${before + 15} 瓶（增加 15）`);
    await waitFor(() => h.dispenser!.stock.hot === before + 15, 5000, 'the simulator told the difference');
    const last = eventsOf('dispenser.restocked').at(-1)!;
    expect(last).toMatchObject({ dispenserId: 'disp-1', compartment: 'hot', count: 15, sponsor: '农夫山泉 Nongfu Spring', by: 'ops-wang' });
    // The new count arrives over the live stream (telemetry), without a reload.
    await p.waitForFunction((n) => document.querySelector('[data-stock="disp-1"]')?.textContent?.includes(`热水 hot: ${n} 瓶`), before + 15, { timeout: 5000 });
    // Lower than the device counts: refused with what to do.
    await p.fill('#restock-count', '1');
    await p.click('#restock-submit');
    await p.waitForSelector('#msg[data-code="cannot_lower_stock"]');
    expect(await text(p, '#msg')).toMatch(/面板[\s\S]*dispenser panel/);
    await noHorizontalOverflow(p);
    await p.close();
  });

  it('shows the cabinet as boards × locks and opens a compartment with a reason from the list', async () => {
    const p = await loggedIn();
    expect(await p.locator('.board .cell').allTextContents()).toEqual(['A01', 'A02', 'A03', 'A04']);
    // A rider's deposit shows live as held, with the time the items went in.
    const d = await h.station.lockers.deposit('rider-cabinet');
    expect(d.kind).toBe('deposited');
    const held = (d as { compartment: string }).compartment;
    await p.waitForSelector(`[data-compartment="${held}"][data-cell="held"]`, { timeout: 5000 });
    expect(await text(p, `[data-compartment="${held}"] small`)).toMatch(/^\d\d:\d\d$/);
    await p.click('[data-compartment="1-2"]');
    await p.waitForSelector('#locker-panel:not([hidden])');
    expect(await text(p, '#locker-info')).toContain('A02 (1-2): 空闲 free');
    await p.selectOption('#open-reason', { label: '检查柜门或门锁 / checking the door or lock' });
    await p.click('#open-submit');
    await p.waitForSelector('#msg[data-code="opened"]');
    const forced = eventsOf('locker.forced_open').at(-1)!;
    expect(forced).toMatchObject({ compartment: '1-2', reason: 'door_check: 检查柜门或门锁 / checking the door or lock', by: 'ops-wang' });
    // The journal row arrives live.
    await p.waitForFunction(() => Array.from(document.querySelectorAll('#journal tbody tr')).some((r) => r.textContent?.includes('A02') && r.textContent.includes('维护开门')), undefined, { timeout: 5000 });
    // Out of service for one door, from the same panel.
    await p.click('#locker-service');
    await p.waitForSelector('#msg[data-code="service_off"]');
    await p.waitForSelector('[data-compartment="1-2"][data-cell="off"]', { timeout: 5000 });
    await p.click('#locker-service');
    await p.waitForSelector('[data-compartment="1-2"]:not([data-cell="off"])', { timeout: 5000 });
    await noHorizontalOverflow(p);
    await p.close();
  });

  it('greys out the doors of an offline lock board and says the board is offline (not "being worked on")', async () => {
    const p = await loggedIn();
    expect(await text(p, '.legend')).toContain('板离线 board offline');
    h.board!.inject(1, 'offline');
    try {
      await waitFor(() => !h.station.health.usable('lockboard-1'), 5000, 'board offline');
      await p.waitForSelector('[data-compartment="1-3"][data-cell="unavailable"]', { timeout: 5000 });
      await p.click('[data-compartment="1-3"]');
      await p.waitForSelector('#locker-panel:not([hidden])');
      expect(await text(p, '#locker-info')).toContain('A03 (1-3): 锁控板离线，暂不可用 board offline, unavailable');
    } finally {
      h.board!.clear(1, 'offline');
    }
    await waitFor(() => h.station.health.usable('lockboard-1'), 8000, 'board back');
    await p.waitForSelector('[data-compartment="1-3"]:not([data-cell="unavailable"])', { timeout: 5000 });
    await p.close();
  });

  it('gives every control on a 390 px phone a touch target at least 44 px tall', async () => {
    const p = await loggedIn();
    await p.click('[data-compartment="1-1"]');
    await p.waitForSelector('#locker-panel:not([hidden])');
    const small = await p.evaluate(() => Array.from(document.querySelectorAll('button, select, input:not([type="radio"]), fieldset label'))
      .filter((e) => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().height < 44)
      .map((e) => `${e.tagName}#${e.id} ${Math.round(e.getBoundingClientRect().height)}px`));
    expect(small).toEqual([]);
    await noHorizontalOverflow(p);
    await p.close();
  });

  it('lists an unknown vend with rider, time and dispenser, and settles it as dropped', async () => {
    const p = await loggedIn();
    const credential = await h.credential('rider-console');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    h.dispenser!.failNext('power_loss');
    const c = await call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' });
    expect(c.status).toBe(504);
    const claimId = c.body.claimId as string;
    const card = `[data-claim="${claimId}"]`;
    await p.waitForSelector(card, { timeout: 8000 });
    expect(await text(p, card)).toMatch(/骑手 rider rider-console[\s\S]*disp-1 · 冷水 cold/);
    // Power lost mid-vend: the page says why it is undecided and where to look.
    expect(await text(p, `${card} [data-reason]`)).toBe('出水中途断电：看出货口有没有水 / Power was lost mid-vend: look in the outlet for a bottle');
    await p.click(`${card} [data-resolve="committed"]`);
    await p.waitForSelector('#msg[data-code="resolved_committed"]');
    expect(h.station.quota.getClaim(claimId)?.status).toBe('committed');
    await p.waitForSelector(card, { state: 'detached', timeout: 5000 });
    await p.close();
  });

  it('shows a jam the moment the dispenser reports it, with what to do, and clears it when fixed', async () => {
    const p = await loggedIn();
    expect(await p.locator('[data-device="disp-1"] [data-fault="jam"]').count()).toBe(0);
    h.dispenser!.setCondition('jam', true);
    await p.waitForSelector('[data-device="disp-1"] [data-fault="jam"]', { timeout: 5000 });
    expect(await text(p, '[data-device="disp-1"] [data-fault="jam"]')).toMatch(/卡货 \/ jam · 自 since \d\d-\d\d \d\d:\d\d[\s\S]*清理出货通道[\s\S]*clear the chute, then press Clear/);
    // Degraded since the jam, in the station's time (the ledger's device.fault event).
    const jamTs = (h.station.ledger.db.prepare("SELECT ts FROM events WHERE type = 'device.fault' AND json_extract(data, '$.fault') = 'jam' ORDER BY seq DESC LIMIT 1").get() as { ts: number }).ts;
    const local = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(jamTs));
    const part = (t: string) => local.find((x) => x.type === t)!.value;
    expect(await text(p, '[data-device="disp-1"] .since')).toBe(` 自 since ${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`);
    expect(await p.getAttribute('[data-device="disp-1"]', 'data-state')).toBe('degraded');
    h.dispenser!.setCondition('jam', false);
    await p.waitForSelector('[data-device="disp-1"] [data-fault="jam"]', { state: 'detached', timeout: 5000 });
    await noHorizontalOverflow(p);
    await p.close();
  });

  it('offers the sponsors synced from the cloud, with the one in relay today picked first', async () => {
    const doc = (sponsors: Array<{ id: string; name: string }>, sponsorToday: { id: string; name: string } | null) => ({
      stationId: h.station.config.stationId, jwks: { keys: [] }, revokedRiders: [], quota: { windowDays: 7, claimsPerDay: 1 }, maintenanceTokens: [], devices: [], sponsors, sponsorToday,
    });
    const cestbon = { id: 'sp-cestbon', name: "怡宝 C'estbon" };
    h.station.trust.applyCloudConfig(doc([{ id: 'sp-nongfu', name: '农夫山泉 Nongfu Spring' }, cestbon], cestbon));
    try {
      const p = await loggedIn();
      expect(await p.locator('#restock-sponsor option').allTextContents()).toEqual(['无 / none', '农夫山泉 Nongfu Spring', "怡宝 C'estbon"]);
      expect(await p.inputValue('#restock-sponsor')).toBe("怡宝 C'estbon");
      await p.close();
    } finally {
      h.station.trust.applyCloudConfig(doc([], null));
    }
  });
});
