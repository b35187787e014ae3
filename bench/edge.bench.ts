/**
 * Edge daemon benchmark (issue 4), over real HTTP on port 0:
 *
 * 1. Claims per second: each rider checks in and takes one bottle (POST /v1/checkins, then
 *    POST /v1/claims) against the real daemon — a separate compiled `waystation-edge` process
 *    (bench/edge-daemon.ts: dist/ under plain node, as in production) with its
 *    ledger fsynced per commit — and dispenser simulators with a 0 ms motor. The baseline is a
 *    trivial fastify route (GET /ping) in this process, hit by the same client with the same
 *    concurrency in the same run: two requests per claim, so the ratio compares a claim with
 *    two trivial requests.
 * 2. The daemon's resident memory (its own /metrics gauge) right after start and after
 *    100,000 claims by 100,000 riders, and the highest it read on the way (sampled every 5 s),
 *    so a figure taken just after a garbage collection cannot hide a peak. The riders' codes
 *    are signed before the run, so the clients spend their CPU on requests, not on Ed25519.
 *    At ~400 claims/s on a quiet machine the 100,000 take ~4 minutes; if they would take longer
 *    than the time budget (EDGE_BENCH_BUDGET_MS, default 420 s), the run stops there, reports
 *    what it measured, and adds a separate row, marked EXTRAPOLATED, with a linear estimate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { SignJWT, importJWK } from 'jose';
import { DispenserSimulator } from '../firmware-sim/dispenser/simulator.ts';
import { generateSigningKey, sha256Hex } from '../protocol/index.ts';
import { ensureBuilt, residentOf, residentSplit, startDaemon } from './edge-daemon.ts';
import { fmt, type BenchContext, type BenchRow } from './lib.ts';

const TOTAL_CLAIMS = Number(process.env.EDGE_BENCH_CLAIMS ?? 100_000);
const TIME_BUDGET_MS = Number(process.env.EDGE_BENCH_BUDGET_MS ?? 420_000);
const THROUGHPUT_RIDERS = 2_000;
const CONCURRENCY = 8;
const DISPENSERS = 4;
const TOKEN = 'bench-maintenance-token';

async function rssOf(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^waystation_process_resident_bytes (\d+)$/m.exec(text);
  if (!m) throw new Error('no resident memory gauge in /metrics');
  return Number(m[1]);
}

async function post(url: string, body: unknown): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

/** Run `n` tasks with `concurrency` workers; stops taking new ones after `deadline` (ms, performance.now). */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>, deadline = Infinity): Promise<number> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n && performance.now() < deadline) {
        const i = next++;
        await task(i);
        done++;
      }
    }),
  );
  return done;
}

export default async function edgeBench(ctx: BenchContext): Promise<BenchRow[]> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'waystation-edge-bench-'));
  const key = await generateSigningKey('bench-key');
  const signKey = await importJWK(key.privateJwk, 'EdDSA');
  const iat = Math.floor(Date.now() / 1000);
  const credentialOf = (i: number) =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setSubject(`bench-rider-${i}`).setIssuedAt(iat).setExpirationTime(iat + 86_400).sign(signKey);

  const dispensers = Array.from({ length: DISPENSERS }, (_, i) => ({ id: `disp-${i + 1}`, password: `secret-${i + 1}` }));
  const daemon = await startDaemon(dir, {
    stationId: 'dn-bench',
    timezone: 'Asia/Shanghai',
    dataDir: './data',
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { host: '127.0.0.1', port: 0 },
    credentials: { jwks: { keys: [key.publicJwk] }, revokedRiders: [] },
    maintenanceTokens: [{ name: 'bench', sha256: sha256Hex(TOKEN) }],
    dispensers,
    lockBuses: [],
    rateLimit: { perCredentialPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
    logLevel: 'error',
  });
  const sims = dispensers.map(
    (d) => new DispenserSimulator({ url: `mqtt://127.0.0.1:${daemon.mqttPort}`, id: d.id, password: d.password, motorMs: 0, telemetryIntervalMs: 5_000, stock: 1_000_000 }),
  );
  const baseline = Fastify();
  baseline.get('/ping', async () => ({ ok: true }));
  try {
    await Promise.all(sims.map((s) => s.start()));
    for (;;) {
      const h = (await (await fetch(`${daemon.url}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { devices: Array<{ state: string }> };
      if (h.devices.filter((d) => d.state === 'online').length === DISPENSERS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const rssStart = await rssOf(daemon.url);
    const splitStart = residentSplit(residentOf(daemon.child.pid!));
    ctx.progress(`daemon up, ${fmt(rssStart / 1048576, 1)} MiB resident (${splitStart})`);
    // Every rider's code is signed beforehand (in parallel batches): the clients share the two
    // cores with the daemon, and signing as they go cost the memory run a fifth of its pace.
    const presigned: string[] = [];
    for (let i = 0; i < TOTAL_CLAIMS; i += 1_000) presigned.push(...(await Promise.all(Array.from({ length: Math.min(1_000, TOTAL_CLAIMS - i) }, (_, k) => credentialOf(i + k)))));

    let failures = 0;
    const claimOne = async (i: number) => {
      const credential = presigned[i] ?? (await credentialOf(i));
      const a = await post(`${daemon.url}/v1/checkins`, { credential });
      const b = await post(`${daemon.url}/v1/claims`, { credential, compartment: i % 2 === 0 ? 'cold' : 'hot' });
      if (a !== 201 || b !== 201) failures++;
    };

    // 1. Throughput, then the trivial route with the same client.
    await pool(200, CONCURRENCY, claimOne); // warm-up (JIT, page cache)
    let t0 = performance.now();
    await pool(THROUGHPUT_RIDERS, CONCURRENCY, (i) => claimOne(200 + i));
    const claimsPerS = (THROUGHPUT_RIDERS / (performance.now() - t0)) * 1000;
    await baseline.listen({ host: '127.0.0.1', port: 0 });
    const pingUrl = `http://127.0.0.1:${(baseline.server.address() as { port: number }).port}/ping`;
    const pingOne = async () => {
      await (await fetch(pingUrl)).arrayBuffer();
    };
    await pool(500, CONCURRENCY, pingOne);
    t0 = performance.now();
    const pings = THROUGHPUT_RIDERS * 2;
    await pool(pings, CONCURRENCY, pingOne);
    const pingsPerS = (pings / (performance.now() - t0)) * 1000;
    ctx.progress(`${fmt(claimsPerS)} claims/s, trivial route ${fmt(pingsPerS)} req/s`);

    // 2. Memory after many claims.
    const first = 200 + THROUGHPUT_RIDERS;
    t0 = performance.now();
    const deadline = t0 + TIME_BUDGET_MS;
    let done = first;
    const step = 10_000;
    let rssPeak = rssStart;
    const sampler = setInterval(() => {
      rssOf(daemon.url).then(
        (b) => (rssPeak = Math.max(rssPeak, b)),
        () => undefined,
      );
    }, 5_000);
    while (done < TOTAL_CLAIMS && performance.now() < deadline) {
      const n = Math.min(step, TOTAL_CLAIMS - done);
      const base = done;
      done += await pool(n, CONCURRENCY * 2, (i) => claimOne(base + i), deadline);
      ctx.progress(`${fmt(done)} claims, ${fmt(((done - first) / (performance.now() - t0)) * 1000)} /s, resident ${fmt(rssPeak / 1048576, 1)} MiB at most so far (now ${residentSplit(residentOf(daemon.child.pid!))})`);
    }
    clearInterval(sampler);
    const rssAfter = await rssOf(daemon.url);
    const splitAfter = residentSplit(residentOf(daemon.child.pid!));
    rssPeak = Math.max(rssPeak, rssAfter);
    const full = done >= TOTAL_CLAIMS;
    const memoryRate = ((done - first) / (performance.now() - t0)) * 1000;
    const label = full ? `${fmt(TOTAL_CLAIMS)} claims` : `${fmt(done)} claims (measured; the ${TIME_BUDGET_MS / 1000} s budget ended the run)`;
    const extrapolated: BenchRow[] = full
      ? []
      : [
          {
            name: `daemon resident memory after ${fmt(TOTAL_CLAIMS)} claims — EXTRAPOLATED`,
            value: `~${fmt((rssStart + ((rssAfter - rssStart) / done) * TOTAL_CLAIMS) / 1048576, 0)} MiB`,
            ratio: `linear from the ${fmt(done)} measured claims (${fmt(memoryRate)} claims/s here; 100,000 would take ~${fmt(TOTAL_CLAIMS / memoryRate / 60, 0)} min)`,
          },
        ];
    return [
      {
        name: 'claims/s through HTTP (check-in + claim, 0 ms dispenser)',
        value: `${fmt(claimsPerS)} /s`,
        ratio: `${fmt(claimsPerS / pingsPerS, 3)}× trivial fastify route (${fmt(pingsPerS)} req/s; a claim is 2 requests + 4 fsynced commits + an MQTT round trip)`,
      },
      { name: 'daemon resident memory right after start', value: `${fmt(rssStart / 1048576, 1)} MiB`, ratio: splitStart },
      {
        name: `daemon resident memory after ${label}`,
        value: `${fmt(rssAfter / 1048576, 1)} MiB`,
        ratio: `${fmt(rssAfter / rssStart, 2)}× start (target ≤ 1.1×); ${splitAfter}${failures ? `; ${fmt(failures)} non-201 answers` : ''}`,
      },
      {
        name: 'daemon resident memory, highest read during those claims (every 5 s)',
        value: `${fmt(rssPeak / 1048576, 1)} MiB`,
        ratio: `${fmt(rssPeak / rssStart, 2)}× start`,
      },
      ...extrapolated,
    ];
  } finally {
    await baseline.close();
    await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
