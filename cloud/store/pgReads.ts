/**
 * The read side of the PostgreSQL store (pg.ts): sync heads, alerts, riders, reports and fleet
 * health, each one query over the rollups (the same queries as the SQLite backend's).
 */
import type pg from 'pg';
import type {
  AlertRow, DeviceRow, FaultRow, HeartbeatRow, OverdueLockerRow, RiderRow, Scope, SponsorRow, StationAlertState, SyncHeadRow, WeeklyStationRow, WeeklyTotals,
} from './store.ts';

import { alertOf } from './alertRows.ts';
import { devicesOf, faultOf, headOf, heartbeatOf, overdueOf, riderOf } from './rows.ts';

type Row = Record<string, unknown>;

export class PgReads {
  constructor(readonly pool: pg.Pool) {}

  protected async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(sql, params)).rows;
  }

  async syncHead(stationId: string): Promise<SyncHeadRow | null> {
    const [r] = await this.rows('SELECT * FROM station_sync WHERE station_id = $1', [stationId]);
    return r ? headOf(r) : null;
  }

  async syncHeads(): Promise<SyncHeadRow[]> {
    return (await this.rows('SELECT * FROM station_sync ORDER BY station_id')).map(headOf);
  }

  async eventHashes(stationId: string, fromSeq: number, toSeq: number): Promise<Map<number, string>> {
    const rows = await this.rows('SELECT seq, hash FROM events WHERE station_id = $1 AND seq BETWEEN $2 AND $3', [stationId, fromSeq, toSeq]);
    return new Map(rows.map((r) => [r.seq as number, r.hash as string]));
  }

  async countEvents(stationId: string): Promise<number> {
    return (await this.rows('SELECT count(*) AS n FROM events WHERE station_id = $1', [stationId]))[0]!.n as number;
  }

  async alerts(limit: number, opts: { openOnly?: boolean } = {}): Promise<AlertRow[]> {
    const rows = await this.rows('SELECT * FROM alerts WHERE (NOT $1 OR acked_at IS NULL) ORDER BY last_at DESC, id DESC LIMIT $2', [
      opts.openOnly === true,
      limit,
    ]);
    return rows.map(alertOf);
  }

  protected async alert(id: number): Promise<AlertRow | null> {
    const [r] = await this.rows('SELECT * FROM alerts WHERE id = $1', [id]);
    return r ? alertOf(r) : null;
  }

  async rider(riderId: string): Promise<RiderRow | null> {
    const [r] = await this.rows('SELECT * FROM riders WHERE rider_id = $1', [riderId]);
    return r ? riderOf(r) : null;
  }

  async revokedRiders(nowMs: number): Promise<string[]> {
    const rows = await this.rows(
      `SELECT rider_id FROM riders WHERE revoked_at IS NOT NULL AND (last_credential_exp IS NULL OR last_credential_exp > $1) ORDER BY rider_id`,
      [nowMs],
    );
    return rows.map((r) => r.rider_id as string);
  }

  async weeklyStations(week: string, scope: Scope): Promise<WeeklyStationRow[]> {
    // SPEC §9: new = first check-in ever (anywhere in the network) this week; returning = first
    // check-in in an earlier week; per station among the riders who checked in there this week.
    const rows = await this.rows(
      `WITH nr AS (
         SELECT w.station_id, count(*) FILTER (WHERE f.first_week = $1) AS new_riders,
                count(*) FILTER (WHERE f.first_week < $1) AS returning_riders
         FROM rider_week w JOIN rider_first_any f ON f.rider_id = w.rider_id
         WHERE w.week = $1 AND w.checked_in AND ($2::text IS NULL OR w.station_id = $2) GROUP BY w.station_id)
       SELECT s.*, coalesce(nr.new_riders, 0) AS new_riders, coalesce(nr.returning_riders, 0) AS returning_riders
       FROM week_station s LEFT JOIN nr ON nr.station_id = s.station_id
       WHERE s.week = $1 AND ($2::text IS NULL OR s.station_id = $2) ORDER BY s.station_id`,
      [week, scope],
    );
    return rows.map((r) => ({
      stationId: r.station_id as string,
      checkins: r.checkins as number,
      riders: r.riders as number,
      newRiders: r.new_riders as number,
      returningRiders: r.returning_riders as number,
      bottlesHot: r.bottles_hot as number,
      bottlesCold: r.bottles_cold as number,
      bottlesOther: r.bottles_other as number,
    }));
  }

  async weeklyTotals(week: string, scope: Scope): Promise<WeeklyTotals> {
    if (scope !== null) {
      const row = (await this.weeklyStations(week, scope))[0];
      return { riders: row?.riders ?? 0, newRiders: row?.newRiders ?? 0, returningRiders: row?.returningRiders ?? 0 };
    }
    const [r] = await this.rows(
      `SELECT (SELECT count(DISTINCT rider_id) FROM rider_week WHERE week = $1) AS riders,
              (SELECT count(*) FROM rider_first_any WHERE first_week = $1) AS new_riders,
              (SELECT count(DISTINCT w.rider_id) FROM rider_week w JOIN rider_first_any f ON f.rider_id = w.rider_id
                WHERE w.week = $1 AND w.checked_in AND f.first_week < $1) AS returning_riders`,
      [week],
    );
    return { riders: r!.riders as number, newRiders: r!.new_riders as number, returningRiders: r!.returning_riders as number };
  }

  async lapsedRiders(week: string, prevWeek: string, scope: Scope): Promise<string[]> {
    const rows = await this.rows(
      `SELECT rider_id FROM rider_week WHERE week = $1 AND checked_in AND ($3::text IS NULL OR station_id = $3)
       EXCEPT SELECT rider_id FROM rider_week WHERE week = $2 AND checked_in AND ($3::text IS NULL OR station_id = $3) ORDER BY 1`,
      [prevWeek, week, scope],
    );
    return rows.map((r) => r.rider_id as string);
  }

  async sponsors(week: string, scope: Scope): Promise<SponsorRow[]> {
    const rows = await this.rows(
      `SELECT sponsor, sum(bottles) AS bottles, sum(restocked) AS restocked FROM week_sponsor
       WHERE week = $1 AND ($2::text IS NULL OR station_id = $2) GROUP BY sponsor ORDER BY sponsor`,
      [week, scope],
    );
    return rows.map((r) => ({ sponsor: r.sponsor as string, bottles: r.bottles as number, restocked: r.restocked as number }));
  }

  async heartbeats(): Promise<HeartbeatRow[]> {
    return (await this.rows('SELECT * FROM heartbeats ORDER BY station_id')).map(heartbeatOf);
  }

  async devices(): Promise<DeviceRow[]> {
    return devicesOf(await this.rows('SELECT * FROM devices ORDER BY station_id, device_id'), await this.openFaults());
  }

  async openFaults(): Promise<FaultRow[]> {
    return (await this.rows('SELECT * FROM open_faults ORDER BY station_id, device_id, fault')).map(faultOf);
  }

  async overdueLockers(): Promise<OverdueLockerRow[]> {
    return (await this.rows('SELECT * FROM overdue_lockers ORDER BY station_id, compartment')).map(overdueOf);
  }

  /** One round trip: each table's rows of the station as a JSON array (BIGINTs fit a JSON number, SPEC §15 state is small). */
  async stationAlertState(stationId: string): Promise<StationAlertState> {
    const [r] = await this.rows(
      `SELECT
         (SELECT coalesce(json_agg(h), '[]') FROM heartbeats h WHERE station_id = $1) AS heartbeats,
         (SELECT coalesce(json_agg(d ORDER BY device_id), '[]') FROM devices d WHERE station_id = $1) AS devices,
         (SELECT coalesce(json_agg(f ORDER BY device_id, fault), '[]') FROM open_faults f WHERE station_id = $1) AS faults,
         (SELECT coalesce(json_agg(o ORDER BY compartment), '[]') FROM overdue_lockers o WHERE station_id = $1) AS overdue,
         (SELECT coalesce(json_agg(a ORDER BY last_at DESC, id DESC), '[]') FROM alerts a WHERE station_id = $1 AND state = 'firing') AS firing`,
      [stationId],
    );
    const faults = (r!.faults as Row[]).map(faultOf);
    return {
      heartbeats: (r!.heartbeats as Row[]).map(heartbeatOf),
      devices: devicesOf(r!.devices as Row[], faults),
      faults,
      overdue: (r!.overdue as Row[]).map(overdueOf),
      firing: (r!.firing as Row[]).map(alertOf),
    };
  }
}
