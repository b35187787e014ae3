/**
 * What the rider page shows about the rider's own use of the stations (issue 12): the window
 * (from–to) and days left, whether today's bottle is taken and where and when, the lockers held
 * with their labels and deadlines. Pure: the status rollup, the time, and the service day's
 * timezone in; the answer of `POST /v1/me` out. "Today" is the service day (SPEC §2) in the
 * timezone of the station that opened the window (or took the bottle), Asia/Shanghai otherwise.
 */
import { daysBetween, serviceDayOf } from '../../protocol/index.ts';
import type { RiderStatusRow } from '../store/store.ts';

export interface RiderStatusView {
  today: string;
  timezone: string;
  /** The last window; `active` while it covers today. */
  window: { from: string; to: string; stationId: string; active: boolean } | null;
  /** Days of the window left, today included; 0 without an active window. */
  daysLeft: number;
  claimedToday: boolean;
  lastClaim: { day: string; stationId: string; at: number; compartment: string | null } | null;
  lockers: { stationId: string; compartment: string; label: string; depositedAt: number; deadlineAt: number | null; overdue: boolean }[];
  lastSeen: { stationId: string; at: number } | null;
}

export function riderStatusView(s: RiderStatusRow, now: number, timezone: string): RiderStatusView {
  const today = serviceDayOf(now, timezone);
  const active = s.window !== null && s.window.from <= today && today <= s.window.to;
  return {
    today,
    timezone,
    window: s.window ? { from: s.window.from, to: s.window.to, stationId: s.window.stationId, active } : null,
    daysLeft: active ? daysBetween(today, s.window!.to) + 1 : 0,
    claimedToday: s.lastClaim?.day === today,
    lastClaim: s.lastClaim ? { day: s.lastClaim.day, stationId: s.lastClaim.stationId, at: s.lastClaim.ts, compartment: s.lastClaim.compartment } : null,
    lockers: s.lockers.map((l) => ({
      stationId: l.stationId,
      compartment: l.compartment,
      label: l.label ?? l.compartment,
      depositedAt: l.depositedAt,
      deadlineAt: l.deadlineAt,
      overdue: l.overdueSince !== null || (l.deadlineAt !== null && now > l.deadlineAt),
    })),
    lastSeen: s.lastSeen ? { stationId: s.lastSeen.stationId, at: s.lastSeen.ts } : null,
  };
}
