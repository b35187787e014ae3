/**
 * The console's side of the maintenance API (issue 13): restock "set to" (SPEC §5 cmd/restock
 * carries only what was added, so the station adds the difference), the sponsors list, the
 * live health stream (token required, bounded), and the staff listener — plain and with TLS
 * from a certificate made here with openssl — which serves only the console and the
 * maintenance API, while the kiosk's rider routes stay on the loopback listener.
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, startHarness, waitFor, type Harness } from '../helpers/station.ts';
import { tempDir } from '../helpers/tmp.ts';

let h: Harness;
const m = (method: string, path: string, body?: unknown) => call(h.station.httpUrl, method, path, body, { token: MAINTENANCE_TOKEN });

beforeAll(async () => {
  h = await startHarness({ config: { sponsors: ['Nongfu'], maintenance: { host: '127.0.0.1', port: 0 } } });
});
afterAll(async () => {
  await h?.stop();
});

function audits(): Array<Record<string, unknown>> {
  return (h.station.ledger.db.prepare("SELECT data FROM events WHERE type = 'maintenance.audit' ORDER BY seq").all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as Record<string, unknown>);
}

/** Read SSE frames from a fetch body until `until` is satisfied. */
async function readEvents(res: Response, until: (events: Array<Record<string, unknown>>) => boolean, timeoutMs = 5000): Promise<Array<Record<string, unknown>>> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: Array<Record<string, unknown>> = [];
  let buf = '';
  const deadline = Date.now() + timeoutMs;
  while (!until(out)) {
    if (Date.now() > deadline) throw new Error(`timed out with ${out.length} events`);
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (/^event: health$/m.test(frame) && data) out.push(JSON.parse(data) as Record<string, unknown>);
    }
  }
  await reader.cancel();
  return out;
}

describe('restock "set to"', () => {
  it('adds the difference from the reported count, records it as added, and tells the device', async () => {
    await waitFor(() => h.station.claims.availability()[0]?.stock.cold !== undefined, 5000, 'stock reported');
    const reported = h.dispenser!.stock.cold;
    const r = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'cold', count: reported + 7, mode: 'set', sponsor: 'Nongfu' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ count: 7, setTo: reported + 7, reported, mode: 'set', deviceTold: true, by: 'ops-wang' });
    await waitFor(() => h.dispenser!.stock.cold === reported + 7, 5000, 'device told');
    expect(audits().at(-1)).toMatchObject({ outcome: 'ok', mode: 'set', setTo: reported + 7, count: 7, by: 'ops-wang' });
  });

  it('answers "unchanged" for the same count and refuses a lower one with cannot_lower_stock, telling the device nothing', async () => {
    await waitFor(() => h.station.claims.availability()[0]?.stock.cold === h.dispenser!.stock.cold, 5000, 'telemetry caught up');
    const now = h.dispenser!.stock.cold;
    const same = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'cold', count: now, mode: 'set' });
    expect(same.body).toMatchObject({ unchanged: true, count: 0, deviceTold: false });
    const lower = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'cold', count: 0, mode: 'set' });
    expect([lower.status, lower.body.error, lower.body.reported]).toEqual([409, 'cannot_lower_stock', now]);
    expect(audits().at(-1)).toMatchObject({ outcome: 'cannot_lower_stock' });
    expect(h.dispenser!.stock.cold).toBe(now);
    // "add" still needs at least one bottle.
    const zero = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'cold', count: 0 });
    expect([zero.status, zero.body.error]).toEqual([400, 'bad_request']);
  });

  it('refuses a sponsor that is not on the list with unknown_sponsor', async () => {
    const r = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: 1, sponsor: 'Someone else' });
    expect([r.status, r.body.error, r.body.sponsors]).toEqual([400, 'unknown_sponsor', ['Nongfu']]);
  });

  it('picks from the sponsors synced from the cloud once it has some, with today\'s relay first, and falls back to the local list', async () => {
    const doc = (sponsors: Array<{ id: string; name: string }>, sponsorToday: { id: string; name: string } | null) => ({
      stationId: 'dn-test', jwks: { keys: [] }, revokedRiders: [], quota: { windowDays: 7, claimsPerDay: 1 }, maintenanceTokens: [], devices: [], sponsors, sponsorToday,
    });
    const nongfu = { id: 'sp-1', name: '农夫山泉 Nongfu Spring' };
    h.station.trust.applyCloudConfig(doc([nongfu, { id: 'sp-2', name: '街道办 Street office' }], nongfu));
    const info = await m('GET', '/v1/maintenance/console');
    expect([info.body.sponsors, info.body.sponsorToday]).toEqual([['农夫山泉 Nongfu Spring', '街道办 Street office'], '农夫山泉 Nongfu Spring']);
    // The local name is no longer on the list; a synced one is.
    const local = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: 1, sponsor: 'Nongfu' });
    expect([local.status, local.body.error]).toEqual([400, 'unknown_sponsor']);
    const synced = await m('POST', '/v1/maintenance/dispensers/disp-1/restock', { compartment: 'hot', count: 1, sponsor: '街道办 Street office' });
    expect([synced.status, synced.body.sponsor]).toEqual([200, '街道办 Street office']);
    // A cloud without sponsor records: the station's own list again.
    h.station.trust.applyCloudConfig(doc([], null));
    const back = await m('GET', '/v1/maintenance/console');
    expect([back.body.sponsors, back.body.sponsorToday]).toEqual([['Nongfu'], null]);
  });
});

describe('live health stream', () => {
  it('needs the token, audits one subscription, and pushes the health body when a fault appears', async () => {
    const refused = await fetch(`${h.station.httpUrl}/v1/maintenance/events`);
    expect(refused.status).toBe(401);
    const before = audits().length;
    const res = await fetch(`${h.station.httpUrl}/v1/maintenance/events`, { headers: { authorization: `Bearer ${MAINTENANCE_TOKEN}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = readEvents(res, (evs) => evs.some((e) => (e.devices as Array<{ id: string; faults: string[] }>).find((d) => d.id === 'disp-1')?.faults.includes('heater')));
    setTimeout(() => h.dispenser!.setCondition('heater', true), 200);
    const evs = await first;
    expect(evs.length).toBeGreaterThanOrEqual(2);
    // The stream says since when (from the ledger's device.fault event).
    const disp = (evs.at(-1)!.devices as Array<{ id: string; since: number; faultSince: Record<string, number> }>).find((d) => d.id === 'disp-1')!;
    expect(disp.faultSince.heater).toBeGreaterThan(Date.now() - 10_000);
    expect(disp.since).toBe(disp.faultSince.heater);
    expect(audits().slice(before).filter((a) => a.stream === 'health')).toHaveLength(1);
    h.dispenser!.setCondition('heater', false);
  });

  it('holds at most 16 streams open and refuses the next with rate_limited', async () => {
    const ctrl = new AbortController();
    const open = await Promise.all(Array.from({ length: 16 }, () => fetch(`${h.station.httpUrl}/v1/maintenance/events`, { headers: { authorization: `Bearer ${MAINTENANCE_TOKEN}` }, signal: ctrl.signal })));
    expect(open.every((r) => r.status === 200)).toBe(true);
    const extra = await fetch(`${h.station.httpUrl}/v1/maintenance/events`, { headers: { authorization: `Bearer ${MAINTENANCE_TOKEN}` } });
    expect([extra.status, ((await extra.json()) as { error: string }).error]).toEqual([429, 'rate_limited']);
    ctrl.abort();
  });
});

describe('the staff listener', () => {
  it('serves the console and the maintenance API, but not the rider routes or the kiosk', async () => {
    const staff = h.station.maintenanceUrl!;
    expect(staff).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(staff).not.toBe(h.station.httpUrl);
    expect((await call(staff, 'GET', '/maintenance')).text).toContain('维护控制台');
    expect((await call(staff, 'GET', '/v1/health', undefined, { token: MAINTENANCE_TOKEN })).status).toBe(200);
    expect((await call(staff, 'GET', '/v1/health')).status).toBe(401);
    for (const path of ['/', '/v1/kiosk/info', '/v1/kiosk/events']) expect([path, (await call(staff, 'GET', path)).status]).toEqual([path, 404]);
    expect((await call(staff, 'POST', '/v1/checkins', { credential: 'x' })).status).toBe(404);
    // The kiosk's own listener still has both.
    expect((await call(h.station.httpUrl, 'GET', '/v1/kiosk/info')).status).toBe(200);
  });

  it('speaks TLS with the configured certificate', async () => {
    const { dir, cleanup } = tempDir('waystation-tls-');
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
      const tls = await startHarness({ dispenser: false, locks: 0, config: { maintenance: { host: '127.0.0.1', port: 0, tls: { certFile: cert, keyFile: key } } } });
      try {
        const url = new URL(`${tls.station.maintenanceUrl!}/v1/health`);
        expect(url.protocol).toBe('https:');
        const answer = await new Promise<{ status: number; body: string; peer: string }>((resolve, reject) => {
          const req = request(url, { ca: readFileSync(cert), headers: { authorization: `Bearer ${MAINTENANCE_TOKEN}` } }, (res) => {
            let body = '';
            const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string;
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body, peer }));
          });
          req.on('error', reject);
          req.end();
        });
        expect(answer.status).toBe(200);
        expect(answer.peer).toBe('localhost');
        expect(JSON.parse(answer.body).station.stationId).toBe('dn-test');
        // Plain HTTP to the TLS port does not get the API.
        await expect(fetch(`http://127.0.0.1:${url.port}/v1/health`).then((r) => r.status)).rejects.toThrow();
      } finally {
        await tls.stop();
      }
    } finally {
      cleanup();
    }
  });

  it('refuses to start when the certificate cannot be read, naming the key to fix', async () => {
    await expect(startHarness({ dispenser: false, locks: 0, config: { maintenance: { host: '127.0.0.1', port: 0, tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } } } })).rejects.toMatchObject({
      code: 'maintenance_tls_unreadable',
      message: expect.stringContaining('maintenance.tls'),
    });
  });
});
