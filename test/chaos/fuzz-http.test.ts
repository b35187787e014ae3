/**
 * Bad input, HTTP (issue 6): random requests against the edge API of a running station —
 * random JSON of every shape, wrong types, huge strings, random bytes, wrong content types,
 * random routes and methods, forged and real credentials. Seeded, so a failure replays.
 *
 * What is compared: every answer with a status ≥ 400 must be counted once in
 * `waystation_http_refusals_total` (GET /metrics), so the delta of that counter over the run
 * equals the number of ≥ 400 answers we received. No answer is a 500 (`internal`); the only
 * 5xx allowed are the documented device refusals (503/502/504 with their SPEC §8 codes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage, metricSum, MAINTENANCE_TOKEN, post, rng, startRig, type Rig } from './rig.ts';
import { scaled, summary } from './scale.ts';

const DEVICE_5XX = new Set(['dispenser_unavailable', 'out_of_stock', 'locker_unavailable', 'no_free_compartment', 'dispense_failed', 'dispense_unknown']);
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const KNOWN = [
  ['POST', '/v1/checkins'],
  ['POST', '/v1/claims'],
  ['POST', '/v1/lockers/deposit'],
  ['POST', '/v1/lockers/retrieve'],
  ['GET', '/v1/riders/status'],
  ['GET', '/v1/health'],
  ['POST', '/v1/maintenance/dispensers/disp-1/restock'],
  ['POST', '/v1/maintenance/lockers/1-1/open'],
  ['PUT', '/v1/maintenance/devices/disp-1/service'],
  ['POST', '/v1/maintenance/claims/x/resolve'],
  ['GET', '/healthz'],
  ['GET', '/v1/kiosk/info'],
] as const;

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** One random request; `cred` is a real credential some requests carry. */
function randomRequest(r: () => number, cred: string): Req {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (n: number) => Math.floor(r() * n);
  const str = (max: number): string => {
    const n = int(max);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(r() < 0.9 ? 32 + int(95) : int(0x3000));
    return s;
  };
  const value = (depth: number): unknown => {
    const k = int(depth > 2 ? 6 : 9);
    switch (k) {
      case 0: return null;
      case 1: return r() < 0.5;
      case 2: return r() < 0.5 ? int(1e9) - 5e8 : r() * 1e308;
      case 3: return str(40);
      case 4: return cred;
      case 5: return pick(['hot', 'cold', 'warm', '', 'HOT']);
      case 6: return Array.from({ length: int(5) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(4); i > 0; i--) o[pick(['credential', 'compartment', 'count', 'reason', 'inService', 'outcome', 'sponsor', '__proto__', 'constructor', str(8)])] = value(depth + 1);
        return o;
      }
    }
  };
  let method: string;
  let path: string;
  const roll = r();
  if (roll < 0.7) [method, path] = pick(KNOWN);
  else if (roll < 0.85) [method, path] = [pick(METHODS), pick(KNOWN)[1]];
  else [method, path] = [pick(METHODS), `/${pick(['v1', 'v2', 'x', '..', '%2e%2e', 'v1/claims', 'v1/maintenance/lockers'])}/${encodeURIComponent(str(20))}${r() < 0.2 ? '?credential=' + encodeURIComponent(str(30)) : ''}`];
  if (path === '/v1/riders/status') path += r() < 0.3 ? '' : `?credential=${encodeURIComponent(r() < 0.3 ? cred : str(60))}${r() < 0.2 ? '&extra=1' : ''}`;
  const headers: Record<string, string> = {};
  // The real maintenance token only on reads: a random body must not restock or take devices out for real.
  if (path.startsWith('/v1/health') || path.startsWith('/v1/maintenance')) {
    const t = r();
    if (t < 0.3 && method === 'GET') headers.authorization = `Bearer ${MAINTENANCE_TOKEN}`;
    else if (t < 0.6) headers.authorization = `Bearer ${str(30).replace(/[^\x21-\x7e]/g, '')}`;
    else if (t < 0.7) headers.authorization = str(50).replace(/[^\x20-\x7e]/g, '');
  }
  if (method === 'GET' || method === 'HEAD') return { method, path, headers };
  const shape = r();
  let body: string | Uint8Array;
  if (shape < 0.45) body = JSON.stringify(value(0)) ?? 'null';
  else if (shape < 0.6) body = JSON.stringify({ credential: r() < 0.5 ? cred : str(100), compartment: pick(['hot', 'cold', 1, null, 'x']) });
  else if (shape < 0.7) body = JSON.stringify({ credential: 'x'.repeat(1 + int(40_000)) }); // huge: over the 16 KiB body limit at times
  else if (shape < 0.8) body = Uint8Array.from({ length: int(600) }, () => int(256));
  else if (shape < 0.9) body = JSON.stringify(value(0)).slice(0, Math.max(1, int(30)));
  else body = '';
  headers['content-type'] = r() < 0.8 ? 'application/json' : pick(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data']);
  return { method, path, headers, body };
}

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ boards: 1, locks: 4 });
});
afterAll(async () => {
  await rig?.stop();
});

describe('edge HTTP API under fuzz', () => {
  it('answers random requests without a 5xx or a crash, counts every refusal, and keeps serving', async () => {
    const total = scaled(60_000, 6_000);
    const seed = 20261124;
    const r = rng(seed);
    const base = rig.station.httpUrl;
    const cred = await rig.credential('rider-fuzz');
    const refusalsOf = async () => metricSum(await (await fetch(`${base}/metrics`)).text(), 'waystation_http_refusals_total');
    const refusalsBefore = await refusalsOf();
    await collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    const problems: string[] = [];
    let refused = 0;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const q = randomRequest(r, cred);
        const res = await fetch(`${base}${q.path}`, { method: q.method, headers: q.headers, ...(q.body !== undefined ? { body: q.body as BodyInit } : {}) });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status < 400) continue;
        refused++;
        let code = '(none)';
        try {
          code = String((JSON.parse(text) as { error?: unknown }).error);
        } catch {
          if (q.method !== 'HEAD') problems.push(`${q.method} ${q.path.slice(0, 60)} → ${res.status} without a JSON error body`);
        }
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (res.status >= 500 && !DEVICE_5XX.has(code)) problems.push(`${q.method} ${q.path.slice(0, 60)} → ${res.status} ${code}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const counted = (await refusalsOf()) - refusalsBefore;
    await collectGarbage();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;

    // Still alive and serving: a fresh rider checks in and takes a bottle.
    const fresh = await rig.credential('rider-after-fuzz');
    expect((await post(base, '/v1/checkins', { credential: fresh })).status).toBe(201);
    expect((await post(base, '/v1/claims', { credential: fresh, compartment: 'cold' })).status).toBe(201);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(rig.station.ledger.verifyStoredChain().ok).toBe(true);

    const topCodes = [...codes].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, n]) => `${c}:${n}`).join(' ');
    summary('http fuzz', {
      requests: total,
      seed: String(seed),
      refused,
      refusalsCounted: counted,
      '5xx': [...statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0),
      internal: codes.get('internal') ?? 0,
      topCodes,
      heapGrowthMb: heapGrowthMb.toFixed(1),
    });
    expect(problems.slice(0, 10)).toEqual([]);
    expect(codes.get('internal') ?? 0).toBe(0);
    expect(counted).toBe(refused);
    expect(heapGrowthMb).toBeLessThan(50);
  });
});
