/**
 * The SQLite backend of CloudStore (better-sqlite3, WAL, synchronous=FULL: an acknowledged
 * event is on disk before `ackedSeq` goes out, since the edge may prune it after that).
 */
import Database, { type Database as Db, type Statement, type Transaction } from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GENESIS_HASH, sha256Hex, type StationEvent } from '../../protocol/index.ts';
import type {
  AlertFire, AlertInput, AlertRow, AlertState, AppendBatch, AppendNextBatch, AppendNextResult, DropEventsInput, DropEventsResult, NotificationOutcome, NotificationRow, AppendResult, CloudStore, DeviceRow, FaultRow, HeartbeatRow, OverdueLockerRow,
  EnrolInput, EnrolResult, InviteRow, RiderRow, Scope, SigningKeyRow, SponsorRow, StationInput, StationPatch, StationRow, SyncHeadRow, WeeklyStationRow, WeeklyTotals,
  AddRelaysResult, DayFactRow, OutreachRow, RangeFigures, WeeklyFigures, RelayRow, SponsorRecord,
  AddressWindow, FileHazardResult, HazardChangeResult, HazardInput, HazardRow, HazardState, RiderStatusRow,
  ConflictKeyRow, ConflictRow, StationAlertState, StoredFeedRow, ZoneBootstrapQuery,
} from './store.ts';
import { SqliteReports } from './sqliteReports.ts';
import { SqliteRiderPages } from './sqliteRiderPages.ts';
import { SqliteZone } from './sqliteZone.ts';
import { SqliteStations } from './sqliteStations.ts';
import { dropEventsInTx } from './sqliteDropEvents.ts';
import { isSealed, openPrivateJwk, type KeyCipher } from './keyCipher.ts';
import { migrate } from './sqliteSchema.ts';
import { SqliteRollups } from './sqliteRollups.ts';
import { SqliteAlerts } from './sqliteAlerts.ts';
import { SqliteEnrolment } from './sqliteEnrol.ts';
import { devicesOf, faultOf, headOf, heartbeatOf, overdueOf, riderOf } from './rows.ts';
import { alertOf } from './alertRows.ts';

type Row = Record<string, unknown>;
/** Events per multi-row INSERT in an append (7 parameters each, far below SQLite's limit). */
const INSERT_ROWS = 50;

export class SqliteStore implements CloudStore {
  readonly db: Db;
  private readonly rollups: SqliteRollups;
  private readonly alertsDb: SqliteAlerts;
  private readonly enrolment: SqliteEnrolment;
  private readonly stationRows: SqliteStations;
  private readonly reports: SqliteReports;
  private readonly riderPages: SqliteRiderPages;
  private readonly zone: SqliteZone;
  /** The zone the append in progress stored feed rows in, woken once it commits. */
  private appendedZone: string | null = null;
  private readonly s: Record<string, Statement>;
  private readonly appendTx: Transaction<(b: AppendBatch) => AppendResult>;
  private readonly appendNextTx: Transaction<(b: AppendNextBatch) => AppendNextResult>;

  private constructor(
    db: Db,
    private readonly cipher?: KeyCipher,
  ) {
    this.db = db;
    this.rollups = new SqliteRollups(db);
    this.alertsDb = new SqliteAlerts(db);
    this.enrolment = new SqliteEnrolment(db);
    this.stationRows = new SqliteStations(db);
    this.reports = new SqliteReports(db);
    this.riderPages = new SqliteRiderPages(db);
    this.zone = new SqliteZone(db);
    this.appendTx = db.transaction((b: AppendBatch) => this.appendInTx(b));
    this.appendNextTx = db.transaction((b: AppendNextBatch) => this.appendNextInTx(b));
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      head: p('SELECT * FROM station_sync WHERE station_id = ?'),
      stationToken: p('SELECT token_sha256, enabled FROM stations WHERE id = ?'),
      heads: p('SELECT * FROM station_sync ORDER BY station_id'),
      hashes: p('SELECT seq, hash FROM events WHERE station_id = ? AND seq BETWEEN ? AND ?'),
      insertEvent: p('INSERT INTO events (station_id, seq, type, ts, day, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertEvents: p(`INSERT INTO events (station_id, seq, type, ts, day, data, hash) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`),
      setHead: p(`INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
        last_ts = excluded.last_ts, updated_at = excluded.updated_at`),
      eventsAfter: p('SELECT seq, type, ts, day, data, hash FROM events WHERE station_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      countEvents: p('SELECT count(*) AS n FROM events WHERE station_id = ?'),
      riderInsert: p('INSERT INTO riders (rider_id, grp, platform, created_at) VALUES (?, ?, ?, ?)'),
      rider: p('SELECT * FROM riders WHERE rider_id = ?'),
      revoke: p('UPDATE riders SET revoked_at = coalesce(revoked_at, ?), revoke_reason = coalesce(revoke_reason, ?) WHERE rider_id = ?'),
      revoked: p(`SELECT rider_id FROM riders WHERE revoked_at IS NOT NULL
        AND (last_credential_exp IS NULL OR last_credential_exp > ?) ORDER BY rider_id`),
      riderExp: p('UPDATE riders SET last_credential_exp = max(coalesce(last_credential_exp, 0), ?) WHERE rider_id = ?'),
      keyExp: p('UPDATE signing_keys SET last_exp = max(coalesce(last_exp, 0), ?) WHERE kid = ?'),
      keyInsert: p('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)'),
      keyRetireOthers: p('UPDATE signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL'),
      keyActivate: p('UPDATE signing_keys SET retired_at = NULL WHERE kid = ?'),
      keys: p('SELECT * FROM signing_keys ORDER BY created_at, kid'),
      weekRows: p('SELECT * FROM week_station WHERE week = ? AND (? IS NULL OR station_id = ?) ORDER BY station_id'),
      // SPEC §9: new = first check-in ever (anywhere in the network) this week; returning = first
      // check-in in an earlier week. Per station: among the riders who checked in there this week.
      newPerStation: p(`SELECT w.station_id, count(*) AS n FROM rider_week w JOIN rider_first_any f ON f.rider_id = w.rider_id
        WHERE w.week = ? AND w.checked_in = 1 AND f.first_week = ? AND (? IS NULL OR w.station_id = ?) GROUP BY w.station_id`),
      returningPerStation: p(`SELECT w.station_id, count(*) AS n FROM rider_week w JOIN rider_first_any f ON f.rider_id = w.rider_id
        WHERE w.week = ? AND w.checked_in = 1 AND f.first_week < ? AND (? IS NULL OR w.station_id = ?) GROUP BY w.station_id`),
      ridersAny: p('SELECT count(DISTINCT rider_id) AS n FROM rider_week WHERE week = ?'),
      newAny: p('SELECT count(*) AS n FROM rider_first_any WHERE first_week = ?'),
      returningAny: p(`SELECT count(DISTINCT w.rider_id) AS n FROM rider_week w JOIN rider_first_any f ON f.rider_id = w.rider_id
        WHERE w.week = ? AND w.checked_in = 1 AND f.first_week < ?`),
      lapsed: p(`SELECT rider_id FROM rider_week WHERE week = ? AND checked_in = 1 AND (? IS NULL OR station_id = ?)
        EXCEPT SELECT rider_id FROM rider_week WHERE week = ? AND checked_in = 1 AND (? IS NULL OR station_id = ?) ORDER BY 1`),
      sponsors: p(`SELECT sponsor, sum(bottles) AS bottles, sum(restocked) AS restocked FROM week_sponsor
        WHERE week = ? AND (? IS NULL OR station_id = ?) GROUP BY sponsor ORDER BY sponsor`),
      heartbeats: p('SELECT * FROM heartbeats ORDER BY station_id'),
      devices: p('SELECT * FROM devices ORDER BY station_id, device_id'),
      faults: p('SELECT * FROM open_faults ORDER BY station_id, device_id, fault'),
      overdue: p('SELECT * FROM overdue_lockers ORDER BY station_id, compartment'),
      // One station's share of the above, and its firing alerts (an upload's health events, SPEC §15).
      stationHeartbeats: p('SELECT * FROM heartbeats WHERE station_id = ?'),
      stationDevices: p('SELECT * FROM devices WHERE station_id = ? ORDER BY device_id'),
      stationFaults: p('SELECT * FROM open_faults WHERE station_id = ? ORDER BY device_id, fault'),
      stationOverdue: p('SELECT * FROM overdue_lockers WHERE station_id = ? ORDER BY compartment'),
      stationFiring: p(`SELECT * FROM alerts WHERE station_id = ? AND state = 'firing' ORDER BY last_at DESC, id DESC`),
      silentFiring: p(`SELECT 1 FROM alerts WHERE station_id = ? AND state = 'firing' AND kind = 'station_silent' LIMIT 1`),
    };
  }

  /** `cipher` seals signing keys at rest (SPEC §12); without one, sealed keys are refused. */
  static open(path: string, opts: { cipher?: KeyCipher } = {}): SqliteStore {
    // SPEC §12: data folders 0700, database files 0600.
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    if (path !== ':memory:') for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // 64 MiB of page cache (SQLite's default is 2 MiB): ingest updates rollup rows all over
    // their B-trees, and reports read recent weeks again and again.
    db.pragma('cache_size = -65536');
    migrate(db);
    const store = new SqliteStore(db, opts.cipher);
    try {
      store.sealKeys();
    } catch (e) {
      db.close();
      throw e;
    }
    return store;
  }

  /** Seal plaintext keys from before, and check the cipher opens the sealed ones. */
  private sealKeys(): void {
    const rows = this.db.prepare('SELECT kid, private_jwk FROM signing_keys').all() as { kid: string; private_jwk: string }[];
    const seal = this.db.prepare('UPDATE signing_keys SET private_jwk = ? WHERE kid = ?');
    this.db.transaction(() => {
      for (const r of rows) {
        if (isSealed(r.private_jwk)) openPrivateJwk(this.cipher, r.kid, r.private_jwk);
        else if (this.cipher) seal.run(this.cipher.seal(r.kid, r.private_jwk), r.kid);
      }
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async syncHead(stationId: string): Promise<SyncHeadRow | null> {
    const r = this.s.head!.get(stationId) as Row | undefined;
    return r ? headOf(r) : null;
  }

  async syncHeads(): Promise<SyncHeadRow[]> {
    return (this.s.heads!.all() as Row[]).map(headOf);
  }

  async eventHashes(stationId: string, fromSeq: number, toSeq: number): Promise<Map<number, string>> {
    const rows = this.s.hashes!.all(stationId, fromSeq, toSeq) as { seq: number; hash: string }[];
    return new Map(rows.map((r) => [r.seq, r.hash]));
  }

  async appendEvents(b: AppendBatch): Promise<AppendResult> {
    return this.runAppend(this.appendTx, b);
  }

  /** One append transaction, IMMEDIATE; the rollups' memos and the zone's wake-up follow its outcome. */
  private runAppend<B, R extends { ok: boolean }>(tx: Transaction<(b: B) => R>, b: B): R {
    let result: R;
    this.appendedZone = null;
    try {
      result = tx.immediate(b);
    } catch (e) {
      this.rollups.rolledBack();
      throw e;
    }
    if (result.ok) {
      this.rollups.committed();
      this.zone.committed(this.appendedZone);
    } else this.rollups.rolledBack();
    return result;
  }

  /** Runs inside the IMMEDIATE append transaction. */
  private appendInTx(b: AppendBatch): AppendResult {
    const cur = this.s.head!.get(b.stationId) as Row | undefined;
    const curSeq = (cur?.last_seq as number | undefined) ?? 0;
    if (curSeq !== b.prev.seq || (cur && cur.last_hash !== b.prev.hash)) return { ok: false, reason: 'head_moved', seq: curSeq };
    const refused = this.tokenRefusal(b);
    if (refused) return { ok: false, reason: refused, seq: curSeq };
    return this.storeInTx(b, curSeq);
  }

  /** Store a batch whose head and token were checked, in the append transaction. */
  private storeInTx(b: Omit<AppendBatch, 'prev'>, curSeq: number): AppendResult {
    if (b.events.length === 0) return { ok: true, seq: curSeq };
    // Rows go in INSERT_ROWS at a time (one statement step instead of one per event), the rest one by one.
    const json = b.dataJson;
    const row = (i: number, out: unknown[]) => {
      const e = b.events[i]!;
      out.push(b.stationId, e.seq, e.type, e.ts, e.day, json?.[i] ?? JSON.stringify(e.data), e.hash);
    };
    let i = 0;
    for (; i + INSERT_ROWS <= b.events.length; i += INSERT_ROWS) {
      const params: unknown[] = [];
      for (let k = i; k < i + INSERT_ROWS; k++) row(k, params);
      this.s.insertEvents!.run(params);
    }
    for (; i < b.events.length; i++) {
      const params: unknown[] = [];
      row(i, params);
      this.s.insertEvent!.run(params);
    }
    this.rollups.apply(b.stationId, b.effects);
    const last = b.events[b.events.length - 1]!;
    this.s.setHead!.run(b.stationId, last.seq, last.hash, last.ts, b.receivedAt);
    const z = this.zone.append(b.stationId, b.feed ?? [], b.zoneScope, b.receivedAt);
    this.appendedZone = z.zone;
    return z.conflictsFound > 0 ? { ok: true, seq: last.seq, conflictsFound: z.conflictsFound } : { ok: true, seq: last.seq };
  }

  /** The upload's token was replaced, or its station disabled, since it was let in (SPEC §12). */
  private tokenRefusal(b: Pick<AppendBatch, 'stationId' | 'tokenSha256'>): 'token_replaced' | 'station_disabled' | null {
    if (b.tokenSha256 === undefined) return null;
    const st = this.s.stationToken!.get(b.stationId) as { token_sha256: string; enabled: number } | undefined;
    if (st && st.token_sha256 !== b.tokenSha256) return 'token_replaced';
    if (st && st.enabled !== 1) return 'station_disabled';
    return null;
  }

  async appendNext(b: AppendNextBatch): Promise<AppendNextResult> {
    return this.runAppend(this.appendNextTx, b);
  }

  /** Runs inside the IMMEDIATE append transaction: the batch must continue the stored head. */
  private appendNextInTx(b: AppendNextBatch): AppendNextResult {
    const cur = this.s.head!.get(b.stationId) as Row | undefined;
    const head = { seq: (cur?.last_seq as number | undefined) ?? 0, hash: (cur?.last_hash as string | undefined) ?? GENESIS_HASH };
    // The token first, as on PostgreSQL: a refused token learns nothing of the head.
    const refused = this.tokenRefusal(b);
    if (refused) return { ok: false, reason: refused, seq: head.seq };
    const first = b.events[0];
    if (!first || first.seq !== head.seq + 1 || sha256Hex(head.hash + b.firstText) !== first.hash) return { ok: false, reason: 'not_next', seq: head.seq, head };
    const r = this.storeInTx(b, head.seq);
    return r.ok ? { ...r, silentFiring: this.s.silentFiring!.get(b.stationId) !== undefined } : r;
  }

  async dropEventsFrom(d: DropEventsInput): Promise<DropEventsResult> {
    this.rollups.forget();
    try {
      const r = this.db.transaction(() => dropEventsInTx(this.db, this.rollups, d)).immediate();
      if (r.ok) this.rollups.committed();
      else this.rollups.forget();
      return r;
    } catch (e) {
      this.rollups.forget();
      throw e;
    }
  }

  async eventsAfter(stationId: string, afterSeq: number, limit: number): Promise<StationEvent[]> {
    return (this.s.eventsAfter!.all(stationId, afterSeq, limit) as Row[]).map((r) => ({
      seq: r.seq as number,
      type: r.type as string,
      ts: r.ts as number,
      day: r.day as string,
      data: JSON.parse(r.data as string) as Record<string, unknown>,
      hash: r.hash as string,
    }));
  }

  async countEvents(stationId: string): Promise<number> {
    return (this.s.countEvents!.get(stationId) as { n: number }).n;
  }

  async raiseAlert(a: AlertInput): Promise<void> {
    this.alertsDb.raise(a);
  }

  async alerts(limit: number, opts: { openOnly?: boolean } = {}): Promise<AlertRow[]> {
    return this.alertsDb.open(limit, opts.openOnly ?? false);
  }

  async acknowledgeAlert(id: number, by: string, at: number): Promise<AlertRow | null> {
    return this.alertsDb.acknowledge(id, by, at);
  }

  async fireAlert(a: AlertFire, at: number): Promise<{ fired: boolean; alert: AlertRow }> {
    return this.alertsDb.fire(a, at);
  }

  async resolveAlert(fingerprint: string, at: number): Promise<boolean> {
    return this.alertsDb.resolve(fingerprint, at);
  }

  async listAlerts(state: AlertState | 'all', limit: number): Promise<AlertRow[]> {
    return this.alertsDb.list(state, limit);
  }

  async leaseChannel(channel: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.alertsDb.leaseChannel(channel, owner, now, leaseMs);
  }

  async releaseChannel(channel: string, owner: string): Promise<void> {
    this.alertsDb.releaseChannel(channel, owner);
  }

  async dueNotifications(channel: string, now: number, limit: number): Promise<NotificationRow[]> {
    return this.alertsDb.due(channel, now, limit);
  }

  async channelSendsSince(channel: string, sinceMs: number): Promise<number> {
    return this.alertsDb.sendsSince(channel, sinceMs);
  }

  async settleNotifications(channel: string, at: number, results: ReadonlyArray<{ id: number; outcome: NotificationOutcome }>): Promise<void> {
    this.alertsDb.settle(channel, at, results);
  }

  async notificationCounts(): Promise<Record<string, number>> {
    return this.alertsDb.counts();
  }

  async createRider(r: { riderId: string; group: string; platform: string | null; createdAt: number }): Promise<RiderRow> {
    this.s.riderInsert!.run(r.riderId, r.group, r.platform, r.createdAt);
    return (await this.rider(r.riderId))!;
  }

  async rider(riderId: string): Promise<RiderRow | null> {
    const r = this.s.rider!.get(riderId) as Row | undefined;
    return r ? riderOf(r) : null;
  }

  async revokeRider(riderId: string, at: number, reason: string | null): Promise<RiderRow | null> {
    this.s.revoke!.run(at, reason, riderId);
    return this.rider(riderId);
  }

  async revokedRiders(nowMs: number): Promise<string[]> {
    return (this.s.revoked!.all(nowMs) as { rider_id: string }[]).map((r) => r.rider_id);
  }

  async noteCredentialIssued(riderId: string, kid: string, expMs: number): Promise<void> {
    this.db.transaction(() => {
      this.s.riderExp!.run(expMs, riderId);
      this.s.keyExp!.run(expMs, kid);
    })();
  }

  async addSigningKey(k: { kid: string; privateJwk: Row; publicJwk: Row; createdAt: number }): Promise<void> {
    const priv = JSON.stringify(k.privateJwk);
    this.s.keyInsert!.run(k.kid, this.cipher ? this.cipher.seal(k.kid, priv) : priv, JSON.stringify(k.publicJwk), k.createdAt);
  }

  async activateSigningKey(kid: string, at: number): Promise<void> {
    this.db.transaction(() => {
      this.s.keyRetireOthers!.run(at, kid);
      this.s.keyActivate!.run(kid);
    })();
  }

  async createInvite(i: Omit<InviteRow, 'used'>): Promise<InviteRow> {
    return this.enrolment.createInvite(i);
  }

  async invite(code: string): Promise<InviteRow | null> {
    return this.enrolment.invite(code);
  }

  async enrolRider(e: EnrolInput): Promise<EnrolResult> {
    return this.enrolment.enrol(e);
  }

  async riderByDevice(deviceX: string): Promise<RiderRow | null> {
    return this.enrolment.riderByDevice(deviceX);
  }

  async riderContact(riderId: string): Promise<string | null> {
    return this.enrolment.contact(riderId);
  }

  async withdrawRider(riderId: string, at: number): Promise<RiderRow | null> {
    return this.enrolment.withdraw(riderId, at);
  }

  // --- the rider page and hazard reports (sqliteRiderPages.ts) ---
  async riderStatus(riderId: string): Promise<RiderStatusRow> {
    return this.riderPages.riderStatus(riderId);
  }

  async hitAddressWindow(address: string, now: number, windowMs: number): Promise<AddressWindow> {
    return this.riderPages.hitAddressWindow(address, now, windowMs);
  }

  async pruneAddressWindows(before: number, maxRows: number): Promise<number> {
    return this.riderPages.pruneAddressWindows(before, maxRows);
  }

  async fileHazard(h: HazardInput, limit: { since: number; max: number }): Promise<FileHazardResult> {
    return this.riderPages.fileHazard(h, limit);
  }

  async hazards(filter: { state?: HazardState; riderId?: string; limit: number }): Promise<HazardRow[]> {
    return this.riderPages.hazards(filter);
  }

  async hazard(id: string): Promise<HazardRow | null> {
    return this.riderPages.hazard(id);
  }

  async hazardPhoto(id: string): Promise<{ type: string; data: Buffer } | null> {
    return this.riderPages.hazardPhoto(id);
  }

  async pruneHazards(before: number): Promise<number> {
    return this.riderPages.pruneHazards(before);
  }

  async changeHazardState(id: string, change: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }): Promise<HazardChangeResult> {
    return this.riderPages.changeHazardState(id, change);
  }

  async signingKeys(): Promise<SigningKeyRow[]> {
    return (this.s.keys!.all() as Row[]).map((r) => ({
      kid: r.kid as string,
      privateJwk: JSON.parse(openPrivateJwk(this.cipher, r.kid as string, r.private_jwk as string)) as Row,
      publicJwk: JSON.parse(r.public_jwk as string) as Row,
      createdAt: r.created_at as number,
      retiredAt: (r.retired_at as number | null) ?? null,
      lastExp: (r.last_exp as number | null) ?? null,
    }));
  }

  async weeklyStations(week: string, scope: Scope): Promise<WeeklyStationRow[]> {
    const news = new Map((this.s.newPerStation!.all(week, week, scope, scope) as { station_id: string; n: number }[]).map((r) => [r.station_id, r.n]));
    const ret = new Map(
      (this.s.returningPerStation!.all(week, week, scope, scope) as { station_id: string; n: number }[]).map((r) => [r.station_id, r.n]),
    );
    return (this.s.weekRows!.all(week, scope, scope) as Row[]).map((r) => ({
      stationId: r.station_id as string,
      checkins: r.checkins as number,
      riders: r.riders as number,
      newRiders: news.get(r.station_id as string) ?? 0,
      returningRiders: ret.get(r.station_id as string) ?? 0,
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
    const n = (s: Statement, ...args: unknown[]) => (s.get(...args) as { n: number }).n;
    return {
      riders: n(this.s.ridersAny!, week),
      newRiders: n(this.s.newAny!, week),
      returningRiders: n(this.s.returningAny!, week, week),
    };
  }

  async lapsedRiders(week: string, prevWeek: string, scope: Scope): Promise<string[]> {
    return (this.s.lapsed!.all(prevWeek, scope, scope, week, scope, scope) as { rider_id: string }[]).map((r) => r.rider_id);
  }

  async sponsors(week: string, scope: Scope): Promise<SponsorRow[]> {
    return this.s.sponsors!.all(week, scope, scope) as SponsorRow[];
  }

  async dayFacts(fromDay: string, toDay: string, stationIds: readonly string[] | null): Promise<DayFactRow[]> {
    return this.reports.dayFacts(fromDay, toDay, stationIds);
  }

  async rangeFigures(fromDay: string, toDay: string, lapsedFrom: string, stationIds: readonly string[]): Promise<RangeFigures> {
    return this.reports.rangeFigures(fromDay, toDay, lapsedFrom, stationIds);
  }

  async weeklyFigures(week: string, scope: Scope): Promise<WeeklyFigures> {
    return this.reports.weeklyFigures(week, scope);
  }

  async firstCheckinDays(riderIds: readonly string[]): Promise<Map<string, string>> {
    return this.reports.firstCheckinDays(riderIds);
  }

  async createSponsor(s: SponsorRecord): Promise<SponsorRecord | null> {
    return this.reports.createSponsor(s);
  }

  async sponsorRecords(): Promise<SponsorRecord[]> {
    return this.reports.sponsorRecords();
  }

  async sponsorRecord(id: string): Promise<SponsorRecord | null> {
    return this.reports.sponsorRecord(id);
  }

  async addRelays(r: { sponsorId: string; stationIds: readonly string[]; from: string; to: string; createdAt: number; createdBy: string }): Promise<AddRelaysResult> {
    return this.reports.addRelays(r);
  }

  async relays(): Promise<RelayRow[]> {
    return this.reports.relays();
  }

  async addOutreach(o: OutreachRow): Promise<void> {
    this.reports.addOutreach(o);
  }

  async outreachCount(riderId: string): Promise<number> {
    return this.reports.outreachCount(riderId);
  }

  async outreach(riderIds: readonly string[]): Promise<OutreachRow[]> {
    return this.reports.outreach(riderIds);
  }

  async zoneFeedAfter(zone: string, afterZseq: number, limit: number): Promise<StoredFeedRow[]> {
    return this.zone.after(zone, afterZseq, limit);
  }

  async zoneFeedHead(zone: string): Promise<number> {
    return this.zone.head(zone);
  }

  async pruneZoneFeed(beforeDay: string, limit: number): Promise<number> {
    return this.db.prepare('DELETE FROM zone_feed WHERE (zone, zseq) IN (SELECT zone, zseq FROM zone_feed WHERE day < ? LIMIT ?)').run(beforeDay, limit).changes;
  }

  async zoneFeedBootstrap(q: ZoneBootstrapQuery): Promise<{ head: number; rows: StoredFeedRow[] }> {
    return this.zone.bootstrap(q);
  }

  onZoneFeed(listener: (zone: string) => void): () => void {
    return this.zone.onZoneFeed(listener);
  }

  async conflicts(week: string, zone: string | null): Promise<ConflictRow[]> {
    return this.zone.conflicts(week, zone);
  }

  async weeklyConflicts(week: string, scope: Scope): Promise<Map<string, number>> {
    return this.zone.weekly(week, scope);
  }

  async conflictsBetween(fromDay: string, toDay: string): Promise<ConflictKeyRow[]> {
    return this.zone.between(fromDay, toDay);
  }

  async heartbeats(): Promise<HeartbeatRow[]> {
    return (this.s.heartbeats!.all() as Row[]).map(heartbeatOf);
  }

  async devices(): Promise<DeviceRow[]> {
    return devicesOf(this.s.devices!.all() as Row[], await this.openFaults());
  }

  async openFaults(): Promise<FaultRow[]> {
    return (this.s.faults!.all() as Row[]).map(faultOf);
  }

  async overdueLockers(): Promise<OverdueLockerRow[]> {
    return (this.s.overdue!.all() as Row[]).map(overdueOf);
  }

  async stationAlertState(stationId: string): Promise<StationAlertState> {
    const faults = (this.s.stationFaults!.all(stationId) as Row[]).map(faultOf);
    return {
      heartbeats: (this.s.stationHeartbeats!.all(stationId) as Row[]).map(heartbeatOf),
      devices: devicesOf(this.s.stationDevices!.all(stationId) as Row[], faults),
      faults,
      overdue: (this.s.stationOverdue!.all(stationId) as Row[]).map(overdueOf),
      firing: (this.s.stationFiring!.all(stationId) as Row[]).map(alertOf),
    };
  }

  async createStation(s: StationInput, at: number): Promise<StationRow | null> {
    return this.stationRows.create(s, at);
  }

  async station(id: string): Promise<StationRow | null> {
    return this.stationRows.get(id);
  }

  async stationByTokenHash(tokenSha256: string): Promise<StationRow | null> {
    return this.stationRows.byToken(tokenSha256);
  }

  async stations(): Promise<StationRow[]> {
    return this.stationRows.all();
  }

  async updateStation(id: string, patch: StationPatch, at: number): Promise<StationRow | null> {
    return this.stationRows.update(id, patch, at);
  }

  async noteConfigPulled(id: string, etag: string, at: number): Promise<void> {
    this.stationRows.pulled(id, etag, at);
  }
}
