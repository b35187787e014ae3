/** Row mappers of the SPEC §17 tables, shared by both store backends. */
import type { DayFactRow, RangeFigures, RelayRow, SponsorRecord } from './store.ts';

type Row = Record<string, unknown>;

export function dayFactOf(r: Row): DayFactRow {
  return {
    stationId: r.station_id as string,
    day: r.day as string,
    kind: r.kind as DayFactRow['kind'],
    riderId: r.rider_id ? (r.rider_id as string) : null,
    compartment: r.compartment ? (r.compartment as string) : null,
    sponsor: (r.sponsor as string | null) ?? '',
    events: Number(r.events),
    count: Number(r.count ?? 0),
  };
}

export function sponsorOf(r: Row): SponsorRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    nameKey: r.name_key as string,
    contact: (r.contact as string | null) ?? null,
    createdAt: Number(r.created_at),
    createdBy: r.created_by as string,
  };
}

export function relayOf(r: Row): RelayRow {
  return {
    id: Number(r.id),
    sponsorId: r.sponsor_id as string,
    stationId: r.station_id as string,
    from: r.from_day as string,
    to: r.to_day as string,
    createdAt: Number(r.created_at),
    createdBy: r.created_by as string,
  };
}

/**
 * The range report's figures from the rows of its four statements (both backends): `sums` per
 * station (day null) and per day (station null); `pairs` per station and, station null, over
 * all of them; sponsors; lapsed riders.
 */
export function rangeFiguresOf(sums: readonly Row[], pairs: readonly Row[], sponsors: readonly Row[], lapsed: readonly Row[]): RangeFigures {
  const n = (v: unknown) => Number(v ?? 0);
  const perStation = new Map<string, RangeFigures['stations'][number]>();
  const days: RangeFigures['days'] = [];
  for (const r of sums) {
    if (r.station_id !== null) {
      perStation.set(r.station_id as string, {
        stationId: r.station_id as string, checkins: n(r.checkins), riders: 0, newRiders: 0, returningRiders: 0, hot: n(r.hot), cold: n(r.cold), other: n(r.other),
      });
    } else days.push({ day: r.day as string, checkins: n(r.checkins), bottles: n(r.hot) + n(r.cold) + n(r.other) });
  }
  let totals = { riders: 0, newRiders: 0, returningRiders: 0 };
  for (const r of pairs) {
    const figures = { riders: n(r.riders), newRiders: n(r.new_riders), returningRiders: n(r.checked_in) - n(r.new_riders) };
    if (r.station_id === null) {
      totals = figures;
      continue;
    }
    let s = perStation.get(r.station_id as string);
    if (!s) perStation.set(r.station_id as string, (s = { stationId: r.station_id as string, checkins: 0, riders: 0, newRiders: 0, returningRiders: 0, hot: 0, cold: 0, other: 0 }));
    Object.assign(s, figures);
  }
  return {
    stations: [...perStation.values()],
    days,
    totals,
    sponsors: sponsors.map((r) => ({ sponsor: r.sponsor as string, relaySponsorId: (r.relay_sponsor as string | null) ?? null, bottles: n(r.bottles), restocked: n(r.restocked) })),
    lapsedRiders: lapsed.map((r) => r.rider_id as string),
  };
}
