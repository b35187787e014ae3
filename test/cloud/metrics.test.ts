import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, chain, TOKENS, type EventSpec } from './helpers.ts';
import { harness, type Harness } from './appHarness.ts';

/** `n` check-ins one minute apart, the last one `lastAgoMs` before `nowMs`. */
function checkins(n: number, nowMs: number, lastAgoMs: number): EventSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'checkin',
    ts: nowMs - lastAgoMs - (n - 1 - i) * 60_000,
    data: { riderId: `r${i}`, windowFrom: '2026-11-25', windowTo: '2026-11-25' },
  }));
}

/** The value of one sample line (`name{labels}`), or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('cloud GET /metrics', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  const scrape = async () => {
    const r = await h.admin('GET', '/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return r.body;
  };

  it('counts uploads by outcome, fresh events and every refusal once by its code', async () => {
    const events = chain(checkins(10, h.clock.now(), 90_000));
    expect((await h.upload('dn-001', events.slice(0, 5))).statusCode).toBe(200);
    // A replay is an ok upload that stores nothing new.
    expect((await h.upload('dn-001', events.slice(2, 5))).statusCode).toBe(200);
    expect((await h.upload('dn-001', events.slice(7))).statusCode).toBe(409);
    const forged = events.slice(5).map((e) => (e.seq === 7 ? { ...e, data: { ...e.data, riderId: 'someone-else' } } : e));
    expect((await h.upload('dn-001', forged)).statusCode).toBe(422);
    expect((await h.upload('dn-001', events.slice(5), 'not-a-token')).statusCode).toBe(401);
    expect((await h.upload('dn-002', events.slice(0, 1), TOKENS['dn-001'])).statusCode).toBe(403);
    const badJson = await h.app.inject({
      method: 'POST',
      url: '/v1/stations/dn-001/events',
      headers: { ...bearer(TOKENS['dn-001']), 'content-type': 'application/json' },
      payload: '{"events": [',
    });
    expect(badJson.statusCode).toBe(400);
    expect((await h.app.inject({ method: 'GET', url: '/v1/no-such-route' })).statusCode).toBe(404);

    const text = await scrape();
    expect(sample(text, 'waystation_cloud_uploads_total{station="dn-001",outcome="ok"}')).toBe(2);
    expect(sample(text, 'waystation_cloud_uploads_total{station="dn-001",outcome="gap"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_uploads_total{station="dn-001",outcome="chain_broken"}')).toBe(1);
    // Refused uploads never reach the ingestor, so they are not uploads.
    expect(sample(text, 'waystation_cloud_uploads_total{station="dn-002",outcome="ok"}')).toBeUndefined();
    expect(sample(text, 'waystation_cloud_events_ingested_total{station="dn-001"}')).toBe(5);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="gap"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="chain_broken"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="unauthorized"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="forbidden"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="bad_request"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_refusals_total{code="not_found"}')).toBe(1);
    const refusals = text.split('\n').filter((l) => l.startsWith('waystation_cloud_http_refusals_total{'));
    expect(refusals).toHaveLength(6);
    expect(sample(text, 'waystation_cloud_http_request_duration_seconds_count{method="POST",route="/v1/stations/:stationId/events",status="200"}')).toBe(2);
    expect(sample(text, 'waystation_cloud_http_request_duration_seconds_count{method="POST",route="/v1/stations/:stationId/events",status="422"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(text, 'waystation_cloud_process_resident_bytes')).toBeGreaterThan(0);
  });

  it('reads each station synced seq and the age of its newest synced event at scrape time', async () => {
    const events = chain(checkins(4, h.clock.now(), 90_000));
    expect((await h.upload('dn-001', events)).statusCode).toBe(200);
    let text = await scrape();
    expect(sample(text, 'waystation_cloud_station_synced_seq{station="dn-001"}')).toBe(4);
    expect(sample(text, 'waystation_cloud_station_synced_seq{station="dn-002"}')).toBe(0);
    expect(sample(text, 'waystation_cloud_station_sync_age_seconds{station="dn-001"}')).toBe(90);
    expect(sample(text, 'waystation_cloud_station_sync_age_seconds{station="dn-002"}')).toBeUndefined();

    h.clock.advance(30_000);
    text = await scrape();
    expect(sample(text, 'waystation_cloud_station_sync_age_seconds{station="dn-001"}')).toBe(120);
  });

  it('refuses a scrape without a valid admin token and counts that refusal too', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized' });
    const station = await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS['dn-001']) });
    expect(station.statusCode).toBe(401);
    expect(sample(await scrape(), 'waystation_cloud_http_refusals_total{code="unauthorized"}')).toBe(2);
  });

  it('still answers a scrape when the store cannot be read, with the store gauges marked unavailable', async () => {
    await h.store.close();
    const text = await scrape();
    expect(text).toMatch(/^# waystation_cloud_station_synced_seq unavailable: sync heads: /m);
    expect(sample(text, 'waystation_cloud_process_resident_bytes')).toBeGreaterThan(0);
  });
});
