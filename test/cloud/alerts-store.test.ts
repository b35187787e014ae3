// The alert contract on SQLite: two stores on one file stand for two cloud instances.
import { join } from 'node:path';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
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
