/**
 * The PostgreSQL backend of CloudStore (node-postgres), for any number of stateless cloud
 * instances on one database (SPEC §12). An append runs in one transaction that first takes the
 * station's advisory lock, so two instances ingesting the same station at once serialise there:
 * the second sees the head the first left and is refused with `head_moved` (the ingestor plans
 * again, and finds a replay). Serialization failures and deadlocks are retried.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { StationEvent } from '../../protocol/index.ts';
import type {
  AlertFire, AlertInput, AlertRow, AlertState, AppendBatch, AppendNextBatch, AppendNextResult, AppendResult, StationAlertState, DropEventsInput, DropEventsResult, CloudStore, EnrolInput, EnrolResult, InviteRow, NotificationOutcome, NotificationRow, RiderRow, SigningKeyRow,
  StationInput, StationPatch, StationRow, AddRelaysResult, DayFactRow, OutreachRow, RangeFigures, WeeklyFigures, RelayRow, SponsorRecord,
  AddressWindow, FileHazardResult, HazardChangeResult, HazardInput, HazardRow, HazardState, RiderStatusRow,
  ConflictKeyRow, ConflictRow, Scope, StoredFeedRow, ZoneBootstrapQuery,
} from './store.ts';
import { PgReports } from './pgReports.ts';
import { PgRiderPages } from './pgRiderPages.ts';
import { appendPgZone, PgZone } from './pgZone.ts';
import { PgAlerts } from './pgAlerts.ts';
import { PgEnrolment } from './pgEnrol.ts';
import { isSealed, openPrivateJwk, type KeyCipher } from './keyCipher.ts';
import { newStation, patched, STATION_COLUMNS, stationOf, stationValues } from './stationRows.ts';
import { migratePg } from './pgSchema.ts';
import { applyPgRollups, newestHeartbeat } from './pgRollups.ts';
import { dropPgEvents } from './pgDropEvents.ts';
import { PgReads } from './pgReads.ts';

type Row = Record<string, unknown>;

/** Advisory lock class of per-station ingest (`'WSin'`); the key is hashtext(stationId). */
export const INGEST_LOCK_CLASS = 0x5753696e;
/** SQLSTATEs worth retrying: serialization_failure, deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 6;

// BIGINT (ms timestamps, counts) and NUMERIC (sums) as JS numbers: every value we keep is far
// below 2^53. Per pool, so nothing global in node-postgres changes.
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export interface PgStoreOptions {
  logger?: Logger;
  /** Pool size per instance. */
  maxConnections?: number;
  /** Seals signing keys at rest (SPEC §12); without one, sealed keys are refused. */
  cipher?: KeyCipher;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch's events as the column arrays an `unnest` insert takes: seq, type, ts, day, data, hash. */
function eventColumns(ev: readonly StationEvent[], dataJson: readonly string[] | undefined): unknown[][] {
  return [
    ev.map((e) => e.seq),
    ev.map((e) => e.type),
    ev.map((e) => e.ts),
    ev.map((e) => e.day),
    ev.map((e, i) => dataJson?.[i] ?? JSON.stringify(e.data)),
    ev.map((e) => e.hash),
  ];
}

export class PgStore extends PgReads implements CloudStore {
  private closed = false;
  private readonly alertsDb: PgAlerts;
  private readonly reports: PgReports;
  private readonly riderPages: PgRiderPages;
  private readonly zone: PgZone;

  private constructor(
    pool: pg.Pool,
    url: string,
    private readonly logger: Logger | undefined,
    private readonly cipher: KeyCipher | undefined,
  ) {
    super(pool);
    this.alertsDb = new PgAlerts(pool, (fn) => this.tx(fn));
    this.reports = new PgReports(pool, (fn) => this.tx(fn));
    this.riderPages = new PgRiderPages(pool, (fn) => this.tx(fn));
    this.zone = new PgZone(pool, url, logger);
  }

  /** Connect, migrate (once across instances, under the migration lock) and return the store. */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10, types: TYPES });
    // An idle client losing its connection must not take the process down; the next query reconnects.
    pool.on('error', (err) => opts.logger?.warn({ err }, 'PostgreSQL connection lost'));
    try {
      const applied = await migratePg(pool);
      if (applied.length > 0) opts.logger?.info({ applied }, 'PostgreSQL schema migrated');
      const store = new PgStore(pool, url, opts.logger, opts.cipher);
      await store.sealKeys();
      return store;
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  /** Seal plaintext keys from before, and check the cipher opens the sealed ones. */
  private async sealKeys(): Promise<void> {
    await this.tx(async (c) => {
      const rows = (await c.query<{ kid: string; private_jwk: string }>('SELECT kid, private_jwk FROM signing_keys FOR UPDATE')).rows;
      for (const r of rows) {
        if (isSealed(r.private_jwk)) openPrivateJwk(this.cipher, r.kid, r.private_jwk);
        else if (this.cipher) await c.query('UPDATE signing_keys SET private_jwk = $1 WHERE kid = $2', [this.cipher.seal(r.kid, r.private_jwk), r.kid]);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.zone.close();
    await this.pool.end();
  }

  /** Run `fn` in one transaction, again on a serialization failure or deadlock. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        const code = (e as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_TX_ATTEMPTS) {
          this.logger?.debug({ code, attempt }, 'PostgreSQL transaction retried');
          await sleep(5 * attempt + Math.random() * 20);
          continue;
        }
        throw e;
      } finally {
        c.release();
      }
    }
  }

  async appendEvents(b: AppendBatch): Promise<AppendResult> {
    return this.tx(async (c) => {
      // SPEC §12: one station's batches through any number of instances are stored once.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [INGEST_LOCK_CLASS, b.stationId]);
      const cur = (await c.query<Row>('SELECT last_seq, last_hash FROM station_sync WHERE station_id = $1', [b.stationId])).rows[0];
      const curSeq = (cur?.last_seq as number | undefined) ?? 0;
      if (curSeq !== b.prev.seq || (cur && cur.last_hash !== b.prev.hash)) return { ok: false, reason: 'head_moved', seq: curSeq } as const;
      if (b.tokenSha256 !== undefined) {
        const st = (await c.query<{ token_sha256: string; enabled: boolean }>('SELECT token_sha256, enabled FROM stations WHERE id = $1', [b.stationId])).rows[0];
        if (st && st.token_sha256 !== b.tokenSha256) return { ok: false, reason: 'token_replaced', seq: curSeq } as const;
        if (st && !st.enabled) return { ok: false, reason: 'station_disabled', seq: curSeq } as const;
      }
      if (b.events.length === 0) return { ok: true, seq: curSeq } as const;
      const ev = b.events;
      await c.query(
        `INSERT INTO events (station_id, seq, type, ts, day, data, hash)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])`,
        [b.stationId, ...eventColumns(ev, b.dataJson)],
      );
      await applyPgRollups(c, b.stationId, b.effects);
      const last = ev[ev.length - 1]!;
      await c.query(
        `INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
         last_ts = excluded.last_ts, updated_at = excluded.updated_at`,
        [b.stationId, last.seq, last.hash, last.ts, b.receivedAt],
      );
      // SPEC §13 last, so the zone's counter row is locked for as short a time as it can be.
      const conflictsFound = await appendPgZone(c, b.stationId, b.feed ?? [], b.zoneScope, b.receivedAt);
      return conflictsFound > 0 ? ({ ok: true, seq: last.seq, conflictsFound } as const) : ({ ok: true, seq: last.seq } as const);
    });
  }

  /**
   * The common upload in one round trip (ws_append_next, pgSchema.ts): a batch of heartbeats is
   * one statement; a batch with other rollups or zone rows runs that statement, then those, in
   * one transaction.
   */
  async appendNext(b: AppendNextBatch): Promise<AppendNextResult> {
    const heartbeat = newestHeartbeat(b.effects);
    const rest = b.effects.map((list) => list.filter((e) => e.kind !== 'heartbeat' && e.kind !== 'invalid'));
    const ev = b.events;
    const call = {
      // Named: prepared once per connection, then only bound and run.
      name: 'ws_append_next',
      text: 'SELECT * FROM ws_append_next($1, $2, $3, $4, $5::int[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11, $12, $13)',
      values: [
        INGEST_LOCK_CLASS,
        b.stationId,
        b.tokenSha256 ?? null,
        b.firstText,
        ...eventColumns(ev, b.dataJson),
        b.receivedAt,
        heartbeat?.ts ?? null,
        heartbeat ? JSON.stringify(heartbeat.data) : null,
      ],
    };
    type Out = { status: 'ok' | 'not_next' | 'token_replaced' | 'station_disabled'; head_seq: number; head_hash: string; silent_firing: boolean | null };
    const resultOf = (o: Out, conflictsFound: number): AppendNextResult => {
      if (o.status === 'not_next') return { ok: false, reason: 'not_next', seq: o.head_seq, head: { seq: o.head_seq, hash: o.head_hash } };
      if (o.status !== 'ok') return { ok: false, reason: o.status, seq: o.head_seq };
      return { ok: true, seq: o.head_seq, silentFiring: o.silent_firing === true, ...(conflictsFound > 0 ? { conflictsFound } : {}) };
    };
    if (rest.every((l) => l.length === 0) && (b.feed ?? []).length === 0) {
      // One statement is its own transaction.
      return this.once(async () => resultOf((await this.pool.query<Out>(call)).rows[0]!, 0));
    }
    return this.tx(async (c) => {
      const o = (await c.query<Out>(call)).rows[0]!;
      if (o.status !== 'ok') return resultOf(o, 0);
      await applyPgRollups(c, b.stationId, rest);
      // SPEC §13 last, so the zone's counter row is locked for as short a time as it can be.
      return resultOf(o, await appendPgZone(c, b.stationId, b.feed ?? [], b.zoneScope, b.receivedAt));
    });
  }

  /** One statement, again on a serialization failure or deadlock (as `tx`). */
  private async once<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!code || !RETRYABLE.has(code) || attempt >= MAX_TX_ATTEMPTS) throw e;
        this.logger?.debug({ code, attempt }, 'PostgreSQL statement retried');
        await sleep(5 * attempt + Math.random() * 20);
      }
    }
  }

  async dropEventsFrom(d: DropEventsInput): Promise<DropEventsResult> {
    return this.tx(async (c) => {
      // The same lock as an append: no instance writes the station's log while it is rebuilt.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [INGEST_LOCK_CLASS, d.stationId]);
      return dropPgEvents(c, d);
    });
  }

  async eventsAfter(stationId: string, afterSeq: number, limit: number): Promise<StationEvent[]> {
    const r = await this.pool.query<Row>(
      'SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [stationId, afterSeq, limit],
    );
    return r.rows.map((x) => ({
      seq: x.seq as number,
      type: x.type as string,
      ts: x.ts as number,
      day: x.day as string,
      data: JSON.parse(x.data as string) as Row,
      hash: x.hash as string,
    }));
  }

  // --- zone feed and conflicts (SPEC §13): pgZone.ts ---
  zoneFeedAfter(zone: string, afterZseq: number, limit: number): Promise<StoredFeedRow[]> {
    return this.zone.after(zone, afterZseq, limit);
  }

  zoneFeedHead(zone: string): Promise<number> {
    return this.zone.head(zone);
  }

  async pruneZoneFeed(beforeDay: string, limit: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM zone_feed WHERE (zone, zseq) IN (SELECT zone, zseq FROM zone_feed WHERE day < $1 LIMIT $2)', [beforeDay, limit]);
    return r.rowCount ?? 0;
  }

  zoneFeedBootstrap(q: ZoneBootstrapQuery): Promise<{ head: number; rows: StoredFeedRow[] }> {
    return this.zone.bootstrap(q);
  }

  onZoneFeed(listener: (zone: string) => void): () => void {
    return this.zone.onZoneFeed(listener);
  }

  conflicts(week: string, zone: string | null): Promise<ConflictRow[]> {
    return this.zone.conflicts(week, zone);
  }

  weeklyConflicts(week: string, scope: Scope): Promise<Map<string, number>> {
    return this.zone.weekly(week, scope);
  }

  conflictsBetween(fromDay: string, toDay: string): Promise<ConflictKeyRow[]> {
    return this.zone.between(fromDay, toDay);
  }

  async raiseAlert(a: AlertInput): Promise<void> {
    await this.alertsDb.raise(a);
  }

  async acknowledgeAlert(id: number, by: string, at: number): Promise<AlertRow | null> {
    return this.alertsDb.acknowledge(id, by, at);
  }

  // --- SPEC §15 alerts and the notification outbox (pgAlerts.ts) ---
  fireAlert(a: AlertFire, at: number): Promise<{ fired: boolean; alert: AlertRow }> {
    return this.alertsDb.fire(a, at);
  }

  resolveAlert(fingerprint: string, at: number): Promise<boolean> {
    return this.alertsDb.resolve(fingerprint, at);
  }

  listAlerts(state: AlertState | 'all', limit: number): Promise<AlertRow[]> {
    return this.alertsDb.list(state, limit);
  }

  leaseChannel(channel: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.alertsDb.leaseChannel(channel, owner, now, leaseMs);
  }

  releaseChannel(channel: string, owner: string): Promise<void> {
    return this.alertsDb.releaseChannel(channel, owner);
  }

  dueNotifications(channel: string, now: number, limit: number): Promise<NotificationRow[]> {
    return this.alertsDb.due(channel, now, limit);
  }

  channelSendsSince(channel: string, sinceMs: number): Promise<number> {
    return this.alertsDb.sendsSince(channel, sinceMs);
  }

  settleNotifications(channel: string, at: number, results: ReadonlyArray<{ id: number; outcome: NotificationOutcome }>): Promise<void> {
    return this.alertsDb.settle(channel, at, results);
  }

  notificationCounts(): Promise<Record<string, number>> {
    return this.alertsDb.counts();
  }

  async createRider(r: { riderId: string; group: string; platform: string | null; createdAt: number }): Promise<RiderRow> {
    await this.pool.query('INSERT INTO riders (rider_id, grp, platform, created_at) VALUES ($1, $2, $3, $4)', [r.riderId, r.group, r.platform, r.createdAt]);
    return (await this.rider(r.riderId))!;
  }

  async revokeRider(riderId: string, at: number, reason: string | null): Promise<RiderRow | null> {
    await this.pool.query(
      'UPDATE riders SET revoked_at = coalesce(revoked_at, $1), revoke_reason = coalesce(revoke_reason, $2) WHERE rider_id = $3',
      [at, reason, riderId],
    );
    return this.rider(riderId);
  }

  async noteCredentialIssued(riderId: string, kid: string, expMs: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query('UPDATE riders SET last_credential_exp = greatest(coalesce(last_credential_exp, 0), $1) WHERE rider_id = $2', [expMs, riderId]);
      await c.query('UPDATE signing_keys SET last_exp = greatest(coalesce(last_exp, 0), $1) WHERE kid = $2', [expMs, kid]);
    });
  }

  async addSigningKey(k: { kid: string; privateJwk: Row; publicJwk: Row; createdAt: number }): Promise<void> {
    const priv = JSON.stringify(k.privateJwk);
    await this.pool.query('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4)', [
      k.kid,
      this.cipher ? this.cipher.seal(k.kid, priv) : priv,
      JSON.stringify(k.publicJwk),
      k.createdAt,
    ]);
  }

  async activateSigningKey(kid: string, at: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query('UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL', [at, kid]);
      await c.query('UPDATE signing_keys SET retired_at = NULL WHERE kid = $1', [kid]);
    });
  }

  // --- invites and enrolment (SPEC §14): pgEnrol.ts ---
  private get enrolment(): PgEnrolment {
    return new PgEnrolment(this.pool, (fn) => this.tx(fn));
  }

  createInvite(i: Omit<InviteRow, 'used'>): Promise<InviteRow> {
    return this.enrolment.createInvite(i);
  }

  invite(code: string): Promise<InviteRow | null> {
    return this.enrolment.invite(code);
  }

  enrolRider(e: EnrolInput): Promise<EnrolResult> {
    return this.enrolment.enrol(e);
  }

  riderByDevice(deviceX: string): Promise<RiderRow | null> {
    return this.enrolment.riderByDevice(deviceX);
  }

  riderContact(riderId: string): Promise<string | null> {
    return this.enrolment.contact(riderId);
  }

  withdrawRider(riderId: string, at: number): Promise<RiderRow | null> {
    return this.enrolment.withdraw(riderId, at);
  }

  // --- the rider page and hazard reports (pgRiderPages.ts) ---
  riderStatus(riderId: string): Promise<RiderStatusRow> {
    return this.riderPages.riderStatus(riderId);
  }

  hitAddressWindow(address: string, now: number, windowMs: number): Promise<AddressWindow> {
    return this.riderPages.hitAddressWindow(address, now, windowMs);
  }

  pruneAddressWindows(before: number, maxRows: number): Promise<number> {
    return this.riderPages.pruneAddressWindows(before, maxRows);
  }

  fileHazard(h: HazardInput, limit: { since: number; max: number }): Promise<FileHazardResult> {
    return this.riderPages.fileHazard(h, limit);
  }

  hazards(filter: { state?: HazardState; riderId?: string; limit: number }): Promise<HazardRow[]> {
    return this.riderPages.hazards(filter);
  }

  hazard(id: string): Promise<HazardRow | null> {
    return this.riderPages.hazard(id);
  }

  hazardPhoto(id: string): Promise<{ type: string; data: Buffer } | null> {
    return this.riderPages.hazardPhoto(id);
  }

  pruneHazards(before: number): Promise<number> {
    return this.riderPages.pruneHazards(before);
  }

  changeHazardState(id: string, change: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }): Promise<HazardChangeResult> {
    return this.riderPages.changeHazardState(id, change);
  }

  async signingKeys(): Promise<SigningKeyRow[]> {
    const r = await this.pool.query<Row>('SELECT * FROM signing_keys ORDER BY created_at, kid');
    return r.rows.map((x) => ({
      kid: x.kid as string,
      privateJwk: JSON.parse(openPrivateJwk(this.cipher, x.kid as string, x.private_jwk as string)) as Row,
      publicJwk: JSON.parse(x.public_jwk as string) as Row,
      createdAt: x.created_at as number,
      retiredAt: (x.retired_at as number | null) ?? null,
      lastExp: (x.last_exp as number | null) ?? null,
    }));
  }

  // --- stations (SPEC §12) ---

  async createStation(s: StationInput, at: number): Promise<StationRow | null> {
    try {
      const r = await this.pool.query<Row>(
        `INSERT INTO stations (${STATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING *`,
        stationValues(newStation(s, at), (b) => b),
      );
      return r.rows[0] ? stationOf(r.rows[0]) : null;
    } catch (e) {
      // Two instances applying the same config at once: the arbiter is the id, so the loser can
      // trip the token's unique index instead. The station exists then: as for a taken id.
      if ((e as { code?: string }).code === '23505' && (await this.station(s.id))) return null;
      throw e;
    }
  }

  async station(id: string): Promise<StationRow | null> {
    const [r] = await this.rows('SELECT * FROM stations WHERE id = $1', [id]);
    return r ? stationOf(r) : null;
  }

  async stationByTokenHash(tokenSha256: string): Promise<StationRow | null> {
    const [r] = await this.rows('SELECT * FROM stations WHERE token_sha256 = $1', [tokenSha256]);
    return r ? stationOf(r) : null;
  }

  async stations(): Promise<StationRow[]> {
    return (await this.rows('SELECT * FROM stations ORDER BY id')).map(stationOf);
  }

  async updateStation(id: string, patch: StationPatch, at: number): Promise<StationRow | null> {
    return this.tx(async (c) => {
      const [r] = (await c.query<Row>('SELECT * FROM stations WHERE id = $1 FOR UPDATE', [id])).rows;
      if (!r) return null;
      const next = patched(stationOf(r), patch, at);
      await c.query(
        `UPDATE stations SET token_sha256 = $2, timezone = $3, zone = $4, enabled = $5, maintenance_tokens = $6, devices = $7, updated_at = $8, config_applied = $9 WHERE id = $1`,
        stationValues(next, (b) => b).filter((_, i) => i !== 7),
      );
      return next;
    });
  }

  async noteConfigPulled(id: string, etag: string, at: number): Promise<void> {
    await this.pool.query('UPDATE stations SET config_etag = $2, config_pulled_at = $3 WHERE id = $1', [id, etag, at]);
  }

  dayFacts(fromDay: string, toDay: string, stationIds: readonly string[] | null): Promise<DayFactRow[]> {
    return this.reports.dayFacts(fromDay, toDay, stationIds);
  }

  rangeFigures(fromDay: string, toDay: string, lapsedFrom: string, stationIds: readonly string[]): Promise<RangeFigures> {
    return this.reports.rangeFigures(fromDay, toDay, lapsedFrom, stationIds);
  }

  weeklyFigures(week: string, scope: Scope): Promise<WeeklyFigures> {
    return this.reports.weeklyFigures(week, scope);
  }

  firstCheckinDays(riderIds: readonly string[]): Promise<Map<string, string>> {
    return this.reports.firstCheckinDays(riderIds);
  }

  createSponsor(s: SponsorRecord): Promise<SponsorRecord | null> {
    return this.reports.createSponsor(s);
  }

  sponsorRecords(): Promise<SponsorRecord[]> {
    return this.reports.sponsorRecords();
  }

  sponsorRecord(id: string): Promise<SponsorRecord | null> {
    return this.reports.sponsorRecord(id);
  }

  addRelays(r: { sponsorId: string; stationIds: readonly string[]; from: string; to: string; createdAt: number; createdBy: string }): Promise<AddRelaysResult> {
    return this.reports.addRelays(r);
  }

  relays(): Promise<RelayRow[]> {
    return this.reports.relays();
  }

  addOutreach(o: OutreachRow): Promise<void> {
    return this.reports.addOutreach(o);
  }

  outreachCount(riderId: string): Promise<number> {
    return this.reports.outreachCount(riderId);
  }

  outreach(riderIds: readonly string[]): Promise<OutreachRow[]> {
    return this.reports.outreach(riderIds);
  }
}
