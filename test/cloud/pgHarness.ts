/** Cloud apps on one PostgreSQL database, as N instances behind a load balancer would be. */
import { buildApp } from '../../cloud/app.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { ManualClock, type StationEvent } from '../../protocol/index.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';

export async function pgInstance(url: string, clock = new ManualClock(Date.parse('2026-11-25T04:00:00Z')), overrides: Record<string, unknown> = {}) {
  const config = testConfig(undefined, { storage: { url, poolSize: 4 }, ...overrides });
  const store = await PgStore.open(url, { maxConnections: 4 });
  const app = buildApp({ config, store, clock, logger: silent });
  await app.ready();
  const upload = (stationId: string, events: StationEvent[], token: string = TOKENS[stationId as keyof typeof TOKENS]) =>
    app.inject({ method: 'POST', url: `/v1/stations/${stationId}/events`, headers: bearer(token), payload: { events } });
  const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
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
export type PgInstance = Awaited<ReturnType<typeof pgInstance>>;
