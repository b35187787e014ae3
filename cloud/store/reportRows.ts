/** Row mappers of the SPEC §17 tables, shared by both store backends. */
import type { DayFactRow, RelayRow, SponsorRecord } from './store.ts';

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
