/**
 * Service days and clocks (SPEC §2, §6c).
 *
 * A service day is a local calendar date (`YYYY-MM-DD`) in the station's IANA timezone:
 * midnight local time starts a new one. Durations use a monotonic clock, so a wall-clock
 * jump never shortens or stretches a timeout.
 */

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

/** A service day, `YYYY-MM-DD`. */
export type ServiceDay = string;

/** Time is injected so tests and simulations can run a day in seconds. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (may jump). */
  now(): number;
  /** Monotonic milliseconds (never goes backwards); for durations only. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that tests move by hand. */
export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs = 0;
  constructor(startMs: number) {
    this.wallMs = startMs;
  }
  now(): number {
    return this.wallMs;
  }
  monotonic(): number {
    return this.monoMs;
  }
  /** Let time pass: both clocks move. */
  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }
  /** Set the wall clock only (a clock jump, SPEC §6c). */
  setWall(ms: number): void {
    this.wallMs = ms;
  }
}

/**
 * A wall clock that runs `speedup` times faster than real time from `startMs`, with a real
 * monotonic clock: service days pass quickly while timeouts and device timers stay real
 * (the chaos suite's "day in five minutes").
 */
export class AcceleratedClock implements Clock {
  private readonly realStart = performance.now();
  constructor(
    readonly startMs: number,
    readonly speedup: number,
  ) {}
  now(): number {
    return this.startMs + Math.floor((performance.now() - this.realStart) * this.speedup);
  }
  monotonic(): number {
    return performance.now();
  }
  /** Simulated milliseconds since the start. */
  elapsedMs(): number {
    return this.now() - this.startMs;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The service day that the instant `ms` falls on in `timeZone`. */
export function serviceDayOf(ms: number, timeZone: string = DEFAULT_TIMEZONE): ServiceDay {
  const parts = formatterFor(timeZone).formatToParts(new Date(ms));
  let y = '';
  let m = '';
  let d = '';
  for (const p of parts) {
    if (p.type === 'year') y = p.value;
    else if (p.type === 'month') m = p.value;
    else if (p.type === 'day') d = p.value;
  }
  return `${y}-${m}-${d}`;
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isServiceDay(s: string): boolean {
  const m = DAY_RE.exec(s);
  if (!m) return false;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === s;
}

function dayToUtcMs(day: ServiceDay): number {
  const m = DAY_RE.exec(day);
  if (!m) throw new RangeError(`not a service day: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** `day` plus `n` calendar days (n may be negative). */
export function addDays(day: ServiceDay, n: number): ServiceDay {
  return new Date(dayToUtcMs(day) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Whole calendar days from `a` to `b` (b - a). */
export function daysBetween(a: ServiceDay, b: ServiceDay): number {
  return Math.round((dayToUtcMs(b) - dayToUtcMs(a)) / 86_400_000);
}

/** ISO week (`2026-W48`) of a service day. */
export function isoWeekOf(day: ServiceDay): string {
  const t = new Date(dayToUtcMs(day));
  const dow = t.getUTCDay() || 7; // Monday=1 … Sunday=7
  t.setUTCDate(t.getUTCDate() + 4 - dow); // the Thursday of this week decides the year
  const year = t.getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1);
  const week = Math.ceil(((t.getTime() - jan1) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The Monday (first service day) of an ISO week like `2026-W48`. */
export function isoWeekMonday(week: string): ServiceDay {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) throw new RangeError(`not an ISO week: ${week}`);
  const year = Number(m[1]);
  const w = Number(m[2]);
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const jan4Dow = jan4.getUTCDay() || 7;
  const mondayW1 = Date.UTC(year, 0, 4 - (jan4Dow - 1));
  const ms = mondayW1 + (w - 1) * 7 * 86_400_000;
  const day = new Date(ms).toISOString().slice(0, 10);
  if (isoWeekOf(day) !== week) throw new RangeError(`no such ISO week: ${week}`);
  return day;
}

/**
 * The second of each minute a station writes its heartbeat (SPEC §6b: every minute): a stable
 * spread over 0..59 from the station id, so a fleet whose clocks are all NTP-synced does not
 * upload thousands of heartbeats to the cloud in the same second (issue 14).
 */
export function heartbeatSecondOf(stationId: string): number {
  let h = 2166136261;
  for (let i = 0; i < stationId.length; i++) h = Math.imul(h ^ stationId.charCodeAt(i), 16777619);
  return (h >>> 0) % 60;
}
