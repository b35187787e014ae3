// The PostgreSQL the PostgreSQL suites run on is real: Debian's server, a database per file.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/pgDatabase.ts';

describe('the test PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  beforeAll(async () => {
    db = await testDatabase('infra');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is a PostgreSQL 15 server with an empty database of this file', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const v = await c.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(v.rows[0]!.server_version_num)).toBeGreaterThanOrEqual(150000);
      const t = await c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(t.rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });
});
