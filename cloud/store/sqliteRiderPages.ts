/**
 * The rider page's store parts on SQLite (issue 12, SPEC §17): the status rollup's reads, the
 * enrolment windows per client address, and hazard reports with their photos and changes.
 * Each write is one transaction; filing takes the write lock before it counts (IMMEDIATE), so
 * the per-rider limit holds for writers racing on one file.
 */
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import type { AddressWindow, FileHazardResult, HazardChangeResult, HazardInput, HazardRow, HazardState, RiderStatusRow } from './store.ts';
import { HAZARD_COLUMNS, hazardMayMove, hazardOf, riderStatusOf } from './riderRows.ts';

type Row = Record<string, unknown>;

export class SqliteRiderPages {
  private readonly s: Record<string, Statement>;
  private readonly fileTx: Transaction<(h: HazardInput, since: number, max: number) => FileHazardResult>;
  private readonly pruneTx: Transaction<(before: number) => number>;
  private readonly changeTx: Transaction<(id: string, c: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }) => HazardChangeResult>;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      status: p('SELECT * FROM rider_status WHERE rider_id = ?'),
      lockers: p('SELECT * FROM rider_lockers WHERE rider_id = ? ORDER BY deposited_ts, station_id, compartment'),
      hit: p(`INSERT INTO enrol_windows (address, window_start, hits) VALUES (@address, @now, 1)
        ON CONFLICT (address) DO UPDATE SET
          hits = CASE WHEN @now - enrol_windows.window_start >= @windowMs THEN 1 ELSE enrol_windows.hits + 1 END,
          window_start = CASE WHEN @now - enrol_windows.window_start >= @windowMs THEN @now ELSE enrol_windows.window_start END
        RETURNING window_start, hits`),
      pruneOld: p('DELETE FROM enrol_windows WHERE window_start <= ?'),
      pruneOver: p('DELETE FROM enrol_windows WHERE address IN (SELECT address FROM enrol_windows ORDER BY window_start DESC, address LIMIT -1 OFFSET ?)'),
      countSince: p('SELECT count(*) AS n FROM hazards WHERE rider_id = ? AND created_at >= ?'),
      insert: p(`INSERT INTO hazards (id, rider_id, category, text, place_text, lat, lon, photo_type, photo, photo_bytes, state, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)`),
      one: p(`SELECT ${HAZARD_COLUMNS} FROM hazards WHERE id = ?`),
      list: p(`SELECT ${HAZARD_COLUMNS} FROM hazards WHERE (@state IS NULL OR state = @state) AND (@rider IS NULL OR rider_id = @rider)
        ORDER BY created_at DESC, id DESC LIMIT @limit`),
      changes: p('SELECT * FROM hazard_changes WHERE hazard_id = ? ORDER BY at, rowid'),
      photo: p('SELECT photo_type, photo FROM hazards WHERE id = ? AND photo IS NOT NULL'),
      move: p('UPDATE hazards SET state = ?, note = ?, updated_at = ? WHERE id = ?'),
      change: p('INSERT INTO hazard_changes (hazard_id, at, by, state, note) VALUES (?, ?, ?, ?, ?)'),
      pruneChanges: p('DELETE FROM hazard_changes WHERE hazard_id IN (SELECT id FROM hazards WHERE created_at < ?)'),
      prune: p('DELETE FROM hazards WHERE created_at < ?'),
    };
    this.pruneTx = db.transaction((before: number) => {
      this.s.pruneChanges!.run(before);
      return this.s.prune!.run(before).changes;
    });
    this.fileTx = db.transaction((h: HazardInput, since: number, max: number): FileHazardResult => {
      const n = (this.s.countSince!.get(h.riderId, since) as { n: number }).n;
      if (n >= max) return { kind: 'limited', count: n };
      this.s.insert!.run(
        h.id, h.riderId, h.category, h.text, h.place?.text ?? null, h.place?.lat ?? null, h.place?.lon ?? null,
        h.photo?.type ?? null, h.photo?.data ?? null, h.photo ? h.photo.data.length : null, h.at, h.at,
      );
      return { kind: 'filed', hazard: this.hazard(h.id)! };
    });
    this.changeTx = db.transaction((id, c): HazardChangeResult => {
      const cur = this.hazard(id);
      if (!cur) return { kind: 'not_found' };
      if (!hazardMayMove(cur.state, c.state)) return { kind: 'bad_transition', from: cur.state };
      this.s.move!.run(c.state, c.note, c.at, id);
      this.s.change!.run(id, c.at, c.by, c.state, c.note);
      return { kind: 'changed', hazard: this.hazard(id)! };
    });
  }

  riderStatus(riderId: string): RiderStatusRow {
    return riderStatusOf(riderId, this.s.status!.get(riderId) as Row | undefined, this.s.lockers!.all(riderId) as Row[]);
  }

  hitAddressWindow(address: string, now: number, windowMs: number): AddressWindow {
    const r = this.s.hit!.get({ address, now, windowMs }) as { window_start: number; hits: number };
    return { windowStart: r.window_start, hits: r.hits };
  }

  pruneAddressWindows(before: number, maxRows: number): number {
    return this.s.pruneOld!.run(before).changes + this.s.pruneOver!.run(maxRows).changes;
  }

  fileHazard(h: HazardInput, limit: { since: number; max: number }): FileHazardResult {
    return this.fileTx.immediate(h, limit.since, limit.max);
  }

  hazard(id: string): HazardRow | null {
    const r = this.s.one!.get(id) as Row | undefined;
    return r ? hazardOf(r, this.s.changes!.all(id) as Row[]) : null;
  }

  hazards(filter: { state?: HazardState; riderId?: string; limit: number }): HazardRow[] {
    const rows = this.s.list!.all({ state: filter.state ?? null, rider: filter.riderId ?? null, limit: filter.limit }) as Row[];
    return rows.map((r) => hazardOf(r, this.s.changes!.all(r.id) as Row[]));
  }

  hazardPhoto(id: string): { type: string; data: Buffer } | null {
    const r = this.s.photo!.get(id) as { photo_type: string; photo: Buffer } | undefined;
    return r ? { type: r.photo_type, data: r.photo } : null;
  }

  pruneHazards(before: number): number {
    return this.pruneTx(before);
  }

  changeHazardState(id: string, c: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }): HazardChangeResult {
    return this.changeTx.immediate(id, c);
  }
}
