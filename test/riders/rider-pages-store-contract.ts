/**
 * What every CloudStore backend must do for the rider page (issue 12) and hazard reports
 * (SPEC §17), run on SQLite and PostgreSQL: enrolment windows per address counted atomically
 * and pruned; hazard reports with their photo bytes, a per-rider limit that racing filings
 * cannot pass, and state changes that only move forward, each recorded with who made it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudStore, HazardInput } from '../../cloud/store/store.ts';

const T = Date.parse('2026-12-04T04:00:00Z');
let n = 0;
const hid = () => `h-${(++n).toString(16).padStart(16, '0')}`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

export function riderPagesStoreContract(name: string, open: () => Promise<CloudStore>): void {
  describe(`rider page store contract (${name})`, () => {
    let store: CloudStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => store.close());

    const hazard = (over: Partial<HazardInput> = {}): HazardInput => ({
      id: hid(), riderId: 'r-0000000000000001', category: 'safety', text: '井盖缺失 / manhole cover missing', place: null, photo: null, at: T, ...over,
    });

    it('counts enrolment requests per address in one fixed window, starting again after it', async () => {
      expect(await store.hitAddressWindow('203.0.113.7', T, 60_000)).toEqual({ windowStart: T, hits: 1 });
      expect(await store.hitAddressWindow('203.0.113.7', T + 10, 60_000)).toEqual({ windowStart: T, hits: 2 });
      expect(await store.hitAddressWindow('198.51.100.1', T + 20, 60_000)).toEqual({ windowStart: T + 20, hits: 1 });
      expect(await store.hitAddressWindow('203.0.113.7', T + 60_000, 60_000)).toEqual({ windowStart: T + 60_000, hits: 1 });
    });

    it('counts racing hits of one address exactly once each', async () => {
      const all = await Promise.all(Array.from({ length: 40 }, () => store.hitAddressWindow('203.0.113.9', T, 60_000)));
      expect(all.map((w) => w.hits).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('prunes windows that ended, then the oldest past the bound', async () => {
      for (let i = 0; i < 5; i++) await store.hitAddressWindow(`10.0.0.${i}`, T + i, 60_000);
      expect(await store.pruneAddressWindows(T + 1, 100)).toBe(2); // windows of .0 and .1 started at or before T+1
      expect(await store.pruneAddressWindows(T - 1, 2)).toBe(1); // .2, .3, .4 left: the oldest (.2) goes
      expect(await store.hitAddressWindow('10.0.0.3', T + 10, 60_000)).toMatchObject({ hits: 2 });
      expect(await store.hitAddressWindow('10.0.0.2', T + 10, 60_000)).toMatchObject({ hits: 1 });
    });

    it('files a hazard report with its place and photo, and reads the photo’s bytes back', async () => {
      const r = await store.fileHazard(hazard({ place: { text: '大宁路 100 号门口', lat: 31.28, lon: 121.45 }, photo: { type: 'image/png', data: PNG } }), { since: T - 1, max: 10 });
      if (r.kind !== 'filed') throw new Error('not filed');
      expect(r.hazard).toMatchObject({
        riderId: 'r-0000000000000001', category: 'safety', state: 'new', note: null, createdAt: T, updatedAt: T, changes: [],
        place: { text: '大宁路 100 号门口', lat: 31.28, lon: 121.45 }, photo: { type: 'image/png', bytes: PNG.length },
      });
      expect(await store.hazardPhoto(r.hazard.id)).toEqual({ type: 'image/png', data: PNG });
      const bare = await store.fileHazard(hazard(), { since: T - 1, max: 10 });
      if (bare.kind !== 'filed') throw new Error('not filed');
      expect(bare.hazard.place).toBeNull();
      expect(bare.hazard.photo).toBeNull();
      expect(await store.hazardPhoto(bare.hazard.id)).toBeNull();
      expect(await store.hazard('h-ffffffffffffffff')).toBeNull();
    });

    it('refuses a rider’s filing past the limit since a time, even when filings race', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => store.fileHazard(hazard({ riderId: 'r-2' }), { since: T - 1, max: 3 })));
      expect(results.filter((r) => r.kind === 'filed')).toHaveLength(3);
      expect(results.filter((r) => r.kind === 'limited')).toHaveLength(5);
      expect(await store.hazards({ riderId: 'r-2', limit: 50 })).toHaveLength(3);
      // Another rider is not limited by r-2; older reports fall out of the count.
      expect((await store.fileHazard(hazard({ riderId: 'r-3' }), { since: T - 1, max: 3 })).kind).toBe('filed');
      expect((await store.fileHazard(hazard({ riderId: 'r-2', at: T + 10 }), { since: T + 1, max: 3 })).kind).toBe('filed');
    });

    it('deletes reports filed before a time, with their photos and changes', async () => {
      const old = await store.fileHazard(hazard({ at: T - 10, photo: { type: 'image/png', data: PNG } }), { since: 0, max: 10 });
      const keep = await store.fileHazard(hazard({ at: T }), { since: 0, max: 10 });
      if (old.kind !== 'filed' || keep.kind !== 'filed') throw new Error('not filed');
      await store.changeHazardState(old.hazard.id, { state: 'resolved', note: null, by: 'x (office)', at: T });
      expect(await store.pruneHazards(T)).toBe(1);
      expect(await store.hazard(old.hazard.id)).toBeNull();
      expect(await store.hazardPhoto(old.hazard.id)).toBeNull();
      expect((await store.hazards({ limit: 10 })).map((h) => h.id)).toEqual([keep.hazard.id]);
      expect(await store.pruneHazards(T)).toBe(0);
    });

    it('lists reports newest first by state and rider, and moves them only forward, recording who did it', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await store.fileHazard(hazard({ riderId: i === 2 ? 'r-b' : 'r-a', at: T + i }), { since: 0, max: 10 });
        if (r.kind === 'filed') ids.push(r.hazard.id);
      }
      expect((await store.hazards({ state: 'new', limit: 10 })).map((h) => h.id)).toEqual([ids[2], ids[1], ids[0]]);
      expect((await store.hazards({ riderId: 'r-a', limit: 10 })).map((h) => h.id)).toEqual([ids[1], ids[0]]);
      expect((await store.hazards({ limit: 1 })).map((h) => h.id)).toEqual([ids[2]]);

      const ack = await store.changeHazardState(ids[0]!, { state: 'acknowledged', note: '已转城管 / passed to city management', by: 'office-li (office)', at: T + 100 });
      expect(ack).toMatchObject({ kind: 'changed', hazard: { state: 'acknowledged', note: '已转城管 / passed to city management', updatedAt: T + 100 } });
      const done = await store.changeHazardState(ids[0]!, { state: 'resolved', note: null, by: 'admin-zhang (admin)', at: T + 200 });
      expect(done.kind === 'changed' && done.hazard.changes).toEqual([
        { at: T + 100, by: 'office-li (office)', state: 'acknowledged', note: '已转城管 / passed to city management' },
        { at: T + 200, by: 'admin-zhang (admin)', state: 'resolved', note: null },
      ]);
      expect(await store.changeHazardState(ids[0]!, { state: 'acknowledged', note: null, by: 'x (office)', at: T + 300 })).toEqual({ kind: 'bad_transition', from: 'resolved' });
      expect(await store.changeHazardState(ids[1]!, { state: 'resolved', note: 'fixed', by: 'x (office)', at: T + 300 })).toMatchObject({ kind: 'changed' });
      expect(await store.changeHazardState('h-ffffffffffffffff', { state: 'resolved', note: null, by: 'x', at: T })).toEqual({ kind: 'not_found' });
      expect((await store.hazards({ state: 'resolved', limit: 10 })).map((h) => h.id)).toEqual([ids[1], ids[0]]);
      expect((await store.hazard(ids[0]!))!.changes).toHaveLength(2);
    });
  });
}
