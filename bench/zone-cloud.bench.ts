/**
 * One quota across a zone, the cloud side (issue 16, SPEC §13):
 * 1. ingest with the zone feed (stations in zone-scoped zones: feed rows, claim standings and
 *    the conflict check in the ingest transaction) against the same batches of stations in no
 *    zone, in turn in the same run;
 * 2. propagation through the cloud over real HTTP on SQLite: a station's upload of one check-in
 *    until another station's waiting zone-feed poll answers with it, against the upload's own
 *    round trip (p50 / p99 of 300).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { GENESIS_HASH, addDays, sealEvent, sha256Hex, systemClock, type StationEvent } from '../protocol/index.ts';
import { seededRandom } from '../firmware-sim/faults.ts';
import { parseCloudConfig } from '../cloud/config.ts';
import { Ingestor } from '../cloud/ingest/ingestor.ts';
import { startCloud } from '../cloud/server.ts';
import { SqliteStore } from '../cloud/store/sqlite.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';

const silent = pino({ level: 'silent' });
const BATCH = 500;

/** Four stations' weeks of check-ins and claims, riders moving between them. */
function logs(stations: number, weeks: number): StationEvent[][] {
  const rnd = seededRandom(16);
  return Array.from({ length: stations }, (_, s) => {
    const out: StationEvent[] = [];
    let head = { seq: 0, hash: GENESIS_HASH };
    const push = (type: string, ts: number, day: string, data: Record<string, unknown>) => {
      const e = sealEvent(head.hash, { seq: head.seq + 1, type, ts, day, data });
      head = { seq: e.seq, hash: e.hash };
      out.push(e);
    };
    for (let d = 0; d < weeks * 7; d++) {
      const day = addDays('2026-10-05', d);
      const base = Date.parse(`${day}T08:00:00+08:00`);
      for (let r = 0; r < 120; r++) {
        if (rnd() < 0.5) continue;
        const riderId = `r${Math.floor(rnd() * 400)}`;
        if (rnd() < 0.15) push('checkin', base + r * 1000, day, { riderId, windowFrom: day, windowTo: addDays(day, 6) });
        else push('claim.committed', base + r * 1000 + 1, day, { claimId: `${s}-${d}-${r}`, riderId, compartment: 'cold', dispenserId: 'disp-1', zoneFeedAgeMs: 1000 });
      }
    }
    return out;
  });
}

async function ingestBench(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  const all = logs(4, 6);
  const total = all.reduce((a, l) => a + l.length, 0);
  ctx.progress(`zone ingest: ${fmt(total)} events of 4 stations, with and without a zone, 3 rounds`);
  let zonedMs = 0;
  let plainMs = 0;
  for (let round = 0; round < 3; round++) {
    const zoned = SqliteStore.open(join(dir, `zoned-${round}.db`));
    const plain = SqliteStore.open(join(dir, `plain-${round}.db`));
    for (let s = 0; s < all.length; s++) await zoned.createStation({ id: `st-${s}`, tokenSha256: sha256Hex(`t${s}`), timezone: 'Asia/Shanghai', zone: 'zone-a' }, 1);
    const zi = new Ingestor(zoned, systemClock, silent, undefined, () => 'zone');
    const pi = new Ingestor(plain, systemClock, silent);
    // Batches of the four stations in turn, so their feed rows interleave in the zone.
    for (let i = 0; i < Math.max(...all.map((l) => l.length)); i += BATCH) {
      for (let s = 0; s < all.length; s++) {
        const batch = all[s]!.slice(i, i + BATCH);
        if (batch.length === 0) continue;
        let t0 = performance.now();
        if (!(await pi.ingest(`st-${s}`, batch)).ok) throw new Error('plain ingest refused');
        plainMs += performance.now() - t0;
        t0 = performance.now();
        if (!(await zi.ingest(`st-${s}`, batch)).ok) throw new Error('zoned ingest refused');
        zonedMs += performance.now() - t0;
      }
    }
    const conflicts = (await zoned.conflicts('2026-W42', null)).length;
    if (round === 0) ctx.progress(`conflicts found in one week: ${conflicts}`);
    await zoned.close();
    await plain.close();
  }
  const plainRate = ((3 * total) / plainMs) * 1000;
  const zonedRate = ((3 * total) / zonedMs) * 1000;
  return [
    { name: 'cloud ingest, stations in no zone (baseline, 500/batch)', value: `${fmt(plainRate)} /s` },
    { name: 'cloud ingest with the zone feed and conflict check', value: `${fmt(zonedRate)} /s`, ratio: `${(zonedRate / plainRate).toFixed(2)}× no zone (quota events only: the heaviest case)` },
  ];
}

async function propagationBench(ctx: BenchContext, dir: string): Promise<BenchRow[]> {
  const tokens = ['bench-dn-001', 'bench-dn-002'];
  const config = parseCloudConfig({
    http: { host: '127.0.0.1', port: 0 },
    dataDir: join(dir, 'http'),
    stations: tokens.map((t, i) => ({ id: `dn-00${i + 1}`, tokenSha256: sha256Hex(t), zone: 'daning' })),
    quota: { zones: { daning: { scope: 'zone' } } },
    logLevel: 'silent',
  });
  const cloud = await startCloud(config, { logger: silent });
  const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
  const poll = async (after: string, waitMs: number) => {
    const r = await fetch(`${cloud.url}/v1/stations/dn-002/zone-feed?after=${encodeURIComponent(after)}&waitMs=${waitMs}`, { headers: headers(tokens[1]!) });
    return (await r.json()) as { cursor: string; entries: unknown[] };
  };
  try {
    let cursor = (await poll('', 0)).cursor;
    let head = { seq: 0, hash: GENESIS_HASH };
    const upload = async (i: number) => {
      const day = addDays('2026-11-01', Math.floor(i / 100));
      const e = sealEvent(head.hash, { seq: head.seq + 1, type: 'checkin', ts: Date.parse(`${day}T09:00:00+08:00`) + i, day, data: { riderId: `r${i}`, windowFrom: day, windowTo: addDays(day, 6) } });
      const r = await fetch(`${cloud.url}/v1/stations/dn-001/events`, { method: 'POST', headers: headers(tokens[0]!), body: JSON.stringify({ events: [e] }) });
      if (r.status !== 200) throw new Error(`upload ${r.status}`);
      head = { seq: e.seq, hash: e.hash };
    };
    const N = 300;
    const prop: number[] = [];
    const up: number[] = [];
    ctx.progress(`propagation: ${N} uploads of one event each, a poll waiting on the other station`);
    for (let i = 0; i < N; i++) {
      const waiting = poll(cursor, 25_000);
      // Let the poll reach the server and register before the upload goes out.
      await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      const uploaded = upload(i).then(() => performance.now() - t0);
      const answer = await waiting;
      const t1 = performance.now() - t0;
      up.push(await uploaded);
      if (answer.entries.length !== 1) throw new Error(`poll answered ${answer.entries.length} entries`);
      prop.push(t1);
      cursor = answer.cursor;
    }
    return [
      { name: 'upload of one event, HTTP round trip (baseline, p50 / p99)', value: `${percentile(up, 50).toFixed(1)} / ${percentile(up, 99).toFixed(1)} ms` },
      {
        name: 'zone feed: upload → other station’s poll answered (p50 / p99)',
        value: `${percentile(prop, 50).toFixed(1)} / ${percentile(prop, 99).toFixed(1)} ms`,
        ratio: `${(percentile(prop, 50) / percentile(up, 50)).toFixed(2)}× the upload (p50)`,
      },
    ];
  } finally {
    await cloud.stop();
  }
}

export default async function zoneBench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-zone-bench-'));
  try {
    return [...(await ingestBench(ctx, dir)), ...(await propagationBench(ctx, dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
