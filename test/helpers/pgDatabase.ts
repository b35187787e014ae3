/**
 * A PostgreSQL database of its own for one test file, on the run's cluster (test/setup/postgres.ts).
 * Run under a config without that setup, the file starts a cluster of its own.
 */
import { inject } from 'vitest';
import { createDatabase, startCluster, type PgCluster } from './postgres.ts';

let own: PgCluster | null = null;
let ownUsers = 0;

async function adminUrl(): Promise<string> {
  const provided = inject('pgAdminUrl');
  if (provided) return provided;
  const err = inject('pgError');
  if (err) throw new Error(`the test run's PostgreSQL cluster did not start: ${err}`);
  own ??= await startCluster({ fast: true });
  return own.adminUrl;
}

/** A fresh database; `drop()` removes it (and this file's own cluster, if it started one). */
export async function testDatabase(prefix = 'ws'): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await createDatabase(await adminUrl(), prefix);
  if (own) ownUsers++;
  return {
    url: db.url,
    async drop() {
      await db.drop();
      if (own && --ownUsers === 0) {
        const c = own;
        own = null;
        await c.stop();
      }
    },
  };
}
