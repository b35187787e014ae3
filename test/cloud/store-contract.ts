/**
 * The contract every CloudStore backend passes (STYLE.md §8, after aedes-persistence/abstract).
 * `storeContract('sqlite', () => SqliteStore.open(...))`; a PostgreSQL backend runs the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, ManualClock, type StationEvent } from '../../protocol/index.ts';
import { rollupEffectsOf } from '../../cloud/ingest/rollupEffects.ts';
import { planNext } from '../../cloud/ingest/planBatch.ts';
import { feedRowOf } from '../../cloud/zone/feedEntries.ts';
import { ZoneFeed } from '../../cloud/zone/zoneFeed.ts';
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

    /** An append as ingest makes it (SPEC §13): feed rows of the events, zones scoped as `scoped`. */
    async function appendZ(stationId: string, specs: EventSpec[], scoped: readonly string[] = ['z-a']): Promise<number> {
      const prev = heads.get(stationId) ?? { seq: 0, hash: GENESIS_HASH };
      const events = chain(specs, prev.seq, prev.hash);
      const feed = events.map((e) => feedRowOf(stationId, e)).filter((r) => r !== null);
      const r = await store.appendEvents({
        stationId, prev, events, effects: events.map(rollupEffectsOf), receivedAt: 77, feed,
        zoneScope: (z) => (scoped.includes(z) ? 'zone' : 'station'),
      });
      expect(r).toMatchObject({ ok: true, seq: prev.seq + events.length });
      heads.set(stationId, { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash });
      return r.ok ? (r.conflictsFound ?? 0) : -1;
    }
    const zoned = async (...stations: Array<[string, string]>) => {
      for (const [id, zone] of stations) await store.createStation({ id, tokenSha256: `${id}`.padEnd(64, '0').slice(0, 64), timezone: 'Asia/Shanghai', zone }, 1);
    };
    const unknown = (riderId: string, day: string, claimId: string): EventSpec => ({
      type: 'claim.unknown', ts: noonOf(day) + 120_000, data: { claimId, riderId, dispenserId: 'disp-1', reason: 'timeout' },
    });
    const released = (riderId: string, day: string, claimId: string): EventSpec => ({
      type: 'claim.released', ts: noonOf(day) + 180_000, data: { claimId, riderId, reason: 'late_report' },
    });

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

    it('keeps each rider’s status at ingest: last window, last bottle, last seen, lockers held (issue 12)', async () => {
      const d1 = '2026-12-01';
      const t = noonOf(d1);
      await append('dn-001', [
        { type: 'checkin', ts: t, data: { riderId: 'r1', windowFrom: d1, windowTo: '2026-12-07' } },
        { type: 'claim.committed', ts: t + 1000, data: { claimId: 'c1', riderId: 'r1', compartment: 'cold', dispenserId: 'disp-1' } },
        // A deposit and its retrieval in one batch, then a second deposit that stays.
        { type: 'locker.deposited', ts: t + 2000, data: { riderId: 'r1', compartment: '1-2', bus: 'bus-1', label: 'A02', limitMs: 86_400_000 } },
        { type: 'locker.retrieved', ts: t + 3000, data: { riderId: 'r1', compartment: '1-2', storedSince: t + 2100 } },
        { type: 'locker.deposited', ts: t + 4000, data: { riderId: 'r1', compartment: '1-5', bus: 'bus-1', label: 'A05', limitMs: 86_400_000 } },
        // An older station's deposit without label or limit.
        { type: 'locker.deposited', ts: t + 4500, data: { riderId: 'r2', compartment: '1-6', bus: 'bus-1' } },
      ]);
      expect(await store.riderStatus('r1')).toEqual({
        riderId: 'r1',
        window: { from: d1, to: '2026-12-07', stationId: 'dn-001', ts: t },
        lastClaim: { day: d1, stationId: 'dn-001', ts: t + 1000, compartment: 'cold' },
        lastSeen: { stationId: 'dn-001', ts: t + 4000 },
        lockers: [{ stationId: 'dn-001', compartment: '1-5', label: 'A05', depositedAt: t + 4000, deadlineAt: t + 4000 + 86_400_000, overdueSince: null }],
      });
      expect((await store.riderStatus('r2')).lockers).toEqual([
        { stationId: 'dn-001', compartment: '1-6', label: null, depositedAt: t + 4500, deadlineAt: null, overdueSince: null },
      ]);
      expect(await store.riderStatus('nobody')).toEqual({ riderId: 'nobody', window: null, lastClaim: null, lastSeen: null, lockers: [] });

      // dn-002 syncs a later bottle; then dn-003 (offline for a while) syncs an older one: the newer stays.
      const d2 = '2026-12-02';
      await append('dn-002', [{ type: 'claim.committed', ts: noonOf(d2), data: { claimId: 'c2', riderId: 'r1', compartment: 'hot', dispenserId: 'disp-9' } }]);
      await append('jd-003', [
        { type: 'checkin', ts: t - 86_400_000 * 3, data: { riderId: 'r1', windowFrom: '2026-11-28', windowTo: '2026-12-04' } },
        { type: 'claim.committed', ts: t - 1, data: { claimId: 'c0', riderId: 'r1', compartment: 'hot', dispenserId: 'disp-3' } },
      ]);
      const s = await store.riderStatus('r1');
      expect(s.window).toEqual({ from: d1, to: '2026-12-07', stationId: 'dn-001', ts: t });
      expect(s.lastClaim).toEqual({ day: d2, stationId: 'dn-002', ts: noonOf(d2), compartment: 'hot' });
      expect(s.lastSeen).toEqual({ stationId: 'dn-002', ts: noonOf(d2) });

      // Overdue, then forced open by maintenance: the holding is gone.
      await append('dn-001', [{ type: 'locker.overdue', ts: t + 90_000_000, data: { riderId: 'r1', compartment: '1-5', storedSince: t + 4100, limitMs: 86_400_000 } }]);
      expect((await store.riderStatus('r1')).lockers[0]).toMatchObject({ compartment: '1-5', overdueSince: t + 90_000_000 });
      await append('dn-001', [
        { type: 'locker.forced_open', ts: t + 91_000_000, data: { compartment: '1-5', reason: 'overdue', by: 'ops-wang', riderId: 'r1', overdue: true } },
      ]);
      expect((await store.riderStatus('r1')).lockers).toEqual([]);
    });

    it('decides each part of a rider’s status on its own: newer by event time, a tie to the larger station id', async () => {
      const d = '2026-12-03';
      const t = noonOf(d);
      const win = { riderId: 'r9', windowFrom: d, windowTo: '2026-12-09' };
      const claim = (claimId: string, compartment: 'hot' | 'cold') => ({ claimId, riderId: 'r9', compartment, dispenserId: 'disp-1' });
      await append('dn-005', [
        { type: 'checkin', ts: t, data: win },
        { type: 'claim.committed', ts: t + 1000, data: claim('c-5', 'cold') },
      ]);
      // A smaller station id at the same times: every tie stays with dn-005.
      await append('dn-001', [
        { type: 'checkin', ts: t, data: win },
        { type: 'claim.committed', ts: t + 1000, data: claim('c-1', 'hot') },
      ]);
      let s = await store.riderStatus('r9');
      expect([s.window?.stationId, s.lastClaim, s.lastSeen]).toEqual(['dn-005', { day: d, stationId: 'dn-005', ts: t + 1000, compartment: 'cold' }, { stationId: 'dn-005', ts: t + 1000 }]);
      // A larger one: its check-in ties and wins; its older bottle and last sighting do not.
      await append('dn-009', [
        { type: 'checkin', ts: t, data: { ...win, windowTo: '2026-12-05' } },
        { type: 'claim.committed', ts: t + 500, data: claim('c-9', 'hot') },
      ]);
      s = await store.riderStatus('r9');
      expect(s.window).toEqual({ from: d, to: '2026-12-05', stationId: 'dn-009', ts: t });
      expect(s.lastClaim).toEqual({ day: d, stationId: 'dn-005', ts: t + 1000, compartment: 'cold' });
      expect(s.lastSeen).toEqual({ stationId: 'dn-005', ts: t + 1000 });
      // A bottle alone moves only the bottle and the sighting; the window stays.
      await append('dn-002', [{ type: 'claim.committed', ts: t + 2000, data: claim('c-2', 'hot') }]);
      s = await store.riderStatus('r9');
      expect([s.window?.stationId, s.lastClaim?.stationId, s.lastSeen]).toEqual(['dn-009', 'dn-002', { stationId: 'dn-002', ts: t + 2000 }]);
    });

    it('drops an impostor\'s events from a seq on and rebuilds the rollups to what the real log gives', async () => {
      // The real log of dn-001: seqs 1..4, then 5..8 that the real station could not upload.
      const realHead = [checkin('r1', '2026-11-24'), bottle('r1', '2026-11-24', 'hot', 'bank-a'), checkin('r2', '2026-11-25'), bottle('r2', '2026-11-25', 'cold')];
      const realTail: EventSpec[] = [
        checkin('r1', '2026-12-01'),
        bottle('r1', '2026-12-01', 'cold', 'bank-a'),
        { type: 'device.online', ts: noonOf('2026-12-01'), data: { deviceId: 'disp-1', kind: 'dispenser' } },
        { type: 'station.heartbeat', ts: noonOf('2026-12-01') + 5, data: { uptimeS: 60 } },
      ];
      // The impostor's 5..8: riders of its own (one first seen at dn-002 later), an earlier first
      // check-in for r2, a fault, an overdue locker and a heartbeat.
      const forged: EventSpec[] = [
        checkin('r-thief', '2026-11-23'),
        checkin('r2', '2026-11-23'),
        { type: 'device.fault', ts: noonOf('2026-11-26'), data: { deviceId: 'disp-1', faults: ['jam'] } },
        { type: 'locker.overdue', ts: noonOf('2026-11-26') + 1, data: { compartment: '1-5', riderId: 'r-thief' } },
      ];
      await append('dn-001', realHead);
      await append('dn-002', [checkin('r-thief', '2026-11-30'), checkin('r9', '2026-11-30')]);
      const kept = heads.get('dn-001')!;
      await append('dn-001', forged);
      expect((await store.weeklyStations('2026-W48', 'dn-001'))[0]).toMatchObject({ checkins: 4, riders: 3 });
      // A report folded the forged events into the day facts before the drop.
      expect((await store.dayFacts('2026-11-23', '2026-11-23', ['dn-001'])).length).toBeGreaterThan(0);

      const effectsOf = rollupEffectsOf;
      expect(await store.dropEventsFrom({ stationId: 'dn-001', fromSeq: 9, effectsOf, at: 2 })).toEqual({ ok: false, reason: 'beyond_head', seq: 8 });
      expect(await store.dropEventsFrom({ stationId: 'dn-001', fromSeq: 5, effectsOf, at: 2 })).toEqual({ ok: true, dropped: 4, head: kept });
      expect(await store.syncHead('dn-001')).toMatchObject({ seq: 4, hash: kept.hash });
      expect(await store.countEvents('dn-001')).toBe(4);
      heads.set('dn-001', kept);
      const tail = await append('dn-001', realTail);
      expect(tail[0]!.seq).toBe(5);

      // The same reads from a store that only ever saw the real events.
      const reads = async (s: CloudStore) => ({
        head: await s.syncHead('dn-001').then((h) => h && { seq: h.seq, hash: h.hash, ts: h.ts }),
        events: await s.eventsAfter('dn-001', 0, 100),
        weeks: await Promise.all(['2026-W48', '2026-W49'].map((w) => s.weeklyStations(w, null))),
        totals: await Promise.all(['2026-W48', '2026-W49'].map((w) => s.weeklyTotals(w, null))),
        lapsed: await s.lapsedRiders('2026-W49', '2026-W48', null),
        sponsors: await Promise.all(['2026-W48', '2026-W49'].map((w) => s.sponsors(w, null))),
        devices: await s.devices(),
        faults: await s.openFaults(),
        overdue: await s.overdueLockers(),
        heartbeats: await s.heartbeats(),
        dayFacts: (await s.dayFacts('2026-11-01', '2026-12-31', null)).map((f) => JSON.stringify(f)).sort(),
        // The range report's sums kept beside the facts are reset with them.
        range: await s.rangeFigures('2026-11-01', '2026-12-31', '2026-09-01', ['dn-001', 'dn-002']).then((f) => ({
          ...f,
          stations: f.stations.map((x) => JSON.stringify(x)).sort(),
          days: f.days.map((x) => JSON.stringify(x)).sort(),
          sponsors: f.sponsors.map((x) => JSON.stringify(x)).sort(),
          lapsedRiders: f.lapsedRiders.sort(),
        })),
      });
      const got = await reads(store);
      const reference = await open();
      try {
        const app = async (stationId: string, specs: EventSpec[], prev = { seq: 0, hash: GENESIS_HASH }) => {
          const events = chain(specs, prev.seq, prev.hash);
          await reference.appendEvents({ stationId, prev, events, effects: events.map(rollupEffectsOf), receivedAt: 1 });
          return { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash };
        };
        await app('dn-001', realTail, await app('dn-001', realHead));
        await app('dn-002', [checkin('r-thief', '2026-11-30'), checkin('r9', '2026-11-30')]);
        expect(got).toEqual(await reads(reference));
      } finally {
        await reference.close();
      }
      // r-thief's first check-in is dn-002's now (W49): new there, not at dn-001.
      expect((await store.weeklyStations('2026-W49', 'dn-002'))[0]).toMatchObject({ newRiders: 2, returningRiders: 0 });
      expect((await store.weeklyStations('2026-W48', 'dn-001'))[0]).toMatchObject({ checkins: 2, riders: 2, newRiders: 2 });
    });

    it('refuses an append let in with a token the station no longer has, and stores nothing', async () => {
      await store.createStation({ id: 'dn-001', tokenSha256: 'a'.repeat(64), timezone: 'Asia/Shanghai', zone: 'daning' }, 1);
      const events = chain([checkin('r1', '2026-11-24')]);
      const batch = { stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1 };
      await store.updateStation('dn-001', { tokenSha256: 'b'.repeat(64) }, 2);
      expect(await store.appendEvents({ ...batch, tokenSha256: 'a'.repeat(64) })).toEqual({ ok: false, reason: 'token_replaced', seq: 0 });
      expect(await store.countEvents('dn-001')).toBe(0);
      expect(await store.weeklyStations('2026-W48', null)).toEqual([]);
      expect(await store.appendEvents({ ...batch, tokenSha256: 'b'.repeat(64) })).toEqual({ ok: true, seq: 1 });
    });

    it('refuses an append let in before its station was disabled, and stores nothing', async () => {
      await store.createStation({ id: 'dn-001', tokenSha256: 'a'.repeat(64), timezone: 'Asia/Shanghai', zone: 'daning' }, 1);
      const events = chain([checkin('r1', '2026-11-24')]);
      const batch = { stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1, tokenSha256: 'a'.repeat(64) };
      await store.updateStation('dn-001', { enabled: false }, 2);
      expect(await store.appendEvents(batch)).toEqual({ ok: false, reason: 'station_disabled', seq: 0 });
      expect(await store.appendNext({ ...next(events), stationId: 'dn-001', effects: batch.effects, receivedAt: 1, tokenSha256: 'a'.repeat(64) })).toEqual({ ok: false, reason: 'station_disabled', seq: 0 });
      // The token before the head: a batch that would not continue it is refused for the token too.
      const replay = chain([checkin('r1', '2026-11-24')], 5, 'e'.repeat(64));
      expect(await store.appendNext({ ...next(replay), stationId: 'dn-001', effects: batch.effects, receivedAt: 1, tokenSha256: 'b'.repeat(64) })).toEqual({ ok: false, reason: 'token_replaced', seq: 0 });
      expect(await store.countEvents('dn-001')).toBe(0);
      await store.updateStation('dn-001', { enabled: true }, 3);
      expect(await store.appendEvents(batch)).toEqual({ ok: true, seq: 1 });
    });

    /** What ingest gives appendNext for a batch that holds together (planNext). */
    const next = (events: StationEvent[]) => {
      const p = planNext(events)!;
      return { events, dataJson: p.dataJson, firstText: p.firstText };
    };
    const beat = (ts: number): EventSpec => ({ type: 'station.heartbeat', ts, data: { uptimeS: ts / 1000 } });

    it('stores a batch that continues the head without being told the head, with its rollups once', async () => {
      const day = '2026-11-24';
      const first = chain([beat(noonOf(day)), checkin('r1', day)]);
      expect(await store.appendNext({ ...next(first), stationId: 'dn-001', effects: first.map(rollupEffectsOf), receivedAt: 5 })).toEqual({ ok: true, seq: 2, silentFiring: false });
      const more = chain([beat(noonOf(day) + 60_000), beat(noonOf(day) + 120_000)], 2, first[1]!.hash);
      expect(await store.appendNext({ ...next(more), stationId: 'dn-001', effects: more.map(rollupEffectsOf), receivedAt: 6 })).toEqual({ ok: true, seq: 4, silentFiring: false });
      expect(await store.eventsAfter('dn-001', 0, 10)).toEqual([...first, ...more]);
      expect(await store.syncHead('dn-001')).toMatchObject({ seq: 4, hash: more[1]!.hash, ts: more[1]!.ts, updatedAt: 6 });
      expect(await store.heartbeats()).toEqual([{ stationId: 'dn-001', ts: noonOf(day) + 120_000, data: { uptimeS: (noonOf(day) + 120_000) / 1000 } }]);
      expect((await store.weeklyStations('2026-W48', 'dn-001'))[0]).toMatchObject({ checkins: 1, riders: 1, newRiders: 1 });
    });

    it('stores nothing and answers the head when a batch does not continue it: replay, gap, another chain', async () => {
      const day = '2026-11-24';
      const log = chain([checkin('r1', day), beat(noonOf(day)), beat(noonOf(day) + 60_000)]);
      const head = { seq: 2, hash: log[1]!.hash };
      expect(await store.appendNext({ ...next(log.slice(0, 2)), stationId: 'dn-001', effects: log.slice(0, 2).map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true, seq: 2 });
      const refused = { ok: false, reason: 'not_next', seq: 2, head };
      const attempt = (events: StationEvent[]) => store.appendNext({ ...next(events), stationId: 'dn-001', effects: events.map(rollupEffectsOf), receivedAt: 2 });
      expect(await attempt(log.slice(1))).toEqual(refused);
      expect(await attempt(chain([beat(noonOf(day) + 120_000)], 3, log[2]!.hash))).toEqual(refused);
      // The next seq, chained from another head: what a forged or re-made log looks like.
      expect(await attempt(chain([beat(noonOf(day) + 60_000)], 2, GENESIS_HASH))).toEqual(refused);
      expect(await store.countEvents('dn-001')).toBe(2);
      expect((await store.heartbeats())[0]!.ts).toBe(noonOf(day));
      expect(await attempt(log.slice(2))).toMatchObject({ ok: true, seq: 3 });
    });

    it('says whether the station_silent alert of the station was firing when it stored a batch', async () => {
      await store.fireAlert({ fingerprint: 'dn-001//station_silent', stationId: 'dn-001', subject: '', kind: 'station_silent', severity: 'critical', since: 1, detail: 'no heartbeat', seq: null, channels: [] }, 10);
      await store.fireAlert({ fingerprint: 'dn-002//station_silent', stationId: 'dn-002', subject: '', kind: 'station_silent', severity: 'critical', since: 1, detail: 'no heartbeat', seq: null, channels: [] }, 10);
      await store.resolveAlert('dn-002//station_silent', 11);
      const day = '2026-11-24';
      for (const id of ['dn-001', 'dn-002']) {
        const events = chain([beat(noonOf(day))]);
        expect(await store.appendNext({ ...next(events), stationId: id, effects: events.map(rollupEffectsOf), receivedAt: 12 })).toEqual({ ok: true, seq: 1, silentFiring: id === 'dn-001' });
      }
      const state = await store.stationAlertState('dn-001');
      expect(state.firing.map((a) => a.fingerprint)).toEqual(['dn-001//station_silent']);
      expect(state.heartbeats).toEqual([{ stationId: 'dn-001', ts: noonOf(day), data: { uptimeS: noonOf(day) / 1000 } }]);
      expect((await store.stationAlertState('dn-002')).firing).toEqual([]);
    });

    it('reads one station\'s devices, faults, lockers and heartbeat as the fleet reads give them', async () => {
      const day = '2026-11-24';
      const t = noonOf(day);
      await append('dn-001', [
        { type: 'device.online', ts: t, data: { deviceId: 'disp-1', kind: 'dispenser' } },
        { type: 'device.fault', ts: t + 1, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } },
        { type: 'locker.overdue', ts: t + 2, data: { compartment: '1-5', riderId: 'r1' } },
        beat(t + 3),
      ]);
      await append('dn-002', [{ type: 'device.fault', ts: t, data: { deviceId: 'disp-9', kind: 'dispenser', fault: 'motor' } }, beat(t)]);
      const of = (id: string) => ({
        heartbeats: async () => (await store.heartbeats()).filter((x) => x.stationId === id),
        devices: async () => (await store.devices()).filter((x) => x.stationId === id),
        faults: async () => (await store.openFaults()).filter((x) => x.stationId === id),
        overdue: async () => (await store.overdueLockers()).filter((x) => x.stationId === id),
      });
      for (const id of ['dn-001', 'dn-002']) {
        const fleet = of(id);
        expect(await store.stationAlertState(id)).toEqual({ heartbeats: await fleet.heartbeats(), devices: await fleet.devices(), faults: await fleet.faults(), overdue: await fleet.overdue(), firing: [] });
      }
      expect((await store.stationAlertState('dn-001')).faults).toMatchObject([{ deviceId: 'disp-1', fault: 'jam' }]);
      expect((await store.stationAlertState('dn-003')).devices).toEqual([]);
    });

    it('drops a whole log when re-admitted from seq 1', async () => {
      await append('dn-001', [checkin('r1', '2026-11-24')]);
      expect(await store.dropEventsFrom({ stationId: 'dn-001', fromSeq: 1, effectsOf: rollupEffectsOf, at: 2 })).toEqual({ ok: true, dropped: 1, head: { seq: 0, hash: GENESIS_HASH } });
      expect(await store.syncHead('dn-001')).toBeNull();
      expect(await store.weeklyStations('2026-W48', null)).toEqual([]);
      expect(await store.weeklyTotals('2026-W48', null)).toEqual({ riders: 0, newRiders: 0, returningRiders: 0 });
      heads.delete('dn-001');
      await append('dn-001', [checkin('r1', '2026-11-25')]);
      expect((await store.weeklyStations('2026-W48', null))[0]).toMatchObject({ checkins: 1, riders: 1, newRiders: 1 });
    });

    it('takes a re-admit\'s dropped events out of the zone feed, the claims\' standings and conflicts, and the rider page\'s status', async () => {
      const D = '2026-11-23';
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a']);
      const deposit = (riderId: string, day: string, compartment: string): EventSpec => ({
        type: 'locker.deposited',
        ts: noonOf(day) + 300_000,
        data: { riderId, compartment, bus: 'bus-1', label: 'A05', limitMs: 86_400_000 },
      });
      // The real logs: r1 at s-1 (a bottle and a locker), r2 at s-2.
      await appendZ('s-1', [checkin('r1', D), bottle('r1', D, 'hot'), deposit('r1', D, '1-5'), checkin('r3', D)]);
      // r3 withdrew since: the page's status was erased, and a re-admit must not write it again.
      await store.createRider({ riderId: 'r3', group: 'courier', platform: null, createdAt: 1 });
      await store.withdrawRider('r3', 5);
      await appendZ('s-2', [checkin('r2', D), bottle('r2', D, 'cold')]);
      // The impostor at s-1 from seq 5: r2 again (a second bottle in the zone that day: a
      // conflict), r1's real bottle released (its quota given back), a locker of its own rider.
      expect(
        await appendZ('s-1', [
          { ...checkin('r2', D), ts: noonOf(D) + 400_000 },
          { ...bottle('r2', D, 'cold'), ts: noonOf(D) + 500_000 },
          released('r1', D, `c-r1-${D}`),
          deposit('r-thief', D, '1-6'),
        ]),
      ).toBe(1);
      // r1 takes a bottle at s-2 the same day: no conflict while the impostor's release stands.
      expect(await appendZ('s-2', [{ ...bottle('r1', D, 'hot'), ts: noonOf(D) + 600_000 }])).toBe(0);
      expect((await store.conflicts('2026-W48', null)).map((c) => c.riderId)).toEqual(['r2']);
      expect((await store.riderStatus('r2')).lastClaim).toMatchObject({ stationId: 's-1' });

      expect(await store.dropEventsFrom({ stationId: 's-1', fromSeq: 5, effectsOf: rollupEffectsOf, at: 9, zoneScope: (z) => (z === 'z-a' ? 'zone' : 'station') })).toMatchObject({
        ok: true,
        dropped: 4,
      });
      // The feed no longer holds s-1's dropped rows; a station loading the zone is not handed them.
      const feed = await store.zoneFeedAfter('z-a', 0, 100);
      expect(feed.filter((r) => r.stationId === 's-1').map((r) => r.seq)).toEqual([1, 2, 4]);
      // r2's conflict was the impostor's; r1's bottle at s-1 holds the quota again, so r1's
      // second bottle of the day at s-2 is the conflict now.
      const conflicts = await store.conflicts('2026-W48', null);
      expect(conflicts.map((c) => [c.riderId, c.claims.map((x) => x.stationId)])).toEqual([['r1', ['s-1', 's-2']]]);
      // The rider page: r2's status is s-2's again, the impostor's rider has none, r1 keeps its locker.
      const r2 = await store.riderStatus('r2');
      expect(r2.window).toMatchObject({ stationId: 's-2', from: D });
      expect(r2.lastClaim).toMatchObject({ stationId: 's-2', ts: noonOf(D) + 60_000 });
      expect(r2.lastSeen).toMatchObject({ stationId: 's-2' });
      const thief = await store.riderStatus('r-thief');
      expect([thief.window, thief.lastClaim, thief.lastSeen, thief.lockers]).toEqual([null, null, null, []]);
      const r1 = await store.riderStatus('r1');
      expect(r1.lockers.map((l) => [l.stationId, l.compartment])).toEqual([['s-1', '1-5']]);
      expect(r1.lastClaim).toMatchObject({ stationId: 's-2' });
      const r3 = await store.riderStatus('r3');
      expect([r3.window, r3.lastSeen]).toEqual([null, null]);
    });

    it('prunes feed rows older than keepDays, a bounded statement at a time, keeping what a station loading the zone needs', async () => {
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a']);
      // Three weeks of one rider a day at s-1 (each a check-in and a bottle), and one open window.
      const days = Array.from({ length: 21 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);
      await appendZ('s-1', days.flatMap((d) => [checkin(`r-${d}`, d), bottle(`r-${d}`, d, 'hot')]));
      await appendZ('s-2', [{ type: 'checkin', ts: noonOf('2026-11-15'), data: { riderId: 'r-long', windowFrom: '2026-11-15', windowTo: '2026-11-21' } }]);
      expect(await store.pruneZoneFeed('2026-11-03', 1)).toBe(1);
      expect(await store.pruneZoneFeed('2026-11-03', 100)).toBe(3);
      expect((await store.zoneFeedAfter('z-a', 0, 100)).map((r) => r.day)[0]).toBe('2026-11-03');

      // The feed's own hourly prune: 2026-11-21 12:00 in Shanghai, keepDays 7 → rows before 2026-11-14 go
      // (the cutoff is taken in the zone furthest behind UTC, where it is still 2026-11-20).
      const feed = new ZoneFeed({ store, clock: new ManualClock(noonOf('2026-11-21')), config: { maxEntries: 500, maxPollsPerStation: 2, maxPolls: 10, fallbackPollMs: 2000, keepDays: 7 } });
      expect(await feed.prune()).toBe(2 * 10);
      const left = await store.zoneFeedAfter('z-a', 0, 100);
      expect(left[0]!.day).toBe('2026-11-13');
      expect(left).toHaveLength(2 * 9 + 1);
      // The zone still loads: the window still open on 11-21 and the claims of 11-20 and 11-21.
      const boot = await store.zoneFeedBootstrap({ zone: 'z-a', stationId: 's-9', afterZseq: 0, windowsFrom: '2026-11-21', claimsFrom: '2026-11-20', limit: 100 });
      expect(boot.rows.map((r) => `${r.type}:${r.riderId}`).sort()).toEqual(
        ['checkin:r-2026-11-21', 'checkin:r-long', 'claim.committed:r-2026-11-20', 'claim.committed:r-2026-11-21'].sort(),
      );
      await feed.stop();
    });

    it('feeds each zone the quota rows of its stations in the order they were stored', async () => {
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a'], ['s-3', 'z-b']);
      expect(await store.zoneFeedHead('z-a')).toBe(0);
      await appendZ('s-1', [checkin('r1', '2026-11-23'), { type: 'station.heartbeat', ts: noonOf('2026-11-23'), data: {} }, bottle('r1', '2026-11-23', 'hot')]);
      await appendZ('s-3', [checkin('r3', '2026-11-23')]);
      await appendZ('s-2', [checkin('r2', '2026-11-23')]);
      await appendZ('s-1', [checkin('r4', '2026-11-24')]);
      const rows = await store.zoneFeedAfter('z-a', 0, 100);
      expect(rows.map((r) => [r.zseq, r.stationId, r.seq, r.type, r.riderId])).toEqual([
        [1, 's-1', 1, 'checkin', 'r1'],
        [2, 's-1', 3, 'claim.committed', 'r1'],
        [3, 's-2', 1, 'checkin', 'r2'],
        [4, 's-1', 4, 'checkin', 'r4'],
      ]);
      expect(rows[0]).toMatchObject({ day: '2026-11-23', windowFrom: '2026-11-23', windowTo: '2026-11-23', claimId: null });
      expect(rows[1]).toMatchObject({ claimId: 'c-r1-2026-11-23', windowTo: null });
      expect((await store.zoneFeedAfter('z-a', 2, 1)).map((r) => r.zseq)).toEqual([3]);
      expect(await store.zoneFeedHead('z-a')).toBe(4);
      expect((await store.zoneFeedAfter('z-b', 0, 100)).map((r) => r.riderId)).toEqual(['r3']);
      // A station with no record is in no zone: its log is stored, nothing is fed.
      await appendZ('ghost', [checkin('r9', '2026-11-23')]);
      expect(await store.countEvents('ghost')).toBe(1);
      expect(await store.zoneFeedHead('z-a')).toBe(4);
    });

    it('bootstraps a zone with open windows and recent claims up to a head, page by page, leaving out the asking station', async () => {
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a']);
      await appendZ('s-1', [
        { type: 'checkin', ts: noonOf('2026-11-10'), data: { riderId: 'old', windowFrom: '2026-11-10', windowTo: '2026-11-16' } },
        { type: 'checkin', ts: noonOf('2026-11-20'), data: { riderId: 'a', windowFrom: '2026-11-20', windowTo: '2026-11-26' } },
        bottle('a', '2026-11-23', 'cold'),
        bottle('a', '2026-11-24', 'cold'),
        { type: 'checkin', ts: noonOf('2026-11-24'), data: { riderId: 'b', windowFrom: '2026-11-24', windowTo: '2026-11-30' } },
      ]);
      await appendZ('s-2', [{ type: 'checkin', ts: noonOf('2026-11-24'), data: { riderId: 'own', windowFrom: '2026-11-24', windowTo: '2026-11-30' } }]);
      const q = { zone: 'z-a', stationId: 's-2', windowsFrom: '2026-11-25', claimsFrom: '2026-11-24', afterZseq: 0, limit: 2 };
      const p1 = await store.zoneFeedBootstrap(q);
      expect(p1.head).toBe(6);
      expect(p1.rows.map((r) => [r.zseq, r.riderId, r.type])).toEqual([[2, 'a', 'checkin'], [4, 'a', 'claim.committed']]);
      // Rows stored after the head are not in the bootstrap (the live feed brings them).
      await appendZ('s-1', [checkin('late', '2026-11-25')]);
      const p2 = await store.zoneFeedBootstrap({ ...q, head: p1.head, afterZseq: 4 });
      expect(p2).toMatchObject({ head: 6 });
      expect(p2.rows.map((r) => r.riderId)).toEqual(['b']);
      // s-1 asking gets s-2's window (the late check-in is s-1's own).
      expect((await store.zoneFeedBootstrap({ ...q, stationId: 's-1', limit: 10 })).rows.map((r) => r.riderId)).toEqual(['own']);
    });

    it('wakes zone-feed listeners after an append that fed a zone', async () => {
      await zoned(['s-1', 'z-a']);
      const woken: string[] = [];
      const off = store.onZoneFeed((z) => woken.push(z));
      // PostgreSQL listens on its own connection: let it start before the first append.
      await new Promise((r) => setTimeout(r, 300));
      await appendZ('s-1', [checkin('r1', '2026-11-23')]);
      const end = Date.now() + 5000;
      while (woken.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(woken).toContain('z-a');
      off();
    });

    it('finds a conflict once when a rider is granted claims at two stations of a zone-scoped zone on one day', async () => {
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a'], ['s-3', 'z-a']);
      const day = '2026-11-25';
      const withAge = (spec: EventSpec, ms: number): EventSpec => ({ ...spec, data: { ...spec.data, zoneFeedAgeMs: ms } });
      expect(await appendZ('s-1', [checkin('r1', day), withAge(bottle('r1', day, 'hot'), 1500)])).toBe(0);
      // Another day, another rider: no conflict.
      expect(await appendZ('s-2', [bottle('r1', '2026-11-26', 'cold'), bottle('r2', day, 'cold')])).toBe(0);
      expect(await appendZ('s-2', [withAge({ ...bottle('r1', day, 'cold'), data: { ...bottle('r1', day, 'cold').data, claimId: 'x-2' } }, 90_000)])).toBe(1);
      // A third granted claim the same day joins the conflict; it is not a second one.
      expect(await appendZ('s-3', [unknown('r1', day, 'u-3')])).toBe(0);
      const [c] = await store.conflicts('2026-W48', null);
      expect(c).toMatchObject({ riderId: 'r1', day, zone: 'z-a', foundAt: 77 });
      expect(c!.claims).toEqual([
        { stationId: 's-1', claimId: `c-r1-${day}`, ts: noonOf(day) + 60_000, feedLagMs: 1500 },
        { stationId: 's-2', claimId: 'x-2', ts: noonOf(day) + 60_000, feedLagMs: 90_000 },
        { stationId: 's-3', claimId: 'u-3', ts: noonOf(day) + 120_000, feedLagMs: null },
      ]);
      expect(await store.conflicts('2026-W48', 'z-b')).toEqual([]);
      expect(await store.conflicts('2026-W49', null)).toEqual([]);
      expect(await store.weeklyConflicts('2026-W48', null)).toEqual(new Map([['s-1', 1], ['s-2', 1], ['s-3', 1]]));
      expect(await store.weeklyConflicts('2026-W48', 's-2')).toEqual(new Map([['s-2', 1]]));
      // The unknown claim released: two granted claims remain, the conflict stays, without s-3.
      await appendZ('s-3', [released('r1', day, 'u-3')]);
      expect((await store.conflicts('2026-W48', null))[0]!.claims.map((x) => x.stationId)).toEqual(['s-1', 's-2']);
      expect(await store.weeklyConflicts('2026-W48', null)).toEqual(new Map([['s-1', 1], ['s-2', 1]]));
    });

    it('drops a conflict whose second claim turns out released, and keeps none in a station-scoped zone', async () => {
      await zoned(['s-1', 'z-a'], ['s-2', 'z-a'], ['t-1', 'z-b'], ['t-2', 'z-b']);
      const day = '2026-11-25';
      await appendZ('s-1', [bottle('r1', day, 'hot')]);
      expect(await appendZ('s-2', [unknown('r1', day, 'u-2')])).toBe(1);
      await appendZ('s-2', [released('r1', day, 'u-2')]);
      expect(await store.conflicts('2026-W48', null)).toEqual([]);
      // Unknown and released in one batch: it never held the quota at the cloud.
      expect(await appendZ('s-2', [unknown('r1', day, 'u-3'), released('r1', day, 'u-3')])).toBe(0);
      expect(await store.conflicts('2026-W48', null)).toEqual([]);
      // Unknown, then committed after all (claim.resolved, then claim.committed) in one batch: a conflict.
      expect(await appendZ('s-2', [
        unknown('r1', day, 'u-4'),
        { type: 'claim.resolved', ts: noonOf(day) + 200_000, data: { claimId: 'u-4', riderId: 'r1', outcome: 'committed' } },
        { ...bottle('r1', day, 'cold'), data: { ...bottle('r1', day, 'cold').data, claimId: 'u-4' } },
      ])).toBe(1);
      expect((await store.conflicts('2026-W48', null))[0]!.claims.map((c) => c.claimId)).toEqual([`c-r1-${day}`, 'u-4']);
      await appendZ('s-2', [released('r1', day, 'u-4')]);
      expect(await store.conflicts('2026-W48', null)).toEqual([]);
      // z-b is station-scoped: two stations may each grant the rider a bottle.
      await appendZ('t-1', [bottle('r1', day, 'hot')], ['z-a']);
      expect(await appendZ('t-2', [bottle('r1', day, 'cold')], ['z-a'])).toBe(0);
      expect(await store.conflicts('2026-W48', null)).toEqual([]);
      expect(await store.weeklyConflicts('2026-W48', null)).toEqual(new Map());
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

    it('aggregates a range in the database: sums per station and day, distinct riders over the stations, new riders, sponsors by relay, lapsed riders', async () => {
      await append('dn-001', [
        checkin('r1', '2026-11-16'), // r1's first check-in: before the range, so returning
        bottle('r4', '2026-11-18', 'hot'), // seen the week before only: lapsed
        checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23', 'hot', '农夫山泉'), checkin('r2', '2026-11-24'), bottle('r2', '2026-11-24', 'cold'),
        { type: 'dispenser.restocked', ts: noonOf('2026-11-25'), data: { dispenserId: 'disp-1', compartment: 'cold', count: 40, by: 'ops-wang' } },
      ]);
      await append('dn-002', [checkin('r2', '2026-11-26'), bottle('r3', '2026-11-27', 'cold'), checkin('r5', '2026-11-30')]);
      await store.createSponsor({ id: 'sp-n', name: 'Nongfu', nameKey: 'nongfu', contact: null, createdAt: 1, createdBy: 't' });
      await store.addRelays({ sponsorId: 'sp-n', stationIds: ['dn-002'], from: '2026-11-27', to: '2026-12-31', createdAt: 1, createdBy: 't' });
      const f = await store.rangeFigures('2026-11-23', '2026-11-29', '2026-11-16', ['dn-001', 'dn-002']);
      const byId = <T extends { stationId: string }>(xs: T[]) => [...xs].sort((a, b) => (a.stationId < b.stationId ? -1 : 1));
      expect(byId(f.stations)).toEqual([
        { stationId: 'dn-001', checkins: 2, riders: 2, newRiders: 1, returningRiders: 1, hot: 1, cold: 1, other: 0 },
        { stationId: 'dn-002', checkins: 1, riders: 2, newRiders: 1, returningRiders: 0, hot: 0, cold: 1, other: 0 },
      ]);
      expect([...f.days].sort((a, b) => (a.day < b.day ? -1 : 1))).toEqual([
        { day: '2026-11-23', checkins: 1, bottles: 1 }, { day: '2026-11-24', checkins: 1, bottles: 1 },
        { day: '2026-11-26', checkins: 1, bottles: 0 }, { day: '2026-11-27', checkins: 0, bottles: 1 },
      ]);
      // r2 at both stations counts once; r5 checked in after the range.
      expect(f.totals).toEqual({ riders: 3, newRiders: 1, returningRiders: 1 });
      expect([...f.sponsors].sort((a, b) => `${a.sponsor}/${a.relaySponsorId}`.localeCompare(`${b.sponsor}/${b.relaySponsorId}`))).toEqual([
        { sponsor: '', relaySponsorId: null, bottles: 1, restocked: 40 },
        { sponsor: '', relaySponsorId: 'sp-n', bottles: 1, restocked: 0 },
        { sponsor: '农夫山泉', relaySponsorId: null, bottles: 1, restocked: 0 },
      ]);
      expect(f.lapsedRiders.sort()).toEqual(['r4']);
      // Scoped to one station: its riders only, and r2 seen there only in the range.
      const one = await store.rangeFigures('2026-11-23', '2026-11-29', '2026-11-16', ['dn-002']);
      expect(one.totals).toEqual({ riders: 2, newRiders: 1, returningRiders: 0 });
      expect(one.lapsedRiders).toEqual([]);
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
