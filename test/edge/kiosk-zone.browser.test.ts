/**
 * The kiosk of a station in a zone (SPEC §13, issue 16), in real Chromium at 390 px against two
 * real stations and a real cloud: a rider who checked in at dn-001 is told at dn-002 that the
 * window is open here too, until its last day; a rider whose bottle was taken at dn-001 while
 * standing at dn-002 is told "今日已在 dn-001 领取 / already taken today at dn-001".
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, waitFor } from '../chaos/rig.ts';
import { startZone, type Zone } from '../sync/zoneRig.ts';

let z: Zone;
let browser: Browser;
const A = 'dn-001';
const B = 'dn-002';
const PHONE = { width: 390, height: 844 };

beforeAll(async () => {
  z = await startZone({ stations: [A, B] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await z?.stop();
});

async function openKiosk(stationId: string): Promise<Page> {
  const p = await browser.newPage({ locale: 'zh-CN', viewport: PHONE });
  await p.goto(`${z.stations[stationId]!.station.httpUrl}/`);
  await p.waitForSelector('body[data-ready="true"]');
  return p;
}

async function enter(p: Page, credential: string): Promise<void> {
  await p.fill('#code-input', credential);
  await p.click('#code-submit');
  await p.waitForSelector('#rider:not([hidden])');
}

const text = async (p: Page, sel: string) => (await p.locator(sel).textContent()) ?? '';
const holds = (id: string, rider: string, type: string) => z.stations[id]!.station.zoneFacts.all().some((f) => f.riderId === rider && f.type === type);

async function noHorizontalOverflow(p: Page): Promise<void> {
  const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll).toBeLessThanOrEqual(inner);
}

describe('kiosk in a zone', () => {
  it('says at a second station that the window opened at the first is open here too, until its last day', async () => {
    const rider = 'rider-kiosk-zone-1';
    // The rider stands at dn-002's kiosk, not yet checked in anywhere: check-in is offered.
    const p = await openKiosk(B);
    await enter(p, await z.stations[B]!.credential(rider));
    expect(await p.locator('#btn-checkin').isEnabled()).toBe(true);
    // Meanwhile the rider's code is checked in at dn-001, and the feed brings it here.
    const atA = await post(z.stations[A]!.station.httpUrl, '/v1/checkins', { credential: await z.stations[A]!.credential(rider) });
    expect(atA.status).toBe(201);
    const to = (atA.body.window as { to: string }).to;
    await waitFor(() => holds(B, rider, 'checkin'), 5000, 'the check-in at dn-002');
    await p.click('#btn-checkin');
    await p.waitForSelector('#outcome[data-code="already_checked_in_elsewhere"]');
    const outcome = await text(p, '#outcome');
    expect(outcome).toContain(`您已在 ${A} 报到，本站同样有效，有效期至 ${to}`);
    expect(outcome).toContain(`You already checked in at ${A}: the window is open here too, until ${to}`);
    // The status now shows the window; check-in is greyed out, a bottle is on offer; nothing was opened here.
    await p.waitForSelector('#btn-checkin:disabled');
    expect(await text(p, '#rider-status p.window')).toContain(to);
    expect(await p.locator('#btn-cold').isEnabled()).toBe(true);
    expect(z.stations[B]!.station.quota.windowsOf(rider)).toEqual([]);
    await noHorizontalOverflow(p);
    await p.close();
  });

  it('tells a rider at the second station that today’s bottle was already taken at the first, and why the button is greyed', async () => {
    const rider = 'rider-kiosk-zone-2';
    expect((await post(z.stations[A]!.station.httpUrl, '/v1/checkins', { credential: await z.stations[A]!.credential(rider) })).status).toBe(201);
    await waitFor(() => holds(B, rider, 'checkin'), 5000, 'the check-in at dn-002');
    const p = await openKiosk(B);
    await enter(p, await z.stations[B]!.credential(rider));
    expect(await p.locator('#btn-cold').isEnabled()).toBe(true);
    // Meanwhile the bottle is taken at dn-001 (a friend with the rider's code, or a second screen).
    expect((await post(z.stations[A]!.station.httpUrl, '/v1/claims', { credential: await z.stations[A]!.credential(rider), compartment: 'cold' })).status).toBe(201);
    await waitFor(() => holds(B, rider, 'claim.committed'), 5000, 'the claim at dn-002');
    await p.click('#btn-cold');
    await p.waitForSelector('#outcome[data-code="already_claimed_elsewhere"]');
    const outcome = await text(p, '#outcome');
    expect(outcome).toContain(`今日已在 ${A} 领取`);
    expect(outcome).toContain(`Already taken today at ${A}`);
    // The status is refreshed: it says where, and the water buttons are greyed out.
    await p.waitForSelector('#rider-status p.taken');
    expect(await text(p, '#rider-status p.taken')).toMatch(new RegExp(`今日已在 ${A} 领取[\\s\\S]*Already taken today at ${A}`));
    expect(await p.locator('#btn-cold').isDisabled()).toBe(true);
    expect(await p.locator('#btn-done').isEnabled()).toBe(true);
    await noHorizontalOverflow(p);
    // Scanned again later, the status alone says it.
    await p.click('#btn-done');
    await enter(p, await z.stations[B]!.credential(rider));
    expect(await text(p, '#rider-status p.taken')).toContain(`今日已在 ${A} 领取`);
    expect(z.stations[B]!.dispenser!.droppedTotal).toBe(0);
    await p.close();
  });
});
