/** A cloud app on a fresh store, for inject-based tests. */
import { join } from 'node:path';
import { ManualClock } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import type { StationEvent } from '../../protocol/index.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';

export async function harness(startMs = Date.parse('2026-11-25T04:00:00Z'), overrides: Record<string, unknown> = {}) {
  const config = testConfig(undefined, overrides);
  const store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
  const clock = new ManualClock(startMs);
  const app = buildApp({ config, store, clock, logger: silent });
  await app.ready();
  const upload = (stationId: string, events: StationEvent[], token: string = TOKENS[stationId as keyof typeof TOKENS]) =>
    app.inject({ method: 'POST', url: `/v1/stations/${stationId}/events`, headers: bearer(token), payload: { events } });
  const admin = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: bearer(TOKENS.admin), ...(payload !== undefined ? { payload: payload as object } : {}) });
  return {
    config,
    store,
    clock,
    app,
    upload,
    admin,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
export type Harness = Awaited<ReturnType<typeof harness>>;
