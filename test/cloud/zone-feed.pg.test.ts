// The zone feed on PostgreSQL with two instances (SPEC §12, §13): a poll waiting on one instance
// wakes when another station's upload lands on the other; two stations of one zone uploading
// concurrently through both instances never make a reader polling throughout miss or repeat an
// entry; and each conflict of the race is found and stored once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StationEvent, ZoneFeedEntry, ZoneFeedResponse } from '../../protocol/index.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { bearer, chain, noonOf, TOKENS, type EventSpec } from './helpers.ts';
import { pgInstance, type PgInstance } from './pgHarness.ts';

const DAYS = ['2026-11-23', '2026-11-24', '2026-11-25'];

/** A station's log: check-ins, claims (some on days the other station claims too), heartbeats. */
function specs(station: string, n: number): EventSpec[] {
  return Array.from({ length: n }, (_, i): EventSpec => {
    const day = DAYS[i % DAYS.length]!;
    const riderId = `r${i % 11}`;
    if (i % 4 === 0) return { type: 'checkin', ts: noonOf(day) + i, data: { riderId, windowFrom: day, windowTo: '2026-11-29' } };
    if (i % 9 === 0) return { type: 'station.heartbeat', ts: noonOf(day) + i, data: { uptimeS: i } };
    return { type: 'claim.committed', ts: noonOf(day) + i, data: { claimId: `${station}-c${i}`, riderId, compartment: 'cold', dispenserId: 'disp-1' } };
  });
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const poll = (inst: PgInstance, stationId: string, token: string, after: string | undefined, waitMs: number) =>
  inst.app.inject({
    method: 'GET',
    url: `/v1/stations/${stationId}/zone-feed`,
    query: { ...(after !== undefined ? { after } : {}), waitMs: String(waitMs) },
    headers: bearer(token),
  });

describe('zone feed on two instances of one PostgreSQL', () => {
  let a: PgInstance;
  let b: PgInstance;
  let drop: () => Promise<void>;
  let readerToken: string;
  beforeAll(async () => {
    const db = await testDatabase('zonefeed');
    drop = db.drop;
    const overrides = { quota: { zones: { daning: { scope: 'zone' } } }, zoneFeed: { fallbackPollMs: 60_000, maxEntries: 17 } };
    [a, b] = await Promise.all([pgInstance(db.url, undefined, overrides), pgInstance(db.url, undefined, overrides)]);
    // A third station of the zone reads everything the two writers store.
    const made = await a.admin('POST', '/v1/stations', { id: 'dn-009', zone: 'daning' });
    readerToken = (made.json() as { token: string }).token;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it('wakes a poll waiting on one instance when another station uploads through the other', async () => {
    const { cursor } = (await poll(a, 'dn-009', readerToken, undefined, 0)).json() as ZoneFeedResponse;
    const waiting = poll(a, 'dn-009', readerToken, cursor, 25_000);
    // The poll is open (registered) before the upload lands.
    await expect.poll(async () => /zone_feed_polls_open 1$/m.test((await a.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body)).toBe(true);
    const up = await b.upload('jd-003', chain([{ type: 'checkin', ts: noonOf('2026-11-25'), data: { riderId: 'x', windowFrom: '2026-11-25', windowTo: '2026-12-01' } }]));
    expect(up.statusCode).toBe(200);
    const t1 = performance.now();
    const log = chain([{ type: 'checkin', ts: noonOf('2026-11-25'), data: { riderId: 'w', windowFrom: '2026-11-25', windowTo: '2026-12-01' } }]);
    expect((await b.upload('dn-001', log)).statusCode).toBe(200);
    const r = (await waiting).json() as ZoneFeedResponse;
    // Another zone's upload did not answer it; dn-001's did, well before the minute-long fallback.
    expect(performance.now() - t1).toBeLessThan(5000);
    expect(r.entries.map((e) => [e.stationId, e.riderId])).toEqual([['dn-001', 'w']]);
    // Leave dn-001's log where the race below continues it.
    (globalThis as { dn1Head?: StationEvent }).dn1Head = log[0];
  });

  it('never loses or repeats an entry for a reader polling while two stations upload through both instances', async () => {
    const rand = rng(16);
    const first = (globalThis as { dn1Head?: StationEvent }).dn1Head!;
    const N = 150;
    const logs = new Map<string, StationEvent[]>([
      ['dn-001', [first, ...chain(specs('dn-001', N), 1, first.hash)]],
      ['dn-002', chain(specs('dn-002', N))],
    ]);
    const quota = (e: StationEvent) => e.type === 'checkin' || e.type.startsWith('claim.');
    const want = [...logs].flatMap(([s, log]) => log.filter(quota).map((e) => `${s}#${e.seq}`));

    // The reader loads the zone first (dn-001's first check-in, an open window), then polls live.
    const boot = (await poll(a, 'dn-009', readerToken, undefined, 0)).json() as ZoneFeedResponse;
    expect(boot.entries.map((e) => `${e.stationId}#${e.seq}`)).toEqual(['dn-001#1']);
    const got: ZoneFeedEntry[] = [];
    let writing = true;
    const reader = (async () => {
      let cursor: string | undefined = boot.cursor;
      // Alternating instances, until the writers are done and it has caught up.
      for (let i = 0; i < 2000; i++) {
        const inst = i % 2 ? a : b;
        const res = await poll(inst, 'dn-009', readerToken, cursor, writing ? 300 : 0);
        expect(res.statusCode).toBe(200);
        const body = res.json() as ZoneFeedResponse;
        got.push(...body.entries);
        cursor = body.cursor;
        if (!writing && body.entries.length === 0) return;
      }
      throw new Error('the reader never caught up');
    })();
    await Promise.all(
      [...logs].map(async ([stationId, log]) => {
        let acked = stationId === 'dn-001' ? 1 : 0;
        while (acked < log.length) {
          const len = 1 + Math.floor(rand() * 12);
          const batch = log.slice(acked, acked + len);
          // The same batch through both instances at once: one stores it, the other finds a replay.
          const answers = await Promise.all([a.upload(stationId, batch), b.upload(stationId, batch)]);
          for (const r of answers) expect([200, 503]).toContain(r.statusCode);
          acked = Math.max(...answers.map((r) => (r.statusCode === 200 ? (r.json() as { ackedSeq: number }).ackedSeq : acked)));
        }
      }),
    );
    writing = false;
    await reader;
    const keys = got.map((e) => `${e.stationId}#${e.seq}`);
    // Every entry after the bootstrap, once.
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(want.filter((k) => k !== 'dn-001#1').sort());
    // In each station's order.
    for (const s of logs.keys()) {
      const seqs = got.filter((e) => e.stationId === s).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }

    // Each (rider, day) both stations granted is one conflict, found once across both instances.
    const granted = new Map<string, Set<string>>();
    for (const [s, log] of logs) {
      for (const e of log) if (e.type === 'claim.committed') {
        const k = `${e.data.riderId as string}|${e.day}`;
        granted.set(k, (granted.get(k) ?? new Set()).add(s));
      }
    }
    const expected = [...granted].filter(([, ss]) => ss.size === 2).map(([k]) => k).sort();
    expect(expected.length).toBeGreaterThan(3);
    const report = (await b.admin('GET', '/v1/reports/conflicts?week=2026-W48')).json() as { conflicts: Array<{ riderId: string; day: string; claims: unknown[] }> };
    expect(report.conflicts.map((c) => `${c.riderId}|${c.day}`).sort()).toEqual(expected);
    const found = async (inst: PgInstance) =>
      Number(/^waystation_cloud_zone_conflicts_found_total (\d+)$/m.exec((await inst.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body)?.[1] ?? 0);
    expect((await found(a)) + (await found(b))).toBe(expected.length);
  });
});
