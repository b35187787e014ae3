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
