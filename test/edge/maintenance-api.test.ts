/**
 * Maintenance API (SPEC §8): bearer tokens stored as hashes, every call audited with who did
 * it; plus the operations routes (/healthz, /metrics) and the rate limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StationEvent } from '../../protocol/index.ts';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, ledgerSnapshot, sha256, startHarness, waitFor, type Harness } from '../helpers/station.ts';

let h: Harness;
const base = () => h.station.httpUrl;
const m = (method: string, path: string, body?: unknown, token = MAINTENANCE_TOKEN) => call(base(), method, path, body, { token });

function eventsSince(seq: number): StationEvent[] {
  return h.station.ledger.eventsAfter(seq, 1000);
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('maintenance authentication', () => {
  it('refuses calls without a token or with a wrong one with 401 unauthorized, writing nothing', async () => {
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/v1/health', undefined],
      ['POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: 5 }],
      ['POST', '/v1/maintenance/lockers/1-1/open', { reason: 'x' }],
      ['PUT', '/v1/maintenance/devices/disp-1/service', { inService: false }],
      ['POST', '/v1/maintenance/claims/abc/resolve', { outcome: 'released' }],
    ];
    for (const [method, path, body] of calls) {
      const before = ledgerSnapshot(h.station);
      const none = await call(base(), method, path, body);
      const wrong = await m(method, path, body, 'not-the-token');
      const basic = await call(base(), method, path, body, { headers: { authorization: `Basic ${Buffer.from(`x:${MAINTENANCE_TOKEN}`).toString('base64')}` } });
      for (const r of [none, wrong, basic]) {
        expect([path, r.status, r.body.error]).toEqual([path, 401, 'unauthorized']);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      expect(ledgerSnapshot(h.station)).toEqual(before);
    }
    expect(h.station.health.get('disp-1')?.inService).toBe(true);
  });

  it('accepts a maintenance token synced from the cloud and audits it under its name', async () => {
    const cloudToken = 'cloud-issued-maintenance-token';
    h.station.trust.applyCloudConfig({
      stationId: 'dn-test',
      jwks: { keys: [] },
      revokedRiders: [],
      quota: { windowDays: 7, claimsPerDay: 1 },
      maintenanceTokens: [{ name: 'cloud-li', sha256: sha256(cloudToken) }],
      devices: [],
    });
    const seq = h.station.ledger.head().seq;
    const r = await m('GET', '/v1/health', undefined, cloudToken);
    expect(r.status).toBe(200);
    expect(eventsSince(seq).find((e) => e.type === 'maintenance.audit')?.data).toMatchObject({ by: 'cloud-li', route: '/v1/health', outcome: 'ok' });
    // The local token still works beside the synced one.
    expect((await m('GET', '/v1/health')).status).toBe(200);
  });
});

describe('GET /v1/health', () => {
  it('shows every device, the lockers, the dispensers and the station, and audits the call', async () => {
    const seq = h.station.ledger.head().seq;
    const r = await m('GET', '/v1/health');
    expect(r.status).toBe(200);
    const ids = (r.body.devices as Array<{ id: string; state: string }>).map((d) => d.id).sort();
    expect(ids).toEqual(['disp-1', 'lockboard-1']);
    const station = r.body.station as Record<string, unknown>;
    expect(station).toMatchObject({ stationId: 'dn-test', uptimeS: expect.any(Number), dbBytes: expect.any(Number) });
    expect(typeof station.diskFreeBytes).toBe('number');
    expect(station.sync).toMatchObject({ backlog: expect.any(Number), headSeq: expect.any(Number) });
    expect(station.clock).toMatchObject({ fault: false, jumps: [] });
    expect((r.body.lockers as { total: number }).total).toBe(4);
    expect(r.body.claims).toMatchObject({ byStatus: expect.any(Object), awaitingResolution: expect.any(Array) });
    const audit = eventsSince(seq).filter((e) => e.type === 'maintenance.audit');
    expect(audit.map((e) => e.data)).toEqual([expect.objectContaining({ by: 'ops-wang', method: 'GET', route: '/v1/health', outcome: 'ok' })]);
  });
});

/**
 * Run a maintenance call while the ledger refuses any audit event whose data holds `probe` (a
 * temporary trigger): the call must fail, and the events it left are returned.
 */
async function withAuditRefused(probe: string, call: () => Promise<{ status: number }>): Promise<ReturnType<typeof eventsSince>> {
  h.station.ledger.db.exec(`CREATE TEMP TRIGGER refuse_audit BEFORE INSERT ON events
    WHEN NEW.type = 'maintenance.audit' AND NEW.data LIKE '%${probe}%' BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END`);
  try {
    const seq = h.station.ledger.head().seq;
    expect((await call()).status).toBeGreaterThanOrEqual(500);
    return eventsSince(seq);
  } finally {
    h.station.ledger.db.exec('DROP TRIGGER refuse_audit');
  }
}

describe('restock', () => {
  it('restocks a compartment with a sponsor: dispenser.restocked and the audit, and the device gets the stock', async () => {
    const seq = h.station.ledger.head().seq;
    const r = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'cold', count: 12, sponsor: 'Bank of Daning' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dispenserId: 'disp-1', compartment: 'cold', count: 12, sponsor: 'Bank of Daning', by: 'ops-wang', deviceTold: true });
    const evs = eventsSince(seq);
    expect(evs.find((e) => e.type === 'dispenser.restocked')?.data).toMatchObject({ dispenserId: 'disp-1', compartment: 'cold', count: 12, sponsor: 'Bank of Daning', by: 'ops-wang' });
    expect(evs.find((e) => e.type === 'maintenance.audit')?.data).toMatchObject({ by: 'ops-wang', outcome: 'ok', sponsor: 'Bank of Daning' });
    await waitFor(() => h.dispenser!.stock.cold >= 12, 3000, 'cmd/restock reached the device');
  });

  it('writes dispenser.restocked and its audit in one transaction: an audit that cannot be written takes the record with it', async () => {
    const probe = 'Audit Probe Sponsor';
    const before = h.dispenser!.stock.hot;
    const evs = await withAuditRefused(probe, () => m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: 3, sponsor: probe }));
    expect(evs.filter((e) => e.type === 'dispenser.restocked')).toEqual([]);
    // Nothing recorded, so the device was not told either (the record comes first).
    await new Promise((r) => setTimeout(r, 300));
    expect(h.dispenser!.stock.hot).toBe(before);
  });

  it('refuses an unknown dispenser with 404 unknown_device and bad counts with 400, auditing both refusals', async () => {
    const seq = h.station.ledger.head().seq;
    const unknown = await m('POST', '/v1/maintenance/dispensers/disp-9/restock', { compartment: 'hot', count: 5 });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'unknown_device']);
    const bad = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: -1 });
    expect([bad.status, bad.body.error]).toEqual([400, 'bad_request']);
    const evs = eventsSince(seq);
    expect(evs.map((e) => [e.type, e.data.outcome])).toEqual([
      ['maintenance.audit', 'unknown_device'],
      ['maintenance.audit', 'bad_request'],
    ]);
  });
});

describe('open a compartment', () => {
  it('opens a compartment with a reason (locker.forced_open) and audits it', async () => {
    const seq = h.station.ledger.head().seq;
    const r = await m('POST', '/v1/maintenance/lockers/1-3/open', { reason: 'overdue: items removed for safekeeping' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ compartment: '1-3', opened: true, by: 'ops-wang' });
    const types = eventsSince(seq).map((e) => e.type);
    expect(types).toContain('locker.forced_open');
    expect(types).toContain('maintenance.audit');
  });

  it('writes the forced open and its audit in one transaction: an audit that cannot be written takes the change with it', async () => {
    const probe = 'audit-probe: refuse this audit';
    const evs = await withAuditRefused(probe, () => m('POST', '/v1/maintenance/lockers/1-4/open', { reason: probe }));
    expect(evs.filter((e) => e.type === 'locker.forced_open')).toEqual([]);
  });

  it('refuses an unknown compartment with 404 unknown_compartment and a missing reason with 400', async () => {
    for (const c of ['9-1', '1-99', 'abc']) {
      const r = await m('POST', `/v1/maintenance/lockers/${c}/open`, { reason: 'check' });
      expect([c, r.status, r.body.error]).toEqual([c, 404, 'unknown_compartment']);
    }
    const r = await m('POST', '/v1/maintenance/lockers/1-1/open', {});
    expect([r.status, r.body.error]).toEqual([400, 'bad_request']);
  });
});

describe('service flag', () => {
  it('takes a device out of service and back, each change and its audit in one transaction', async () => {
    const seq = h.station.ledger.head().seq;
    const off = await m('PUT', '/v1/maintenance/devices/disp-1/service', { inService: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id: 'disp-1', inService: false, state: 'out_of_service' });
    const evs = eventsSince(seq);
    expect(evs.map((e) => e.type)).toEqual(['device.service', 'maintenance.audit']);
    expect(evs.map((e) => e.seq)).toEqual([seq + 1, seq + 2]);
    expect(evs[0]!.data).toMatchObject({ deviceId: 'disp-1', inService: false, by: 'ops-wang' });
    const on = await m('PUT', '/v1/maintenance/devices/disp-1/service', { inService: true });
    expect(on.body).toMatchObject({ inService: true });
    expect(h.station.health.usable('disp-1')).toBe(true);
  });

  it('takes a single compartment out of service', async () => {
    const r = await m('PUT', '/v1/maintenance/devices/1-4/service', { inService: false });
    expect(r.status).toBe(200);
    expect(h.station.lockers.compartments().find((c) => c.compartment === '1-4')?.inService).toBe(false);
    await m('PUT', '/v1/maintenance/devices/1-4/service', { inService: true });
    expect(h.station.lockers.compartments().find((c) => c.compartment === '1-4')?.inService).toBe(true);
  });

  it('refuses an unknown device with 404 unknown_device and a non-boolean with 400', async () => {
    const r = await m('PUT', '/v1/maintenance/devices/nope/service', { inService: false });
    expect([r.status, r.body.error]).toEqual([404, 'unknown_device']);
    const bad = await m('PUT', '/v1/maintenance/devices/disp-1/service', { inService: 'no' });
    expect([bad.status, bad.body.error]).toEqual([400, 'bad_request']);
  });
});

describe('resolving unknown claims', () => {
  it('lets maintenance release an unknown claim (quota given back) and refuses settled or unknown ids', async () => {
    const credential = await h.credential('rider-unknown');
    await call(base(), 'POST', '/v1/checkins', { credential });
    // Power lost mid-vend: the device itself cannot tell, so the claim waits for maintenance.
    h.dispenser!.failNext('power_loss');
    const c = await call(base(), 'POST', '/v1/claims', { credential, compartment: 'hot' });
    expect(c.status).toBe(504);
    const claimId = c.body.claimId as string;
    await waitFor(() => h.station.health.usable('disp-1'), 5000, 'dispenser back after power loss');
    const health = await m('GET', '/v1/health');
    const waiting = (health.body.claims as { awaitingResolution: Array<{ claimId: string }> }).awaitingResolution;
    expect(waiting.map((w) => w.claimId)).toContain(claimId);

    const seq = h.station.ledger.head().seq;
    const r = await m('POST', `/v1/maintenance/claims/${claimId}/resolve`, { outcome: 'released' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ claimId, status: 'released', by: 'ops-wang' });
    const evs = eventsSince(seq);
    expect(evs.map((e) => e.type)).toEqual(['claim.resolved', 'claim.released', 'maintenance.audit']);
    expect(evs.map((e) => e.seq)).toEqual([seq + 1, seq + 2, seq + 3]);
    // The audit says how the call ended (ok) and what was decided.
    expect(evs[2]!.data).toMatchObject({ by: 'ops-wang', outcome: 'ok', claimId, resolution: 'released' });

    const twice = await m('POST', `/v1/maintenance/claims/${claimId}/resolve`, { outcome: 'committed' });
    expect([twice.status, twice.body.error]).toEqual([409, 'claim_not_unknown']);
    const missing = await m('POST', '/v1/maintenance/claims/no-such-claim/resolve', { outcome: 'committed' });
    expect([missing.status, missing.body.error]).toEqual([404, 'unknown_claim']);
    // The quota was given back: the rider can take today's bottle.
    expect((await call(base(), 'POST', '/v1/claims', { credential, compartment: 'cold' })).status).toBe(201);
  });
});

describe('operations', () => {
  it('answers /healthz for liveness without a token', async () => {
    const r = await call(base(), 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', ledger: 'ok' });
  });

  it('exposes Prometheus metrics: claims, check-ins, devices, serial errors, backlog, latency, refusals', async () => {
    const credential = await h.credential('rider-metrics');
    await call(base(), 'POST', '/v1/checkins', { credential });
    await call(base(), 'POST', '/v1/claims', { credential, compartment: 'cold' });
    await call(base(), 'POST', '/v1/claims', { credential, compartment: 'cold' });
    const r = await call(base(), 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = r.text;
    expect(t).toMatch(/^# TYPE waystation_claim_requests_total counter$/m);
    expect(t).toMatch(/^waystation_claim_requests_total\{outcome="committed"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_claim_requests_total\{outcome="already_claimed_today"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_checkins_total\{result="opened"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_claims\{status="committed"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_device_state\{device="disp-1",kind="dispenser",state="online"\} 1$/m);
    expect(t).toMatch(/^waystation_device_state\{device="lockboard-1",kind="lockboard",state="online"\} 1$/m);
    expect(t).toMatch(/^# TYPE waystation_device_errors_total counter$/m);
    expect(t).toMatch(/^waystation_sync_backlog_events \d+$/m);
    expect(t).toMatch(/^waystation_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/claims",status="201",le="\+Inf"\} \d+$/m);
    expect(t).toMatch(/^waystation_http_request_duration_seconds_count\{method="POST",route="\/v1\/claims",status="201"\} \d+$/m);
    expect(t).toMatch(/^waystation_http_refusals_total\{code="already_claimed_today"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_http_refusals_total\{code="unauthorized"\} [1-9]\d*$/m);
    expect(t).toMatch(/^waystation_events_total\{type="claim.committed"\} [1-9]\d*$/m);
    // Every sample line is `name{labels} value`.
    for (const line of t.trim().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [-+\d.eEInfNa]+$/);
    }
  });

  it('counts serial errors from the lock bus in metrics', async () => {
    h.board!.inject(1, 'bad_bcc', { times: 3 });
    await waitFor(() => Object.keys(h.station.health.get('lockboard-1')?.counters ?? {}).length > 0, 5000, 'a serial error counted');
    const t = (await call(base(), 'GET', '/metrics')).text;
    expect(t).toMatch(/^waystation_device_errors_total\{device="lockboard-1",kind="lockboard",counter="[a-z_]+"\} [1-9]\d*$/m);
  });
});

describe('rate limits', () => {
  it('refuses more requests per credential than allowed with 429 rate_limited and writes nothing', async () => {
    const small = await startHarness({ dispenser: false, locks: 0, config: { rateLimit: { perCredentialPerMinute: 3, perAddressPerMinute: 1000 } } });
    try {
      const credential = await small.credential('rider-hammer');
      for (let i = 0; i < 3; i++) expect((await call(small.station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBeLessThan(300);
      const before = ledgerSnapshot(small.station);
      const r = await call(small.station.httpUrl, 'POST', '/v1/checkins', { credential });
      expect([r.status, r.body.error]).toEqual([429, 'rate_limited']);
      expect(ledgerSnapshot(small.station)).toEqual(before);
      // Another rider is not held back by this one.
      expect((await call(small.station.httpUrl, 'POST', '/v1/checkins', { credential: await small.credential('rider-calm') })).status).toBe(201);
    } finally {
      await small.stop();
    }
  });

  it('refuses more requests per address than allowed with 429 and Retry-After', async () => {
    const small = await startHarness({ dispenser: false, locks: 0, config: { rateLimit: { perCredentialPerMinute: 1000, perAddressPerMinute: 5 } } });
    try {
      const answers = [];
      for (let i = 0; i < 7; i++) answers.push(await call(small.station.httpUrl, 'POST', '/v1/checkins', { credential: await small.credential(`rider-addr-${i}`) }));
      expect(answers.slice(0, 5).every((a) => a.status === 201)).toBe(true);
      expect(answers.slice(5).map((a) => [a.status, a.body.error])).toEqual([
        [429, 'rate_limited'],
        [429, 'rate_limited'],
      ]);
      expect(Number(answers[5]!.headers.get('retry-after'))).toBeGreaterThan(0);
      // Liveness and metrics are not limited.
      expect((await call(small.station.httpUrl, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await small.stop();
    }
  });
});
