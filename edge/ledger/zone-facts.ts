/**
 * Remote facts (SPEC §13): the check-ins and claims of the other stations of this station's
 * zone, as the zone feed delivered them, and the feed's cursor. They live in the ledger next to
 * the station's own state but are NEVER events of its hash chain: the chain is what this
 * station did, and these are what it was told.
 *
 * Applying one feed answer (its entries and its new cursor) is one SQLite transaction, and an
 * entry already held — keyed by (stationId, seq) as the cloud keys events — is skipped, so a
 * restart between two answers neither loses an entry nor applies one twice: the next request
 * resumes from the stored cursor, and a replayed entry is a no-op (STYLE.md: a replay is a
 * result, not an exception).
 *
 * The table is bounded: facts older than the longest window plus two days (time-zone edges)
 * cannot decide anything any more and are pruned as answers are applied. Migration 400 (the
 * sync range of edge/ledger/migrations.ts).
 */
import type { Statement } from 'better-sqlite3';
import {
  addDays,
  remoteClaimsOf,
  remoteWindowsOf,
  type RemoteClaim,
  type RemoteFact,
  type RemoteWindow,
  type ServiceDay,
  type ZoneFact,
  type ZoneView,
} from '../../protocol/index.ts';
import type { Ledger } from './ledger.ts';
import { migrate, registerMigration } from './migrations.ts';

registerMigration({
  version: 400,
  name: 'zone feed: remote facts and the feed cursor',
  sql: `
    -- Quota-relevant events of the other stations of the zone (SPEC §13), never part of this
    -- station's own chain. (station_id, seq) is the cloud's key of the event: a replay is
    -- ignored. The rows are clustered by rider and day, so a decision reads one short range.
    CREATE TABLE zone_facts (
      station_id  TEXT NOT NULL,
      seq         INTEGER NOT NULL,
      type        TEXT NOT NULL,
      day         TEXT NOT NULL,
      ts          INTEGER NOT NULL,
      rider_id    TEXT NOT NULL,
      window_from TEXT,
      window_to   TEXT,
      claim_id    TEXT,
      outcome     TEXT,
      received_ts INTEGER NOT NULL,
      PRIMARY KEY (rider_id, day, station_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX zone_facts_event ON zone_facts (station_id, seq);
    CREATE INDEX zone_facts_day ON zone_facts (day);

    -- The feed's cursor and the zone it belongs to: a cursor of another zone is never sent.
    CREATE TABLE zone_feed (
      id         INTEGER PRIMARY KEY CHECK (id = 1),
      zone       TEXT NOT NULL,
      cursor     TEXT,
      last_ok_at INTEGER
    );
  `,
});

/** Days beyond the longest window a fact is kept (a service day's edges in two time zones). */
export const ZONE_FACT_MARGIN_DAYS = 2;

export interface FeedState {
  zone: string;
  cursor: string | null;
  lastOkAt: number | null;
}

export type ApplyResult = { applied: number; replayed: number; ignored: number };

interface FactRow {
  station_id: string;
  seq: number;
  type: RemoteFact['type'];
  day: string;
  ts: number;
  rider_id: string;
  window_from: string | null;
  window_to: string | null;
  claim_id: string | null;
  outcome: 'committed' | 'released' | null;
}

function toFact(r: FactRow): RemoteFact {
  return {
    stationId: r.station_id,
    type: r.type,
    day: r.day,
    ts: r.ts,
    riderId: r.rider_id,
    ...(r.window_from ? { windowFrom: r.window_from } : {}),
    ...(r.window_to ? { windowTo: r.window_to } : {}),
    ...(r.claim_id ? { claimId: r.claim_id } : {}),
    ...(r.outcome ? { outcome: r.outcome } : {}),
  };
}

export class ZoneFacts {
  private readonly s: Record<string, Statement>;
  /** The longest window of the policy (days); facts older than this plus the margin are pruned. */
  windowDays = 7;
  private prunedDay = '';

  constructor(
    private readonly ledger: Ledger,
    private readonly ownStationId: string,
  ) {
    // The ledger may have been opened before this module registered its migration.
    migrate(ledger.db);
    const db = ledger.db;
    this.s = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO zone_facts (station_id, seq, type, day, ts, rider_id, window_from, window_to, claim_id, outcome, received_ts)
         VALUES (@stationId, @seq, @type, @day, @ts, @riderId, @windowFrom, @windowTo, @claimId, @outcome, @now)`,
      ),
      state: db.prepare('SELECT zone, cursor, last_ok_at AS lastOkAt FROM zone_feed WHERE id = 1'),
      setState: db.prepare(
        `INSERT INTO zone_feed (id, zone, cursor, last_ok_at) VALUES (1, @zone, @cursor, @lastOkAt)
         ON CONFLICT (id) DO UPDATE SET zone = excluded.zone, cursor = excluded.cursor, last_ok_at = excluded.last_ok_at`,
      ),
      clear: db.prepare('DELETE FROM zone_facts'),
      // A window opened on day d ends at most windowDays-1 later: only check-ins from that far back can cover `day`.
      checkinsFor: db.prepare(
        "SELECT * FROM zone_facts WHERE rider_id = ? AND day >= ? AND day <= ? AND type = 'checkin' AND window_to >= ?",
      ),
      claimsFor: db.prepare("SELECT * FROM zone_facts WHERE rider_id = ? AND day = ? AND type <> 'checkin'"),
      prune: db.prepare('DELETE FROM zone_facts WHERE day < ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM zone_facts'),
      all: db.prepare('SELECT * FROM zone_facts ORDER BY station_id, seq'),
    };
  }

  state(): FeedState | null {
    return (this.s.state!.get() as FeedState | undefined) ?? null;
  }

  /**
   * The station's zone is `zone` from now on. Joining a zone or changing it drops the facts and
   * the cursor of the old one (one transaction): the next request bootstraps (SPEC §13).
   * Returns true when it changed anything.
   */
  useZone(zone: string): boolean {
    const st = this.state();
    if (st?.zone === zone) return false;
    this.ledger.tx(() => {
      this.s.clear!.run();
      this.s.setState!.run({ zone, cursor: null, lastOkAt: null });
    });
    return true;
  }

  /** Forget the cursor (the cloud said it belongs to another zone): the next request bootstraps. */
  resetCursor(): void {
    const st = this.state();
    if (!st) return;
    this.ledger.tx(() => {
      this.s.clear!.run();
      this.s.setState!.run({ zone: st.zone, cursor: null, lastOkAt: st.lastOkAt });
    });
  }

  /**
   * Apply one feed answer for `zone` in one transaction: its entries (replayed ones skipped,
   * this station's own ignored: they are in its chain already) and the new cursor. An answer for
   * a zone the station no longer belongs to changes nothing.
   */
  apply(zone: string, cursor: string, entries: readonly ZoneFact[]): ApplyResult | 'zone_changed' {
    return this.ledger.tx((t) => {
      const st = this.s.state!.get() as FeedState | undefined;
      if (st && st.zone !== zone) return 'zone_changed' as const;
      let applied = 0;
      let ignored = 0;
      // Only days that can still decide something are kept: a fact dated far ahead (a station's
      // clock gone wrong, a hostile answer) would otherwise never be pruned.
      const oldest = addDays(t.day, -(this.windowDays + ZONE_FACT_MARGIN_DAYS));
      const newest = addDays(t.day, ZONE_FACT_MARGIN_DAYS);
      for (const e of entries) {
        if (e.stationId === this.ownStationId || e.day < oldest || e.day > newest) {
          ignored++;
          continue;
        }
        const r = this.s.insert!.run({
          stationId: e.stationId,
          seq: e.seq,
          type: e.type,
          day: e.day,
          ts: e.ts,
          riderId: e.riderId,
          windowFrom: e.windowFrom ?? null,
          windowTo: e.windowTo ?? null,
          claimId: e.claimId ?? null,
          outcome: e.outcome ?? null,
          now: t.now,
        });
        applied += r.changes;
      }
      this.s.setState!.run({ zone, cursor, lastOkAt: t.now });
      if (this.prunedDay !== t.day) {
        this.s.prune!.run(addDays(t.day, -(this.windowDays + ZONE_FACT_MARGIN_DAYS)));
        this.prunedDay = t.day;
      }
      return { applied, replayed: entries.length - applied - ignored, ignored };
    });
  }

  /** Remote windows of `riderId` that may cover `day`. */
  windowsCovering(riderId: string, day: ServiceDay): RemoteWindow[] {
    const rows = this.s.checkinsFor!.all(riderId, addDays(day, -(this.windowDays + ZONE_FACT_MARGIN_DAYS)), day, day) as FactRow[];
    return remoteWindowsOf(rows.map(toFact)).filter((w) => w.from <= day && day <= w.to);
  }

  /**
   * The end of the latest remote window of `riderId` that ended before `day`, among the facts
   * still held (a fact is kept the longest window plus two days), or null.
   */
  lastWindowToBefore(riderId: string, day: ServiceDay): ServiceDay | null {
    const rows = this.s.checkinsFor!.all(riderId, addDays(day, -(this.windowDays + ZONE_FACT_MARGIN_DAYS)), day, '') as FactRow[];
    let last: ServiceDay | null = null;
    for (const w of remoteWindowsOf(rows.map(toFact))) if (w.to < day && (last === null || w.to > last)) last = w.to;
    return last;
  }

  /** Remote claims of `riderId` on `day`, folded per claim (protocol remoteClaimsOf). */
  claimsOn(riderId: string, day: ServiceDay): RemoteClaim[] {
    return remoteClaimsOf((this.s.claimsFor!.all(riderId, day) as FactRow[]).map(toFact));
  }

  /** What the station holds of the zone for one rider on one day. */
  view(riderId: string, day: ServiceDay): ZoneView {
    return { windows: this.windowsCovering(riderId, day), claims: this.claimsOn(riderId, day) };
  }

  count(): number {
    return (this.s.count!.get() as { n: number }).n;
  }

  /** Every fact held, in (station, seq) order (tests and the doctor). */
  all(): RemoteFact[] {
    return (this.s.all!.all() as FactRow[]).map(toFact);
  }
}
