/**
 * The quota rule across a zone (SPEC §13 on §3): a station decides on its own windows and
 * claims plus the remote facts of the zone it holds. Property tests: the rules hold for a rider
 * across the zone when the facts arrive; the order of the facts never matters; with nothing
 * remote the decision is exactly the per-station one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addDays, daysBetween, type ServiceDay } from '../../protocol/time.ts';
import {
  decideCheckin,
  decideClaim,
  decideZoneCheckin,
  decideZoneClaim,
  holdsQuota,
  remoteClaimsOf,
  remoteWindowsOf,
  type ClaimOnDay,
  type ClaimStatus,
  type RemoteFact,
  type Window,
  type ZoneView,
} from '../../protocol/quota.ts';

const STATIONS = ['dn-001', 'dn-002', 'dn-003', 'dn-004'];
const startDay = fc.integer({ min: 0, max: 16_000 }).map((n) => addDays('2000-01-01', n));

/** A zone where every station holds its own state and receives every other station's facts. */
class Zone {
  readonly local = new Map<string, { windows: Window[]; claims: Array<ClaimOnDay & { claimId: string }> }>();
  readonly facts = new Map<string, RemoteFact[]>();
  private seq = 0;
  constructor(readonly stations: string[]) {
    for (const s of stations) {
      this.local.set(s, { windows: [], claims: [] });
      this.facts.set(s, []);
    }
  }
  /** Facts station `at` holds of the others (all of them: a feed that always arrived in time). */
  view(at: string, day: ServiceDay): ZoneView {
    const f = this.facts.get(at)!;
    return { windows: remoteWindowsOf(f).filter((w) => w.from <= day && day <= w.to), claims: remoteClaimsOf(f).filter((c) => c.day === day) };
  }
  private tell(from: string, fact: Omit<RemoteFact, 'stationId' | 'ts'>): void {
    this.seq++;
    for (const s of this.stations) if (s !== from) this.facts.get(s)!.push({ ...fact, stationId: from, ts: this.seq });
  }
  checkin(at: string, day: ServiceDay) {
    const st = this.local.get(at)!;
    const out = decideZoneCheckin(st.windows.filter((w) => w.from <= day && day <= w.to), this.view(at, day), day);
    if (out.kind === 'opened') {
      st.windows.push(out.window);
      this.tell(at, { type: 'checkin', day, riderId: 'r', windowFrom: out.window.from, windowTo: out.window.to });
    }
    return out;
  }
  claim(at: string, day: ServiceDay, outcome: 'committed' | 'released' | 'unknown') {
    const st = this.local.get(at)!;
    const out = decideZoneClaim(st.windows, st.claims, this.view(at, day), day);
    if (out.kind === 'granted') {
      const claimId = `c${this.seq + 1}`;
      st.claims.push({ day, status: outcome, claimId });
      const type = outcome === 'committed' ? 'claim.committed' : outcome === 'released' ? 'claim.released' : 'claim.unknown';
      this.tell(at, { type, day, riderId: 'r', claimId });
    }
    return out;
  }
  /** Every quota-holding claim of the rider in the whole zone, by day. */
  heldByDay(): Map<string, number> {
    const held = new Map<string, number>();
    for (const st of this.local.values()) for (const c of st.claims) if (holdsQuota(c.status)) held.set(c.day, (held.get(c.day) ?? 0) + 1);
    return held;
  }
  allWindows(): Window[] {
    return [...this.local.values()].flatMap((s) => s.windows).sort((a, b) => a.from.localeCompare(b.from));
  }
}

describe('quota rule across a zone: simulated riders moving between stations', () => {
  type Step = { gapDays: number; station: string } & ({ action: 'checkin' } | { action: 'claim'; outcome: 'committed' | 'released' | 'unknown' });
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ gapDays: fc.integer({ min: 0, max: 9 }), station: fc.constantFrom(...STATIONS), action: fc.constant('checkin' as const) }),
    fc.record({
      gapDays: fc.integer({ min: 0, max: 2 }),
      station: fc.constantFrom(...STATIONS),
      action: fc.constant('claim' as const),
      outcome: fc.constantFrom<'committed' | 'released' | 'unknown'>('committed', 'released', 'unknown'),
    }),
  );

  it('keeps SPEC §3 for a rider across the zone when every fact arrives in time', () => {
    fc.assert(
      fc.property(startDay, fc.array(step, { minLength: 1, maxLength: 60 }), (start, steps) => {
        const z = new Zone(STATIONS);
        let day = start;
        for (const st of steps) {
          day = addDays(day, st.gapDays);
          const covering = z.allWindows().find((w) => w.from <= day && day <= w.to);
          if (st.action === 'checkin') {
            const out = z.checkin(st.station, day);
            if (covering) {
              // A window opened at any station of the zone covers here (SPEC §13).
              expect(out.kind).toBe('already_checked_in');
              expect(out.window).toEqual({ from: covering.from, to: covering.to });
            } else {
              expect(out.kind).toBe('opened');
              expect(daysBetween(out.window.from, out.window.to)).toBe(6);
            }
          } else {
            const heldBefore = z.heldByDay().get(day) ?? 0;
            const out = z.claim(st.station, day, st.outcome);
            if (out.kind === 'granted') expect(heldBefore).toBe(0);
            else if (out.kind === 'not_checked_in') expect(covering).toBeUndefined();
            else {
              expect(heldBefore).toBe(1);
              // Taken at another station: the refusal names it; taken here: it names none.
              const here = z.local.get(st.station)!.claims.some((c) => c.day === day && holdsQuota(c.status));
              if (here) expect(out.station).toBeUndefined();
              else expect(STATIONS).toContain(out.station);
              if (!here) expect(out.station).not.toBe(st.station);
            }
          }
          // At most one bottle a day in the whole zone, and windows never overlap across it.
          for (const n of z.heldByDay().values()) expect(n).toBeLessThanOrEqual(1);
          const ws = z.allWindows();
          for (let i = 1; i < ws.length; i++) expect(daysBetween(ws[i - 1]!.to, ws[i]!.from)).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('quota rule across a zone: local and remote', () => {
  const day = '2026-12-02';
  const status = fc.constantFrom<ClaimStatus>('committed', 'released', 'unknown', 'reserved', 'dispensing');
  const localWindows = fc.array(fc.integer({ min: -9, max: 2 }).map((d): Window => ({ from: addDays(day, d), to: addDays(day, d + 6) })), { maxLength: 2 });
  const localClaims = fc.array(fc.record({ day: fc.constantFrom(day, addDays(day, -1)), status }), { maxLength: 3 });
  const fact: fc.Arbitrary<RemoteFact> = fc.oneof(
    fc.record({
      stationId: fc.constantFrom(...STATIONS),
      type: fc.constant('checkin' as const),
      day: fc.integer({ min: -9, max: 1 }).map((d) => addDays(day, d)),
      ts: fc.integer({ min: 0, max: 1000 }),
      riderId: fc.constant('r'),
    }).map((f) => ({ ...f, windowFrom: f.day, windowTo: addDays(f.day, 6) })),
    fc.record({
      stationId: fc.constantFrom(...STATIONS),
      type: fc.constantFrom('claim.committed' as const, 'claim.unknown' as const, 'claim.released' as const, 'claim.resolved' as const),
      day: fc.constantFrom(day, addDays(day, -1)),
      ts: fc.integer({ min: 0, max: 1000 }),
      riderId: fc.constant('r'),
      claimId: fc.constantFrom('a', 'b', 'c'),
      outcome: fc.constantFrom<'committed' | 'released' | undefined>('committed', 'released', undefined),
    }),
  );
  const viewOf = (facts: readonly RemoteFact[]): ZoneView => ({
    windows: remoteWindowsOf(facts).filter((w) => w.from <= day && day <= w.to),
    claims: remoteClaimsOf(facts).filter((c) => c.day === day),
  });
  const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();

  it('decides the same whatever order the facts arrived in', () => {
    fc.assert(
      fc.property(localWindows, localClaims, fc.array(fact, { maxLength: 12 }).chain((fs) => fc.tuple(fc.constant(fs), fc.shuffledSubarray(fs, { minLength: fs.length, maxLength: fs.length }))), (lw, lc, [facts, shuffled]) => {
        expect(decideZoneClaim(lw, lc, viewOf(shuffled), day)).toEqual(decideZoneClaim(lw, lc, viewOf(facts), day));
        expect(decideZoneCheckin(lw, viewOf(shuffled), day)).toEqual(decideZoneCheckin(lw, viewOf(facts), day));
        expect(sorted(remoteClaimsOf(shuffled))).toEqual(sorted(remoteClaimsOf(facts)));
      }),
      { numRuns: 500 },
    );
  });

  it('decides on local and remote together as one station would on all of them', () => {
    fc.assert(
      fc.property(localWindows, localClaims, fc.array(fact, { maxLength: 12 }), (lw, lc, facts) => {
        const v = viewOf(facts);
        const asOne = decideClaim([...lw, ...v.windows], [...lc, ...v.claims], day);
        const zone = decideZoneClaim(lw, lc, v, day);
        expect(zone.kind).toBe(asOne.kind);
        if (zone.kind === 'already_claimed_today') {
          // Named only when the bottle was not taken here, and then it is where one was taken.
          const here = lc.some((c) => c.day === day && holdsQuota(c.status));
          if (here) expect(zone.station).toBeUndefined();
          else expect(v.claims.filter((c) => holdsQuota(c.status)).map((c) => c.stationId)).toContain(zone.station);
        }
        const ci = decideZoneCheckin(lw, v, day);
        expect(ci.kind).toBe(decideCheckin([...lw, ...v.windows], day).kind);
      }),
      { numRuns: 500 },
    );
  });

  it('is exactly the per-station rule when nothing remote is held (scope "station")', () => {
    const none: ZoneView = { windows: [], claims: [] };
    fc.assert(
      fc.property(localWindows, localClaims, (lw, lc) => {
        expect(decideZoneClaim(lw, lc, none, day)).toEqual(decideClaim(lw, lc, day));
        expect(decideZoneCheckin(lw, none, day)).toEqual(decideCheckin(lw, day));
      }),
      { numRuns: 300 },
    );
  });

  it('holds the day for a remote unknown claim until it is released, and gives it back then', () => {
    const w = { stationId: 'dn-002', type: 'checkin' as const, day, ts: 1, riderId: 'r', windowFrom: day, windowTo: addDays(day, 6) };
    const unknown: RemoteFact = { stationId: 'dn-002', type: 'claim.unknown', day, ts: 2, riderId: 'r', claimId: 'x' };
    const resolved: RemoteFact = { stationId: 'dn-002', type: 'claim.resolved', day, ts: 3, riderId: 'r', claimId: 'x', outcome: 'released' };
    expect(decideZoneClaim([], [], viewOf([w, unknown]), day)).toEqual({
      kind: 'already_claimed_today',
      window: { from: day, to: addDays(day, 6) },
      station: 'dn-002',
    });
    expect(decideZoneClaim([], [], viewOf([resolved, w, unknown]), day)).toEqual({ kind: 'granted', window: { from: day, to: addDays(day, 6) } });
    // A remote window opens the window here: the check-in answers it, with the station.
    expect(decideZoneCheckin([], viewOf([w]), day)).toEqual({ kind: 'already_checked_in', window: { from: day, to: addDays(day, 6) }, station: 'dn-002' });
  });
});
