/**
 * The upload route under hostile clients (SPEC §9, issue 11 item 11): the station token is
 * checked before the body is read or parsed, one event is at most 16 KiB of JSON, and bodies
 * are not coerced — `seq: "5"` is refused where the contract says integer, while query strings
 * still are (`?limit=5`).
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_EVENT_JSON_BYTES } from '../../protocol/index.ts';
import { harness, type Harness } from './appHarness.ts';
import { bearer, chain, noonOf, TOKENS } from './helpers.ts';

const T = noonOf('2026-11-24');
const checkin = (i: number) => ({ type: 'checkin', ts: T + i * 1000, data: { riderId: `r-${i}`, windowFrom: T, windowTo: T + 86_400_000 } });

describe('upload route hardening (SPEC §9)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  const post = (payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: { 'content-type': 'application/json', ...headers }, payload });
  const refusals = async (code: string) => {
    const text = (await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
    const line = text.split('\n').find((l) => l.startsWith('waystation_cloud_http_refusals_total') && l.includes(`code="${code}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('refuses a body without a valid token with 401 before parsing it: bad JSON and an over-limit body alike', async () => {
    for (const headers of [{}, bearer('not-a-token'), { authorization: 'Basic eA==' }]) {
      const bad = await post('{"events": [ this is not json', headers);
      expect([bad.statusCode, bad.json().error]).toEqual([401, 'unauthorized']);
    }
    // Over the 8 MB body limit: the token refusal comes first (otherwise 413 payload_too_large).
    const huge = `{"events":[${'"x",'.repeat((h.config.http.bodyLimitBytes / 4) | 0)}"x"]}`;
    expect(huge.length).toBeGreaterThan(h.config.http.bodyLimitBytes);
    const r = await post(huge);
    expect([r.statusCode, r.json().error]).toEqual([401, 'unauthorized']);
    // Another station's token: 403, also before parsing.
    const other = await post('not json at all', bearer(TOKENS['dn-002']));
    expect([other.statusCode, other.json().error]).toEqual([403, 'forbidden']);
    // With the right token the same bad body is a 400 from the parser: the order is the point.
    expect((await post('{"events": [ this is not json', bearer(TOKENS['dn-001']))).statusCode).toBe(400);
    expect(await refusals('unauthorized')).toBe(4);
  });

  it('answers 401 on a real socket without waiting for a declared 8 MB body', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (h.app.server.address() as { port: number }).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => reject(new Error(`no answer within 3 s; got ${JSON.stringify(got)}`)), 3000);
      sock.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n') && got.includes('}')) {
          clearTimeout(timer);
          sock.destroy();
          resolve(got);
        }
      });
      sock.on('error', reject);
      // Headers declaring 8 MB, then only the first bytes of it: the answer must not wait.
      sock.write(`POST /v1/stations/dn-001/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n{"events":[`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('"error":"unauthorized"');
  });

  it('refuses a batch holding an event over 16 KiB of JSON with 413 event_too_large, naming its seq, storing nothing', async () => {
    const events = chain([checkin(1), { type: 'device.fault', ts: T + 5000, data: { deviceId: 'disp-1', fault: 'x'.repeat(MAX_EVENT_JSON_BYTES) } }, checkin(3)]);
    const r = await h.upload('dn-001', events);
    expect([r.statusCode, r.json().error, r.json().seq]).toEqual([413, 'event_too_large', 2]);
    expect(r.json().message).toMatch(/event 2 is \d+ bytes of JSON, more than 16384/);
    expect(await refusals('event_too_large')).toBe(1);
    // Nothing of the batch was stored: the log still starts at 1.
    const first = await h.upload('dn-001', events.slice(0, 1));
    expect([first.statusCode, first.json().ackedSeq]).toEqual([200, 1]);
  });

  it('takes an event of just under the limit', async () => {
    const base = { type: 'device.fault', ts: T, data: { deviceId: 'disp-1', fault: '' } };
    const overhead = Buffer.byteLength(JSON.stringify(chain([base])[0]), 'utf8');
    const fits = chain([{ ...base, data: { deviceId: 'disp-1', fault: 'y'.repeat(MAX_EVENT_JSON_BYTES - overhead) } }]);
    expect(Buffer.byteLength(JSON.stringify(fits[0]), 'utf8')).toBe(MAX_EVENT_JSON_BYTES);
    const r = await h.upload('dn-001', fits);
    expect([r.statusCode, r.json().ackedSeq]).toEqual([200, 1]);
  });

  it('refuses strings where the contract says integer: seq "5", ts "…", and a string for the events array', async () => {
    const [e] = chain([checkin(1)]);
    for (const bad of [{ ...e, seq: '1' }, { ...e, ts: String(e!.ts) }, { ...e, seq: 1.0001 }]) {
      const r = await post(JSON.stringify({ events: [bad] }), bearer(TOKENS['dn-001']));
      expect([r.statusCode, r.json().error], JSON.stringify(bad).slice(0, 40)).toEqual([400, 'bad_request']);
    }
    // A lone event where an array is required is not wrapped into one (coerceTypes 'array').
    const lone = await post(JSON.stringify({ events: e }), bearer(TOKENS['dn-001']));
    expect([lone.statusCode, lone.json().error]).toEqual([400, 'bad_request']);
    const ok = await post(JSON.stringify({ events: [e] }), bearer(TOKENS['dn-001']));
    expect([ok.statusCode, ok.json().ackedSeq]).toEqual([200, 1]);
  });

  it('still coerces query strings (they are text): ?limit=5 is the integer 5, ?limit=five is refused', async () => {
    const ok = await h.app.inject({ method: 'GET', url: '/v1/alerts?limit=5&state=all', headers: bearer(TOKENS.admin) });
    expect(ok.statusCode).toBe(200);
    const bad = await h.app.inject({ method: 'GET', url: '/v1/alerts?limit=five', headers: bearer(TOKENS.admin) });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'bad_request']);
  });
});
