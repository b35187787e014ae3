/**
 * The zone feed and conflicts of the PostgreSQL backend (SPEC §13), for N instances on one
 * database. Order without loss: `append` (inside the ingest transaction, after the station's
 * advisory lock) takes the zone's counter with `UPDATE … RETURNING`; the counter row stays
 * locked until commit, so the zone's appends commit in counter order and a reader that sees
 * zseq n sees every zseq below it (a bigserial would not: a lower id can commit after a higher
 * one is read). The same lock orders the conflict check, so two stations' claims, through two
 * instances at once, see each other. `pg_notify` in the transaction is delivered at commit to
 * the one listening connection of every process.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { claimChanges, type FeedRow } from '../zone/feedEntries.ts';
import type { ConflictKeyRow, ConflictRow, Scope, StoredFeedRow, ZoneBootstrapQuery } from './store.ts';
import { BOOTSTRAP_SQL, CONFLICTS_SQL, conflictsOfDb, feedRowOfDb, conflictsPerStation, RANGE_CONFLICTS_SQL, weekDays, weekOfConflictDay } from './zoneRows.ts';

type Row = Record<string, unknown>;
const q = (n: number) => `$${n}`;

/** The NOTIFY channel of zone-feed wake-ups; the payload is the zone. */
export const ZONE_FEED_CHANNEL = 'waystation_zone_feed';
const RELISTEN_MS = 1000;
/** `application_name` of the LISTEN connection, so an operator can tell it from the pool's. */
export const LISTEN_APPLICATION = 'waystation-zone-feed';

export async function appendPgZone(
  c: pg.PoolClient,
  stationId: string,
  feed: readonly FeedRow[],
  zoneScope: ((zone: string) => 'station' | 'zone') | undefined,
  at: number,
): Promise<number> {
  if (feed.length === 0) return 0;
  const zone = (await c.query<{ zone: string }>('SELECT zone FROM stations WHERE id = $1', [stationId])).rows[0]?.zone;
  if (zone === undefined) return 0;
  const last = (
    await c.query<{ zseq: number }>(
      `INSERT INTO zone_heads (zone, zseq) VALUES ($1, $2) ON CONFLICT (zone) DO UPDATE SET zseq = zone_heads.zseq + excluded.zseq RETURNING zseq`,
      [zone, feed.length],
    )
  ).rows[0]!.zseq;
  const first = last - feed.length + 1;
  await c.query(
    `INSERT INTO zone_feed (zone, zseq, station_id, seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, feed_age_ms)
     SELECT $1, $2 + o - 1, $3, seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, feed_age_ms FROM unnest($4::int[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
       WITH ORDINALITY AS u(seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, feed_age_ms, o)`,
    [
      zone, first, stationId,
      feed.map((r) => r.seq), feed.map((r) => r.type), feed.map((r) => r.day), feed.map((r) => r.ts), feed.map((r) => r.riderId),
      feed.map((r) => r.windowFrom), feed.map((r) => r.windowTo), feed.map((r) => r.claimId), feed.map((r) => r.outcome), feed.map((r) => r.feedAgeMs),
    ],
  );
  await c.query('SELECT pg_notify($1, $2)', [ZONE_FEED_CHANNEL, zone]);
  // Each claim's standing (set-based: one statement for the grants, one for the releases), then
  // one conflict check per (rider, day) the batch touched.
  const { grants, releases } = claimChanges(feed);
  const touched = new Map<string, { riderId: string; day: string; released: boolean }>();
  const touch = (rows: Row[], released: boolean) => {
    for (const k of rows) {
      if (k.zone !== zone) continue;
      const key = `${k.rider_id as string}\u0000${k.day as string}`;
      const t = touched.get(key);
      if (t) t.released ||= released;
      else touched.set(key, { riderId: k.rider_id as string, day: k.day as string, released });
    }
  };
  if (grants.length > 0) {
    const r = await c.query<Row>(
      `INSERT INTO zone_claims (station_id, claim_id, zone, rider_id, day, ts, state, feed_age_ms)
       SELECT $1, claim_id, $2, rider_id, day, ts, 'granted', feed_age_ms FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
         AS u(claim_id, rider_id, day, ts, feed_age_ms)
       ON CONFLICT (station_id, claim_id) DO UPDATE SET state = 'granted', feed_age_ms = coalesce(excluded.feed_age_ms, zone_claims.feed_age_ms)
       RETURNING zone, rider_id, day`,
      [stationId, zone, grants.map((g) => g.claimId), grants.map((g) => g.riderId), grants.map((g) => g.day), grants.map((g) => g.ts), grants.map((g) => g.feedAgeMs)],
    );
    touch(r.rows, false);
  }
  if (releases.length > 0) {
    const r = await c.query<Row>(`UPDATE zone_claims SET state = 'released' WHERE station_id = $1 AND claim_id = ANY($2::text[]) RETURNING zone, rider_id, day`, [
      stationId, releases,
    ]);
    touch(r.rows, true);
  }
  // Conflicts are kept only where the zone's policy is zone-scoped (SPEC §13).
  if ((zoneScope?.(zone) ?? 'station') !== 'zone' || touched.size === 0) return 0;
  const keys = [...touched.values()];
  const counts = await c.query<{ rider_id: string; day: string; released: boolean; n: number }>(
    `SELECT k.rider_id, k.day, k.released,
       (SELECT count(DISTINCT z.station_id) FROM zone_claims z WHERE z.zone = $1 AND z.rider_id = k.rider_id AND z.day = k.day AND z.state = 'granted') AS n
     FROM unnest($2::text[], $3::text[], $4::bool[]) AS k(rider_id, day, released)`,
    [zone, keys.map((k) => k.riderId), keys.map((k) => k.day), keys.map((k) => k.released)],
  );
  const add = counts.rows.filter((k) => Number(k.n) >= 2);
  const drop = counts.rows.filter((k) => Number(k.n) < 2 && k.released);
  let found = 0;
  if (add.length > 0) {
    const ins = await c.query(
      `INSERT INTO zone_conflicts (zone, rider_id, day, week, found_at) SELECT $1, rider_id, day, week, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS u(rider_id, day, week)
       ON CONFLICT DO NOTHING`,
      [zone, add.map((k) => k.rider_id), add.map((k) => k.day), add.map((k) => weekOfConflictDay(k.day)), at],
    );
    found = ins.rowCount ?? 0;
  }
  if (drop.length > 0) {
    await c.query('DELETE FROM zone_conflicts WHERE zone = $1 AND (rider_id, day) IN (SELECT * FROM unnest($2::text[], $3::text[]))', [
      zone, drop.map((k) => k.rider_id), drop.map((k) => k.day),
    ]);
  }
  return found;
}

/** Reads of the zone feed, and the one LISTEN connection of this process. */
export class PgZone {
  private readonly listeners = new Set<(zone: string) => void>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly logger?: Logger,
  ) {}

  async after(zone: string, afterZseq: number, limit: number): Promise<StoredFeedRow[]> {
    const r = await this.pool.query<Row>('SELECT * FROM zone_feed WHERE zone = $1 AND zseq > $2 ORDER BY zseq LIMIT $3', [zone, afterZseq, limit]);
    return r.rows.map(feedRowOfDb);
  }

  async head(zone: string): Promise<number> {
    const r = await this.pool.query<{ zseq: number }>('SELECT zseq FROM zone_heads WHERE zone = $1', [zone]);
    return r.rows[0]?.zseq ?? 0;
  }

  /** The head and the first page in one snapshot, so the page holds every row up to the head. */
  async bootstrap(b: ZoneBootstrapQuery): Promise<{ head: number; rows: StoredFeedRow[] }> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const head = b.head ?? (await c.query<{ zseq: number }>('SELECT zseq FROM zone_heads WHERE zone = $1', [b.zone])).rows[0]?.zseq ?? 0;
      const rows = await c.query<Row>(BOOTSTRAP_SQL(q), [b.zone, b.afterZseq, head, b.stationId, b.windowsFrom, b.claimsFrom, b.limit]);
      await c.query('COMMIT');
      return { head, rows: rows.rows.map(feedRowOfDb) };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async conflicts(week: string, zone: string | null): Promise<ConflictRow[]> {
    return conflictsOfDb((await this.pool.query<Row>(CONFLICTS_SQL(q), [week, zone])).rows);
  }

  async weekly(week: string, scope: Scope): Promise<Map<string, number>> {
    const { from, to } = weekDays(week);
    return conflictsPerStation(await this.between(from, to), scope);
  }

  async between(fromDay: string, toDay: string): Promise<ConflictKeyRow[]> {
    const r = await this.pool.query<{ station_id: string; zone: string; rider_id: string; day: string }>(RANGE_CONFLICTS_SQL(q), [fromDay, toDay]);
    return r.rows.map((x) => ({ stationId: x.station_id, zone: x.zone, riderId: x.rider_id, day: x.day }));
  }

  onZoneFeed(listener: (zone: string) => void): () => void {
    this.listeners.add(listener);
    this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** One connection per process LISTENs; a lost one is opened again (polls cover the gap). */
  private listen(): void {
    if (this.closed || this.client || this.connecting) return;
    const client = new pg.Client({ connectionString: this.url, application_name: LISTEN_APPLICATION });
    const lost = (err?: Error) => {
      if (this.client !== client && this.connecting === null) return;
      this.client = null;
      this.connecting = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.logger?.warn({ err }, 'zone-feed LISTEN connection lost; opening it again');
      this.retry = setTimeout(() => {
        this.retry = null;
        if (this.listeners.size > 0) this.listen();
      }, RELISTEN_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (m) => {
      if (m.channel !== ZONE_FEED_CHANNEL || !m.payload) return;
      for (const l of this.listeners) l(m.payload);
    });
    this.connecting = client
      .connect()
      .then(() => client.query(`LISTEN ${ZONE_FEED_CHANNEL}`))
      .then(() => {
        this.connecting = null;
        if (this.closed) {
          void client.end().catch(() => undefined);
          return;
        }
        this.client = client;
      })
      .catch((e: Error) => lost(e));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}
