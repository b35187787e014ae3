/**
 * SPEC §17 reports over a month that crosses ISO weeks (2026-11-01 is a Sunday of W44,
 * 2026-11-30 the Monday of W49), with a sponsor relay that changes on the 15th — the relays are
 * added after the events arrived, so attribution at report time is what is tested. Every figure
 * below is counted by hand from the events listed in `month()`. Both store backends.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import type { CloudStore } from '../../cloud/store/store.ts';
import { ManualClock, sha256Hex, type StationEvent } from '../../protocol/index.ts';
import { bottleData, checkinData, restockData } from '../helpers/events.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { bearer, chain, tempDir, testConfig, TOKENS, type EventSpec } from './helpers.ts';

const R = (n: number) => `r-${String(n).padStart(16, '0')}`;
const [R1, R2, R3, R4, R5, R6, R7, R8] = [1, 2, 3, 4, 5, 6, 7, 8].map(R) as [string, string, string, string, string, string, string, string];

const ROLE = { office: 'office-token', maintenance: 'maintenance-token', nongfu: 'sponsor-nongfu-token', cestbon: 'sponsor-cestbon-token' } as const;
const NONGFU = '农夫山泉 Nongfu Spring';
const CESTBON = "怡宝 C'estbon";
const BANK = 'Bank of Daning';

/** Local Shanghai time on a service day. */
const at = (day: string, hh = 12, mm = 0) => Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00+08:00`);
let claimNo = 0;
const checkin = (riderId: string, day: string, windowTo = day): EventSpec => ({ type: 'checkin', ts: at(day, 9), data: checkinData(riderId, day, windowTo) });
const bottle = (riderId: string, day: string, compartment: 'hot' | 'cold', sponsor?: string): EventSpec => ({
  type: 'claim.committed', ts: at(day, 9, 5), data: bottleData(`c${++claimNo}`, riderId, compartment, sponsor),
});
const restock = (day: string, count: number, compartment: 'hot' | 'cold', sponsor?: string): EventSpec => ({ type: 'dispenser.restocked', ts: at(day, 7), data: restockData(count, compartment, sponsor) });

/** The month, per station, in upload order. No event names a relay; sponsors are named where said. */
function month(): Record<'dn-001' | 'dn-002' | 'jd-003', EventSpec[]> {
  return {
    'dn-001': [
      checkin(R1, '2026-10-20'), // R1's first check-in ever: before the month, so returning
      checkin(R1, '2026-11-02', '2026-11-08'), bottle(R1, '2026-11-02', 'hot'), checkin(R2, '2026-11-02'), bottle(R2, '2026-11-02', 'cold'),
      bottle(R1, '2026-11-03', 'cold'),
      restock('2026-11-10', 40, 'cold'),
      bottle(R2, '2026-11-14', 'hot'), // the relay's last day of Nongfu
      bottle(R2, '2026-11-15', 'cold'), restock('2026-11-15', 30, 'hot'), // C'estbon from here
      checkin(R3, '2026-11-16'), bottle(R3, '2026-11-16', 'hot', 'bank of  DANING'), // named: the record, by normalised name
      restock('2026-11-20', 24, 'cold', BANK),
      checkin(R1, '2026-11-30'), bottle(R1, '2026-11-30', 'hot'),
    ],
    'dn-002': [
      checkin(R4, '2026-11-05'), bottle(R4, '2026-11-05', 'cold'),
      checkin(R2, '2026-11-18', '2026-11-24'), bottle(R2, '2026-11-18', 'cold', CESTBON),
      bottle(R2, '2026-11-24', 'cold'), // W48 on the W47 window: R2 is seen in W48, so not lapsed
      bottle(R5, '2026-11-25', 'hot', 'Someone Else'), // a free-text name, no record
    ],
    'jd-003': [
      bottle(R7, '2026-10-31', 'cold'), // seen the month before, not in November: lapsed for the range
      checkin(R6, '2026-11-09'), bottle(R6, '2026-11-09', 'cold'), // no relay at jd-003: no sponsor
      checkin(R8, '2026-11-17'),
      checkin(R6, '2026-12-01'),
    ],
  };
}

interface Backend {
  name: string;
  open(): Promise<CloudStore>;
  storage?: () => Record<string, unknown>;
}

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

let pgUrl = '';
const backends: Backend[] = [
  { name: 'sqlite', open: async () => SqliteStore.open(join(tempDir('wc-reports-'), 'cloud.db')) },
  {
    name: 'postgres',
    open: async () => {
      const db = await testDatabase('reports');
      dbs.push(db);
      pgUrl = db.url;
      return PgStore.open(db.url, { maxConnections: 4 });
    },
    storage: () => ({ storage: { url: pgUrl, poolSize: 4 } }),
  },
];

describe.each(backends)('reports, sponsors and lapsed riders on $name (SPEC §17)', (backend) => {
  let app: ReturnType<typeof buildApp>;
  let store: CloudStore;
  const logLines: Array<Record<string, unknown>> = [];
  const as = (token: string, method: 'GET' | 'POST', url: string, payload?: object) => app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  const admin = (method: 'GET' | 'POST', url: string, payload?: object) => as(TOKENS.admin, method, url, payload);

  beforeAll(async () => {
    store = await backend.open();
    const config = testConfig(undefined, {
      ...(backend.storage?.() ?? {}),
      logLevel: 'info',
      adminTokens: [
        { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
        { name: 'clerk-li', sha256: sha256Hex(ROLE.office), role: 'office' },
        { name: 'ops-wang', sha256: sha256Hex(ROLE.maintenance), role: 'maintenance' },
        { name: 'nongfu', sha256: sha256Hex(ROLE.nongfu), role: 'sponsor', sponsorId: 'sp-nongfu' },
        { name: 'cestbon', sha256: sha256Hex(ROLE.cestbon), role: 'sponsor', sponsorId: 'sp-cestbon' },
      ],
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = buildApp({ config, store, clock: new ManualClock(Date.parse('2026-11-25T04:00:00Z')), logger: pino({ level: 'info' }, sink) });
    await app.ready();
    for (const [stationId, specs] of Object.entries(month())) {
      const events: StationEvent[] = chain(specs);
      const r = await app.inject({ method: 'POST', url: `/v1/stations/${stationId}/events`, headers: bearer(TOKENS[stationId as 'dn-001']), payload: { events } });
      expect(r.json()).toEqual({ ackedSeq: events.length });
    }
    // Riders the office knows: R3 opted in to be contacted (enrolled with a contact), R8 did not.
    await store.createInvite({ code: 'inv-test', uses: 5, expiresAt: Date.parse('2027-01-01T00:00:00Z'), zone: 'daning', note: null, createdAt: 1, createdBy: 'street-office (admin)' });
    expect(await store.enrolRider({ invite: 'inv-test', riderId: R3, group: 'courier', platform: 'meituan', deviceX: 'device-of-r3', contact: '138-0000-0003', at: 2 })).toMatchObject({ kind: 'enrolled' });
    await store.createRider({ riderId: R8, group: 'express', platform: 'sf', createdAt: 3 });
    await store.createRider({ riderId: R2, group: 'courier', platform: 'eleme', createdAt: 3 });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('creates sponsors with unique names after normalising whitespace and case, and lists them', async () => {
    expect((await admin('POST', '/v1/sponsors', { name: `  ${NONGFU} `, id: 'sp-nongfu', contact: '王经理 / Mr Wang' })).json()).toEqual({ id: 'sp-nongfu', name: NONGFU });
    const dup = await as(ROLE.office, 'POST', '/v1/sponsors', { name: '农夫山泉   NONGFU spring' });
    expect([dup.statusCode, dup.json().error, dup.json().id]).toEqual([409, 'sponsor_exists', 'sp-nongfu']);
    expect((await as(ROLE.office, 'POST', '/v1/sponsors', { name: CESTBON, id: 'sp-cestbon' })).statusCode).toBe(201);
    const bank = await admin('POST', '/v1/sponsors', { name: BANK });
    expect(bank.statusCode).toBe(201);
    expect(bank.json().id).toMatch(/^sp-[0-9a-f]{12}$/);
    expect((await as(ROLE.maintenance, 'POST', '/v1/sponsors', { name: 'x' })).json().error).toBe('forbidden');
    expect((await admin('POST', '/v1/sponsors', { name: '   ' })).json().error).toBe('bad_request');
    const list = (await as(ROLE.office, 'GET', '/v1/sponsors')).json().sponsors as Array<{ id: string; name: string; relays: unknown[] }>;
    expect(list.map((s) => [s.name, s.relays])).toEqual([[BANK, []], [NONGFU, []], [CESTBON, []]]);
  });

  it('counts no sponsor for unnamed bottles before any relay exists', async () => {
    const s = (await admin('GET', '/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30')).json();
    expect([s.totals.bottles, s.ridersServed, s.restocks]).toEqual([0, 0, []]);
  });

  it('adds relays by stations and by zone, and refuses an overlap, unknown stations or both at once', async () => {
    const a = await as(ROLE.office, 'POST', '/v1/sponsors/sp-nongfu/relays', { stations: ['dn-001', 'dn-002'], from: '2026-11-01', to: '2026-11-14' });
    expect([a.statusCode, a.json().relays.map((r: { stationId: string }) => r.stationId)]).toEqual([201, ['dn-001', 'dn-002']]);
    const b = await admin('POST', '/v1/sponsors/sp-cestbon/relays', { zone: 'daning', from: '2026-11-15', to: '2026-11-30' });
    expect([b.statusCode, b.json().relays.map((r: { stationId: string; from: string }) => `${r.stationId} ${r.from}`)]).toEqual([201, ['dn-001 2026-11-15', 'dn-002 2026-11-15']]);
    const overlap = await admin('POST', '/v1/sponsors/sp-nongfu/relays', { stations: ['jd-003', 'dn-001'], from: '2026-11-10', to: '2026-11-20' });
    expect([overlap.statusCode, overlap.json().error, overlap.json().overlap]).toMatchObject([409, 'relay_overlap', { stationId: 'dn-001', from: '2026-11-01', to: '2026-11-14' }]);
    expect((await admin('POST', '/v1/sponsors/sp-nongfu/relays', { stations: ['nowhere'], from: '2026-12-01', to: '2026-12-31' })).json().error).toBe('unknown_station');
    expect((await admin('POST', '/v1/sponsors/sp-nongfu/relays', { stations: ['jd-003'], zone: 'jingan', from: '2026-12-01', to: '2026-12-31' })).json().error).toBe('bad_request');
    expect((await admin('POST', '/v1/sponsors/sp-nongfu/relays', { stations: ['jd-003'], from: '2026-12-31', to: '2026-12-01' })).json().error).toBe('bad_date');
    expect((await admin('POST', '/v1/sponsors/sp-nobody/relays', { stations: ['jd-003'], from: '2026-12-01', to: '2026-12-31' })).json().error).toBe('unknown_sponsor');
    // The refused overlap left jd-003 without a relay.
    const list = (await admin('GET', '/v1/sponsors')).json().sponsors as Array<{ id: string; relays: Array<{ stationId: string }> }>;
    expect(list.find((s) => s.id === 'sp-nongfu')!.relays.map((r) => r.stationId)).toEqual(['dn-001', 'dn-002']);
  });

  it('reports the month: stations, totals, daily series, lapsed riders and sponsors from the relays as they are now', async () => {
    const r = await as(ROLE.office, 'GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30');
    expect(r.statusCode).toBe(200);
    const rep = r.json();
    expect(rep.stations).toEqual([
      { stationId: 'dn-001', checkins: 4, riders: 3, newRiders: 2, returningRiders: 1, bottles: { hot: 4, cold: 3 }, otherBottles: 0, conflicts: 0 },
      { stationId: 'dn-002', checkins: 2, riders: 3, newRiders: 2, returningRiders: 0, bottles: { hot: 1, cold: 3 }, otherBottles: 0, conflicts: 0 },
      { stationId: 'jd-003', checkins: 2, riders: 2, newRiders: 2, returningRiders: 0, bottles: { hot: 0, cold: 1 }, otherBottles: 0, conflicts: 0 },
    ]);
    expect(rep.totals).toEqual({ checkins: 8, riders: 7, newRiders: 5, returningRiders: 1, bottles: { hot: 5, cold: 7 }, otherBottles: 0, conflicts: 0 });
    expect(rep.days).toHaveLength(30);
    const busy = (rep.days as Array<{ day: string; checkins: number; bottles: number }>).filter((d) => d.checkins + d.bottles > 0);
    expect(busy.map((d) => `${d.day} ${d.checkins} ${d.bottles}`)).toEqual([
      '2026-11-02 2 2', '2026-11-03 0 1', '2026-11-05 1 1', '2026-11-09 1 1', '2026-11-14 0 1', '2026-11-15 0 1', '2026-11-16 1 1',
      '2026-11-17 1 0', '2026-11-18 1 1', '2026-11-24 0 1', '2026-11-25 0 1', '2026-11-30 1 1',
    ]);
    // Seen 2026-10-02..10-31 and not in November: R7 (R1 came back).
    expect([rep.lapsedFrom, rep.lapsedTo, rep.lapsedRiders]).toEqual(['2026-10-02', '2026-10-31', [R7]]);
    expect(rep.sponsors).toEqual([
      { sponsorId: null, sponsor: '', bottles: 1, restocked: 0 },
      { sponsorId: expect.stringMatching(/^sp-/), sponsor: BANK, bottles: 1, restocked: 24 },
      { sponsorId: null, sponsor: 'Someone Else', bottles: 1, restocked: 0 },
      { sponsorId: 'sp-nongfu', sponsor: NONGFU, bottles: 5, restocked: 40 },
      { sponsorId: 'sp-cestbon', sponsor: CESTBON, bottles: 4, restocked: 30 },
    ]);
    expect(rep.completeThrough['dn-001']).toBe(at('2026-11-30', 9, 5));
  });

  it('scopes a range to a zone or a station, and the weekly report keeps its figures', async () => {
    const zone = (await admin('GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30&zone=jingan')).json();
    expect([zone.zone, zone.stations.map((s: { stationId: string }) => s.stationId), zone.totals.riders, zone.lapsedRiders]).toEqual(['jingan', ['jd-003'], 2, [R7]]);
    const one = (await admin('GET', '/v1/reports/range?from=2026-11-16&to=2026-11-22&station=dn-002')).json();
    expect(one.stations).toEqual([{ stationId: 'dn-002', checkins: 1, riders: 1, newRiders: 0, returningRiders: 1, bottles: { hot: 0, cold: 1 }, otherBottles: 0, conflicts: 0 }]);
    // One ISO week as a range gives the weekly report's SPEC §9 figures.
    const week = (await admin('GET', '/v1/reports/weekly?week=2026-W47')).json();
    const range = (await admin('GET', '/v1/reports/range?from=2026-11-16&to=2026-11-22')).json();
    const strip = (s: Record<string, unknown>) => ({ ...s, otherBottles: undefined });
    expect(range.stations.map(strip)).toEqual(week.stations.map(strip));
    expect((await admin('GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30&zone=nowhere')).json().error).toBe('unknown_zone');
  });

  it('refuses bad dates and ranges longer than 366 days', async () => {
    for (const q of ['from=2026-02-30&to=2026-03-01', 'from=2026-11-01', 'from=11/01/2026&to=2026-11-30', 'from=2026-11-30&to=2026-11-01']) {
      const r = await admin('GET', `/v1/reports/range?${q}`);
      expect([q, r.statusCode, r.json().error]).toEqual([q, 400, 'bad_date']);
    }
    const long = await admin('GET', '/v1/reports/range?from=2026-01-01&to=2027-01-02');
    expect([long.statusCode, long.json().error]).toEqual([400, 'range_too_long']);
    expect((await admin('GET', '/v1/reports/range?from=2027-01-01&to=2027-12-31')).statusCode).toBe(200);
    expect((await as(ROLE.maintenance, 'GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30')).json().error).toBe('forbidden');
    expect((await as(ROLE.nongfu, 'GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30')).json().error).toBe('forbidden');
  });

  it('writes the range as Excel-ready CSV: a BOM, Chinese headers (English with lang=en), one table per file', async () => {
    const r = await admin('GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30&format=csv&table=days');
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect([...r.rawPayload.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = r.payload.slice(1).split('\r\n');
    expect(lines[0]).toBe('日期（服务日）,签到次数,发放（瓶）');
    expect(lines[2]).toBe('2026-11-02,2,2');
    expect(lines).toHaveLength(32);
    const en = await admin('GET', '/v1/reports/range?from=2026-11-01&to=2026-11-30&format=csv&table=stations&lang=en');
    expect(en.payload.slice(1).split('\r\n')[0]).toMatch(/^dates,station,check-ins,riders,new riders,returning riders,hot bottles,cold bottles/);
    expect(en.payload).toContain('2026-11-01..2026-11-30,dn-001,4,3,2,1,4,3,0,0,2026-11-30 09:05:00,Asia/Shanghai');
  });

  it('writes the statement of each sponsor: bottles per station and ISO week, riders served, restocks by station and day', async () => {
    const nongfu = (await admin('GET', '/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30')).json();
    expect(nongfu).toMatchObject({
      sponsor: { id: 'sp-nongfu', name: NONGFU },
      bottles: [
        { stationId: 'dn-001', week: '2026-W45', from: '2026-11-02', to: '2026-11-03', hot: 1, cold: 2, bottles: 3 },
        { stationId: 'dn-001', week: '2026-W46', from: '2026-11-14', to: '2026-11-14', hot: 1, cold: 0, bottles: 1 },
        { stationId: 'dn-002', week: '2026-W45', from: '2026-11-05', to: '2026-11-05', hot: 0, cold: 1, bottles: 1 },
      ],
      ridersServed: 3,
      restocks: [{ stationId: 'dn-001', day: '2026-11-10', restocks: 1, bottles: 40 }],
      totals: { bottles: 5, restocks: 1, restockedBottles: 40, stations: 2 },
    });
    const cestbon = (await as(ROLE.cestbon, 'GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-30')).json();
    expect(cestbon.bottles.map((w: { stationId: string; week: string; bottles: number }) => `${w.stationId} ${w.week} ${w.bottles}`)).toEqual([
      'dn-001 2026-W46 1', 'dn-001 2026-W49 1', 'dn-002 2026-W47 1', 'dn-002 2026-W48 1',
    ]);
    expect([cestbon.ridersServed, cestbon.restocks]).toEqual([2, [{ stationId: 'dn-001', day: '2026-11-15', restocks: 1, bottles: 30 }]]);
    // Half the month: the relay change on the 15th splits it.
    const firstHalf = (await admin('GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-14')).json();
    expect(firstHalf.totals).toEqual({ bottles: 0, restocks: 0, restockedBottles: 0, stations: 0 });
    const csv = await admin('GET', '/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30&format=csv');
    expect([...csv.rawPayload.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.payload.slice(1).split('\r\n').slice(0, 2)).toEqual(['赞助方,站点,周,首日,末日,热饮（瓶）,冷饮（瓶）,合计（瓶）', `${NONGFU},dn-001,2026-W45,2026-11-02,2026-11-03,1,2,3`]);
    const restocks = await admin('GET', '/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30&format=csv&table=restocks&lang=en');
    expect(restocks.payload.slice(1).split('\r\n').slice(0, 2)).toEqual(['sponsor,station,service day,restocks,bottles restocked', `${NONGFU},dn-001,2026-11-10,1,40`]);
  });

  it('lets a sponsor token read only its own statement', async () => {
    expect((await as(ROLE.nongfu, 'GET', '/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30')).statusCode).toBe(200);
    const other = await as(ROLE.nongfu, 'GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-30');
    expect([other.statusCode, other.json().error]).toEqual([403, 'forbidden']);
    const html = await as(ROLE.nongfu, 'GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-30&format=html');
    expect(html.statusCode).toBe(403);
    expect((await as(ROLE.nongfu, 'GET', '/v1/sponsors/sp-nobody/statement?from=2026-11-01&to=2026-11-30')).statusCode).toBe(403);
    expect((await as(ROLE.office, 'GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-30')).statusCode).toBe(200);
    expect((await as(ROLE.maintenance, 'GET', '/v1/sponsors/sp-cestbon/statement?from=2026-11-01&to=2026-11-30')).json().error).toBe('forbidden');
    expect((await as(ROLE.nongfu, 'GET', '/v1/sponsors')).json().error).toBe('forbidden');
    expect((await admin('GET', '/v1/sponsors/sp-nobody/statement?from=2026-11-01&to=2026-11-30')).json().error).toBe('unknown_sponsor');
  });

  it('lists the riders lapsed this week with what the office needs to act, leaving out a rider still on last week\'s window', async () => {
    // W47 = 11-16..22, W48 = 11-23..29. Seen in W47: R3 (dn-001), R2 (dn-002), R8 (jd-003);
    // R2 took a bottle in W48 on its W47 window, so it is not lapsed.
    const r = await as(ROLE.office, 'GET', '/v1/reports/lapsed?week=2026-W48');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      week: '2026-W48',
      prevWeek: '2026-W47',
      riders: [
        { riderId: R3, group: 'courier', platform: 'meituan', lastStation: 'dn-001', lastDay: '2026-11-16', outreach: [], contact: '138-0000-0003' },
        { riderId: R8, group: 'express', platform: 'sf', lastStation: 'jd-003', lastDay: '2026-11-17', outreach: [] },
      ],
    });
    // SPEC §9's weekly lapsedRiders keeps its meaning: checked in the week before, not this one.
    expect((await admin('GET', '/v1/reports/weekly?week=2026-W48')).json().lapsedRiders).toEqual([R2, R3, R8]);
    // Every view of a contact is in the audit log: who, and whose.
    const audit = logLines.filter((l) => l.audit === 'rider.contacts_viewed');
    expect(audit.at(-1)).toMatchObject({ by: 'clerk-li (office)', riders: [R3], week: '2026-W48' });
    const daning = (await admin('GET', '/v1/reports/lapsed?week=2026-W48&zone=daning')).json();
    expect(daning.riders.map((x: { riderId: string }) => x.riderId)).toEqual([R3]);
    const jd = (await admin('GET', '/v1/reports/lapsed?week=2026-W48&station=jd-003')).json();
    expect(jd.riders.map((x: { riderId: string }) => x.riderId)).toEqual([R8]);
    expect(logLines.filter((l) => l.audit === 'rider.contacts_viewed')).toHaveLength(audit.length + 1);
    expect((await as(ROLE.maintenance, 'GET', '/v1/reports/lapsed?week=2026-W48')).json().error).toBe('forbidden');
    expect((await as(ROLE.nongfu, 'GET', '/v1/reports/lapsed?week=2026-W48')).json().error).toBe('forbidden');
  });

  it('records outreach (who, when, a note) and shows it with the lapsed rider, in JSON and CSV', async () => {
    const note = '电话联系，说下周回来 / called, back next week';
    const ok = await as(ROLE.office, 'POST', `/v1/riders/${R3}/outreach`, { note });
    expect([ok.statusCode, ok.json()]).toEqual([201, { riderId: R3, at: Date.parse('2026-11-25T04:00:00Z'), by: 'clerk-li (office)', note }]);
    expect((await admin('POST', `/v1/riders/${R3}/outreach`, { note: 'x'.repeat(501) })).json().error).toBe('bad_request');
    expect((await admin('POST', `/v1/riders/${R3}/outreach`, { note: '   ' })).json().error).toBe('bad_request');
    expect((await admin('POST', `/v1/riders/${R(99)}/outreach`, { note: 'x' })).json().error).toBe('unknown_rider');
    expect((await as(ROLE.maintenance, 'POST', `/v1/riders/${R3}/outreach`, { note: 'x' })).json().error).toBe('forbidden');
    const rep = (await admin('GET', '/v1/reports/lapsed?week=2026-W48')).json();
    expect(rep.riders[0].outreach).toEqual([{ at: Date.parse('2026-11-25T04:00:00Z'), by: 'clerk-li (office)', note }]);
    const csv = await admin('GET', '/v1/reports/lapsed?week=2026-W48&format=csv');
    expect([...csv.rawPayload.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = csv.payload.slice(1).split('\r\n');
    expect(lines[0]).toBe('周,骑手编号,群体,平台,最后到访站点,最后到访日（服务日）,联系次数,最近联系时间（Asia/Shanghai）,最近联系人,最近联系备注,联系方式（骑手同意）');
    expect(lines[1]).toBe(`2026-W48,${R3},courier,meituan,dn-001,2026-11-16,1,2026-11-25 12:00:00,clerk-li (office),"电话联系，说下周回来 / called, back next week",138-0000-0003`);
    expect(lines[2]).toBe(`2026-W48,${R8},express,sf,jd-003,2026-11-17,0,,,,`);
  });

  it('exports weekly, range and statement as .xlsx with one sheet per table and Chinese headers', async () => {
    const read = async (url: string) => {
      const r = await admin('GET', url);
      expect(r.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
      return wb;
    };
    const cells = (ws: ExcelJS.Worksheet, row: number) => (ws.getRow(row).values as unknown[]).slice(1);
    const range = await read('/v1/reports/range?from=2026-11-01&to=2026-11-30&format=xlsx');
    expect(range.worksheets.map((w) => w.name)).toEqual(['站点', '每日', '赞助方', '流失骑手']);
    expect(cells(range.getWorksheet('站点')!, 1).slice(0, 4)).toEqual(['日期范围', '站点', '签到次数', '骑手人数']);
    expect(cells(range.getWorksheet('站点')!, 2).slice(0, 9)).toEqual(['2026-11-01..2026-11-30', 'dn-001', 4, 3, 2, 1, 4, 3, 0]);
    expect(range.getWorksheet('每日')!.rowCount).toBe(31);
    const weekly = await read('/v1/reports/weekly?week=2026-W47&format=xlsx&lang=en');
    expect(weekly.worksheets.map((w) => w.name)).toEqual(['stations', 'sponsors', 'lapsed riders']);
    expect(cells(weekly.getWorksheet('stations')!, 1).slice(0, 3)).toEqual(['week', 'station', 'check-ins']);
    const st = await read('/v1/sponsors/sp-nongfu/statement?from=2026-11-01&to=2026-11-30&format=xlsx');
    expect(st.worksheets.map((w) => w.name)).toEqual(['汇总', '按站点和周发放', '补货']);
    expect(cells(st.getWorksheet('汇总')!, 7)).toEqual(['服务骑手（人）', 'riders served', 3]);
    expect(cells(st.getWorksheet('补货')!, 2)).toEqual([NONGFU, 'dn-001', '2026-11-10', 1, 40]);
  });

  it('puts the sponsor records and today\'s relay into each station\'s config document', async () => {
    const doc = (id: 'dn-001' | 'jd-003') => app.inject({ method: 'GET', url: `/v1/stations/${id}/config`, headers: bearer(TOKENS[id]) });
    const dn = (await doc('dn-001')).json();
    expect(dn.sponsors.map((s: { name: string }) => s.name)).toEqual([BANK, NONGFU, CESTBON]);
    // 2026-11-25 in Shanghai: C'estbon's relay.
    expect(dn.sponsorToday).toEqual({ id: 'sp-cestbon', name: CESTBON });
    expect((await doc('jd-003')).json().sponsorToday).toBeNull();
  });
});
