// The assertions live in the shared contract suite (store-contract.ts) that every storage backend runs.
import { join } from 'node:path';
import { SqliteStore } from '../../cloud/store/sqlite';
import { tempDir } from './helpers';
import { storeContract } from './store-contract';

storeContract('sqlite', async () => SqliteStore.open(join(tempDir('wc-store-'), 'cloud.db')));
