// SPEC §12: one station's batches arriving at two instances at once are stored once and rolled
// up once; the gap and chain rules of §9 hold as on one instance. Two cloud apps, each with its
// own connection pool, on one real PostgreSQL database, racing the same, overlapping, gapped
// and forged batches; the result is compared with one SQLite cloud fed the log in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StationEvent } from '../../protocol/index.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { harness } from './appHarness.ts';
import { chain, noonOf, type EventSpec } from './helpers.ts';
import { pgInstance, type PgInstance } from './pgHarness.ts';

const DAYS = ['2026-11-23', '2026-11-24', '2026-11-27', '2026-11-30', '2026-12-02', '2026-12-08'];

function specs(n: number): EventSpec[] {
  return Array.from({ length: n }, (_, i): EventSpec => {
    const day = DAYS[Math.floor((i * DAYS.length) / n)]!;
    const riderId = `r${(i * 7) % 23}`;
    if (i % 3 === 0) return { type: 'checkin', ts: noonOf(day) + i, data: { riderId, windowFrom: day, windowTo: day } };
    if (i % 17 === 0) return { type: 'station.heartbeat', ts: noonOf(day) + i, data: { uptimeS: i } };
    return {
      type: 'claim.committed',
      ts: noonOf(day) + i,
      data: { claimId: `c${i}`, riderId, compartment: i % 2 ? 'hot' : 'cold', dispenserId: 'disp-1', sponsor: `s${i % 3}` },
    };
  });
}

/** A small seeded PRNG, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const WEEKS = ['2026-W48', '2026-W49', '2026-W50'];

async function reports(inject: (url: string) => Promise<{ json(): unknown }>) {
  const out: unknown[] = [];
  for (const w of WEEKS) out.push((await inject(`/v1/reports/weekly?week=${w}`)).json());
  return out;
}

describe('two instances on one PostgreSQL racing one station', () => {
  let a: PgInstance;
  let b: PgInstance;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await testDatabase('race');
    drop = db.drop;
    [a, b] = await Promise.all([pgInstance(db.url), pgInstance(db.url)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it('stores each seq once and counts rollups once under same, overlapping, gapped and forged batches', async () => {
    const N = 240;
    const log = chain(specs(N));
    const rand = rng(14);
    // Seq 105 rewritten and sealed again: a replay of it mismatches the stored hash, and after
    // it the chain no longer continues (106's hash was over the original).
    const e105 = log[104]!;
    const resealed = chain([{ type: e105.type, ts: e105.ts, day: e105.day, data: { ...e105.data, riderId: 'mallory' } }], 104, log[103]!.hash)[0]!;
    const forged = [...log.slice(99, 104), resealed, ...log.slice(105, 110)];
    let acked = 0;
    const answers: Array<{ batch: StationEvent[]; status: number; body: Record<string, unknown> }> = [];
    for (let round = 0; acked < N && round < 200; round++) {
      // A burst of uploads, half to each instance, around the current head: the same batch
      // twice, overlaps, replays, a gap, and now and then a forged one.
      const burst: StationEvent[][] = [];
      const from = acked;
      const len = 5 + Math.floor(rand() * 30);
      const same = log.slice(from, from + len);
      burst.push(same, same);
      burst.push(log.slice(Math.max(0, from - 5), from + len + 7));
      burst.push(log.slice(from + Math.floor(len / 2), from + len + 10));
      burst.push(log.slice(from + len + 40, from + len + 46)); // beyond every batch of the burst: a gap
      if (from > 0) burst.push(log.slice(Math.max(0, from - 20), from)); // a pure replay
      if (from >= 99) burst.push(forged);
      const sent = burst.filter((x) => x.length > 0);
      const res = await Promise.all(sent.map((batch, i) => ((i + round) % 2 === 0 ? a : b).upload('dn-001', batch)));
      res.forEach((r, i) => answers.push({ batch: sent[i]!, status: r.statusCode, body: r.json() }));
      acked = Math.max(acked, ...res.filter((r) => r.statusCode === 200).map((r) => (r.json() as { ackedSeq: number }).ackedSeq));
    }
    expect(acked).toBe(N);

    for (const { batch, status, body } of answers) {
      const first = batch[0]!.seq;
      const last = batch.at(-1)!.seq;
      if (batch === forged) {
        // §9: a batch that breaks the chain is refused, whichever instance takes it.
        expect(status).toBe(422);
        expect(body.error).toBe('chain_broken');
        expect([105, 106]).toContain(body.seq);
      } else if (status === 200) {
        // ackedSeq is the highest contiguous seq held, so at least this batch's end.
        expect(body.ackedSeq as number).toBeGreaterThanOrEqual(last);
      } else {
        // The only other outcome of a valid batch is a gap: the head was below its first seq.
        expect(status).toBe(409);
        expect(body.error).toBe('gap');
        expect(body.expectedSeq as number).toBeLessThan(first);
      }
    }
    expect(answers.some((x) => x.status === 409)).toBe(true);
    expect(answers.some((x) => x.batch === forged)).toBe(true);

    // Each seq once, as the station wrote it.
    expect(await a.store.countEvents('dn-001')).toBe(N);
    expect(await b.store.eventsAfter('dn-001', 0, N + 10)).toEqual(log);

    // Rollups counted once: the reports equal those of one SQLite cloud fed the log in order.
    const one = await harness();
    try {
      for (let i = 0; i < N; i += 50) expect((await one.upload('dn-001', log.slice(i, i + 50))).statusCode).toBe(200);
      const expected = await reports((url) => one.admin('GET', url));
      expect(await reports((url) => a.admin('GET', url))).toEqual(expected);
      expect(await reports((url) => b.admin('GET', url))).toEqual(expected);
      expect(await a.store.heartbeats()).toEqual(await one.store.heartbeats());
      // The rider page's status rollup (issue 12) too, rider by rider.
      for (let r = 0; r < 23; r++) {
        const expectedStatus = await one.store.riderStatus(`r${r}`);
        expect(await a.store.riderStatus(`r${r}`)).toEqual(expectedStatus);
        expect(await b.store.riderStatus(`r${r}`)).toEqual(expectedStatus);
      }
      expect((await a.store.riderStatus('r0')).lastClaim).not.toBeNull();
    } finally {
      await one.close();
    }
  });

  it('lets two instances fill two stations at once without deadlocking on shared riders', async () => {
    const s1 = chain(specs(120));
    const s2 = chain(specs(120).map((s) => ({ ...s, ts: s.ts + 1 })));
    const send = async (inst: PgInstance, station: 'dn-002' | 'jd-003', log: StationEvent[]) => {
      for (let i = 0; i < log.length; i += 10) expect((await inst.upload(station, log.slice(i, i + 10))).statusCode).toBe(200);
    };
    await Promise.all([send(a, 'dn-002', s1), send(b, 'jd-003', s2), send(b, 'dn-002', s1), send(a, 'jd-003', s2)]);
    expect(await a.store.countEvents('dn-002')).toBe(120);
    expect(await a.store.countEvents('jd-003')).toBe(120);
    const w = (await a.admin('GET', '/v1/reports/weekly?week=2026-W48')).json() as { stations: Array<{ stationId: string; checkins: number }> };
    const byId = new Map(w.stations.map((s) => [s.stationId, s.checkins]));
    expect(byId.get('dn-002')).toBe(byId.get('jd-003'));
  });
});
