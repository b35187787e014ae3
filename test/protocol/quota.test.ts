/**
 * The quota rule (SPEC §3, contract) and service days (SPEC §2): one check-in opens seven
 * consecutive service days, one bottle per service day, a released claim gives the quota back.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addDays,
  daysBetween,
  isServiceDay,
  isoWeekMonday,
  isoWeekOf,
  serviceDayOf,
  type ServiceDay,
} from '../../protocol/time.ts';
import {
  decideCheckin,
  decideClaim,
  holdsQuota,
  type ClaimOnDay,
  type ClaimStatus,
  type Window,
} from '../../protocol/quota.ts';

/** A rider's quota state as the edge keeps it; decisions are applied to it like the shell does. */
interface RiderState {
  windows: Window[];
  claims: ClaimOnDay[];
}

function checkIn(s: RiderState, day: ServiceDay) {
  const out = decideCheckin(s.windows, day);
  if (out.kind === 'opened') s.windows.push(out.window);
  return out;
}

function claim(s: RiderState, day: ServiceDay, outcome: ClaimStatus) {
  const out = decideClaim(s.windows, s.claims, day);
  if (out.kind === 'granted') s.claims.push({ day, status: outcome });
  return out;
}

/** Independent reading of "a window covers d", by day arithmetic rather than string order. */
const coversByDays = (w: Window, d: ServiceDay) => daysBetween(w.from, d) >= 0 && daysBetween(d, w.to) >= 0;

describe('quota rule: simulated riders', () => {
  type Step = { gapDays: number; action: 'checkin' } | { gapDays: number; action: 'claim'; outcome: ClaimStatus };
  const outcome = fc.constantFrom<ClaimStatus>('released', 'committed', 'unknown', 'reserved', 'dispensing');
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ gapDays: fc.integer({ min: 0, max: 9 }), action: fc.constant('checkin' as const) }),
    fc.record({ gapDays: fc.integer({ min: 0, max: 3 }), action: fc.constant('claim' as const), outcome }),
  );
  // Days from 2000 to about 2045, so month, year and leap-day boundaries come up.
  const startDay = fc.integer({ min: 0, max: 16_000 }).map((n) => addDays('2000-01-01', n));

  it('keeps every rule of SPEC §3 over random sequences of check-ins and claims', () => {
    fc.assert(
      fc.property(startDay, fc.array(step, { minLength: 1, maxLength: 60 }), (start, steps) => {
        const s: RiderState = { windows: [], claims: [] };
        let day = start;
        for (const st of steps) {
          day = addDays(day, st.gapDays);
          const before = s.windows.find((w) => coversByDays(w, day));
          if (st.action === 'checkin') {
            const last = s.windows.at(-1);
            const out = checkIn(s, day);
            if (before) {
              // Rule 2: inside a window nothing changes and the answer names that window.
              expect(out).toEqual({ kind: 'already_checked_in', window: before });
              expect(last && daysBetween(last.from, day)).toBeLessThan(7);
            } else {
              // Rule 1: a window of exactly 7 service days, the check-in's day included.
              expect(out.kind).toBe('opened');
              expect(out.window.from).toBe(day);
              expect(daysBetween(out.window.from, out.window.to)).toBe(6);
              expect(addDays(out.window.from, 6)).toBe(out.window.to);
              // A new window opens from day d+7 of the old one on, never earlier.
              if (last) expect(daysBetween(last.from, day)).toBeGreaterThanOrEqual(7);
            }
          } else {
            const heldBefore = s.claims.filter((c) => c.day === day && holdsQuota(c.status)).length;
            const out = claim(s, day, st.outcome);
            if (out.kind === 'granted') {
              // Never a granted claim outside a window.
              expect(before).toBeDefined();
              expect(out.window).toEqual(before);
              expect(coversByDays(out.window, day)).toBe(true);
              expect(heldBefore).toBe(0);
            } else if (out.kind === 'not_checked_in') {
              expect(before).toBeUndefined();
            } else {
              expect(heldBefore).toBe(1);
            }
          }
          // Never two quota-holding claims for one rider on one day.
          const held = new Map<string, number>();
          for (const c of s.claims) if (holdsQuota(c.status)) held.set(c.day, (held.get(c.day) ?? 0) + 1);
          for (const n of held.values()) expect(n).toBeLessThanOrEqual(1);
          // Windows never overlap, and each is 7 service days.
          for (let i = 1; i < s.windows.length; i++) {
            expect(daysBetween(s.windows[i - 1]!.to, s.windows[i]!.from)).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('opens the next window on day d+7 of the old one and not on d+6', () => {
    const s: RiderState = { windows: [], claims: [] };
    expect(checkIn(s, '2026-11-23')).toEqual({ kind: 'opened', window: { from: '2026-11-23', to: '2026-11-29' } });
    expect(checkIn(s, '2026-11-29')).toEqual({
      kind: 'already_checked_in',
      window: { from: '2026-11-23', to: '2026-11-29' },
    });
    expect(checkIn(s, '2026-11-30')).toEqual({ kind: 'opened', window: { from: '2026-11-30', to: '2026-12-06' } });
  });

  it('refuses a claim before any check-in and after the window has ended', () => {
    const s: RiderState = { windows: [], claims: [] };
    expect(claim(s, '2026-12-30', 'committed')).toEqual({ kind: 'not_checked_in' });
    checkIn(s, '2026-12-28');
    expect(claim(s, '2027-01-03', 'committed').kind).toBe('granted'); // day 7, across the year end
    expect(claim(s, '2027-01-04', 'committed')).toEqual({ kind: 'not_checked_in' });
  });

  it('gives the quota back when a claim is released, so a second claim that day is granted', () => {
    const s: RiderState = { windows: [], claims: [] };
    checkIn(s, '2026-11-23');
    expect(claim(s, '2026-11-24', 'released').kind).toBe('granted');
    expect(claim(s, '2026-11-24', 'committed').kind).toBe('granted');
    expect(claim(s, '2026-11-24', 'committed')).toEqual({
      kind: 'already_claimed_today',
      window: { from: '2026-11-23', to: '2026-11-29' },
    });
  });

  it.each<ClaimStatus>(['committed', 'unknown', 'reserved', 'dispensing'])(
    'holds the quota while a claim is %s, and only for that day',
    (status) => {
      const s: RiderState = { windows: [], claims: [] };
      checkIn(s, '2026-11-23');
      expect(claim(s, '2026-11-24', status).kind).toBe('granted');
      expect(claim(s, '2026-11-24', 'committed').kind).toBe('already_claimed_today');
      expect(claim(s, '2026-11-25', 'committed').kind).toBe('granted');
    },
  );
});

describe('service days at local midnight', () => {
  it('puts 23:59:59.999 and the next 00:00:00.000 in Shanghai on different service days', () => {
    const checkinMs = Date.parse('2026-11-22T15:59:59.999Z'); // 23:59:59.999 +08:00
    const claimMs = Date.parse('2026-11-22T16:00:00.000Z'); // 00:00:00.000 +08:00
    expect(serviceDayOf(checkinMs, 'Asia/Shanghai')).toBe('2026-11-22');
    expect(serviceDayOf(claimMs, 'Asia/Shanghai')).toBe('2026-11-23');
    expect(serviceDayOf(claimMs)).toBe('2026-11-23'); // Asia/Shanghai is the default

    // A bottle claimed at 23:59:59.999 and another at 00:00 the next day are both granted.
    const s: RiderState = { windows: [], claims: [] };
    checkIn(s, serviceDayOf(checkinMs));
    expect(claim(s, serviceDayOf(checkinMs), 'committed').kind).toBe('granted');
    expect(claim(s, serviceDayOf(claimMs), 'committed').kind).toBe('granted');
    // The window ends at the local midnight seven days after the check-in's day began.
    expect(claim(s, serviceDayOf(Date.parse('2026-11-28T15:59:59.999Z')), 'committed').kind).toBe('granted');
    expect(claim(s, serviceDayOf(Date.parse('2026-11-28T16:00:00.000Z')), 'committed').kind).toBe('not_checked_in');
  });

  it('follows Berlin local midnight across the spring DST change of 2026-03-29 (a 23-hour day)', () => {
    const tz = 'Europe/Berlin';
    // 2026-03-29 starts at 00:00 CET (+01:00) and ends at 00:00 CEST (+02:00).
    expect(serviceDayOf(Date.parse('2026-03-28T22:59:59.999Z'), tz)).toBe('2026-03-28');
    expect(serviceDayOf(Date.parse('2026-03-28T23:00:00.000Z'), tz)).toBe('2026-03-29');
    expect(serviceDayOf(Date.parse('2026-03-29T21:59:59.999Z'), tz)).toBe('2026-03-29');
    expect(serviceDayOf(Date.parse('2026-03-29T22:00:00.000Z'), tz)).toBe('2026-03-30');
    // The same instant is already the next service day in Shanghai.
    expect(serviceDayOf(Date.parse('2026-03-29T16:00:00.000Z'), 'Asia/Shanghai')).toBe('2026-03-30');

    // A window opened the evening before the change still spans exactly 7 service days.
    const s: RiderState = { windows: [], claims: [] };
    const out = checkIn(s, serviceDayOf(Date.parse('2026-03-28T22:59:59.999Z'), tz));
    expect(out.window).toEqual({ from: '2026-03-28', to: '2026-04-03' });
    expect(claim(s, serviceDayOf(Date.parse('2026-04-03T21:59:59.999Z'), tz), 'committed').kind).toBe('granted');
    expect(claim(s, serviceDayOf(Date.parse('2026-04-03T22:00:00.000Z'), tz), 'committed').kind).toBe(
      'not_checked_in',
    );
  });

  it('follows Berlin local midnight across the autumn DST change of 2026-10-25 (a 25-hour day)', () => {
    const tz = 'Europe/Berlin';
    expect(serviceDayOf(Date.parse('2026-10-24T22:00:00.000Z'), tz)).toBe('2026-10-25'); // 00:00 CEST
    expect(serviceDayOf(Date.parse('2026-10-25T22:59:59.999Z'), tz)).toBe('2026-10-25'); // 23:59:59.999 CET
    expect(serviceDayOf(Date.parse('2026-10-25T23:00:00.000Z'), tz)).toBe('2026-10-26');
  });

  it('names a valid YYYY-MM-DD service day for any instant and zone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2060-01-01T00:00:00Z') }),
        fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Pacific/Kiritimati', 'UTC'),
        (ms, tz) => {
          const day = serviceDayOf(ms, tz);
          expect(isServiceDay(day)).toBe(true);
          // The local date is within a day of the UTC date.
          expect(Math.abs(daysBetween(new Date(ms).toISOString().slice(0, 10), day))).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ISO weeks of service days', () => {
  it.each([
    ['2026-11-23', '2026-W48'],
    ['2026-11-29', '2026-W48'],
    ['2026-11-30', '2026-W49'],
    ['2027-01-01', '2026-W53'],
    ['2027-01-04', '2027-W01'],
    ['2025-12-29', '2026-W01'],
    ['2026-01-01', '2026-W01'],
    ['2021-01-03', '2020-W53'],
  ])('puts %s in week %s', (day, week) => {
    expect(isoWeekOf(day)).toBe(week);
  });

  it.each([
    ['2026-W01', '2025-12-29'],
    ['2026-W48', '2026-11-23'],
    ['2026-W53', '2026-12-28'],
    ['2027-W01', '2027-01-04'],
  ])('starts week %s on Monday %s', (week, monday) => {
    expect(isoWeekMonday(week)).toBe(monday);
  });

  it.each(['2027-W53', '2026-W54', '2026-W00', '2026-48', 'W48'])('refuses the week %s', (week) => {
    expect(() => isoWeekMonday(week)).toThrow(RangeError);
  });

  it('maps every week to its Monday and back, with all seven days in that week', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 36_000 }).map((n) => addDays('1971-01-01', n)), (day) => {
        const week = isoWeekOf(day);
        const monday = isoWeekMonday(week);
        expect(isoWeekOf(monday)).toBe(week);
        expect(new Date(`${monday}T00:00:00Z`).getUTCDay()).toBe(1);
        const offset = daysBetween(monday, day);
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThanOrEqual(6);
        for (let i = 0; i < 7; i++) expect(isoWeekOf(addDays(monday, i))).toBe(week);
        expect(isoWeekOf(addDays(monday, 7))).not.toBe(week);
      }),
      { numRuns: 500 },
    );
  });
});
