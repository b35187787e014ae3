/**
 * Shared by both store backends for the rider page (issue 12) and hazard reports (SPEC §17):
 * the fold of one batch's rider-status effects, the row mappers (same columns in SQLite and
 * PostgreSQL), and the rule of which hazard state may follow which.
 */
import type { RollupEffect } from '../ingest/rollupEffects.ts';
import type { HazardCategory, HazardRow, HazardState, RiderLockerRow, RiderStatusRow } from './store.ts';

type Row = Record<string, unknown>;

type LockerEffect = Extract<RollupEffect, { kind: 'rider.locker' | 'rider.locker.overdue' | 'rider.locker.clear' }>;

/** One batch's rider status, newest per rider; locker effects stay in order (a deposit and its retrieval may share a batch). */
export interface RiderStatusFold {
  windows: Map<string, { from: string; to: string; ts: number }>;
  claims: Map<string, { day: string; ts: number; compartment: string }>;
  seen: Map<string, number>;
  lockers: LockerEffect[];
}

export function newRiderStatusFold(): RiderStatusFold {
  return { windows: new Map(), claims: new Map(), seen: new Map(), lockers: [] };
}

/** Fold one effect in; false if it is not a rider-status effect. */
export function foldRiderStatus(f: RiderStatusFold, e: RollupEffect): boolean {
  switch (e.kind) {
    case 'rider.window': {
      const w = f.windows.get(e.riderId);
      if (!w || e.ts >= w.ts) f.windows.set(e.riderId, { from: e.from, to: e.to, ts: e.ts });
      return true;
    }
    case 'rider.claim': {
      const c = f.claims.get(e.riderId);
      if (!c || e.ts >= c.ts) f.claims.set(e.riderId, { day: e.day, ts: e.ts, compartment: e.compartment });
      return true;
    }
    case 'rider.seen':
      if ((f.seen.get(e.riderId) ?? -1) < e.ts) f.seen.set(e.riderId, e.ts);
      return true;
    case 'rider.locker':
    case 'rider.locker.overdue':
    case 'rider.locker.clear':
      f.lockers.push(e);
      return true;
    default:
      return false;
  }
}

/** Entries in key order, so two stations' batches lock shared rows in the same order. */
export const sortedByKey = <T>(m: Map<string, T>): [string, T][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** One rider's row of a batch's rider status: the parts the batch has, the others null. */
export interface RiderStatusUpsert {
  riderId: string;
  window: { from: string; to: string; ts: number } | null;
  claim: { day: string; ts: number; compartment: string } | null;
  seen: number | null;
}

/** The fold as one row per rider, in rider order: one upsert per rider instead of one per part. */
export function riderStatusUpserts(f: RiderStatusFold): RiderStatusUpsert[] {
  const ids = new Set<string>([...f.windows.keys(), ...f.claims.keys(), ...f.seen.keys()]);
  return [...ids]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((riderId) => ({ riderId, window: f.windows.get(riderId) ?? null, claim: f.claims.get(riderId) ?? null, seen: f.seen.get(riderId) ?? null }));
}

/**
 * The SET and WHERE of the one-row-per-rider upsert (same SQL on both backends): each part is
 * taken when the batch has it (its ts not null) and it is newer by event time than the stored
 * one, a tie going to the larger station id — the rule of the three upserts it replaces, each
 * part decided on the row as it was, since a part's columns are its own.
 */
export const RIDER_STATUS_UPSERT = (() => {
  const newer = (col: string) =>
    `(excluded.${col}_ts IS NOT NULL AND (rider_status.${col}_ts IS NULL OR excluded.${col}_ts > rider_status.${col}_ts OR (excluded.${col}_ts = rider_status.${col}_ts AND excluded.${col}_station > rider_status.${col}_station)))`;
  const set = (part: string, cols: string[]) => cols.map((c) => `${c} = CASE WHEN ${newer(part)} THEN excluded.${c} ELSE rider_status.${c} END`);
  const sets = [
    ...set('window', ['window_from', 'window_to', 'window_station', 'window_ts']),
    ...set('claim', ['claim_day', 'claim_station', 'claim_ts', 'claim_compartment']),
    ...set('seen', ['seen_station', 'seen_ts']),
  ];
  return `ON CONFLICT (rider_id) DO UPDATE SET ${sets.join(', ')} WHERE ${newer('window')} OR ${newer('claim')} OR ${newer('seen')}`;
})();

/** Columns of the upsert above, in the order `riderStatusValues` gives them. */
export const RIDER_STATUS_COLUMNS =
  'rider_id, window_from, window_to, window_station, window_ts, claim_day, claim_station, claim_ts, claim_compartment, seen_station, seen_ts';

/** One row's values for RIDER_STATUS_COLUMNS (a part the batch lacks: all null, its station too). */
export function riderStatusValues(stationId: string, r: RiderStatusUpsert): unknown[] {
  const w = r.window;
  const c = r.claim;
  return [
    r.riderId,
    w?.from ?? null, w?.to ?? null, w ? stationId : null, w?.ts ?? null,
    c?.day ?? null, c ? stationId : null, c?.ts ?? null, c?.compartment ?? null,
    r.seen === null ? null : stationId, r.seen,
  ];
}

export function riderStatusOf(riderId: string, r: Row | undefined, lockers: Row[]): RiderStatusRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : (v as number));
  return {
    riderId,
    window: r && r.window_from ? { from: r.window_from as string, to: r.window_to as string, stationId: r.window_station as string, ts: n(r.window_ts)! } : null,
    lastClaim: r && r.claim_day ? { day: r.claim_day as string, stationId: r.claim_station as string, ts: n(r.claim_ts)!, compartment: (r.claim_compartment as string | null) ?? null } : null,
    lastSeen: r && r.seen_station ? { stationId: r.seen_station as string, ts: n(r.seen_ts)! } : null,
    lockers: lockers.map(
      (l): RiderLockerRow => ({
        stationId: l.station_id as string,
        compartment: l.compartment as string,
        label: (l.label as string | null) ?? null,
        depositedAt: n(l.deposited_ts)!,
        deadlineAt: n(l.deadline_ts),
        overdueSince: n(l.overdue_since),
      }),
    ),
  };
}

export function hazardOf(r: Row, changes: Row[]): HazardRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const placeText = (r.place_text as string | null) ?? null;
  const lat = num(r.lat);
  const lon = num(r.lon);
  return {
    id: r.id as string,
    riderId: r.rider_id as string,
    category: r.category as HazardCategory,
    text: r.text as string,
    place: placeText !== null || lat !== null ? { text: placeText, lat, lon } : null,
    photo: r.photo_type ? { type: r.photo_type as string, bytes: r.photo_bytes as number } : null,
    state: r.state as HazardState,
    note: (r.note as string | null) ?? null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    changes: changes.map((c) => ({ at: c.at as number, by: c.by as string, state: c.state as HazardState, note: (c.note as string | null) ?? null })),
  };
}

/** Columns of a hazard row without the photo's bytes. */
export const HAZARD_COLUMNS = 'id, rider_id, category, text, place_text, lat, lon, photo_type, photo_bytes, state, note, created_at, updated_at';

/** Forward only (SPEC §17 states): new → acknowledged → resolved, or new → resolved. */
export function hazardMayMove(from: HazardState, to: HazardState): boolean {
  const rank = { new: 0, acknowledged: 1, resolved: 2 } as const;
  return rank[to] > rank[from];
}
