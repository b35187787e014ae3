/**
 * The fleet (issue 14) with each PostgreSQL instance in a process of its own
 * (scripts/fleet/instance.ts), keeping the fleet's simulated time: every event the stations made
 * is stored once, with no error, and the stations' heartbeats are fresh to the cloud (no station
 * reads as silent while it beats).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleet } from '../../scripts/fleet/runFleet.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';

describe('the fleet through instance processes', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  beforeAll(async () => {
    db = await testDatabase('fleetproc');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stores every event once through two instance processes on simulated time, with no error', { timeout: 120_000 }, async () => {
    // 10 simulated minutes at 300× real pace: 2 s of uploads, ten heartbeats a station.
    const r = await runFleet({ stations: 4, days: 1, backend: 'postgres', pgUrl: db.url, instances: 2, batchSize: 500, pace: 300, hours: 1 / 6, processes: true });
    expect(r).toMatchObject({ stations: 4, errors: 0, gaps: 0 });
    expect(r.events).toBeGreaterThanOrEqual(4 * 9);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const counted = await pool.query<{ n: string; distinct_n: string }>('SELECT count(*) AS n, count(DISTINCT (station_id, seq)) AS distinct_n FROM events');
      expect(Number(counted.rows[0]!.n)).toBe(r.events);
      expect(Number(counted.rows[0]!.distinct_n)).toBe(r.events);
      // The instances kept the fleet's time: a station beating every simulated minute is not silent.
      const silent = await pool.query("SELECT fingerprint FROM alerts WHERE kind = 'station_silent'");
      expect(silent.rows).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
