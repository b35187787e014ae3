// The shared contract suite on PostgreSQL (Debian's server, test/setup/postgres.ts), plus what
// only a shared database has: migrations taken once by several stores opening at once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../cloud/store/pg.ts';
import { PG_DAY_BITMAPS_MIGRATION, PG_REPORTS_MIGRATION, PG_SCHEMA_VERSION } from '../../cloud/store/pgSchema.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { storeContract } from './store-contract.ts';

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

storeContract('postgres', async () => {
  const db = await testDatabase('contract');
  dbs.push(db);
  return PgStore.open(db.url, { maxConnections: 4 });
});

describe('PgStore migrations', () => {
  let url: string;
  beforeAll(async () => {
    const db = await testDatabase('migrate');
    dbs.push(db);
    url = db.url;
  });

  it('migrates once when several instances open the same empty database together', async () => {
    const stores = await Promise.all(Array.from({ length: 6 }, () => PgStore.open(url, { maxConnections: 2 })));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(r.rows.map((x) => x.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    } finally {
      await c.end();
    }
    // Every instance works on the one schema.
    expect(await Promise.all(stores.map((s) => s.syncHead('dn-001')))).toEqual(stores.map(() => null));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('refuses a database migrated by a newer cloud, saying what to do', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [PG_SCHEMA_VERSION + 1]);
    await c.end();
    await expect(PgStore.open(url)).rejects.toThrow(/newer than this cloud.*upgrade the cloud/);
  });
});

describe('PgStore day bitmaps migration', () => {
  it('builds the bitmaps from station_day_riders, leaving out a day that is no calendar date instead of failing', async () => {
    const db = await testDatabase('bitmaps');
    dbs.push(db);
    await (await PgStore.open(db.url, { maxConnections: 2 })).close();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      // A database from before the bitmaps; days a station sent that match the pattern but are
      // no date (events are only checked against it) would make `day::date` throw.
      await c.query(`CREATE TABLE station_day_riders (day TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL,
        rider_id TEXT COLLATE "C" NOT NULL, checked_in BOOLEAN NOT NULL, PRIMARY KEY (day, station_id, rider_id))`);
      await c.query(`INSERT INTO station_day_riders VALUES ('2026-02-28', 'dn-001', 'r1', true), ('2026-02-30', 'dn-001', 'r1', false),
        ('2024-12-31', 'dn-002', 'r2', false), ('2026-13-01', 'dn-001', 'r3', true), ('2025-02-29', 'dn-001', 'r4', true), ('0000-01-01', 'dn-001', 'r5', true)`);
      await c.query(PG_DAY_BITMAPS_MIGRATION);
      const rows = await c.query('SELECT year, station_id, rider_id, s0::text, s5::text, c0::text, (s1 + s2 + s3 + s4 + c1 + c2 + c3 + c4 + c5)::text AS rest FROM station_rider_year ORDER BY year, station_id, rider_id');
      // 28 February is day 59 (bit 58 of word 0); 31 December of a leap year day 366 (word 5, bit 50).
      expect(rows.rows).toEqual([
        { year: 2024, station_id: 'dn-002', rider_id: 'r2', s0: '0', s5: String(2n ** 50n), c0: '0', rest: '0' },
        { year: 2026, station_id: 'dn-001', rider_id: 'r1', s0: String(2n ** 58n), s5: '0', c0: String(2n ** 58n), rest: '0' },
      ]);
      const riders = await c.query('SELECT year, rider_id FROM rider_year ORDER BY year, rider_id');
      expect(riders.rows).toEqual([{ year: 2024, rider_id: 'r2' }, { year: 2026, rider_id: 'r1' }]);
      expect((await c.query("SELECT to_regclass('station_day_riders') AS t")).rows).toEqual([{ t: null }]);
    } finally {
      await c.end();
    }
  });
});

describe('PgStore rollups', () => {
  it('marks a rider-week checked in when its row came from a bottle in an earlier batch, beside new riders', async () => {
    const db = await testDatabase('rollups');
    dbs.push(db);
    const store = await PgStore.open(db.url, { maxConnections: 2 });
    const { chain, noonOf } = await import('./helpers.ts');
    const { rollupEffectsOf } = await import('../../cloud/ingest/rollupEffects.ts');
    const { GENESIS_HASH } = await import('../../protocol/index.ts');
    const day = '2026-12-02';
    const first = chain([{ type: 'claim.committed', ts: noonOf(day), data: { claimId: 'c1', riderId: 'r1', compartment: 'cold', dispenserId: 'd1' } }]);
    expect(await store.appendEvents({ stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events: first, effects: first.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
    const next = chain(
      [
        { type: 'checkin', ts: noonOf(day) + 1, data: { riderId: 'r1', windowFrom: day, windowTo: day } },
        { type: 'checkin', ts: noonOf(day) + 2, data: { riderId: 'r5', windowFrom: day, windowTo: day } },
        { type: 'claim.committed', ts: noonOf(day) + 3, data: { claimId: 'c6', riderId: 'r6', compartment: 'cold', dispenserId: 'd1' } },
      ],
      1,
      first[0]!.hash,
    );
    expect(await store.appendEvents({ stationId: 'dn-001', prev: { seq: 1, hash: first[0]!.hash }, events: next, effects: next.map(rollupEffectsOf), receivedAt: 2 })).toMatchObject({ ok: true });
    expect(await store.lapsedRiders('2026-W50', '2026-W49', null)).toEqual(['r1', 'r5']);
    expect((await store.weeklyStations('2026-W49', null))[0]).toMatchObject({ checkins: 2, riders: 3, newRiders: 2 });
    await store.close();
  });
});

describe('PgStore zone-feed wake-ups', () => {
  it('listens again after its LISTEN connection is cut, and wakes on the next append', async () => {
    const db = await testDatabase('listen');
    dbs.push(db);
    const store = await PgStore.open(db.url, { maxConnections: 2 });
    const { chain, noonOf } = await import('./helpers.ts');
    const { rollupEffectsOf } = await import('../../cloud/ingest/rollupEffects.ts');
    const { feedRowOf } = await import('../../cloud/zone/feedEntries.ts');
    const { GENESIS_HASH } = await import('../../protocol/index.ts');
    const { LISTEN_APPLICATION } = await import('../../cloud/store/pgZone.ts');
    await store.createStation({ id: 's-1', tokenSha256: 'a'.repeat(64), timezone: 'Asia/Shanghai', zone: 'z-a' }, 1);
    const woken: string[] = [];
    store.onZoneFeed((z) => woken.push(z));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const listening = async () =>
      Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [LISTEN_APPLICATION])).rows[0].n);
    await expect.poll(listening, { timeout: 10_000 }).toBe(1);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [LISTEN_APPLICATION]);
    await expect.poll(listening, { timeout: 10_000 }).toBe(0);
    // Connected again and its LISTEN done (the last statement of that backend).
    await expect
      .poll(async () => (await admin.query(`SELECT query FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [LISTEN_APPLICATION])).rows.map((r) => r.query), { timeout: 10_000 })
      .toEqual(['LISTEN waystation_zone_feed']);
    const events = chain([{ type: 'checkin', ts: noonOf('2026-11-25'), data: { riderId: 'r1', windowFrom: '2026-11-25', windowTo: '2026-12-01' } }]);
    const feed = events.map((e) => feedRowOf('s-1', e)).filter((r) => r !== null);
    expect(await store.appendEvents({ stationId: 's-1', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1, feed })).toMatchObject({ ok: true });
    await expect.poll(() => woken, { timeout: 5000 }).toContain('z-a');
    await admin.end();
    await store.close();
    // Closed: the listen connection is gone too.
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    await expect
      .poll(async () => Number((await check.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [LISTEN_APPLICATION])).rows[0].n))
      .toBe(0);
    await check.end();
  });
});

describe('PgStore day facts migration', () => {
  it('builds the day facts of events stored before it, the same as the reports fold them', async () => {
    const db = await testDatabase('dayfacts');
    dbs.push(db);
    let store = await PgStore.open(db.url, { maxConnections: 2 });
    const { chain, noonOf } = await import('./helpers.ts');
    const { rollupEffectsOf } = await import('../../cloud/ingest/rollupEffects.ts');
    const { GENESIS_HASH } = await import('../../protocol/index.ts');
    const day = '2026-11-24';
    const events = chain([
      { type: 'checkin', ts: noonOf(day), data: { riderId: 'r1', windowFrom: day, windowTo: day } },
      { type: 'claim.committed', ts: noonOf(day) + 1, data: { claimId: 'c1', riderId: 'r1', compartment: 'cold', dispenserId: 'd1', sponsor: '农夫山泉' } },
      { type: 'claim.committed', ts: noonOf(day) + 2, data: { claimId: 'c2', riderId: 'r1', compartment: 'cold', dispenserId: 'd1', sponsor: '农夫山泉' } },
      { type: 'dispenser.restocked', ts: noonOf(day) + 3, data: { dispenserId: 'd1', compartment: 'hot', count: 24, by: 'ops-wang' } },
    ]);
    expect(await store.appendEvents({ stationId: 'dn-001', prev: { seq: 0, hash: GENESIS_HASH }, events, effects: events.map(rollupEffectsOf), receivedAt: 1 })).toMatchObject({ ok: true });
    const kept = await store.dayFacts(day, day, null);
    expect(kept.map((f) => [f.kind, f.events, f.count])).toEqual(expect.arrayContaining([['checkin', 1, 0], ['bottle', 2, 0], ['restock', 1, 24]]));
    await store.close();
    // A database from before the migration: none of its tables; then the migration runs on it.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('DROP TABLE day_facts, day_facts_cursor, sponsor_relays, sponsors, rider_outreach');
    await c.query(PG_REPORTS_MIGRATION);
    await c.end();
    store = await PgStore.open(db.url, { maxConnections: 2 });
    const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(sorted(await store.dayFacts(day, day, null))).toEqual(sorted(kept));
    await store.close();
  });
});

describe('PgStore stations created by several instances at once', () => {
  it('creates a config station once, the others finding it taken, though the token index can lose the race', async () => {
    const db = await testDatabase('stationrace');
    dbs.push(db);
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(db.url, { maxConnections: 4 })));
    try {
      for (let round = 0; round < 10; round++) {
        const input = { id: `s-${round}`, tokenSha256: String(round).padStart(64, 'a'), timezone: 'Asia/Shanghai', zone: 'z' };
        const made = await Promise.all(stores.flatMap((s) => [s.createStation(input, 1), s.createStation(input, 1)]));
        expect(made.filter((m) => m !== null)).toHaveLength(1);
      }
      expect(await stores[0]!.stations()).toHaveLength(10);
      // A token another station holds is still an error, not "taken".
      await expect(stores[0]!.createStation({ id: 'other', tokenSha256: '0'.padStart(64, 'a'), timezone: 'Asia/Shanghai', zone: 'z' }, 1)).rejects.toMatchObject({ code: '23505' });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
