/**
 * The contract every CloudStore backend passes (STYLE.md §8, after aedes-persistence/abstract).
 * `storeContract('sqlite', () => SqliteStore.open(...))`; a PostgreSQL backend runs the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, type StationEvent } from '../../protocol/index.ts';
import { rollupEffectsOf } from '../../cloud/ingest/rollupEffects.ts';
import type { CloudStore } from '../../cloud/store/store.ts';
import { chain, noonOf, type EventSpec } from './helpers.ts';

const checkin = (riderId: string, day: string): EventSpec => ({ type: 'checkin', ts: noonOf(day), data: { riderId, windowFrom: day, windowTo: day } });
const bottle = (riderId: string, day: string, compartment: 'hot' | 'cold', sponsor?: string): EventSpec => ({
  type: 'claim.committed',
  ts: noonOf(day) + 60_000,
  data: { claimId: `c-${riderId}-${day}`, riderId, compartment, dispenserId: 'disp-1', ...(sponsor ? { sponsor } : {}) },
});

export function storeContract(name: string, open: () => Promise<CloudStore>): void {
  describe(`CloudStore contract: ${name}`, () => {
    let store: CloudStore;
    const heads = new Map<string, { seq: number; hash: string }>();

    async function append(stationId: string, specs: EventSpec[]): Promise<StationEvent[]> {
      const prev = heads.get(stationId) ?? { seq: 0, hash: GENESIS_HASH };
      const events = chain(specs, prev.seq, prev.hash);
      const r = await store.appendEvents({ stationId, prev, events, effects: events.map(rollupEffectsOf), receivedAt: 1 });
      expect(r).toEqual({ ok: true, seq: prev.seq + events.length });
      heads.set(stationId, { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash });
      return events;
    }

    beforeEach(async () => {
      heads.clear();
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('has no sync head for a station that never uploaded', async () => {
      expect(await store.syncHead('dn-001')).toBeNull();
      expect(await store.eventsAfter('dn-001', 0, 10)).toEqual([]);
    });

    it('stores events keyed by station and seq and moves the head to the last one', async () => {
      const events = await append('dn-001', [checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23', 'hot')]);
      await append('dn-002', [checkin('r2', '2026-11-23')]);
      expect(await store.eventsAfter('dn-001', 0, 10)).toEqual(events);
      expect(await store.eventsAfter('dn-001', 1, 10)).toEqual(events.slice(1));
      expect(await store.countEvents('dn-002')).toBe(1);
      const head = await store.syncHead('dn-001');
      expect(head).toMatchObject({ stationId: 'dn-001', seq: 2, hash: events[1]!.hash, ts: events[1]!.ts });
      expect(await store.eventHashes('dn-001', 1, 2)).toEqual(new Map([[1, events[0]!.hash], [2, events[1]!.hash]]));
    });

    it('refuses an append planned against a head that has moved, and changes nothing', async () => {
      await append('dn-001', [checkin('r1', '2026-11-23')]);
      const stale = chain([checkin('r2', '2026-11-24')]);
      const r = await store.appendEvents({ stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events: stale, effects: stale.map(rollupEffectsOf), receivedAt: 1 });
      expect(r).toEqual({ ok: false, reason: 'head_moved', seq: 1 });
      expect(await store.countEvents('dn-001')).toBe(1);
      expect((await store.weeklyStations('2026-W48', 'dn-001'))[0]!.checkins).toBe(1);
    });

    it('keeps weekly rollups: check-ins, distinct riders, new and returning riders, bottles', async () => {
      // W48 = 2026-11-23..29; W49 starts 2026-11-30.
      await append('dn-001', [checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23', 'hot', 'bank-a'), bottle('r1', '2026-11-24', 'cold', 'bank-a')]);
      await append('dn-001', [checkin('r2', '2026-11-25'), bottle('r2', '2026-11-25', 'cold'), bottle('r3', '2026-11-26', 'hot', 'bank-b')]);
      await append('dn-001', [checkin('r1', '2026-11-30'), checkin('r4', '2026-12-01'), bottle('r4', '2026-12-01', 'hot', 'bank-a')]);
      expect(await store.weeklyStations('2026-W48', null)).toEqual([
        { stationId: 'dn-001', checkins: 2, riders: 3, newRiders: 2, returningRiders: 0, bottlesHot: 2, bottlesCold: 2, bottlesOther: 0 },
      ]);
      expect(await store.weeklyStations('2026-W49', 'dn-001')).toEqual([
        { stationId: 'dn-001', checkins: 2, riders: 2, newRiders: 1, returningRiders: 1, bottlesHot: 1, bottlesCold: 0, bottlesOther: 0 },
      ]);
      expect(await store.lapsedRiders('2026-W49', '2026-W48', null)).toEqual(['r2']);
      expect(await store.sponsors('2026-W48', null)).toEqual([
        { sponsor: '', bottles: 1, restocked: 0 },
        { sponsor: 'bank-a', bottles: 2, restocked: 0 },
        { sponsor: 'bank-b', bottles: 1, restocked: 0 },
      ]);
    });

    it('counts a rider seen at two stations once in the network totals', async () => {
      await append('dn-001', [checkin('r1', '2026-11-23')]);
      await append('dn-002', [checkin('r1', '2026-11-30'), checkin('r9', '2026-11-30')]);
      await append('dn-001', [checkin('r1', '2026-11-30')]);
      expect(await store.weeklyTotals('2026-W49', null)).toEqual({ riders: 2, newRiders: 1, returningRiders: 1 });
      // New means first check-in ever (SPEC §9): r1 came in W48 at dn-001, so in W49 it is
      // returning at both stations, dn-002 included; r9 is new at dn-002.
      const rows = await store.weeklyStations('2026-W49', null);
      expect(rows.map((r) => [r.stationId, r.newRiders, r.returningRiders])).toEqual([['dn-001', 0, 1], ['dn-002', 1, 1]]);
      expect(await store.weeklyTotals('2026-W49', 'dn-002')).toEqual({ riders: 2, newRiders: 1, returningRiders: 1 });
    });

    it('moves a first check-in earlier when an earlier day arrives later', async () => {
      await append('dn-001', [checkin('r1', '2026-12-07')]);
      await append('dn-001', [checkin('r1', '2026-11-23')]);
      expect((await store.weeklyStations('2026-W48', null))[0]!.newRiders).toBe(1);
      expect((await store.weeklyStations('2026-W50', null))[0]).toMatchObject({ newRiders: 0, returningRiders: 1 });
    });

    it('tracks device states, faults, low stock, overdue lockers and heartbeats', async () => {
      await append('dn-001', [
        { type: 'device.online', ts: 1000, data: { deviceId: 'disp-1', kind: 'dispenser' } },
        { type: 'device.fault', ts: 2000, data: { deviceId: 'disp-1', faults: ['jam', 'out_of_stock_hot'] } },
        { type: 'device.offline', ts: 3000, data: { deviceId: 'board-1' } },
        { type: 'locker.overdue', ts: 4000, data: { compartment: '1-5', riderId: 'r1' } },
        { type: 'locker.overdue', ts: 4100, data: { compartment: '1-6' } },
        { type: 'locker.forced_open', ts: 4200, data: { compartment: '1-6', reason: 'overdue' } },
        { type: 'station.heartbeat', ts: 5000, data: { uptimeS: 60, backlog: 12 } },
      ]);
      const devices = await store.devices();
      expect(devices.map((d) => [d.deviceId, d.state, d.faults])).toEqual([
        ['board-1', 'offline', []],
        ['disp-1', 'degraded', ['jam', 'out_of_stock_hot']],
      ]);
      expect(await store.overdueLockers()).toEqual([{ stationId: 'dn-001', compartment: '1-5', since: 4000, riderId: 'r1' }]);
      expect(await store.heartbeats()).toEqual([{ stationId: 'dn-001', ts: 5000, data: { uptimeS: 60, backlog: 12 } }]);
      await append('dn-001', [
        { type: 'device.recovered', ts: 6000, data: { deviceId: 'disp-1', fault: 'jam' } },
        { type: 'dispenser.restocked', ts: 7000, data: { dispenserId: 'disp-1', compartment: 'hot', count: 40, by: 'ops-wang', sponsor: 'bank-a' } },
        { type: 'device.service', ts: 8000, data: { deviceId: 'board-1', inService: false } },
        { type: 'device.online', ts: 9000, data: { deviceId: 'board-1' } },
        // One compartment of board-2 out of service leaves the board in its state.
        { type: 'device.online', ts: 9100, data: { deviceId: 'board-2' } },
        { type: 'device.service', ts: 9200, data: { deviceId: 'board-2', kind: 'lockboard', compartment: '2-3', inService: false, reason: 'door_never_opened' } },
      ]);
      expect(await store.openFaults()).toEqual([]);
      expect((await store.devices()).map((d) => [d.deviceId, d.state])).toEqual([
        ['board-1', 'out_of_service'],
        ['board-2', 'online'],
        ['disp-1', 'online'],
      ]);
    });

    it('records an alert once per station, kind and seq, counting repeats', async () => {
      await store.raiseAlert({ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch', at: 10 });
      await store.raiseAlert({ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch', at: 20 });
      await store.raiseAlert({ stationId: 'dn-002', kind: 'chain_broken', seq: null, detail: 'x', at: 15 });
      const alerts = await store.alerts(10);
      expect(alerts.map((a) => [a.stationId, a.seq, a.count, a.firstAt, a.at, a.ackedAt])).toEqual([
        ['dn-001', 7, 2, 10, 20, null],
        ['dn-002', null, 1, 15, 15, null],
      ]);
    });

    it('acknowledges an alert once, hides it from the open ones, and opens it again when raised again', async () => {
      await store.raiseAlert({ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch', at: 10 });
      await store.raiseAlert({ stationId: 'dn-002', kind: 'invalid_event', seq: 3, detail: 'x', at: 11 });
      const [, first] = await store.alerts(10);
      expect(first).toMatchObject({ stationId: 'dn-001', seq: 7 });
      expect(await store.acknowledgeAlert(first!.id, 'street-office', 30)).toMatchObject({ id: first!.id, ackedAt: 30, ackedBy: 'street-office' });
      // A second acknowledgement keeps the first.
      expect(await store.acknowledgeAlert(first!.id, 'someone-else', 40)).toMatchObject({ ackedAt: 30, ackedBy: 'street-office' });
      expect(await store.acknowledgeAlert(999_999, 'street-office', 40)).toBeNull();
      expect((await store.alerts(10, { openOnly: true })).map((a) => a.stationId)).toEqual(['dn-002']);
      expect(await store.alerts(10)).toHaveLength(2);
      await store.raiseAlert({ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch', at: 50 });
      expect((await store.alerts(10, { openOnly: true })).map((a) => [a.stationId, a.count, a.ackedAt])).toEqual([
        ['dn-001', 2, null],
        ['dn-002', 1, null],
      ]);
    });

    it('registers and revokes riders; the revocation list drops riders whose credentials expired', async () => {
      await store.createRider({ riderId: 'r-1', group: 'courier', platform: 'meituan', createdAt: 1 });
      await store.createRider({ riderId: 'r-2', group: 'other', platform: null, createdAt: 2 });
      await store.addSigningKey({ kid: 'k1', privateJwk: { d: 'x' }, publicJwk: { kty: 'OKP' }, createdAt: 1 });
      await store.noteCredentialIssued('r-1', 'k1', 5000);
      expect(await store.revokeRider('nobody', 3, null)).toBeNull();
      expect(await store.revokeRider('r-1', 100, 'lost phone')).toMatchObject({ revokedAt: 100, revokeReason: 'lost phone', lastCredentialExp: 5000 });
      expect(await store.revokedRiders(4000)).toEqual(['r-1']);
      expect(await store.revokedRiders(6000)).toEqual([]);
      expect(await store.rider('r-2')).toMatchObject({ group: 'other', platform: null, revokedAt: null });
    });

    it('activates one signing key at a time and remembers what each one signed', async () => {
      await store.addSigningKey({ kid: 'k1', privateJwk: { d: '1' }, publicJwk: { x: '1' }, createdAt: 1 });
      await store.activateSigningKey('k1', 1);
      await store.createRider({ riderId: 'r-1', group: 'courier', platform: null, createdAt: 1 });
      await store.noteCredentialIssued('r-1', 'k1', 900);
      await store.addSigningKey({ kid: 'k2', privateJwk: { d: '2' }, publicJwk: { x: '2' }, createdAt: 50 });
      await store.activateSigningKey('k2', 50);
      expect((await store.signingKeys()).map((k) => [k.kid, k.retiredAt, k.lastExp])).toEqual([['k1', 50, 900], ['k2', null, null]]);
    });

    it('reads report facts by station and day: check-ins and bottles per rider, restocks with their count, named sponsors kept', async () => {
      await append('dn-001', [
        checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23', 'hot', '农夫山泉'), { ...bottle('r1', '2026-11-23', 'hot'), data: { ...bottle('r1', '2026-11-23', 'hot').data, claimId: 'c2' } },
        { type: 'dispenser.restocked', ts: noonOf('2026-11-24'), data: { dispenserId: 'disp-1', compartment: 'cold', count: 40, by: 'ops-wang' } },
        { type: 'dispenser.restocked', ts: noonOf('2026-11-24') + 1, data: { dispenserId: 'disp-1', compartment: 'cold', count: 8, by: 'ops-wang' } },
        { type: 'station.heartbeat', ts: noonOf('2026-11-24') + 2, data: { uptimeS: 1, backlog: 0 } },
        checkin('r2', '2026-11-30'),
      ]);
      await append('dn-002', [checkin('r3', '2026-11-23')]);
      const facts = await store.dayFacts('2026-11-23', '2026-11-29', ['dn-001']);
      const sorted = [...facts].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      expect(sorted).toEqual([
        { stationId: 'dn-001', day: '2026-11-23', kind: 'bottle', riderId: 'r1', compartment: 'hot', sponsor: '', events: 1, count: 0 },
        { stationId: 'dn-001', day: '2026-11-23', kind: 'bottle', riderId: 'r1', compartment: 'hot', sponsor: '农夫山泉', events: 1, count: 0 },
        { stationId: 'dn-001', day: '2026-11-23', kind: 'checkin', riderId: 'r1', compartment: null, sponsor: '', events: 1, count: 0 },
        { stationId: 'dn-001', day: '2026-11-24', kind: 'restock', riderId: null, compartment: 'cold', sponsor: '', events: 2, count: 48 },
      ]);
      expect((await store.dayFacts('2026-11-23', '2026-11-30', null)).map((f) => `${f.stationId}/${f.day}/${f.riderId}`).filter((x) => x.endsWith('r3') || x.endsWith('r2')).sort())
        .toEqual(['dn-001/2026-11-30/r2', 'dn-002/2026-11-23/r3']);
      expect(await store.firstCheckinDays(['r1', 'r2', 'nobody'])).toEqual(new Map([['r1', '2026-11-23'], ['r2', '2026-11-30']]));
    });

    it('folds events uploaded after a report into the day facts once, also with reports at once', async () => {
      await append('dn-001', [checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23', 'hot')]);
      const total = async () => (await store.dayFacts('2026-11-01', '2026-11-30', null)).reduce((a, f) => a + f.events, 0);
      expect(await total()).toBe(2);
      await append('dn-001', [bottle('r1', '2026-11-24', 'cold'), { type: 'station.heartbeat', ts: noonOf('2026-11-24'), data: { uptimeS: 1, backlog: 0 } }]);
      await append('dn-002', [checkin('r2', '2026-11-24')]);
      const both = await Promise.all([total(), total(), total()]);
      expect(both).toEqual([4, 4, 4]);
      expect(await total()).toBe(4);
    });

    it('keeps sponsor records unique by normalised name', async () => {
      const rec = (id: string, name: string, nameKey: string) => ({ id, name, nameKey, contact: null, createdAt: 5, createdBy: 'street-office (admin)' });
      expect(await store.createSponsor(rec('sp-a', '农夫山泉 Nongfu Spring', '农夫山泉 nongfu spring'))).toMatchObject({ id: 'sp-a' });
      expect(await store.createSponsor(rec('sp-b', '农夫山泉  NONGFU spring', '农夫山泉 nongfu spring'))).toBeNull();
      expect(await store.createSponsor({ ...rec('sp-c', 'Bank', 'bank'), contact: '王经理 138' })).toMatchObject({ id: 'sp-c' });
      expect((await store.sponsorRecords()).map((s) => [s.id, s.name, s.contact])).toEqual([['sp-c', 'Bank', '王经理 138'], ['sp-a', '农夫山泉 Nongfu Spring', null]]);
      expect(await store.sponsorRecord('sp-b')).toBeNull();
      expect(await store.sponsorRecord('sp-a')).toMatchObject({ name: '农夫山泉 Nongfu Spring', createdBy: 'street-office (admin)' });
    });

    it('adds relays per station and refuses, as a whole, one that overlaps a station\'s relay on any day', async () => {
      for (const id of ['sp-a', 'sp-b']) await store.createSponsor({ id, name: id, nameKey: id, contact: null, createdAt: 1, createdBy: 'x' });
      const add = (sponsorId: string, stationIds: string[], from: string, to: string) => store.addRelays({ sponsorId, stationIds, from, to, createdAt: 2, createdBy: 'clerk-li (office)' });
      const first = await add('sp-a', ['dn-001', 'dn-002'], '2026-11-01', '2026-11-14');
      expect(first.ok && first.relays.map((r) => [r.sponsorId, r.stationId, r.from, r.to])).toEqual([['sp-a', 'dn-001', '2026-11-01', '2026-11-14'], ['sp-a', 'dn-002', '2026-11-01', '2026-11-14']]);
      // dn-003 is free, but dn-002's last day is taken: nothing is added.
      const clash = await add('sp-b', ['dn-003', 'dn-002'], '2026-11-14', '2026-11-30');
      expect(clash).toMatchObject({ ok: false, overlap: { sponsorId: 'sp-a', stationId: 'dn-002', from: '2026-11-01', to: '2026-11-14' } });
      expect(await add('sp-b', ['dn-001', 'dn-002', 'dn-003'], '2026-11-15', '2026-11-30')).toMatchObject({ ok: true });
      expect((await store.relays()).map((r) => `${r.stationId} ${r.sponsorId} ${r.from}..${r.to}`)).toEqual([
        'dn-001 sp-a 2026-11-01..2026-11-14', 'dn-001 sp-b 2026-11-15..2026-11-30',
        'dn-002 sp-a 2026-11-01..2026-11-14', 'dn-002 sp-b 2026-11-15..2026-11-30',
        'dn-003 sp-b 2026-11-15..2026-11-30',
      ]);
    });

    it('lets only one of two overlapping relays added at once in', async () => {
      await store.createSponsor({ id: 'sp-a', name: 'a', nameKey: 'a', contact: null, createdAt: 1, createdBy: 'x' });
      const results = await Promise.all(
        ['2026-11-01', '2026-11-05', '2026-11-09'].map((from) => store.addRelays({ sponsorId: 'sp-a', stationIds: ['dn-001'], from, to: '2026-11-20', createdAt: 2, createdBy: 'x' })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await store.relays()).toHaveLength(1);
    });

    it('keeps outreach notes per rider, oldest first, and counts them', async () => {
      await store.addOutreach({ riderId: 'r-1', at: 20, by: 'clerk-li (office)', note: '电话联系，下周回来 / called, back next week' });
      await store.addOutreach({ riderId: 'r-1', at: 10, by: 'street-office (admin)', note: 'first' });
      await store.addOutreach({ riderId: 'r-2', at: 15, by: 'clerk-li (office)', note: 'x' });
      expect(await store.outreachCount('r-1')).toBe(2);
      expect((await store.outreach(['r-1', 'r-3'])).map((o) => [o.riderId, o.at, o.by, o.note])).toEqual([
        ['r-1', 10, 'street-office (admin)', 'first'],
        ['r-1', 20, 'clerk-li (office)', '电话联系，下周回来 / called, back next week'],
      ]);
    });
  });
}
