/**
 * A station's hash-chained log at the seed station's real pace (issue 14: 731 bottles in its
 * first month): about 25 riders check in a day and most take a bottle, a few use a locker, the
 * dispensers are restocked once a day, a device fault now and then, and a heartbeat every minute.
 * Deterministic per (station, seed), so a figure can be measured again on the same data.
 */
import { GENESIS_HASH, heartbeatSecondOf, sealEvent, serviceDayOf, type StationEvent } from '../../protocol/index.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * `serviceDayOf` through a cache by minute: it formats a date in the time zone (Intl), which was
 * a tenth of the fleet's own CPU when every one of 10,000 stations seals a heartbeat a minute.
 * Exact, as every time zone's offset is a whole number of minutes, so a date never changes
 * within a minute; the fleet's stations share the minutes, so nearly every call hits.
 */
const dayByMinute = new Map<string, Map<number, string>>();
function serviceDayCached(ts: number, timeZone: string): string {
  let byMinute = dayByMinute.get(timeZone);
  if (!byMinute) dayByMinute.set(timeZone, (byMinute = new Map()));
  const minute = Math.floor(ts / MINUTE);
  let day = byMinute.get(minute);
  if (day === undefined) {
    if (byMinute.size >= 100_000) byMinute.clear();
    byMinute.set(minute, (day = serviceDayOf(ts, timeZone)));
  }
  return day;
}

/** A small seeded PRNG (LCG): fleets are big, so it must be cheap. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

export interface GenerateOptions {
  stationId: string;
  /** Shanghai midnight the log starts at (ms). */
  startMs: number;
  days: number;
  seed?: number;
  ridersPerDay?: number;
  /** Rider pool of the station (the same riders come back). */
  riderPool?: number;
  timezone?: string;
}

interface Draft {
  type: string;
  ts: number;
  data: Record<string, unknown>;
}

/** The day's events other than the heartbeats, in time order (the heartbeats are implicit: one a minute). */
function dayOfDrafts(o: Required<GenerateOptions>, d: number, rand: () => number): Draft[] {
  const t0 = o.startMs + d * DAY;
  const out: Draft[] = [];
  const riders = new Set<number>();
  while (riders.size < Math.min(o.ridersPerDay, o.riderPool)) riders.add(Math.floor(rand() * o.riderPool));
  for (const r of riders) {
    const riderId = `${o.stationId}-r${r}`;
    // Riders come between 06:00 and 23:00.
    const ts = t0 + 6 * 60 * MINUTE + Math.floor(rand() * 17 * 60 * MINUTE);
    const day = serviceDayCached(ts, o.timezone);
    out.push({ type: 'checkin', ts, data: { riderId, windowFrom: day, windowTo: day } });
    if (rand() < 0.95) {
      const compartment = rand() < 0.6 ? 'cold' : 'hot';
      out.push({ type: 'claim.committed', ts: ts + 20_000, data: { claimId: `${riderId}-${day}`, riderId, compartment, dispenserId: 'disp-1', sponsor: rand() < 0.5 ? 'bank-a' : 'water-co' } });
    }
    if (rand() < 0.2) {
      const compartment = `1-${1 + Math.floor(rand() * 24)}`;
      out.push({ type: 'locker.deposited', ts: ts + 40_000, data: { riderId, compartment, bus: 'bus-1' } });
      out.push({ type: 'locker.retrieved', ts: ts + 40_000 + Math.floor(rand() * 3 * 60 * MINUTE), data: { riderId, compartment, storedSince: ts + 45_000 } });
    }
  }
  out.push({ type: 'dispenser.restocked', ts: t0 + 5 * 60 * MINUTE, data: { dispenserId: 'disp-1', compartment: 'cold', count: 20, by: 'ops-wang', sponsor: 'water-co' } });
  if (rand() < 0.3) {
    const at = t0 + Math.floor(rand() * DAY);
    out.push({ type: 'device.fault', ts: at, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } });
    out.push({ type: 'device.recovered', ts: at + 5 * MINUTE, data: { deviceId: 'disp-1', kind: 'dispenser', fault: 'jam' } });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** A heartbeat at minute `m` of day `d`, at the station's own second (as edge/jobs.ts writes it). */
function heartbeat(d: number, m: number, t0: number, second: number): Draft {
  return { type: 'station.heartbeat', ts: t0 + m * MINUTE + second * 1000, data: { uptimeS: (d * 1440 + m) * 60, diskFreeBytes: 8e9, dbBytes: 2e6, backlog: 0, devices: { 'disp-1': 1 } } };
}

/**
 * The station's log, sealed into one hash chain from seq 1, made one event at a time: a day's
 * drafts (about 75 besides the 1,440 heartbeats) are all it holds, so a fleet of 10,000 stations
 * streams its logs instead of keeping them (issue 14).
 */
export function* streamStationLog(opts: GenerateOptions): Generator<StationEvent, void, undefined> {
  const o: Required<GenerateOptions> = { seed: 1, ridersPerDay: 25, riderPool: 60, timezone: 'Asia/Shanghai', ...opts };
  let h = 2166136261;
  for (const ch of `${o.stationId}:${o.seed}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const rand = rng(h);
  let hash = GENESIS_HASH;
  let seq = 0;
  const seal = (x: Draft): StationEvent => {
    const e = sealEvent(hash, { seq: ++seq, type: x.type, ts: x.ts, day: serviceDayCached(x.ts, o.timezone), data: x.data });
    hash = e.hash;
    return e;
  };
  for (let d = 0; d < o.days; d++) {
    const t0 = o.startMs + d * DAY;
    const second = heartbeatSecondOf(o.stationId);
    const drafts = dayOfDrafts(o, d, rand);
    let k = 0;
    // Merge the minute heartbeats in; at equal times the heartbeat comes first.
    for (let m = 0; m < 1440; m++) {
      const hb = heartbeat(d, m, t0, second);
      while (k < drafts.length && drafts[k]!.ts < hb.ts) yield seal(drafts[k++]!);
      yield seal(hb);
    }
    while (k < drafts.length) yield seal(drafts[k++]!);
  }
}

/** The station's whole log at once (tests and the ingest bench; a fleet streams it). */
export function generateStationLog(opts: GenerateOptions): StationEvent[] {
  return [...streamStationLog(opts)];
}
