/**
 * Vitest global setup: one throwaway PostgreSQL cluster for the whole run (test/helpers/postgres.ts),
 * its admin URL provided to the test files as `pgAdminUrl`; each file creates its own database
 * (test/helpers/pgDatabase.ts). Installed with apt-get when missing. If it cannot start, the
 * PostgreSQL suites fail with the reason and the others run on.
 */
import type { TestProject } from 'vitest/node';
import { startCluster, type PgCluster } from '../helpers/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the run's PostgreSQL cluster, or '' with `pgError` set. */
    pgAdminUrl: string;
    pgError: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: PgCluster | null = null;
  try {
    cluster = await startCluster({ fast: true });
    project.provide('pgAdminUrl', cluster.adminUrl);
    project.provide('pgError', '');
  } catch (e) {
    process.stderr.write(`PostgreSQL could not be started (${(e as Error).message}); the PostgreSQL suites will fail\n`);
    project.provide('pgAdminUrl', '');
    project.provide('pgError', (e as Error).message);
  }
  return async () => {
    await cluster?.stop();
  };
}
