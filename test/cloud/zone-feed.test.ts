// The zone feed over HTTP (SPEC §13) on the embedded SQLite store: what a station of a zone
// learns from the others, the station token, the cursor, and the long poll's wake-ups and bounds.
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './appHarness.ts';
import { bearer, chain, noonOf, TOKENS, type EventSpec } from './helpers.ts';
import type { StationEvent, ZoneFeedResponse } from '../../protocol/index.ts';
import { GENESIS_HASH } from '../../protocol/index.ts';

const DAY = '2026-11-25'; // the harness clock's service day in Shanghai
const checkin = (riderId: string, day = DAY): EventSpec => ({ type: 'checkin', ts: noonOf(day), data: { riderId, windowFrom: day, windowTo: '2026-12-01' } });
const claim = (riderId: string, claimId: string, day = DAY): EventSpec => ({
  type: 'claim.committed',
  ts: noonOf(day) + 60_000,
  data: { claimId, riderId, compartment: 'cold', dispenserId: 'disp-1' },
});
const heartbeat = (ts: number): EventSpec => ({ type: 'station.heartbeat', ts, data: { uptimeS: 1 } });

/** Appends to one station's log, remembering its head. */
function logOf(h: Harness, stationId: string) {
  let head = { seq: 0, hash: GENESIS_HASH };
  return async (...specs: EventSpec[]): Promise<StationEvent[]> => {
    const events = chain(specs, head.seq, head.hash);
    const r = await h.upload(stationId, events);
    expect(r.statusCode).toBe(200);
    head = { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash };
    return events;
  };
}

const feed = (h: Harness, stationId: string, query: Record<string, string | number> = {}, token?: string) =>
  h.app.inject({
    method: 'GET',
    url: `/v1/stations/${stationId}/zone-feed`,
    query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
    headers: bearer(token ?? TOKENS[stationId as keyof typeof TOKENS]),
  });

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('zone feed (SPEC §13)', () => {
  it('gives a station the check-ins and claims of the other stations of its zone, in order, and not its own or another zone’s', async () => {
    h = await harness();
    const dn1 = logOf(h, 'dn-001');
    const dn2 = logOf(h, 'dn-002');
    const jd3 = logOf(h, 'jd-003');
    // Bootstrap of an empty zone: no entries, a cursor to go on from.
    const first = await feed(h, 'dn-002');
    expect(first.statusCode).toBe(200);
    const boot = first.json() as ZoneFeedResponse;
    expect(boot).toMatchObject({ zone: 'daning', entries: [] });
    expect(typeof boot.cursor).toBe('string');

    await dn1(checkin('r1'), heartbeat(noonOf(DAY) + 1), claim('r1', 'c1'));
    await dn2(checkin('r2'));
    await jd3(checkin('r3'));
    const next = (await feed(h, 'dn-002', { after: boot.cursor })).json() as ZoneFeedResponse;
    expect(next.entries).toEqual([
      { stationId: 'dn-001', seq: 1, type: 'checkin', day: DAY, ts: noonOf(DAY), riderId: 'r1', windowFrom: DAY, windowTo: '2026-12-01' },
      { stationId: 'dn-001', seq: 3, type: 'claim.committed', day: DAY, ts: noonOf(DAY) + 60_000, riderId: 'r1', claimId: 'c1' },
    ]);
    // Nothing new: answered at once with waitMs 0, the cursor past dn-002's own check-in.
    const idle = (await feed(h, 'dn-002', { after: next.cursor })).json() as ZoneFeedResponse;
    expect(idle.entries).toEqual([]);
    // dn-001 sees dn-002's check-in; jd-003 sees nothing of daning.
    expect(((await feed(h, 'dn-001')).json() as ZoneFeedResponse).entries.map((e) => [e.stationId, e.riderId])).toEqual([['dn-002', 'r2']]);
    expect(((await feed(h, 'jd-003')).json() as ZoneFeedResponse)).toMatchObject({ zone: 'jingan', entries: [] });
  });

  it('bootstraps with the open windows and today’s and yesterday’s claims only', async () => {
    h = await harness();
    const dn1 = logOf(h, 'dn-001');
    await dn1(
      { type: 'checkin', ts: noonOf('2026-11-10'), data: { riderId: 'old', windowFrom: '2026-11-10', windowTo: '2026-11-16' } },
      { type: 'checkin', ts: noonOf('2026-11-20'), data: { riderId: 'open', windowFrom: '2026-11-20', windowTo: '2026-11-26' } },
      claim('open', 'c-22', '2026-11-22'),
      claim('open', 'c-24', '2026-11-24'),
      claim('open', 'c-25', '2026-11-25'),
    );
    const boot = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    expect(boot.entries.map((e) => [e.type, e.riderId, e.claimId ?? e.windowTo])).toEqual([
      ['checkin', 'open', '2026-11-26'],
      ['claim.committed', 'open', 'c-24'],
      ['claim.committed', 'open', 'c-25'],
    ]);
    // The cursor goes on after everything the bootstrap covered.
    expect(((await feed(h, 'dn-002', { after: boot.cursor })).json() as ZoneFeedResponse).entries).toEqual([]);
  });

  it('pages a bootstrap and a backlog bigger than one answer, losing nothing', async () => {
    h = await harness(undefined, { zoneFeed: { maxEntries: 3 } });
    const dn1 = logOf(h, 'dn-001');
    await dn1(...Array.from({ length: 7 }, (_, i) => checkin(`r${i}`)));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const r = (await feed(h, 'dn-002', cursor === undefined ? {} : { after: cursor })).json() as ZoneFeedResponse;
      seen.push(...r.entries.map((e) => e.riderId));
      cursor = r.cursor;
    }
    expect(seen).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    await dn1(...Array.from({ length: 5 }, (_, i) => checkin(`s${i}`)));
    const a = (await feed(h, 'dn-002', { after: cursor!, waitMs: 20_000 })).json() as ZoneFeedResponse;
    const b = (await feed(h, 'dn-002', { after: a.cursor, waitMs: 20_000 })).json() as ZoneFeedResponse;
    expect([...a.entries, ...b.entries].map((e) => e.riderId)).toEqual(['s0', 's1', 's2', 's3', 's4']);
  });

  it('reads past a backlog of the station’s own rows to the others’ in one answer', async () => {
    h = await harness(undefined, { zoneFeed: { maxEntries: 3 } });
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    await logOf(h, 'dn-002')(...Array.from({ length: 10 }, (_, i) => checkin(`own${i}`)));
    await logOf(h, 'dn-001')(checkin('r1'));
    const r = (await feed(h, 'dn-002', { after: cursor })).json() as ZoneFeedResponse;
    expect(r.entries.map((e) => e.riderId)).toEqual(['r1']);
  });

  it('takes the station token of that station, and refuses a disabled station', async () => {
    h = await harness();
    expect((await h.app.inject({ method: 'GET', url: '/v1/stations/dn-002/zone-feed' })).statusCode).toBe(401);
    const other = await feed(h, 'dn-002', {}, TOKENS['dn-001']);
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error: 'forbidden' });
    await h.app.inject({ method: 'PUT', url: '/v1/stations/dn-002', headers: bearer(TOKENS.admin), payload: { enabled: false } });
    const off = await feed(h, 'dn-002');
    expect(off.statusCode).toBe(403);
    expect(off.json()).toMatchObject({ error: 'station_disabled' });
  });

  it('refuses a cursor it did not give (400 bad_cursor) and waitMs out of 0..25000', async () => {
    h = await harness();
    for (const after of ['garbage', 'z1.ZGFuaW5n.-1', 'z1.ZGFuaW5n', 'b1.ZGFuaW5n.3.9', 'z1.!!!.1', 'z1.ZGFuaW5n.99999999999999999999']) {
      const r = await feed(h, 'dn-002', { after });
      expect(r.statusCode, after).toBe(400);
      expect(r.json(), after).toMatchObject({ error: 'bad_cursor' });
    }
    expect((await feed(h, 'dn-002', { waitMs: 25_001 })).statusCode).toBe(400);
    expect((await feed(h, 'dn-002', { waitMs: -1 })).statusCode).toBe(400);
  });

  it('answers 409 zone_changed to a cursor of the zone the station left, and the next config names the new zone', async () => {
    h = await harness();
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    await h.app.inject({ method: 'PUT', url: '/v1/stations/dn-002', headers: bearer(TOKENS.admin), payload: { zone: 'jingan' } });
    const r = await feed(h, 'dn-002', { after: cursor });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ error: 'zone_changed', zone: 'jingan' });
    const cfg = await h.app.inject({ method: 'GET', url: '/v1/stations/dn-002/config', headers: bearer(TOKENS['dn-002']) });
    expect(cfg.json()).toMatchObject({ zone: 'jingan', quota: { windowDays: 7, claimsPerDay: 1, scope: 'station' } });
    // Loading the new zone again works.
    expect(((await feed(h, 'dn-002')).json() as ZoneFeedResponse).zone).toBe('jingan');
  });

  it('wakes a waiting poll when another station of the zone uploads, not on its own upload or another zone’s', async () => {
    // The fallback poll is a minute: only the wake-up can answer within the test.
    h = await harness(undefined, { zoneFeed: { fallbackPollMs: 60_000 } });
    const dn1 = logOf(h, 'dn-001');
    const dn2 = logOf(h, 'dn-002');
    const jd3 = logOf(h, 'jd-003');
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    let answered = false;
    const waiting = feed(h, 'dn-002', { after: cursor, waitMs: 25_000 }).then((r) => {
      answered = true;
      return r;
    });
    await until(async () => (await openPolls(h)) === 1);
    await dn2(checkin('mine'));
    await jd3(checkin('elsewhere'));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    const t0 = performance.now();
    await dn1(checkin('r1'));
    const r = (await waiting).json() as ZoneFeedResponse;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.entries.map((e) => [e.stationId, e.riderId])).toEqual([['dn-001', 'r1']]);
  });

  it('answers the oldest poll of a station at once when it opens one more than its bound', async () => {
    h = await harness(undefined, { zoneFeed: { fallbackPollMs: 60_000, maxPollsPerStation: 2 } });
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    const p1 = feed(h, 'dn-002', { after: cursor, waitMs: 25_000 });
    await until(async () => (await openPolls(h)) === 1);
    const p2 = feed(h, 'dn-002', { after: cursor, waitMs: 25_000 });
    await until(async () => (await openPolls(h)) === 2);
    const p3 = feed(h, 'dn-002', { after: cursor, waitMs: 25_000 });
    const first = await p1;
    expect(first.statusCode).toBe(200);
    expect((first.json() as ZoneFeedResponse).entries).toEqual([]);
    await until(async () => (await openPolls(h)) === 2);
    // The two still open answer when dn-001 uploads.
    await logOf(h, 'dn-001')(checkin('r1'));
    for (const p of [p2, p3]) expect(((await p).json() as ZoneFeedResponse).entries.map((e) => e.riderId)).toEqual(['r1']);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
    expect(metrics).toMatch(/waystation_cloud_zone_feed_polls_answered_total\{reason="superseded"\} 1/);
    expect(metrics).toMatch(/waystation_cloud_zone_feed_polls_answered_total\{reason="entries"\} 2/);
    expect(metrics).toMatch(/waystation_cloud_zone_feed_polls_open 0/);
  });

  it('answers at once, without waiting, a poll past the process bound of open polls', async () => {
    h = await harness(undefined, { zoneFeed: { fallbackPollMs: 60_000, maxPolls: 1 } });
    const c2 = ((await feed(h, 'dn-002')).json() as ZoneFeedResponse).cursor;
    const c1 = ((await feed(h, 'dn-001')).json() as ZoneFeedResponse).cursor;
    const held = feed(h, 'dn-002', { after: c2, waitMs: 25_000 });
    await until(async () => (await openPolls(h)) === 1);
    const t0 = performance.now();
    const r = await feed(h, 'dn-001', { after: c1, waitMs: 25_000 });
    expect(r.statusCode).toBe(200);
    expect((r.json() as ZoneFeedResponse).entries).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5000);
    await logOf(h, 'dn-001')(checkin('r1'));
    expect(((await held).json() as ZoneFeedResponse).entries.map((e) => e.riderId)).toEqual(['r1']);
  });

  it('answers the bootstrap of an empty zone at once, even asked to wait, with a cursor that then waits', async () => {
    h = await harness();
    const t0 = performance.now();
    const boot = (await feed(h, 'dn-002', { waitMs: 5_000 })).json() as ZoneFeedResponse;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(boot.entries).toEqual([]);
    // The cursor is live: the next poll waits for what another station uploads, and gets it.
    const next = feed(h, 'dn-002', { after: boot.cursor, waitMs: 5_000 });
    await logOf(h, 'dn-001')(checkin('r-late'));
    expect(((await next).json() as ZoneFeedResponse).entries.map((e) => e.riderId)).toEqual(['r-late']);
  });

  it('answers a poll after waitMs with no entries when nothing comes', async () => {
    h = await harness();
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    const t0 = performance.now();
    const r = (await feed(h, 'dn-002', { after: cursor, waitMs: 300 })).json() as ZoneFeedResponse;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
    expect(r.entries).toEqual([]);
    expect(r.cursor).toBe(cursor);
  });

  it('answers every open poll when the cloud stops, instead of holding the close up', async () => {
    h = await harness();
    const { cursor } = (await feed(h, 'dn-002')).json() as ZoneFeedResponse;
    const p = feed(h, 'dn-002', { after: cursor, waitMs: 25_000 });
    await until(async () => (await openPolls(h)) === 1);
    const t0 = performance.now();
    await h.app.close();
    expect(((await p).json() as ZoneFeedResponse).entries).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

/** Open polls, as the cloud's metrics say. */
async function openPolls(h: Harness): Promise<number> {
  const text = (await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
  return Number(/^waystation_cloud_zone_feed_polls_open (\d+)$/m.exec(text)?.[1] ?? NaN);
}

async function until(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
