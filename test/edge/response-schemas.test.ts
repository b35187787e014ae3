/**
 * Every SPEC §8 route declares the schema of its success answer (issue 10, item 4): the route
 * table of a real station's app is read back (edge/api/app.ts `routesOf`) and each contract
 * route must name a response schema for a 2xx status. The routes' own tests check that the
 * answers, serialized by those schemas, still carry every field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { routesOf } from '../../edge/api/app.ts';
import { StationHealth } from '../../edge/api/schemas.ts';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, startHarness, type Harness } from '../helpers/station.ts';

/** SPEC §8, as written there (fastify spells path parameters `:id`). */
const SPEC_ROUTES = [
  'POST /v1/checkins',
  'POST /v1/claims',
  'POST /v1/lockers/deposit',
  'POST /v1/lockers/retrieve',
  'GET /v1/riders/status',
  'GET /v1/health',
  'POST /v1/maintenance/dispensers/:id/restock',
  'POST /v1/maintenance/lockers/:compartment/open',
  'PUT /v1/maintenance/devices/:id/service',
  'GET /healthz',
  'GET /metrics',
];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('response schemas (SPEC §8)', () => {
  it('declares a response schema for a 2xx answer of every SPEC §8 route', () => {
    const table = routesOf(h.station.app);
    expect(table.length).toBeGreaterThan(SPEC_ROUTES.length);
    const missing = SPEC_ROUTES.filter((r) => {
      const [method, url] = r.split(' ');
      const route = table.find((e) => e.method === method && e.url === url);
      if (!route) return true;
      return !Object.keys(route.schema?.response ?? {}).some((status) => /^2(\d\d|xx)$/.test(status));
    });
    expect(missing).toEqual([]);
  });

  it('finds a route that has none (so the check above can fail)', () => {
    const kioskInfo = routesOf(h.station.app).find((e) => e.url === '/v1/kiosk/info');
    expect(kioskInfo).toBeDefined();
    expect(kioskInfo!.schema?.response).toBeUndefined();
  });

  it('serves the health body whole and as its schema says', async () => {
    const served = await call(h.station.httpUrl, 'GET', '/v1/health', undefined, { token: MAINTENANCE_TOKEN });
    expect(served.status).toBe(200);
    expect([...Value.Errors(StationHealth, served.body)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
    // Nothing the station builds is dropped by the serializer.
    expect((served.body.lockers as { compartments: unknown }).compartments).toEqual(h.station.lockers.compartments());
    expect(served.body.devices).toEqual(JSON.parse(JSON.stringify(h.station.health.all())));
    expect(Object.keys(served.body.station as object)).toEqual(expect.arrayContaining(['stationId', 'sync', 'clock', 'trust', 'faults']));
  });
});
