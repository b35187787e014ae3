/** The whole station's lifecycle: restarts keep riders' state; start-up failures are clear and clean. */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStation, StationStartError } from '../../edge/station.ts';
import { silentLogger } from '../../edge/log.ts';
import { call } from './http.ts';
import { startHarness, waitFor, type Harness } from '../helpers/station.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('station restart', () => {
  it('gives the rider the same compartment after the daemon restarts between deposit and retrieve', async () => {
    const credential = await h.credential('rider-restart');
    const d = await call(h.station.httpUrl, 'POST', '/v1/lockers/deposit', { credential });
    expect(d.status).toBe(201);
    const compartment = d.body.compartment as string;
    await waitFor(() => h.station.lockers.holdingOf('rider-restart')?.since != null, 3000, 'door shut, storage started');

    await h.restart();

    const status = await call(h.station.httpUrl, 'GET', `/v1/riders/status?credential=${encodeURIComponent(credential)}`);
    expect(status.body.locker).toMatchObject({ compartment });
    const again = await call(h.station.httpUrl, 'POST', '/v1/lockers/deposit', { credential });
    expect([again.status, again.body.error]).toEqual([409, 'locker_already_held']);
    const r = await call(h.station.httpUrl, 'POST', '/v1/lockers/retrieve', { credential });
    expect([r.status, r.body.compartment]).toEqual([200, compartment]);
  });

  it("keeps check-ins and today's claim across a restart", async () => {
    const credential = await h.credential('rider-restart-water');
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    expect((await call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' })).status).toBe(201);
    await h.restart();
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential })).body.status).toBe('already_checked_in');
    const c = await call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'hot' });
    expect([c.status, c.body.error]).toEqual([409, 'already_claimed_today']);
    expect(h.station.ledger.verifyStoredChain().ok).toBe(true);
  });

  it('refuses new claims with 503 while stopping and lets the claim in flight finish', async () => {
    const credential = await h.credential('rider-shutdown');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    const inFlight = call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' });
    await new Promise((r) => setTimeout(r, 5));
    await h.restart();
    const r = await inFlight.catch(() => null);
    // Either it finished before the stop, or it finished during the drain: never lost.
    if (r) expect([201, 503, 504]).toContain(r.status);
    const claims = h.station.quota.claimsOn('rider-shutdown', h.station.ledger.serviceDay());
    expect(claims.every((c) => c.status === 'committed' || c.status === 'unknown' || c.status === 'released')).toBe(true);
  });
});

describe('start-up failures', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it('says clearly when the HTTP port is taken, and leaves nothing running', async () => {
    const config = { ...h.config, http: { host: '127.0.0.1', port }, dataDir: `${h.dir}/other`, lockBuses: [] };
    const err = await startStation(config, { logger: silentLogger(), scheduleJobs: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StationStartError);
    expect((err as StationStartError).code).toBe('http_port_in_use');
    expect((err as Error).message).toContain(`HTTP port ${port}`);
    // The ledger was closed on the way out: a second start on the same data directory works.
    const ok = await startStation({ ...config, http: { host: '127.0.0.1', port: 0 } }, { logger: silentLogger(), scheduleJobs: false });
    await ok.stop();
  });

  it('says clearly when the MQTT port is taken', async () => {
    const config = { ...h.config, mqtt: { ...h.config.mqtt, host: '127.0.0.1', port }, dataDir: `${h.dir}/other2`, lockBuses: [] };
    const err = await startStation(config, { logger: silentLogger(), scheduleJobs: false }).catch((e: unknown) => e);
    expect((err as StationStartError).code).toBe('mqtt_port_in_use');
  });
});
