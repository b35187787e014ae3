// The enrolment store contract on SQLite.
import { join } from 'node:path';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { tempDir } from '../cloud/helpers.ts';
import { enrolStoreContract } from './enrol-store-contract.ts';

enrolStoreContract('sqlite', async () => SqliteStore.open(join(tempDir('wc-enrol-store-'), 'cloud.db')));
