import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chain, noonOf, type EventSpec } from './helpers.ts';
import { harness, type Harness } from './appHarness.ts';

const DAYS = ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-30', '2026-12-01'];

function seededSpecs(n: number): EventSpec[] {
  const out: EventSpec[] = [];
  for (let i = 0; i < n; i++) {
    const day = DAYS[i % DAYS.length]!;
    const rider = `r${i % 7}`;
    out.push(
      i % 3 === 0
        ? { type: 'checkin', ts: noonOf(day) + i, data: { riderId: rider, windowFrom: day, windowTo: day } }
        : { type: 'claim.committed', ts: noonOf(day) + i, data: { claimId: `c${i}`, riderId: rider, compartment: i % 2 ? 'hot' : 'cold', dispenserId: 'd1', sponsor: `s${i % 2}` } },
    );
  }
  return out;
}

async function snapshot(h: Harness) {
  const events = await h.store.eventsAfter('dn-001', 0, 10_000);
  const w48 = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48')).json();
  const w49 = (await h.admin('GET', '/v1/reports/weekly?week=2026-W49')).json();
  return { events, w48, w49 };
}

describe('sync ingest (SPEC §9)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers ackedSeq, the highest contiguous seq held', async () => {
    const events = chain(seededSpecs(5));
    const r = await h.upload('dn-001', events.slice(0, 3));
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ackedSeq: 3 });
    expect((await h.upload('dn-001', events.slice(3))).json()).toEqual({ ackedSeq: 5 });
  });

  it('replaying any batch twice changes nothing', async () => {
    const events = chain(seededSpecs(40));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 39 }), { maxLength: 6 }), fc.nat(), async (cuts, pick) => {
        await h.close();
        h = await harness();
        const bounds = [0, ...cuts.sort((a, b) => a - b), 40];
        const batches = bounds.slice(1).map((b, i) => events.slice(bounds[i], b));
        for (const b of batches) expect((await h.upload('dn-001', b)).statusCode).toBe(200);
        const before = await snapshot(h);
        const again = batches[pick % batches.length]!;
        const r = await h.upload('dn-001', again);
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual({ ackedSeq: 40 });
        // A replay straddling the head applies only the new part.
        expect(await snapshot(h)).toEqual(before);
      }),
      { numRuns: 15 },
    );
  });

  it('applies only the new part of a batch that overlaps what is held', async () => {
    const events = chain(seededSpecs(10));
    await h.upload('dn-001', events.slice(0, 6));
    expect((await h.upload('dn-001', events.slice(3, 10))).json()).toEqual({ ackedSeq: 10 });
    expect(await h.store.countEvents('dn-001')).toBe(10);
  });

  it('refuses a batch that would leave a gap with 409 and expectedSeq', async () => {
    const events = chain(seededSpecs(10));
    await h.upload('dn-001', events.slice(0, 4));
    const r = await h.upload('dn-001', events.slice(6));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ error: 'gap', expectedSeq: 5 });
    expect(await h.store.countEvents('dn-001')).toBe(4);
  });

  it('refuses a forged event that breaks the chain and raises an alert for fleet health', async () => {
    const events = chain(seededSpecs(10));
    await h.upload('dn-001', events.slice(0, 5));
    const forged = events.slice(5).map((e) => (e.seq === 7 ? { ...e, data: { ...e.data, riderId: 'someone-else' } } : e));
    const r = await h.upload('dn-001', forged);
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ error: 'chain_broken', seq: 7, reason: 'hash_mismatch', ackedSeq: 5 });
    expect(await h.store.countEvents('dn-001')).toBe(5);
    const health = (await h.admin('GET', '/v1/fleet/health')).json();
    expect(health.chainAlerts).toMatchObject([{ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch' }]);
    // The genuine events still go through.
    expect((await h.upload('dn-001', events.slice(5))).json()).toEqual({ ackedSeq: 10 });
  });

  it('lets an admin acknowledge an alert, which leaves fleet health until it is raised again', async () => {
    const events = chain(seededSpecs(6));
    await h.upload('dn-001', events.slice(0, 2));
    const forged = events.slice(2).map((e) => (e.seq === 4 ? { ...e, ts: e.ts + 1 } : e));
    expect((await h.upload('dn-001', forged)).statusCode).toBe(422);
    const [alert] = (await h.admin('GET', '/v1/fleet/health')).json().chainAlerts as Array<{ id: number; seq: number }>;
    expect(alert).toMatchObject({ seq: 4, ackedAt: null });

    const ack = await h.admin('POST', `/v1/alerts/${alert!.id}/ack`);
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ id: alert!.id, ackedBy: expect.any(String), ackedAt: expect.any(Number) });
    expect((await h.admin('GET', '/v1/fleet/health')).json().chainAlerts).toEqual([]);
    expect((await h.admin('POST', '/v1/alerts/999999/ack')).statusCode).toBe(404);
    expect((await h.admin('POST', '/v1/alerts/abc/ack')).statusCode).toBe(400);

    // The same forgery again: the alert is open again, counted twice.
    expect((await h.upload('dn-001', forged)).statusCode).toBe(422);
    expect((await h.admin('GET', '/v1/fleet/health')).json().chainAlerts).toMatchObject([{ id: alert!.id, seq: 4, count: 2, ackedAt: null }]);
  });

  it('refuses a reordered batch', async () => {
    const events = chain(seededSpecs(6));
    const reordered = [events[0]!, events[2]!, events[1]!];
    const r = await h.upload('dn-001', reordered);
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ error: 'chain_broken', reason: 'seq_not_contiguous' });
    // Events renumbered to look contiguous still fail the hash check.
    const renumbered = [events[0]!, { ...events[2]!, seq: 2 }];
    expect((await h.upload('dn-001', renumbered)).json()).toMatchObject({ error: 'chain_broken', seq: 2, reason: 'hash_mismatch' });
    expect(await h.store.countEvents('dn-001')).toBe(0);
  });

  it('raises a chain alert when a replayed event differs from the stored one', async () => {
    const events = chain(seededSpecs(4));
    await h.upload('dn-001', events);
    const other = chain(seededSpecs(5).slice(1)); // a different log with the same seqs
    const r = await h.upload('dn-001', other.slice(0, 2));
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ error: 'chain_broken', seq: 1, reason: 'replay_mismatch' });
    expect((await h.store.alerts(5))[0]).toMatchObject({ kind: 'chain_broken', seq: 1, detail: 'replay_mismatch' });
  });

  it('a station token cannot upload for another station', async () => {
    const events = chain(seededSpecs(3));
    const r = await h.upload('dn-002', events, 'station-token-dn-001');
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('forbidden');
    expect(await h.store.countEvents('dn-002')).toBe(0);
    expect((await h.upload('dn-001', events, 'not-a-token')).statusCode).toBe(401);
    const none = await h.app.inject({ method: 'POST', url: '/v1/stations/dn-001/events', payload: { events } });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized' });
    // An admin token is not a station token either.
    expect((await h.upload('dn-001', events, 'admin-token-street-office')).statusCode).toBe(401);
  });

  it('refuses a malformed upload body with 400 and a stable code', async () => {
    const r = await h.upload('dn-001', [{ seq: 1 } as never]);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('bad_request');
  });

  it('stores an event whose data does not match its type but raises an alert', async () => {
    const events = chain([{ type: 'checkin', ts: noonOf('2026-11-23'), data: { rider: 'x' } }]);
    expect((await h.upload('dn-001', events)).json()).toEqual({ ackedSeq: 1 });
    expect((await h.store.alerts(5))[0]).toMatchObject({ kind: 'invalid_event', seq: 1 });
  });
});
