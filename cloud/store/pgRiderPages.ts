/**
 * The rider page's store parts on PostgreSQL (issue 12, SPEC §17), as sqliteRiderPages.ts. The
 * enrolment window is one upsert (its row lock makes instances count one after the other);
 * filing a hazard takes the rider's advisory lock before it counts, so two instances cannot
 * both pass the daily limit; a state change locks the report's row.
 */
import type pg from 'pg';
import type { AddressWindow, FileHazardResult, HazardChangeResult, HazardInput, HazardRow, HazardState, RiderStatusRow } from './store.ts';
import { HAZARD_COLUMNS, hazardMayMove, hazardOf, riderStatusOf } from './riderRows.ts';

type Row = Record<string, unknown>;
type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
type Querier = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Advisory lock class of a rider's hazard filing (`'WShz'`); the key is hashtext(riderId). */
const HAZARD_LOCK_CLASS = 0x5753687a;

export class PgRiderPages {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: Tx,
  ) {}

  async riderStatus(riderId: string): Promise<RiderStatusRow> {
    const [status, lockers] = await Promise.all([
      this.pool.query<Row>('SELECT * FROM rider_status WHERE rider_id = $1', [riderId]),
      this.pool.query<Row>('SELECT * FROM rider_lockers WHERE rider_id = $1 ORDER BY deposited_ts, station_id, compartment', [riderId]),
    ]);
    return riderStatusOf(riderId, status.rows[0], lockers.rows);
  }

  async hitAddressWindow(address: string, now: number, windowMs: number): Promise<AddressWindow> {
    const r = await this.pool.query<{ window_start: number; hits: number }>(
      `INSERT INTO enrol_windows (address, window_start, hits) VALUES ($1, $2, 1)
       ON CONFLICT (address) DO UPDATE SET
         hits = CASE WHEN $2 - enrol_windows.window_start >= $3 THEN 1 ELSE enrol_windows.hits + 1 END,
         window_start = CASE WHEN $2 - enrol_windows.window_start >= $3 THEN $2 ELSE enrol_windows.window_start END
       RETURNING window_start, hits`,
      [address, now, windowMs],
    );
    return { windowStart: r.rows[0]!.window_start, hits: r.rows[0]!.hits };
  }

  async pruneAddressWindows(before: number, maxRows: number): Promise<number> {
    const old = await this.pool.query('DELETE FROM enrol_windows WHERE window_start <= $1', [before]);
    const over = await this.pool.query(
      'DELETE FROM enrol_windows WHERE address IN (SELECT address FROM enrol_windows ORDER BY window_start DESC, address OFFSET $1)',
      [maxRows],
    );
    return (old.rowCount ?? 0) + (over.rowCount ?? 0);
  }

  async fileHazard(h: HazardInput, limit: { since: number; max: number }): Promise<FileHazardResult> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [HAZARD_LOCK_CLASS, h.riderId]);
      const n = (await c.query<{ n: number }>('SELECT count(*) AS n FROM hazards WHERE rider_id = $1 AND created_at >= $2', [h.riderId, limit.since])).rows[0]!.n;
      if (n >= limit.max) return { kind: 'limited', count: n } as const;
      await c.query(
        `INSERT INTO hazards (id, rider_id, category, text, place_text, lat, lon, photo_type, photo, photo_bytes, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $11, $11)`,
        [h.id, h.riderId, h.category, h.text, h.place?.text ?? null, h.place?.lat ?? null, h.place?.lon ?? null, h.photo?.type ?? null, h.photo?.data ?? null, h.photo ? h.photo.data.length : null, h.at],
      );
      return { kind: 'filed', hazard: (await this.read(c, h.id))! } as const;
    });
  }

  async hazard(id: string): Promise<HazardRow | null> {
    return this.read(this.pool, id);
  }

  async hazards(filter: { state?: HazardState; riderId?: string; limit: number }): Promise<HazardRow[]> {
    const rows = (
      await this.pool.query<Row>(
        `SELECT ${HAZARD_COLUMNS} FROM hazards WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR rider_id = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3`,
        [filter.state ?? null, filter.riderId ?? null, filter.limit],
      )
    ).rows;
    if (rows.length === 0) return [];
    const changes = (
      await this.pool.query<Row>('SELECT * FROM hazard_changes WHERE hazard_id = ANY($1::text[]) ORDER BY at, state', [rows.map((r) => r.id as string)])
    ).rows;
    return rows.map((r) => hazardOf(r, changes.filter((c) => c.hazard_id === r.id)));
  }

  async hazardPhoto(id: string): Promise<{ type: string; data: Buffer } | null> {
    const r = (await this.pool.query<{ photo_type: string; photo: Buffer }>('SELECT photo_type, photo FROM hazards WHERE id = $1 AND photo IS NOT NULL', [id])).rows[0];
    return r ? { type: r.photo_type, data: r.photo } : null;
  }

  async pruneHazards(before: number): Promise<number> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM hazard_changes WHERE hazard_id IN (SELECT id FROM hazards WHERE created_at < $1)', [before]);
      return (await c.query('DELETE FROM hazards WHERE created_at < $1', [before])).rowCount ?? 0;
    });
  }

  async changeHazardState(id: string, c: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }): Promise<HazardChangeResult> {
    return this.tx(async (q) => {
      const cur = (await q.query<{ state: HazardState }>('SELECT state FROM hazards WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!cur) return { kind: 'not_found' } as const;
      if (!hazardMayMove(cur.state, c.state)) return { kind: 'bad_transition', from: cur.state } as const;
      await q.query('UPDATE hazards SET state = $1, note = $2, updated_at = $3 WHERE id = $4', [c.state, c.note, c.at, id]);
      await q.query('INSERT INTO hazard_changes (hazard_id, at, by, state, note) VALUES ($1, $2, $3, $4, $5)', [id, c.at, c.by, c.state, c.note]);
      return { kind: 'changed', hazard: (await this.read(q, id))! } as const;
    });
  }

  private async read(q: Querier, id: string): Promise<HazardRow | null> {
    const r = (await q.query<Row>(`SELECT ${HAZARD_COLUMNS} FROM hazards WHERE id = $1`, [id])).rows[0];
    if (!r) return null;
    const changes = (await q.query<Row>('SELECT * FROM hazard_changes WHERE hazard_id = $1 ORDER BY at, state', [id])).rows;
    return hazardOf(r, changes);
  }
}
