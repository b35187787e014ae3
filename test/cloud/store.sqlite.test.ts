// The backend-neutral assertions live in the shared contract suite (store-contract.ts) that every
// storage backend runs; below are the SQLite backend's own (its in-process memos and batching).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, type StationEvent } from '../../protocol/index.ts';
import { rollupEffectsOf } from '../../cloud/ingest/rollupEffects.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { DAY_BITMAPS_MIGRATION, REPORTS_MIGRATION_VERSION } from '../../cloud/store/sqliteSchema.ts';
import { chain, noonOf, tempDir, type EventSpec } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('sqlite', async () => SqliteStore.open(join(tempDir('wc-store-'), 'cloud.db')));

const checkin = (riderId: string, day: string): EventSpec => ({ type: 'checkin', ts: noonOf(day), data: { riderId, windowFrom: day, windowTo: day } });
const bottle = (riderId: string, day: string): EventSpec => ({
  type: 'claim.committed',
  ts: noonOf(day) + 60_000,
  data: { claimId: `c-${riderId}-${day}`, riderId, compartment: 'cold', dispenserId: 'disp-1' },
});

describe('SqliteStore rollups across restarts and large batches', () => {
  it('counts a rider once and marks the check-in when the row predates the process (empty memo)', async () => {
    const path = join(tempDir('wc-store-'), 'cloud.db');
    let head = { seq: 0, hash: GENESIS_HASH };
    const append = async (store: SqliteStore, specs: EventSpec[]): Promise<void> => {
      const events: StationEvent[] = chain(specs, head.seq, head.hash);
      expect(await store.appendEvents({ stationId: 'dn-001', prev: head, events, effects: events.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
      head = { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash };
    };
    let store = SqliteStore.open(path);
    // W49 = 2026-11-30..12-06: r1 takes a bottle on a window from the week before, no check-in yet.
    await append(store, [bottle('r1', '2026-11-30')]);
    await store.close();
    store = SqliteStore.open(path);
    await append(store, [checkin('r1', '2026-12-02'), checkin('r5', '2026-12-02'), bottle('r6', '2026-12-03')]);
    expect(await store.weeklyStations('2026-W49', null)).toEqual([
      { stationId: 'dn-001', checkins: 2, riders: 3, newRiders: 2, returningRiders: 0, bottlesHot: 0, bottlesCold: 2, bottlesOther: 0 },
    ]);
    // Checked in during W49 and not in W50: r1 (its row was updated) and r5; r6 never checked in.
    expect(await store.lapsedRiders('2026-W50', '2026-W49', null)).toEqual(['r1', 'r5']);
    await store.close();
  });

  it('counts every rider of a batch that holds more riders than one multi-row insert', async () => {
    const store = SqliteStore.open(join(tempDir('wc-store-'), 'cloud.db'));
    const specs = Array.from({ length: 150 }, (_, i) => checkin(`r${String(i).padStart(3, '0')}`, '2026-12-01'));
    const events = chain([...specs, ...specs.slice(0, 70).map((s) => bottle(s.data.riderId as string, '2026-12-01'))]);
    expect(await store.appendEvents({ stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
    expect(await store.weeklyStations('2026-W49', null)).toEqual([
      { stationId: 'dn-001', checkins: 150, riders: 150, newRiders: 150, returningRiders: 0, bottlesHot: 0, bottlesCold: 70, bottlesOther: 0 },
    ]);
    expect(await store.lapsedRiders('2026-W50', '2026-W49', null)).toHaveLength(150);
    // Day facts go in many rows per statement too: one per rider and kind, none lost.
    const facts = await store.dayFacts('2026-12-01', '2026-12-01', null);
    expect([facts.filter((f) => f.kind === 'checkin').length, facts.filter((f) => f.kind === 'bottle').length, facts.reduce((a, f) => a + f.events, 0)]).toEqual([150, 70, 220]);
    await store.close();
  });
});

describe('SqliteStore migration 4', () => {
  it('takes back the second count of a late-resolved bottle from rollups written before it', async () => {
    const path = join(tempDir('wc-store-'), 'cloud.db');
    let store = SqliteStore.open(path);
    const day = '2026-11-24';
    const events: StationEvent[] = chain([
      { type: 'checkin', ts: noonOf(day), data: { riderId: 'r1', windowFrom: day, windowTo: '2026-11-30' } },
      { type: 'claim.unknown', ts: noonOf(day) + 1, data: { claimId: 'c1', riderId: 'r1', dispenserId: 'disp-1', reason: 'timeout' } },
      { type: 'claim.resolved', ts: noonOf(day) + 2, data: { claimId: 'c1', riderId: 'r1', outcome: 'committed' } },
      { type: 'claim.committed', ts: noonOf(day) + 3, data: { claimId: 'c1', riderId: 'r1', compartment: 'cold', dispenserId: 'disp-1', sponsor: 'bank-a' } },
    ]);
    const prev = { seq: 0, hash: GENESIS_HASH };
    expect(await store.appendEvents({ stationId: 'dn-001', prev, events, effects: events.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
    await store.close();
    // The rollups as a cloud before migration 4 left them: the claim.resolved counted too.
    const db = new Database(path);
    db.prepare(`UPDATE week_station SET bottles_other = bottles_other + 1 WHERE week = '2026-W48' AND station_id = 'dn-001'`).run();
    db.prepare(`INSERT INTO week_sponsor (week, station_id, sponsor, bottles, restocked) VALUES ('2026-W48', 'dn-001', '', 1, 0)
      ON CONFLICT (week, station_id, sponsor) DO UPDATE SET bottles = bottles + 1`).run();
    db.pragma('user_version = 3');
    db.close();

    store = SqliteStore.open(path);
    const [row] = await store.weeklyStations('2026-W48', null);
    expect(row).toMatchObject({ bottlesHot: 0, bottlesCold: 1, bottlesOther: 0 });
    const sponsors = (await store.sponsors('2026-W48', null)).filter((x) => x.bottles > 0);
    expect(sponsors.map((x) => [x.sponsor, x.bottles])).toEqual([['bank-a', 1]]);
    await store.close();
  });
});

describe('SqliteStore day facts migration', () => {
  it('builds the day facts of events stored before it, the same as the reports fold them, and again without doubling', async () => {
    const path = join(tempDir('wc-store-'), 'cloud.db');
    let store = SqliteStore.open(path);
    const events = chain([
      checkin('r1', '2026-11-23'), bottle('r1', '2026-11-23'), bottle('r2', '2026-11-24'),
      { type: 'claim.committed', ts: noonOf('2026-11-24') + 5, data: { claimId: 'c9', riderId: 'r2', compartment: 'hot', dispenserId: 'disp-1', sponsor: '农夫山泉' } },
      { type: 'dispenser.restocked', ts: noonOf('2026-11-25'), data: { dispenserId: 'disp-1', compartment: 'cold', count: 40, by: 'ops-wang' } },
      { type: 'dispenser.restocked', ts: noonOf('2026-11-25') + 1, data: { dispenserId: 'disp-1', compartment: 'cold', count: 8, by: 'ops-wang' } },
    ]);
    expect(await store.appendEvents({ stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
    const kept = await store.dayFacts('2026-11-01', '2026-11-30', null);
    expect(kept).toHaveLength(5);
    await store.close();
    // A database from before the migration: no day facts.
    const db = new Database(path);
    db.exec('DROP TABLE day_facts');
    db.pragma(`user_version = ${REPORTS_MIGRATION_VERSION - 1}`);
    db.close();
    const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
    store = SqliteStore.open(path);
    expect(sorted(await store.dayFacts('2026-11-01', '2026-11-30', null))).toEqual(sorted(kept));
    await store.close();
    // Run again over a database that has it: rebuilt, not added to.
    const again = new Database(path);
    again.pragma(`user_version = ${REPORTS_MIGRATION_VERSION - 1}`);
    again.close();
    store = SqliteStore.open(path);
    expect(sorted(await store.dayFacts('2026-11-01', '2026-11-30', null))).toEqual(sorted(kept));
    await store.close();
  });
});

describe('SqliteStore day bitmaps migration', () => {
  it('builds the bitmaps from station_day_riders, leaving out a day that is no calendar date', async () => {
    const path = join(tempDir('wc-store-'), 'cloud.db');
    (await SqliteStore.open(path)).close();
    // A database from before the bitmaps: station_day_riders, with days a station sent that
    // match the pattern but are no date (events are only checked against it).
    const db = new Database(path);
    db.exec(`CREATE TABLE station_day_riders (day TEXT NOT NULL, station_id TEXT NOT NULL, rider_id TEXT NOT NULL, checked_in INTEGER NOT NULL,
      PRIMARY KEY (day, station_id, rider_id)) WITHOUT ROWID`);
    const add = db.prepare('INSERT INTO station_day_riders VALUES (?, ?, ?, ?)');
    add.run('2026-02-28', 'dn-001', 'r1', 1);
    add.run('2026-02-30', 'dn-001', 'r1', 0);
    add.run('2024-12-31', 'dn-002', 'r2', 0);
    add.run('2026-13-01', 'dn-001', 'r3', 1);
    db.exec(DAY_BITMAPS_MIGRATION);
    const rows = db.prepare('SELECT year, station_id, rider_id, s0, s5, c0, c5, s1 + s2 + s3 + s4 + c1 + c2 + c3 + c4 AS rest FROM station_rider_year ORDER BY year, station_id, rider_id').all();
    // 28 February is day 59 (bit 58 of word 0); 31 December of a leap year day 366 (word 5, bit 50).
    expect(rows).toEqual([
      { year: 2024, station_id: 'dn-002', rider_id: 'r2', s0: 0, s5: 2 ** 50, c0: 0, c5: 0, rest: 0 },
      { year: 2026, station_id: 'dn-001', rider_id: 'r1', s0: 2 ** 58, s5: 0, c0: 2 ** 58, c5: 0, rest: 0 },
    ]);
    expect(db.prepare('SELECT year, rider_id, s0, s5 FROM rider_year ORDER BY year, rider_id').all()).toEqual([
      { year: 2024, rider_id: 'r2', s0: 0, s5: 2 ** 50 },
      { year: 2026, rider_id: 'r1', s0: 2 ** 58, s5: 0 },
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'station_day_riders'").get()).toEqual({ n: 0 });
    db.close();
  });
});
