// The alert contract on both backends: two stores on one database stand for two cloud instances.
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { PgStore } from '../../cloud/store/pg.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { tempDir } from './helpers.ts';
import { alertStoreContract } from './alerts-store-contract.ts';

alertStoreContract('sqlite', async () => {
  const path = join(tempDir('wc-alerts-'), 'cloud.db');
  const a = SqliteStore.open(path);
  const b = SqliteStore.open(path);
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

alertStoreContract('postgres', async () => {
  const db = await testDatabase('alerts');
  dbs.push(db);
  const a = await PgStore.open(db.url, { maxConnections: 4 });
  const b = await PgStore.open(db.url, { maxConnections: 4 });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});
