/**
 * The day facts of some events (SPEC §17): its check-ins, bottles and restocks grouped by service
 * day, rider, compartment and named sponsor, from the batch's rollup effects (so exactly the
 * events the weekly rollups count). The store folds them into its `day_facts` rows from a cursor
 * per station when a report asks; range reports, statements and lapsed lists read those rows,
 * and decide sponsors at report time.
 */
import type { RollupEffect } from './rollupEffects.ts';

export interface DayFactDelta {
  day: string;
  kind: 'checkin' | 'bottle' | 'restock';
  /** '' for a restock. */
  riderId: string;
  /** `hot`/`cold`, the restocked compartment, or ''. */
  compartment: string;
  /** The sponsor the event names, '' for none. */
  sponsor: string;
  events: number;
  count: number;
}

export function dayFactsOf(effects: readonly (readonly RollupEffect[])[]): DayFactDelta[] {
  const out = new Map<string, DayFactDelta>();
  const add = (d: Omit<DayFactDelta, 'events' | 'count'>, count: number) => {
    const key = `${d.day}\u0000${d.kind}\u0000${d.riderId}\u0000${d.compartment}\u0000${d.sponsor}`;
    const cur = out.get(key);
    if (cur) {
      cur.events++;
      cur.count += count;
    } else out.set(key, { ...d, events: 1, count });
  };
  for (const list of effects) {
    for (const e of list) {
      if (e.kind === 'checkin') add({ day: e.day, kind: 'checkin', riderId: e.riderId, compartment: '', sponsor: '' }, 0);
      else if (e.kind === 'bottle') add({ day: e.day, kind: 'bottle', riderId: e.riderId, compartment: e.compartment ?? '', sponsor: e.sponsor }, 0);
      else if (e.kind === 'restock') add({ day: e.day, kind: 'restock', riderId: '', compartment: e.compartment, sponsor: e.sponsor }, e.count);
    }
  }
  return [...out.values()];
}

/** One station-day's sums (the range report's per station and per day figures). */
export interface DaySumDelta {
  day: string;
  checkins: number;
  hot: number;
  cold: number;
  other: number;
}

/** One station-day's bottles and restocks of one named sponsor ('' for none). */
export interface DaySponsorDelta {
  day: string;
  sponsor: string;
  bottles: number;
  restocked: number;
}

/** A rider seen (a check-in or a bottle) at the station on a day, and whether they checked in. */
export interface DayRiderDelta {
  day: string;
  riderId: string;
  checkedIn: boolean;
}

/**
 * The sums of some day facts by day, and by day and named sponsor, and the riders of each day: the rows the fold adds to
 * `station_day_sums`, `station_day_sponsors` and (as day bitmaps) `station_rider_year` beside the facts, so a range report reads one row
 * a station-day for its sums instead of every fact.
 */
export function daySumsOf(facts: readonly DayFactDelta[]): { sums: DaySumDelta[]; sponsors: DaySponsorDelta[]; riders: DayRiderDelta[] } {
  const sums = new Map<string, DaySumDelta>();
  const sponsors = new Map<string, DaySponsorDelta>();
  const riders = new Map<string, DayRiderDelta>();
  for (const f of facts) {
    if (f.kind !== 'restock') {
      const rk = `${f.day}\u0000${f.riderId}`;
      const r = riders.get(rk);
      if (r) r.checkedIn ||= f.kind === 'checkin';
      else riders.set(rk, { day: f.day, riderId: f.riderId, checkedIn: f.kind === 'checkin' });
      let s = sums.get(f.day);
      if (!s) sums.set(f.day, (s = { day: f.day, checkins: 0, hot: 0, cold: 0, other: 0 }));
      if (f.kind === 'checkin') s.checkins += f.events;
      else if (f.compartment === 'hot') s.hot += f.events;
      else if (f.compartment === 'cold') s.cold += f.events;
      else s.other += f.events;
    }
    if (f.kind !== 'checkin') {
      const k = `${f.day}\u0000${f.sponsor}`;
      let s = sponsors.get(k);
      if (!s) sponsors.set(k, (s = { day: f.day, sponsor: f.sponsor, bottles: 0, restocked: 0 }));
      if (f.kind === 'bottle') s.bottles += f.events;
      else s.restocked += f.count;
    }
  }
  return { sums: [...sums.values()], sponsors: [...sponsors.values()], riders: [...riders.values()] };
}
