/**
 * Applies rollup effects inside the append transaction (PostgreSQL backend). A batch's counters
 * are summed in memory first and each table gets one multi-row statement (`unnest` of arrays),
 * whatever the batch's size. Rows shared between stations (rider_first_any) are written in
 * key order, so two stations' batches take their row locks in the same order and do not
 * deadlock each other (a deadlock is retried anyway, pg.ts).
 */
import type pg from 'pg';
import type { RollupEffect } from '../ingest/rollupEffects.ts';
import { foldRiderStatus, newRiderStatusFold, sortedByKey, type RiderStatusFold } from './riderRows.ts';

interface WeekCounters {
  checkins: number;
  hot: number;
  cold: number;
  other: number;
}

const byKey = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

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

  // Rider-weeks: rows new to the table count as the week's distinct riders.
  const newRiders = new Map<string, number>();
  const rw = byKey(riderWeeks);
  if (rw.length > 0) {
    const ins = await c.query<{ week: string; checked_in: boolean }>(
      `INSERT INTO rider_week (week, station_id, rider_id, checked_in)
       SELECT w, $1, r, ci FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(w, r, ci) ORDER BY w, r
       ON CONFLICT DO NOTHING RETURNING week, checked_in`,
      [stationId, rw.map((r) => r.week), rw.map((r) => r.riderId), rw.map((r) => r.checkedIn)],
    );
    for (const row of ins.rows) newRiders.set(row.week, (newRiders.get(row.week) ?? 0) + 1);
    const checked = rw.filter((r) => r.checkedIn);
    if (checked.length > ins.rows.filter((row) => row.checked_in).length) {
      // Some were there already without a check-in: mark them checked in.
      await c.query(
        `UPDATE rider_week SET checked_in = true FROM unnest($2::text[], $3::text[]) AS t(w, r)
         WHERE week = t.w AND station_id = $1 AND rider_id = t.r AND NOT checked_in`,
        [stationId, checked.map((r) => r.week), checked.map((r) => r.riderId)],
      );
    }
  }
  const ws = [...weeks.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  if (ws.length > 0) {
    await c.query(
      `INSERT INTO week_station (week, station_id, checkins, riders, bottles_hot, bottles_cold, bottles_other)
       SELECT w, $1, ci, r, h, co, o FROM unnest($2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[]) AS t(w, ci, r, h, co, o)
       ON CONFLICT (week, station_id) DO UPDATE SET
         checkins = week_station.checkins + excluded.checkins, riders = week_station.riders + excluded.riders,
         bottles_hot = week_station.bottles_hot + excluded.bottles_hot, bottles_cold = week_station.bottles_cold + excluded.bottles_cold,
         bottles_other = week_station.bottles_other + excluded.bottles_other`,
      [
        stationId,
        ws.map(([w]) => w),
        ws.map(([, x]) => x.checkins),
        ws.map(([w]) => newRiders.get(w) ?? 0),
        ws.map(([, x]) => x.hot),
        ws.map(([, x]) => x.cold),
        ws.map(([, x]) => x.other),
      ],
    );
  }
  const fd = byKey(firstDays);
  if (fd.length > 0) {
    await c.query(
      `INSERT INTO rider_first_any (rider_id, first_day, first_week)
       SELECT r, d, w FROM unnest($1::text[], $2::text[], $3::text[]) AS t(r, d, w) ORDER BY r
       ON CONFLICT (rider_id) DO UPDATE SET first_day = excluded.first_day, first_week = excluded.first_week
       WHERE excluded.first_day < rider_first_any.first_day`,
      [fd.map((f) => f.riderId), fd.map((f) => f.day), fd.map((f) => f.week)],
    );
  }
  const sp = byKey(sponsors);
  if (sp.length > 0) {
    await c.query(
      `INSERT INTO week_sponsor (week, station_id, sponsor, bottles, restocked)
       SELECT w, $1, s, b, r FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) AS t(w, s, b, r)
       ON CONFLICT (week, station_id, sponsor) DO UPDATE SET
         bottles = week_sponsor.bottles + excluded.bottles, restocked = week_sponsor.restocked + excluded.restocked`,
      [stationId, sp.map((s) => s.week), sp.map((s) => s.sponsor), sp.map((s) => s.bottles), sp.map((s) => s.restocked)],
    );
  }
  await applyRiderStatus(c, stationId, riders);
  // Device health depends on order (open, close, state) and is rare: one statement each, in order.
  for (const e of health) await applyHealth(c, stationId, e);
  if (heartbeat) {
    await c.query(
      `INSERT INTO heartbeats (station_id, ts, data) VALUES ($1, $2, $3)
       ON CONFLICT (station_id) DO UPDATE SET ts = excluded.ts, data = excluded.data WHERE excluded.ts >= heartbeats.ts`,
      [stationId, heartbeat.ts, JSON.stringify(heartbeat.data)],
    );
  }
}

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

/** The rider page's status (issue 12): one multi-row upsert per part, rows in rider order; newer by event time wins (a tie: the larger station id). */
async function applyRiderStatus(c: pg.PoolClient, stationId: string, f: RiderStatusFold): Promise<void> {
  const newer = (col: string) =>
    `rider_status.${col}_ts IS NULL OR excluded.${col}_ts > rider_status.${col}_ts OR (excluded.${col}_ts = rider_status.${col}_ts AND excluded.${col}_station > rider_status.${col}_station)`;
  const ws = sortedByKey(f.windows);
  if (ws.length > 0) {
    await c.query(
      `INSERT INTO rider_status (rider_id, window_from, window_to, window_station, window_ts)
       SELECT r, wf, wt, $1, ts FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(r, wf, wt, ts)
       ON CONFLICT (rider_id) DO UPDATE SET window_from = excluded.window_from, window_to = excluded.window_to,
         window_station = excluded.window_station, window_ts = excluded.window_ts WHERE ${newer('window')}`,
      [stationId, ws.map(([r]) => r), ws.map(([, w]) => w.from), ws.map(([, w]) => w.to), ws.map(([, w]) => w.ts)],
    );
  }
  const cs = sortedByKey(f.claims);
  if (cs.length > 0) {
    await c.query(
      `INSERT INTO rider_status (rider_id, claim_day, claim_station, claim_ts, claim_compartment)
       SELECT r, d, $1, ts, co FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS t(r, d, ts, co)
       ON CONFLICT (rider_id) DO UPDATE SET claim_day = excluded.claim_day, claim_station = excluded.claim_station,
         claim_ts = excluded.claim_ts, claim_compartment = excluded.claim_compartment WHERE ${newer('claim')}`,
      [stationId, cs.map(([r]) => r), cs.map(([, x]) => x.day), cs.map(([, x]) => x.ts), cs.map(([, x]) => x.compartment)],
    );
  }
  const ss = sortedByKey(f.seen);
  if (ss.length > 0) {
    await c.query(
      `INSERT INTO rider_status (rider_id, seen_station, seen_ts)
       SELECT r, $1, ts FROM unnest($2::text[], $3::bigint[]) AS t(r, ts)
       ON CONFLICT (rider_id) DO UPDATE SET seen_station = excluded.seen_station, seen_ts = excluded.seen_ts WHERE ${newer('seen')}`,
      [stationId, ss.map(([r]) => r), ss.map(([, ts]) => ts)],
    );
  }
  // Locker holdings are per compartment of this station and few: in order, one statement each.
  for (const e of f.lockers) {
    if (e.kind === 'rider.locker') {
      await c.query(
        `INSERT INTO rider_lockers (station_id, compartment, rider_id, label, deposited_ts, deadline_ts, overdue_since)
         VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (station_id, compartment) DO UPDATE SET rider_id = excluded.rider_id,
           label = excluded.label, deposited_ts = excluded.deposited_ts, deadline_ts = excluded.deadline_ts, overdue_since = NULL
         WHERE excluded.deposited_ts >= rider_lockers.deposited_ts`,
        [stationId, e.compartment, e.riderId, e.label, e.ts, e.deadlineTs],
      );
    } else if (e.kind === 'rider.locker.overdue') {
      await c.query('UPDATE rider_lockers SET overdue_since = coalesce(overdue_since, $1) WHERE station_id = $2 AND compartment = $3 AND deposited_ts <= $1', [
        e.ts,
        stationId,
        e.compartment,
      ]);
    } else {
      await c.query('DELETE FROM rider_lockers WHERE station_id = $1 AND compartment = $2 AND deposited_ts <= $3', [stationId, e.compartment, e.ts]);
    }
  }
}
