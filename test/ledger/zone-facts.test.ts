/**
 * Remote facts in the station ledger (SPEC §13): applied with their cursor in one transaction,
 * replays ignored, kept across a restart, never in the station's own hash chain, pruned once
 * they can no longer decide, and decided on only in scope "zone".
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, addDays, type ZoneFact } from '../../protocol/index.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { QuotaLedger } from '../../edge/ledger/quota-ledger.ts';
import { ZoneFacts } from '../../edge/ledger/zone-facts.ts';
import { tempDir } from '../helpers/tmp.ts';

// 2026-11-23 10:00 in Shanghai.
const T0 = Date.parse('2026-11-23T02:00:00.000Z');
const DAY = 86_400_000;
const TODAY = '2026-11-23';

let tmp: ReturnType<typeof tempDir>;
let clock: ManualClock;
let ledger: Ledger;
let facts: ZoneFacts;
let quota: QuotaLedger;

function open(): void {
  ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai' });
  facts = new ZoneFacts(ledger, 'dn-001');
  quota = new QuotaLedger(ledger, { windowDays: 7, claimsPerDay: 1, scope: 'zone' });
  quota.zone = facts;
}

beforeEach(() => {
  tmp = tempDir();
  clock = new ManualClock(T0);
  open();
});

afterEach(() => {
  ledger.close();
  tmp.cleanup();
});

const checkin = (stationId: string, seq: number, riderId: string, day = TODAY): ZoneFact => ({
  stationId,
  seq,
  type: 'checkin',
  day,
  ts: T0 - 1000,
  riderId,
  windowFrom: day,
  windowTo: addDays(day, 6),
});
const claim = (stationId: string, seq: number, riderId: string, type: ZoneFact['type'], claimId: string, day = TODAY): ZoneFact => ({
  stationId,
  seq,
  type,
  day,
  ts: T0 - 500,
  riderId,
  claimId,
});
const req = (riderId: string) => ({ riderId, compartment: 'cold' as const, dispenserId: 'disp-1', commandTtlMs: 10_000 });

describe('remote facts in the ledger', () => {
  it('applies an answer with its cursor in one transaction and ignores a replayed one', () => {
    facts.useZone('dongcheng');
    const answer = [checkin('dn-002', 1, 'r1'), claim('dn-002', 2, 'r1', 'claim.committed', 'c1')];
    expect(facts.apply('dongcheng', 'cur-2', answer)).toEqual({ applied: 2, replayed: 0, ignored: 0 });
    expect(facts.apply('dongcheng', 'cur-2', answer)).toEqual({ applied: 0, replayed: 2, ignored: 0 });
    expect(facts.count()).toBe(2);
    expect(facts.state()).toMatchObject({ zone: 'dongcheng', cursor: 'cur-2', lastOkAt: T0 });
  });

  it('never writes a remote fact into the station’s own event log', () => {
    facts.useZone('dongcheng');
    facts.apply('dongcheng', 'c', [checkin('dn-002', 1, 'r1'), claim('dn-002', 2, 'r1', 'claim.committed', 'c1')]);
    expect(ledger.head().seq).toBe(0);
    expect(ledger.eventsAfter(0, 100)).toEqual([]);
    // The station's own entries, were the cloud to send them, are in its chain already.
    expect(facts.apply('dongcheng', 'c2', [checkin('dn-001', 9, 'r2')])).toEqual({ applied: 0, replayed: 0, ignored: 1 });
  });

  it('keeps facts and cursor across a restart, and a replay after it applies nothing twice', () => {
    facts.useZone('dongcheng');
    facts.apply('dongcheng', 'cur-1', [checkin('dn-002', 1, 'r1')]);
    ledger.close();
    open();
    expect(facts.state()).toMatchObject({ zone: 'dongcheng', cursor: 'cur-1' });
    // The cloud answered again from before the stored cursor (its answer was lost in the crash).
    expect(facts.apply('dongcheng', 'cur-2', [checkin('dn-002', 1, 'r1'), claim('dn-002', 2, 'r1', 'claim.committed', 'c1')])).toEqual({
      applied: 1,
      replayed: 1,
      ignored: 0,
    });
    expect(quota.reserve(req('r1'))).toMatchObject({ kind: 'already_claimed_today', station: 'dn-002' });
  });

  it('drops the old zone’s facts and cursor when the station changes zone, and refuses an answer for the old zone', () => {
    facts.useZone('dongcheng');
    facts.apply('dongcheng', 'cur-1', [checkin('dn-002', 1, 'r1')]);
    expect(facts.useZone('xicheng')).toBe(true);
    expect(facts.count()).toBe(0);
    expect(facts.state()).toEqual({ zone: 'xicheng', cursor: null, lastOkAt: null });
    expect(facts.apply('dongcheng', 'cur-9', [checkin('dn-002', 2, 'r1')])).toBe('zone_changed');
    expect(facts.count()).toBe(0);
  });

  it('prunes facts older than the longest window plus two days', () => {
    facts.useZone('dongcheng');
    facts.apply('dongcheng', 'a', [checkin('dn-002', 1, 'r1', addDays(TODAY, -9)), checkin('dn-002', 2, 'r2', addDays(TODAY, -8))]);
    expect(facts.count()).toBe(2);
    clock.advance(DAY); // a new day: the next answer prunes
    facts.apply('dongcheng', 'b', []);
    // Today is 11-24: kept from 11-15 (= 24 − 7 − 2) on.
    expect(facts.all().map((f) => f.day)).toEqual([addDays(TODAY, -8)]);
    // Days that can decide nothing are not stored at all: too old, or more than two days ahead.
    expect(facts.apply('dongcheng', 'c', [checkin('dn-002', 7, 'r7', addDays(TODAY, -20)), checkin('dn-002', 8, 'r8', '2099-01-01'), checkin('dn-002', 9, 'r9', addDays(TODAY, 3))])).toEqual({
      applied: 1,
      replayed: 0,
      ignored: 2,
    });
  });

  it('decides on remote facts in scope "zone" only', () => {
    facts.useZone('dongcheng');
    facts.apply('dongcheng', 'a', [checkin('dn-002', 1, 'r1'), claim('dn-002', 2, 'r1', 'claim.unknown', 'c1')]);
    // A window opened at dn-002 covers here; its unknown claim holds today.
    expect(quota.checkin('r1').outcome).toEqual({ kind: 'already_checked_in', window: { from: TODAY, to: addDays(TODAY, 6) }, station: 'dn-002' });
    expect(quota.reserve(req('r1'))).toEqual({ kind: 'already_claimed_today', day: TODAY, window: { from: TODAY, to: addDays(TODAY, 6) }, station: 'dn-002' });
    expect(quota.riderStatus('r1')).toMatchObject({ claimedToday: true, claimedAt: 'dn-002', window: { from: TODAY } });
    // Released there: the quota is given back across the zone.
    facts.apply('dongcheng', 'b', [claim('dn-002', 3, 'r1', 'claim.released', 'c1')]);
    expect(quota.reserve(req('r1')).kind).toBe('granted');

    // Scope "station": exactly §3 per station, remote facts or not.
    quota.policy = { windowDays: 7, claimsPerDay: 1, scope: 'station' };
    facts.apply('dongcheng', 'c', [checkin('dn-003', 1, 'r9'), claim('dn-003', 2, 'r9', 'claim.committed', 'c9')]);
    expect(quota.reserve(req('r9')).kind).toBe('not_checked_in');
    expect(quota.checkin('r9').outcome.kind).toBe('opened');
    expect(quota.reserve(req('r9')).kind).toBe('granted');
  });

  it('knows when a window opened at another station of the zone ended, in scope "zone" only', () => {
    facts.useZone('dongcheng');
    const past = addDays(TODAY, -8);
    facts.apply('dongcheng', 'a', [checkin('dn-002', 1, 'r1', past)]);
    // The window ran past..past+6, ended yesterday: the kiosk can say so.
    expect(quota.riderStatus('r1').window).toBeNull();
    expect(quota.lastWindowToBefore('r1', TODAY)).toBe(addDays(past, 6));
    expect(quota.lastWindowToBefore('r2', TODAY)).toBeNull();
    // Whichever ended last counts, here or there: r2's window opened here 9 days ago ended before r1's.
    ledger.close();
    clock = new ManualClock(T0 - 9 * DAY);
    open();
    expect(quota.checkin('r2').outcome.kind).toBe('opened');
    expect(quota.checkin('r1').outcome.kind).toBe('opened');
    ledger.close();
    clock = new ManualClock(T0);
    open();
    facts.useZone('dongcheng');
    expect(quota.lastWindowToBefore('r2', TODAY)).toBe(addDays(TODAY, -3));
    expect(quota.lastWindowToBefore('r1', TODAY)).toBe(addDays(past, 6));
    // Scope "station": the remote window does not count, only r1's own window here.
    quota.policy = { windowDays: 7, claimsPerDay: 1, scope: 'station' };
    expect(quota.lastWindowToBefore('r1', TODAY)).toBe(addDays(TODAY, -3));
  });

  it('writes how old the feed was when it granted into claim.committed, in zone scope only', () => {
    facts.useZone('dongcheng');
    quota.zoneFeedAgeMs = () => 1234;
    quota.checkin('r1');
    const g = quota.reserve(req('r1'));
    if (g.kind !== 'granted') throw new Error('expected a grant');
    quota.markSent(g.claim.id); // dispensing: the command went out (SPEC §3 rule 4)
    quota.settle(g.claim.id, 'committed');
    expect(ledger.eventsAfter(0, 10).find((e) => e.type === 'claim.committed')?.data).toMatchObject({ zoneFeedAgeMs: 1234 });

    // An unknown claim holds the quota (it can be half of a conflict): it carries the age too, and keeps it for its late commit.
    quota.checkin('r3');
    quota.zoneFeedAgeMs = () => 99;
    const u = quota.reserve(req('r3'));
    if (u.kind !== 'granted') throw new Error('expected a grant');
    quota.markSent(u.claim.id); // dispensing: the command went out (SPEC §3 rule 4)
    quota.zoneFeedAgeMs = () => 5;
    quota.settle(u.claim.id, 'unknown', { reason: 'timeout' });
    quota.settle(u.claim.id, 'committed');
    const ofU = ledger.eventsAfter(0, 100).filter((e) => e.data.claimId === u.claim.id);
    expect(ofU.map((e) => [e.type, e.data.zoneFeedAgeMs])).toEqual([
      ['claim.unknown', 99],
      ['claim.resolved', undefined],
      ['claim.committed', 99],
    ]);

    quota.policy = { windowDays: 7, claimsPerDay: 1, scope: 'station' };
    quota.checkin('r2');
    const h = quota.reserve(req('r2'));
    if (h.kind !== 'granted') throw new Error('expected a grant');
    quota.markSent(h.claim.id); // dispensing: the command went out (SPEC §3 rule 4)
    quota.settle(h.claim.id, 'committed');
    expect(ledger.eventsAfter(0, 10).filter((e) => e.type === 'claim.committed').at(-1)?.data).not.toHaveProperty('zoneFeedAgeMs');
  });
});
