/**
 * Applies rollup effects inside the append transaction (PostgreSQL backend). A batch's counters
 * are summed in memory first, and the tables they go to get one statement together (ROLLUPS_SQL:
 * `unnest` of arrays, one round trip whatever the batch's size); the rare device-health rows,
 * which depend on their order, follow one statement each. Rows shared between stations
 * (rider_first_any, rider_status) are written in key order, so two stations' batches take their
 * row locks in the same order and do not deadlock each other (a deadlock is retried anyway, pg.ts).
 */
import type pg from 'pg';
import type { RollupEffect } from '../ingest/rollupEffects.ts';
import { foldRiderStatus, newRiderStatusFold, RIDER_STATUS_COLUMNS, RIDER_STATUS_UPSERT, riderStatusUpserts, riderStatusValues, sortedByKey } from './riderRows.ts';

interface WeekCounters {
  checkins: number;
  hot: number;
  cold: number;
  other: number;
}

const byKey = <T>(m: Map<string, T>): T[] => sortedByKey(m).map(([, v]) => v);

type Heartbeat = Extract<RollupEffect, { kind: 'heartbeat' }>;
// Only the newest heartbeat of a batch can stay (the upsert keeps the latest ts).
const newer = (had: Heartbeat | null, e: Heartbeat): Heartbeat => (!had || e.ts >= had.ts ? e : had);

/** The batch's heartbeat that the heartbeats row keeps (pg.ts appendNext writes it in ws_append_next). */
export function newestHeartbeat(effects: readonly (readonly RollupEffect[])[]): Heartbeat | null {
  let h: Heartbeat | null = null;
  for (const list of effects) for (const e of list) if (e.kind === 'heartbeat') h = newer(h, e);
  return h;
}

export async function applyPgRollups(c: pg.PoolClient, stationId: string, effects: readonly (readonly RollupEffect[])[]): Promise<void> {
  const weeks = new Map<string, WeekCounters>();
  const riderWeeks = new Map<string, { week: string; riderId: string; checkedIn: boolean }>();
  const firstDays = new Map<string, { riderId: string; day: string; week: string }>();
  const sponsors = new Map<string, { week: string; sponsor: string; bottles: number; restocked: number }>();
  const health: RollupEffect[] = [];
  const riders = newRiderStatusFold();
  let heartbeat: Heartbeat | null = null;
  const week = (w: string): WeekCounters => {
    let x = weeks.get(w);
    if (!x) weeks.set(w, (x = { checkins: 0, hot: 0, cold: 0, other: 0 }));
    return x;
  };
  const seeRider = (w: string, riderId: string, checkedIn: boolean) => {
    const k = `${w}\u0000${riderId}`;
    const r = riderWeeks.get(k);
    if (r) r.checkedIn ||= checkedIn;
    else riderWeeks.set(k, { week: w, riderId, checkedIn });
  };
  const sponsor = (w: string, name: string) => {
    const k = `${w}\u0000${name}`;
    let s = sponsors.get(k);
    if (!s) sponsors.set(k, (s = { week: w, sponsor: name, bottles: 0, restocked: 0 }));
    return s;
  };
  for (const list of effects) {
    for (const e of list) {
      switch (e.kind) {
        case 'checkin': {
          week(e.week).checkins++;
          seeRider(e.week, e.riderId, true);
          const f = firstDays.get(e.riderId);
          if (!f || e.day < f.day) firstDays.set(e.riderId, { riderId: e.riderId, day: e.day, week: e.week });
          break;
        }
        case 'bottle': {
          const x = week(e.week);
          if (e.compartment === 'hot') x.hot++;
          else if (e.compartment === 'cold') x.cold++;
          else x.other++;
          seeRider(e.week, e.riderId, false);
          sponsor(e.week, e.sponsor).bottles++;
          break;
        }
        case 'restock':
          week(e.week);
          sponsor(e.week, e.sponsor).restocked += e.count;
          break;
        case 'heartbeat':
          heartbeat = newer(heartbeat, e);
          break;
        case 'invalid':
          break;
        default:
          if (!foldRiderStatus(riders, e)) health.push(e);
      }
    }
  }

  const rw = byKey(riderWeeks);
  const ws = [...weeks.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const fd = byKey(firstDays);
  const sp = byKey(sponsors);
  const rs = riderStatusUpserts(riders).map((r) => riderStatusValues(stationId, r));
  // One array per rider_status column (RIDER_STATUS_COLUMNS' order), for unnest.
  const rsColumns = RIDER_STATUS_TYPES.map((_, i) => rs.map((row) => row[i]));
  const l = riders.lockers;
  if (rw.length + ws.length + fd.length + sp.length + rs.length + l.length > 0 || heartbeat) {
    await c.query({
      name: 'ws_rollups',
      text: ROLLUPS_SQL,
      values: [
        stationId,
        rw.map((r) => r.week), rw.map((r) => r.riderId), rw.map((r) => r.checkedIn),
        ws.map(([w]) => w), ws.map(([, x]) => x.checkins), ws.map(([, x]) => x.hot), ws.map(([, x]) => x.cold), ws.map(([, x]) => x.other),
        fd.map((f) => f.riderId), fd.map((f) => f.day), fd.map((f) => f.week),
        sp.map((x) => x.week), sp.map((x) => x.sponsor), sp.map((x) => x.bottles), sp.map((x) => x.restocked),
        ...rsColumns,
        heartbeat?.ts ?? null, heartbeat ? JSON.stringify(heartbeat.data) : null,
        l.map((e) => e.kind), l.map((e) => e.compartment),
        l.map((e) => (e.kind === 'rider.locker' ? e.riderId : null)), l.map((e) => (e.kind === 'rider.locker' ? e.label : null)),
        l.map((e) => e.ts), l.map((e) => (e.kind === 'rider.locker' ? e.deadlineTs : null)),
      ],
    });
  }
  // Device health depends on order (open, close, state) and is rare: one statement each, in order.
  for (const e of health) await applyHealth(c, stationId, e);
}

/**
 * A batch's counters, first check-in days, sponsors, rider status, rider lockers and newest
 * heartbeat in one statement (one round trip, prepared once per connection), each table's rows
 * in key order. The lockers go through ws_rider_lockers (pgSchema.ts), in the batch's order: a
 * deposit and its retrieval may share a batch; the function runs because the query reads `lk`.
 * Rider-weeks new to the table (the INSERT's RETURNING) count as the week's distinct riders;
 * rows that were there without a check-in are marked checked in by the UPDATE, which sees the
 * table as it was before the statement, so never a row the INSERT adds. The parts a batch lacks
 * are empty arrays (or a null heartbeat) and write nothing.
 */
/** PostgreSQL types of RIDER_STATUS_COLUMNS, in order ($17..$27 of ROLLUPS_SQL). */
const RIDER_STATUS_TYPES = ['text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'bigint', 'text', 'text', 'bigint'] as const;

const ROLLUPS_SQL = `
  WITH rw AS (
    INSERT INTO rider_week (week, station_id, rider_id, checked_in)
    SELECT w, $1::text, r, ci FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(w, r, ci) ORDER BY w, r
    ON CONFLICT DO NOTHING RETURNING week
  ), rw_checked AS (
    UPDATE rider_week SET checked_in = true FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(w, r, ci)
    WHERE t.ci AND week = t.w AND station_id = $1::text AND rider_id = t.r AND NOT checked_in
  ), ws AS (
    INSERT INTO week_station (week, station_id, checkins, riders, bottles_hot, bottles_cold, bottles_other)
    SELECT t.w, $1::text, t.ci, coalesce(n.riders, 0), t.h, t.co, t.o
    FROM unnest($5::text[], $6::int[], $7::int[], $8::int[], $9::int[]) AS t(w, ci, h, co, o)
    LEFT JOIN (SELECT week, count(*)::int AS riders FROM rw GROUP BY week) n ON n.week = t.w
    ORDER BY t.w
    ON CONFLICT (week, station_id) DO UPDATE SET
      checkins = week_station.checkins + excluded.checkins, riders = week_station.riders + excluded.riders,
      bottles_hot = week_station.bottles_hot + excluded.bottles_hot, bottles_cold = week_station.bottles_cold + excluded.bottles_cold,
      bottles_other = week_station.bottles_other + excluded.bottles_other
  ), fd AS (
    INSERT INTO rider_first_any (rider_id, first_day, first_week)
    SELECT r, d, w FROM unnest($10::text[], $11::text[], $12::text[]) AS t(r, d, w) ORDER BY r
    ON CONFLICT (rider_id) DO UPDATE SET first_day = excluded.first_day, first_week = excluded.first_week
    WHERE excluded.first_day < rider_first_any.first_day
  ), sp AS (
    INSERT INTO week_sponsor (week, station_id, sponsor, bottles, restocked)
    SELECT w, $1::text, s, b, r FROM unnest($13::text[], $14::text[], $15::int[], $16::int[]) AS t(w, s, b, r) ORDER BY w, s
    ON CONFLICT (week, station_id, sponsor) DO UPDATE SET
      bottles = week_sponsor.bottles + excluded.bottles, restocked = week_sponsor.restocked + excluded.restocked
  ), rs AS (
    INSERT INTO rider_status (${RIDER_STATUS_COLUMNS})
    SELECT * FROM unnest(${RIDER_STATUS_TYPES.map((t, i) => `$${17 + i}::${t}[]`).join(', ')}) AS t(${RIDER_STATUS_COLUMNS})
    ORDER BY rider_id
    ${RIDER_STATUS_UPSERT}
  ), lk AS (
    SELECT ws_rider_lockers($1::text, $30::text[], $31::text[], $32::text[], $33::text[], $34::bigint[], $35::bigint[])
  ), hb AS (
    INSERT INTO heartbeats (station_id, ts, data) SELECT $1::text, $28::bigint, $29::text WHERE $28::bigint IS NOT NULL
    ON CONFLICT (station_id) DO UPDATE SET ts = excluded.ts, data = excluded.data WHERE excluded.ts >= heartbeats.ts
  )
  SELECT count(*) FROM lk`;

async function applyHealth(c: pg.PoolClient, stationId: string, e: RollupEffect): Promise<void> {
  switch (e.kind) {
    case 'device':
      await c.query(
        `INSERT INTO devices (station_id, device_id, kind, state, in_service, last_seen, stock)
         VALUES ($1, $2, $3, coalesce($4::text, 'online'), coalesce($5::boolean, true), $6, $7)
         ON CONFLICT (station_id, device_id) DO UPDATE SET
           kind = coalesce(excluded.kind, devices.kind),
           in_service = coalesce($5::boolean, devices.in_service),
           state = CASE WHEN NOT coalesce($5::boolean, devices.in_service) THEN 'out_of_service' ELSE coalesce($4::text, devices.state) END,
           last_seen = greatest(devices.last_seen, excluded.last_seen),
           stock = coalesce(excluded.stock, devices.stock)`,
        [stationId, e.deviceId, e.deviceKind ?? null, e.state ?? null, e.inService ?? null, e.ts, e.stock ? JSON.stringify(e.stock) : null],
      );
      break;
    case 'fault.open':
      await c.query('INSERT INTO open_faults (station_id, device_id, fault, since) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        stationId,
        e.deviceId,
        e.fault,
        e.ts,
      ]);
      break;
    case 'fault.close':
      if (e.fault === null) await c.query('DELETE FROM open_faults WHERE station_id = $1 AND device_id = $2', [stationId, e.deviceId]);
      else await c.query('DELETE FROM open_faults WHERE station_id = $1 AND device_id = $2 AND fault = $3', [stationId, e.deviceId, e.fault]);
      break;
    case 'locker.overdue':
      await c.query(
        `INSERT INTO overdue_lockers (station_id, compartment, since, rider_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (station_id, compartment) DO UPDATE SET since = excluded.since, rider_id = excluded.rider_id`,
        [stationId, e.compartment, e.ts, e.riderId],
      );
      break;
    case 'locker.clear':
      await c.query('DELETE FROM overdue_lockers WHERE station_id = $1 AND compartment = $2', [stationId, e.compartment]);
      break;
    default:
      break;
  }
}

