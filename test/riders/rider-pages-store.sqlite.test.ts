// The rider page store contract on SQLite.
import { join } from 'node:path';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { tempDir } from '../cloud/helpers.ts';
import { riderPagesStoreContract } from './rider-pages-store-contract.ts';

riderPagesStoreContract('sqlite', async () => SqliteStore.open(join(tempDir('wc-rider-pages-'), 'cloud.db')));
