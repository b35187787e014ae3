/**
 * Applies rollup effects inside the append transaction (SQLite backend). Counters of one batch
 * are summed in memory first, so a batch of 500 events costs a few statements per distinct
 * (week, rider), not per event.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { RollupEffect } from '../ingest/rollupEffects.ts';
import { foldRiderStatus, newRiderStatusFold, RIDER_STATUS_COLUMNS, RIDER_STATUS_UPSERT, riderStatusUpserts, riderStatusValues, type RiderStatusFold } from './riderRows.ts';

interface WeekCounters {
  checkins: number;
  hot: number;
  cold: number;
  other: number;
}

/** Bound of each memo below; past it the memo starts over (it is only a shortcut). */
const MEMO_LIMIT = 250_000;
/** Rider-week rows per multi-row INSERT (4 parameters each). */
const RIDER_ROWS = 64;
/** Rider-status rows per multi-row upsert (11 parameters each), and first check-in days (3 each). */
const STATUS_ROWS = 32;
const FIRST_DAY_ROWS = 64;

type Heartbeat = Extract<RollupEffect, { kind: 'heartbeat' }>;

export class SqliteRollups {
  private readonly s: Record<string, Statement>;
  /**
   * Memos of committed rollup rows, so a batch skips statements that cannot change anything:
   * rider-week rows (never deleted; value = checked in) and first check-in days (only ever move
   * earlier, so a day at or after the memo cannot). Filled only after the transaction commits.
   */
  private readonly riderWeekMemo = new Map<string, boolean>();
  private readonly firstDayMemo = new Map<string, string>();
  private pending: { riderWeek: [string, boolean][]; firstDay: [string, string][] } = { riderWeek: [], firstDay: [] };

  /** Multi-row statements of `n` rows, prepared once per (statement, n). */
  private readonly multiRow = new Map<string, Statement>();

  constructor(private readonly db: Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      riderWeekCheckin: p('UPDATE rider_week SET checked_in = 1 WHERE week = ? AND station_id = ? AND rider_id = ? AND checked_in = 0'),
      weekUpsert: p(`INSERT INTO week_station (week, station_id, checkins, riders, bottles_hot, bottles_cold, bottles_other)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (week, station_id) DO UPDATE SET
        checkins = checkins + excluded.checkins, riders = riders + excluded.riders,
        bottles_hot = bottles_hot + excluded.bottles_hot, bottles_cold = bottles_cold + excluded.bottles_cold,
        bottles_other = bottles_other + excluded.bottles_other`),
      sponsorUpsert: p(`INSERT INTO week_sponsor (week, station_id, sponsor, bottles, restocked) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (week, station_id, sponsor) DO UPDATE SET bottles = bottles + excluded.bottles, restocked = restocked + excluded.restocked`),
      deviceUpsert: p(`INSERT INTO devices (station_id, device_id, kind, state, in_service, last_seen, stock)
        VALUES (@station, @device, @kind, coalesce(@state, 'online'), coalesce(@inService, 1), @ts, @stock)
        ON CONFLICT (station_id, device_id) DO UPDATE SET
          kind = coalesce(excluded.kind, kind),
          in_service = coalesce(@inService, in_service),
          state = CASE WHEN coalesce(@inService, in_service) = 0 THEN 'out_of_service' ELSE coalesce(@state, state) END,
          last_seen = max(last_seen, excluded.last_seen),
          stock = coalesce(excluded.stock, stock)`),
      faultOpen: p('INSERT OR IGNORE INTO open_faults (station_id, device_id, fault, since) VALUES (?, ?, ?, ?)'),
      faultClose: p('DELETE FROM open_faults WHERE station_id = ? AND device_id = ? AND fault = ?'),
      faultCloseAll: p('DELETE FROM open_faults WHERE station_id = ? AND device_id = ?'),
      overdueOpen: p('INSERT OR REPLACE INTO overdue_lockers (station_id, compartment, since, rider_id) VALUES (?, ?, ?, ?)'),
      overdueClear: p('DELETE FROM overdue_lockers WHERE station_id = ? AND compartment = ?'),
      heartbeat: p(`INSERT INTO heartbeats (station_id, ts, data) VALUES (?, ?, ?)
        ON CONFLICT (station_id) DO UPDATE SET ts = excluded.ts, data = excluded.data WHERE excluded.ts >= heartbeats.ts`),
      lockerHeld: p(`INSERT INTO rider_lockers (station_id, compartment, rider_id, label, deposited_ts, deadline_ts, overdue_since)
        VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (station_id, compartment) DO UPDATE SET rider_id = excluded.rider_id,
          label = excluded.label, deposited_ts = excluded.deposited_ts, deadline_ts = excluded.deadline_ts, overdue_since = NULL
        WHERE excluded.deposited_ts >= rider_lockers.deposited_ts`),
      lockerOverdue: p('UPDATE rider_lockers SET overdue_since = coalesce(overdue_since, ?) WHERE station_id = ? AND compartment = ? AND deposited_ts <= ?'),
      lockerFreed: p('DELETE FROM rider_lockers WHERE station_id = ? AND compartment = ? AND deposited_ts <= ?'),
    };
  }

  /** Apply the effects of one batch of one station (call inside the append transaction). */
  apply(stationId: string, effects: readonly (readonly RollupEffect[])[]): void {
    const weeks = new Map<string, WeekCounters>();
    const riderWeeks = new Map<string, { week: string; riderId: string; checkedIn: boolean }>();
    const firstDays = new Map<string, { day: string; week: string }>();
    const sponsors = new Map<string, { week: string; sponsor: string; bottles: number; restocked: number }>();
    const week = (w: string): WeekCounters => {
      let c = weeks.get(w);
      if (!c) weeks.set(w, (c = { checkins: 0, hot: 0, cold: 0, other: 0 }));
      return c;
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
    const riders = newRiderStatusFold();
    // Only the newest heartbeat of a batch can stay (the upsert keeps the latest ts; of equal
    // ones, the last), so one statement a batch instead of one a heartbeat.
    let heartbeat: Heartbeat | null = null;
    for (const list of effects) {
      for (const e of list) {
        switch (e.kind) {
          case 'checkin': {
            week(e.week).checkins++;
            seeRider(e.week, e.riderId, true);
            const f = firstDays.get(e.riderId);
            if (!f || e.day < f.day) firstDays.set(e.riderId, { day: e.day, week: e.week });
            break;
          }
          case 'bottle': {
            const c = week(e.week);
            if (e.compartment === 'hot') c.hot++;
            else if (e.compartment === 'cold') c.cold++;
            else c.other++;
            seeRider(e.week, e.riderId, false);
            sponsor(e.week, e.sponsor).bottles++;
            break;
          }
          case 'restock':
            week(e.week);
            sponsor(e.week, e.sponsor).restocked += e.count;
            break;
          case 'heartbeat':
            if (!heartbeat || e.ts >= heartbeat.ts) heartbeat = e;
            break;
          default:
            if (!foldRiderStatus(riders, e)) this.applyHealth(stationId, e);
        }
      }
    }
    if (heartbeat) this.s.heartbeat!.run(stationId, heartbeat.ts, JSON.stringify(heartbeat.data));
    this.applyRiderStatus(stationId, riders);
    const newRiders = new Map<string, number>();
    // Rider-weeks the memo does not know go in with one multi-row INSERT OR IGNORE per
    // (week, checked in) group; its change count is the number of riders new to that week.
    const unknown = new Map<string, { week: string; checkedIn: boolean; riders: string[] }>();
    for (const r of riderWeeks.values()) {
      const key = `${stationId}\u0000${r.week}\u0000${r.riderId}`;
      const known = this.riderWeekMemo.get(key);
      if (known === true || (known === false && !r.checkedIn)) continue;
      this.pending.riderWeek.push([key, r.checkedIn]);
      if (known === false) {
        this.s.riderWeekCheckin!.run(r.week, stationId, r.riderId);
        continue;
      }
      const g = `${r.week}\u0000${r.checkedIn ? 1 : 0}`;
      let group = unknown.get(g);
      if (!group) unknown.set(g, (group = { week: r.week, checkedIn: r.checkedIn, riders: [] }));
      group.riders.push(r.riderId);
    }
    for (const { week: w, checkedIn, riders } of unknown.values()) {
      for (let i = 0; i < riders.length; i += RIDER_ROWS) {
        const chunk = riders.slice(i, i + RIDER_ROWS);
        const params: unknown[] = [];
        for (const riderId of chunk) params.push(w, stationId, riderId, checkedIn ? 1 : 0);
        const added = this.rows('riderWeek', chunk.length).run(params).changes;
        if (added > 0) newRiders.set(w, (newRiders.get(w) ?? 0) + added);
        // Some rows were there already (seen before without a check-in): mark them checked in.
        if (checkedIn && added < chunk.length) for (const riderId of chunk) this.s.riderWeekCheckin!.run(w, stationId, riderId);
      }
    }
    for (const [w, c] of weeks) this.s.weekUpsert!.run(w, stationId, c.checkins, newRiders.get(w) ?? 0, c.hot, c.cold, c.other);
    const firstParams: unknown[] = [];
    for (const [riderId, f] of firstDays) {
      const anyMemo = this.firstDayMemo.get(riderId);
      if (anyMemo === undefined || f.day < anyMemo) {
        firstParams.push(riderId, f.day, f.week);
        this.pending.firstDay.push([riderId, f.day]);
      }
    }
    this.runRows('firstDay', 3, FIRST_DAY_ROWS, firstParams);
    for (const s of sponsors.values()) this.s.sponsorUpsert!.run(s.week, stationId, s.sponsor, s.bottles, s.restocked);
  }

  /**
   * A multi-row statement of `n` rows: `riderWeek`, INSERT OR IGNORE of rider-week rows (its
   * change count is the rows new to the table); `firstDay`, the first check-in days, which only
   * move earlier; `status`, the rider status (RIDER_STATUS_UPSERT). Rows of one statement have
   * distinct keys, so each is decided against the row as stored, as one statement each would be.
   */
  private rows(kind: 'riderWeek' | 'firstDay' | 'status', n: number): Statement {
    const key = `${kind}:${n}`;
    let st = this.multiRow.get(key);
    if (!st) {
      const values = (width: number) => Array(n).fill(`(${Array(width).fill('?').join(', ')})`).join(', ');
      const sql = {
        riderWeek: () => `INSERT OR IGNORE INTO rider_week (week, station_id, rider_id, checked_in) VALUES ${values(4)}`,
        firstDay: () => `INSERT INTO rider_first_any (rider_id, first_day, first_week) VALUES ${values(3)}
          ON CONFLICT (rider_id) DO UPDATE SET first_day = excluded.first_day, first_week = excluded.first_week
          WHERE excluded.first_day < rider_first_any.first_day`,
        status: () => `INSERT INTO rider_status (${RIDER_STATUS_COLUMNS}) VALUES ${values(11)} ${RIDER_STATUS_UPSERT}`,
      }[kind]();
      st = this.db.prepare(sql);
      this.multiRow.set(key, st);
    }
    return st;
  }

  /** `params` (`width` a row) through `rows(kind)`, at most `most` rows a statement. */
  private runRows(kind: 'firstDay' | 'status', width: number, most: number, params: unknown[]): void {
    for (let i = 0; i < params.length; i += width * most) {
      const chunk = params.slice(i, i + width * most);
      this.rows(kind, chunk.length / width).run(chunk);
    }
  }

  /** The append transaction committed: its rows are now known. */
  committed(): void {
    if (this.riderWeekMemo.size > MEMO_LIMIT) this.riderWeekMemo.clear();
    if (this.firstDayMemo.size > MEMO_LIMIT) this.firstDayMemo.clear();
    for (const [k, checkedIn] of this.pending.riderWeek) this.riderWeekMemo.set(k, checkedIn || this.riderWeekMemo.get(k) === true);
    for (const [k, day] of this.pending.firstDay) {
      const m = this.firstDayMemo.get(k);
      if (m === undefined || day < m) this.firstDayMemo.set(k, day);
    }
    this.rolledBack();
  }

  /** Rows were deleted (a log re-admitted): nothing the memos hold can be trusted. */
  forget(): void {
    this.riderWeekMemo.clear();
    this.firstDayMemo.clear();
    this.rolledBack();
  }

  /** The append transaction did not commit: forget what it would have written. */
  rolledBack(): void {
    this.pending = { riderWeek: [], firstDay: [] };
  }

  private applyRiderStatus(stationId: string, f: RiderStatusFold): void {
    // The rider page's status (issue 12): newer by event time wins; a tie goes to the larger
    // station id, so the result does not depend on which station synced first.
    const params: unknown[] = [];
    for (const r of riderStatusUpserts(f)) params.push(...riderStatusValues(stationId, r));
    this.runRows('status', 11, STATUS_ROWS, params);
    for (const e of f.lockers) {
      if (e.kind === 'rider.locker') this.s.lockerHeld!.run(stationId, e.compartment, e.riderId, e.label, e.ts, e.deadlineTs);
      else if (e.kind === 'rider.locker.overdue') this.s.lockerOverdue!.run(e.ts, stationId, e.compartment, e.ts);
      else this.s.lockerFreed!.run(stationId, e.compartment, e.ts);
    }
  }

  private applyHealth(stationId: string, e: RollupEffect): void {
    switch (e.kind) {
      case 'device':
        this.s.deviceUpsert!.run({
          station: stationId,
          device: e.deviceId,
          kind: e.deviceKind ?? null,
          state: e.state ?? null,
          inService: e.inService === undefined ? null : e.inService ? 1 : 0,
          ts: e.ts,
          stock: e.stock ? JSON.stringify(e.stock) : null,
        });
        break;
      case 'fault.open':
        this.s.faultOpen!.run(stationId, e.deviceId, e.fault, e.ts);
        break;
      case 'fault.close':
        if (e.fault === null) this.s.faultCloseAll!.run(stationId, e.deviceId);
        else this.s.faultClose!.run(stationId, e.deviceId, e.fault);
        break;
      case 'locker.overdue':
        this.s.overdueOpen!.run(stationId, e.compartment, e.ts, e.riderId);
        break;
      case 'locker.clear':
        this.s.overdueClear!.run(stationId, e.compartment);
        break;
      default:
        break;
    }
  }
}
