// The rider page store contract on PostgreSQL (Debian's server, test/setup/postgres.ts).
import { afterAll } from 'vitest';
import { PgStore } from '../../cloud/store/pg.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { riderPagesStoreContract } from './rider-pages-store-contract.ts';

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

riderPagesStoreContract('postgres', async () => {
  const db = await testDatabase('riderpages');
  dbs.push(db);
  return PgStore.open(db.url, { maxConnections: 8 });
});
