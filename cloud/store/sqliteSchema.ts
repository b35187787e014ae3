/**
 * SQLite schema of the cloud store. The event log's primary key is the sync cursor
 * (station, seq); rollups are keyed by ISO week so a weekly report reads one week's rows.
 */
import type { Database } from 'better-sqlite3';
import { isoWeekOf } from '../../protocol/index.ts';

/** Reports (SPEC §17); written to run again (the day facts are rebuilt whole). */
const REPORTS_MIGRATION = `
  CREATE TABLE IF NOT EXISTS day_facts (
    day TEXT NOT NULL, station_id TEXT NOT NULL, kind TEXT NOT NULL, rider_id TEXT NOT NULL,
    compartment TEXT NOT NULL, sponsor TEXT NOT NULL, events INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (day, station_id, kind, rider_id, compartment, sponsor)
  ) WITHOUT ROWID;
  DELETE FROM day_facts;
  INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count)
    SELECT day, station_id, CASE type WHEN 'checkin' THEN 'checkin' WHEN 'claim.committed' THEN 'bottle' ELSE 'restock' END,
      CASE WHEN type = 'dispenser.restocked' THEN '' ELSE json_extract(data, '$.riderId') END,
      CASE WHEN type <> 'checkin' AND json_type(data, '$.compartment') = 'text' THEN json_extract(data, '$.compartment') ELSE '' END,
      CASE WHEN type <> 'checkin' AND json_type(data, '$.sponsor') = 'text' THEN json_extract(data, '$.sponsor') ELSE '' END,
      count(*), sum(CASE WHEN type = 'dispenser.restocked' THEN json_extract(data, '$.count') ELSE 0 END)
    FROM events
    WHERE type IN ('checkin', 'claim.committed', 'dispenser.restocked')
      AND CASE WHEN type = 'dispenser.restocked' THEN json_type(data, '$.count') = 'integer' ELSE json_type(data, '$.riderId') = 'text' END
    GROUP BY 1, 2, 3, 4, 5, 6;
  CREATE TABLE IF NOT EXISTS day_facts_cursor (station_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
  DELETE FROM day_facts_cursor;
  INSERT INTO day_facts_cursor (station_id, seq) SELECT station_id, last_seq FROM station_sync;
  CREATE TABLE IF NOT EXISTS sponsors (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, contact TEXT,
    created_at INTEGER NOT NULL, created_by TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS sponsor_relays (
    id INTEGER PRIMARY KEY, sponsor_id TEXT NOT NULL REFERENCES sponsors (id), station_id TEXT NOT NULL,
    from_day TEXT NOT NULL, to_day TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS sponsor_relays_by_station ON sponsor_relays (station_id, from_day);
  CREATE TABLE IF NOT EXISTS rider_outreach (
    id INTEGER PRIMARY KEY, rider_id TEXT NOT NULL, at INTEGER NOT NULL, by_name TEXT NOT NULL, note TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS rider_outreach_by_rider ON rider_outreach (rider_id, at);
  `;

// The range report's riders as day bitmaps (issue 14, a year of 10,000 stations): one row per
// (station, rider, calendar year) and one per (rider, year) over every station, each with the
// days of the year the rider was seen (s0..s5) and checked in (c0..c5) as bits (reportRows.ts:
// 63 a word, so no sign bit), kept by the day-fact fold; a range report reads rows per rider,
// not per rider-day. Built from station_day_riders (one row a rider-day, so summing the day
// bits is OR-ing them), which nothing reads any more and is dropped; written to run again.
// A day that is no calendar date (a station may send `2026-02-30`: events only match the
// pattern) is left out, as the fold leaves it out (rollupEffectsOf folds no such day).
export const DAY_BITMAPS_MIGRATION = `
  CREATE TABLE IF NOT EXISTS station_rider_year (
    year INTEGER NOT NULL, station_id TEXT NOT NULL, rider_id TEXT NOT NULL,
    s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL, s4 INTEGER NOT NULL, s5 INTEGER NOT NULL, c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL, c4 INTEGER NOT NULL, c5 INTEGER NOT NULL,
    PRIMARY KEY (year, station_id, rider_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS station_rider_year_rider ON station_rider_year (rider_id);
  CREATE TABLE IF NOT EXISTS rider_year (
    year INTEGER NOT NULL, rider_id TEXT NOT NULL,
    s0 INTEGER NOT NULL, s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL, s4 INTEGER NOT NULL, s5 INTEGER NOT NULL, c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL, c4 INTEGER NOT NULL, c5 INTEGER NOT NULL,
    PRIMARY KEY (year, rider_id)
  ) WITHOUT ROWID;
  DELETE FROM station_rider_year;
  DELETE FROM rider_year;
  INSERT INTO station_rider_year (year, station_id, rider_id, s0, s1, s2, s3, s4, s5, c0, c1, c2, c3, c4, c5)
    SELECT year, station_id, rider_id, sum(CASE WHEN w = 0 THEN b ELSE 0 END), sum(CASE WHEN w = 1 THEN b ELSE 0 END), sum(CASE WHEN w = 2 THEN b ELSE 0 END), sum(CASE WHEN w = 3 THEN b ELSE 0 END), sum(CASE WHEN w = 4 THEN b ELSE 0 END), sum(CASE WHEN w = 5 THEN b ELSE 0 END), sum(CASE WHEN w = 0 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 1 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 2 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 3 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 4 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 5 AND checked_in THEN b ELSE 0 END)
    FROM (SELECT CAST(substr(day, 1, 4) AS INTEGER) AS year, station_id, rider_id, checked_in, (CAST(strftime('%j', day) AS INTEGER) - 1) / 63 AS w,
      1 << ((CAST(strftime('%j', day) AS INTEGER) - 1) % 63) AS b FROM station_day_riders WHERE date(day) IS day)
    GROUP BY year, station_id, rider_id;
  INSERT INTO rider_year (year, rider_id, s0, s1, s2, s3, s4, s5, c0, c1, c2, c3, c4, c5)
    SELECT year, rider_id, sum(CASE WHEN w = 0 THEN b ELSE 0 END), sum(CASE WHEN w = 1 THEN b ELSE 0 END), sum(CASE WHEN w = 2 THEN b ELSE 0 END), sum(CASE WHEN w = 3 THEN b ELSE 0 END), sum(CASE WHEN w = 4 THEN b ELSE 0 END), sum(CASE WHEN w = 5 THEN b ELSE 0 END), sum(CASE WHEN w = 0 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 1 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 2 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 3 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 4 AND checked_in THEN b ELSE 0 END), sum(CASE WHEN w = 5 AND checked_in THEN b ELSE 0 END)
    FROM (SELECT CAST(substr(day, 1, 4) AS INTEGER) AS year, rider_id, checked_in, (CAST(strftime('%j', day) AS INTEGER) - 1) / 63 AS w,
      1 << ((CAST(strftime('%j', day) AS INTEGER) - 1) % 63) AS b FROM (SELECT day, rider_id, max(checked_in) AS checked_in FROM station_day_riders WHERE date(day) IS day GROUP BY day, rider_id))
    GROUP BY year, rider_id;
  DROP TABLE station_day_riders;
`;

/** A migration: SQL, or a function for one that needs to compute (run in the same transaction). */
const MIGRATIONS: Array<string | ((db: Database) => void)> = [
  `
  CREATE TABLE events (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
    day TEXT NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE station_sync (
    station_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL,
    last_ts INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE TABLE week_station (
    week TEXT NOT NULL, station_id TEXT NOT NULL,
    checkins INTEGER NOT NULL DEFAULT 0, riders INTEGER NOT NULL DEFAULT 0,
    bottles_hot INTEGER NOT NULL DEFAULT 0, bottles_cold INTEGER NOT NULL DEFAULT 0,
    bottles_other INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, station_id)
  ) WITHOUT ROWID;
  CREATE TABLE rider_week (
    week TEXT NOT NULL, station_id TEXT NOT NULL, rider_id TEXT NOT NULL,
    checked_in INTEGER NOT NULL,
    PRIMARY KEY (week, station_id, rider_id)
  ) WITHOUT ROWID;
  CREATE TABLE rider_first (
    station_id TEXT NOT NULL, rider_id TEXT NOT NULL, first_day TEXT NOT NULL, first_week TEXT NOT NULL,
    PRIMARY KEY (station_id, rider_id)
  ) WITHOUT ROWID;
  CREATE INDEX rider_first_week ON rider_first (first_week, station_id);
  CREATE TABLE rider_first_any (
    rider_id TEXT PRIMARY KEY, first_day TEXT NOT NULL, first_week TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX rider_first_any_week ON rider_first_any (first_week);
  CREATE TABLE week_sponsor (
    week TEXT NOT NULL, station_id TEXT NOT NULL, sponsor TEXT NOT NULL,
    bottles INTEGER NOT NULL DEFAULT 0, restocked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, station_id, sponsor)
  ) WITHOUT ROWID;
  CREATE TABLE devices (
    station_id TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT, state TEXT NOT NULL,
    in_service INTEGER NOT NULL DEFAULT 1, last_seen INTEGER NOT NULL, stock TEXT,
    PRIMARY KEY (station_id, device_id)
  );
  CREATE TABLE open_faults (
    station_id TEXT NOT NULL, device_id TEXT NOT NULL, fault TEXT NOT NULL, since INTEGER NOT NULL,
    PRIMARY KEY (station_id, device_id, fault)
  );
  CREATE TABLE overdue_lockers (
    station_id TEXT NOT NULL, compartment TEXT NOT NULL, since INTEGER NOT NULL, rider_id TEXT,
    PRIMARY KEY (station_id, compartment)
  );
  CREATE TABLE heartbeats (station_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, data TEXT NOT NULL);
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY, station_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER,
    detail TEXT NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 1
  );
  CREATE UNIQUE INDEX alerts_key ON alerts (station_id, kind, coalesce(seq, -1));
  CREATE TABLE riders (
    rider_id TEXT PRIMARY KEY, grp TEXT NOT NULL, platform TEXT, created_at INTEGER NOT NULL,
    revoked_at INTEGER, revoke_reason TEXT, last_credential_exp INTEGER
  );
  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, created_at INTEGER NOT NULL,
    retired_at INTEGER, last_exp INTEGER
  );
  `,
  // 2: an admin acknowledges an alert; the same alert raised again opens it again.
  `
  ALTER TABLE alerts ADD COLUMN acked_at INTEGER;
  ALTER TABLE alerts ADD COLUMN acked_by TEXT;
  `,
  // 3: new and returning riders are counted against the first check-in anywhere (SPEC §9
  // "first check-in ever"), so the first check-in per station is no longer kept.
  `
  DROP TABLE rider_first;
  `,
  // 4: until migration 4's release a bottle resolved late counted twice: once for its
  // claim.resolved (week of data.day or the event's day; hot/cold from data.compartment, else
  // "other"; data.sponsor or none) and once for the claim.committed the edge writes after it.
  // Take the claim.resolved share back out, exactly as the old rule had added it.
  (db) => {
    const rows = db.prepare(`SELECT station_id, day, data FROM events WHERE type = 'claim.resolved'`).all() as Array<{ station_id: string; day: string; data: string }>;
    const column = { hot: 'bottles_hot', cold: 'bottles_cold', other: 'bottles_other' } as const;
    const station = new Map<string, { stationId: string; week: string; col: keyof typeof column; n: number }>();
    const sponsor = new Map<string, { stationId: string; week: string; sponsor: string; n: number }>();
    for (const r of rows) {
      let d: Record<string, unknown>;
      try {
        d = JSON.parse(r.data) as Record<string, unknown>;
      } catch {
        continue;
      }
      // The old rule counted what passed its schema: claimId, riderId, outcome committed.
      if (d.outcome !== 'committed' || typeof d.claimId !== 'string' || typeof d.riderId !== 'string') continue;
      const day = typeof d.day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.day) ? d.day : r.day;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) continue;
      const week = isoWeekOf(day);
      const col = d.compartment === 'hot' || d.compartment === 'cold' ? d.compartment : 'other';
      const sp = typeof d.sponsor === 'string' && d.sponsor !== '' ? d.sponsor : '';
      const k1 = `${r.station_id}|${week}|${col}`;
      station.set(k1, { stationId: r.station_id, week, col, n: (station.get(k1)?.n ?? 0) + 1 });
      const k2 = `${r.station_id}|${week}|${sp}`;
      sponsor.set(k2, { stationId: r.station_id, week, sponsor: sp, n: (sponsor.get(k2)?.n ?? 0) + 1 });
    }
    for (const x of station.values()) {
      const c = column[x.col];
      db.prepare(`UPDATE week_station SET ${c} = max(0, ${c} - ?) WHERE week = ? AND station_id = ?`).run(x.n, x.week, x.stationId);
    }
    const fixSponsor = db.prepare('UPDATE week_sponsor SET bottles = max(0, bottles - ?) WHERE week = ? AND station_id = ? AND sponsor = ?');
    for (const x of sponsor.values()) fixSponsor.run(x.n, x.week, x.stationId, x.sponsor);
  },
  // 5: alerts per SPEC §15 — one row per fingerprint (station/subject/kind), firing until the
  // condition clears, then resolved; a notification outbox (one row per alert episode, phase and
  // channel: the unique key makes "once per fire" hold with several cloud instances), a log of
  // messages per channel for its rate limit, and one sender lease per channel. Skipped when a
  // database already has it (a file whose user_version was set back by hand).
  (db) => {
    const cols = db.prepare(`SELECT name FROM pragma_table_info('alerts')`).all() as { name: string }[];
    if (!cols.some((c) => c.name === 'fingerprint')) db.exec(MIGRATION_5);
  },
  // 6: riders enrol themselves with an invite (SPEC §14): invites with counted uses, the
  // rider's device key (one rider per key, so a replayed enrolment finds the same rider), the
  // invite's zone, an optional separately consented contact, and the time of a withdrawal.
  // Written to run again on a database that has it (a test that re-runs migration 4 does).
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS invites (
        code TEXT PRIMARY KEY, uses INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL,
        zone TEXT, note TEXT, created_at INTEGER NOT NULL, created_by TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS rider_contacts (rider_id TEXT PRIMARY KEY, contact TEXT NOT NULL, consented_at INTEGER NOT NULL);
    `);
    const have = new Set((db.prepare('PRAGMA table_info(riders)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const col of ['device_x TEXT', 'zone TEXT', 'invite TEXT', 'withdrawn_at INTEGER']) {
      if (!have.has(col.split(' ')[0]!)) db.exec(`ALTER TABLE riders ADD COLUMN ${col}`);
    }
    db.exec('CREATE UNIQUE INDEX IF NOT EXISTS riders_device ON riders (device_x) WHERE device_x IS NOT NULL');
  },
  // 7: stations provisioned at run time (SPEC §12), with their token hash and config ETag.
  `
  CREATE TABLE IF NOT EXISTS stations (
    id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, timezone TEXT NOT NULL, zone TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1, maintenance_tokens TEXT NOT NULL DEFAULT '[]', devices TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, config_etag TEXT, config_pulled_at INTEGER, config_applied TEXT
  );
  `,  // rider status (issue 12): what the rider page shows, kept at ingest — the last window, the
  // last bottle, where the rider was last seen (one row per rider), and the lockers held now
  // (one row per compartment, so at most as many rows as compartments in the network).
  `
  CREATE TABLE IF NOT EXISTS rider_status (
    rider_id TEXT PRIMARY KEY,
    window_from TEXT, window_to TEXT, window_station TEXT, window_ts INTEGER,
    claim_day TEXT, claim_station TEXT, claim_ts INTEGER, claim_compartment TEXT,
    seen_station TEXT, seen_ts INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS rider_lockers (
    station_id TEXT NOT NULL, compartment TEXT NOT NULL, rider_id TEXT NOT NULL, label TEXT,
    deposited_ts INTEGER NOT NULL, deadline_ts INTEGER, overdue_since INTEGER,
    PRIMARY KEY (station_id, compartment)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS rider_lockers_rider ON rider_lockers (rider_id);
  `,
  // enrolment limit across instances (issue 12): one fixed window per client address, in the
  // store so every instance counts against the same window; expired windows are pruned.
  `
  CREATE TABLE IF NOT EXISTS enrol_windows (address TEXT PRIMARY KEY, window_start INTEGER NOT NULL, hits INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS enrol_windows_start ON enrol_windows (window_start);
  `,
  // hazard reports (SPEC §17): what riders report from /r/me, the photo in the row, and each
  // state change with who made it (the audit trail the office inbox shows).
  `
  CREATE TABLE IF NOT EXISTS hazards (
    id TEXT PRIMARY KEY, rider_id TEXT NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL,
    place_text TEXT, lat REAL, lon REAL, photo_type TEXT, photo BLOB, photo_bytes INTEGER,
    state TEXT NOT NULL DEFAULT 'new', note TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS hazards_by_state ON hazards (state, created_at);
  CREATE INDEX IF NOT EXISTS hazards_by_rider ON hazards (rider_id, created_at);
  CREATE TABLE IF NOT EXISTS hazard_changes (
    hazard_id TEXT NOT NULL, at INTEGER NOT NULL, by TEXT NOT NULL, state TEXT NOT NULL, note TEXT
  );
  CREATE INDEX IF NOT EXISTS hazard_changes_by_hazard ON hazard_changes (hazard_id, at);
  `,
  // one quota across a zone (SPEC §13, issue 16): the zone feed (each zone's quota-relevant
  // rows in the order the zone's counter gave them at ingest), each claim's standing in its zone,
  // and the conflicts found at ingest (one row per rider, day and zone).
  `
  CREATE TABLE IF NOT EXISTS zone_heads (zone TEXT PRIMARY KEY, zseq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS zone_feed (
    zone TEXT NOT NULL, zseq INTEGER NOT NULL, station_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
    day TEXT NOT NULL, ts INTEGER NOT NULL, rider_id TEXT NOT NULL, window_from TEXT, window_to TEXT, claim_id TEXT,
    outcome TEXT, feed_age_ms INTEGER,
    PRIMARY KEY (zone, zseq)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS zone_feed_days ON zone_feed (zone, day);
  CREATE TABLE IF NOT EXISTS zone_claims (
    station_id TEXT NOT NULL, claim_id TEXT NOT NULL, zone TEXT NOT NULL, rider_id TEXT NOT NULL, day TEXT NOT NULL,
    ts INTEGER NOT NULL, state TEXT NOT NULL, feed_age_ms INTEGER,
    PRIMARY KEY (station_id, claim_id)
  );
  CREATE INDEX IF NOT EXISTS zone_claims_rider_day ON zone_claims (zone, rider_id, day);
  CREATE TABLE IF NOT EXISTS zone_conflicts (
    zone TEXT NOT NULL, rider_id TEXT NOT NULL, day TEXT NOT NULL, week TEXT NOT NULL, found_at INTEGER NOT NULL,
    PRIMARY KEY (zone, rider_id, day)
  );
  CREATE INDEX IF NOT EXISTS zone_conflicts_week ON zone_conflicts (week, zone);
  `,
  // reports (SPEC §17): day facts (check-ins, bottles and restocks per station, service day,
  // rider, compartment and named sponsor) for range reports and statements, built here from the
  // stored events (rebuilt whole, so running it again changes nothing) and folded forward from
  // each station's cursor by the reports from then on; sponsor records (unique by normalised
  // name), relays per station and days, outreach notes.
  REPORTS_MIGRATION,
  // pgingest (issue 14, the fleet's upload latency): an upload's health events read one
  // station's firing alerts (SPEC §15), not the whole fleet's.
  `CREATE INDEX IF NOT EXISTS alerts_firing_by_station ON alerts (station_id) WHERE state = 'firing';`,
  // range report sums (issue 14, reports of a year of 10,000 stations): per station and service
  // day the check-ins and bottles, and per named sponsor the bottles and restocks, kept by the
  // day-fact fold beside the facts (one row a station-day instead of ~50 facts); built here from
  // the facts (rebuilt whole, so running it again changes nothing).
  `
  CREATE TABLE IF NOT EXISTS station_day_sums (
    day TEXT NOT NULL, station_id TEXT NOT NULL, checkins INTEGER NOT NULL, bottles_hot INTEGER NOT NULL,
    bottles_cold INTEGER NOT NULL, bottles_other INTEGER NOT NULL, PRIMARY KEY (day, station_id)
  ) WITHOUT ROWID;
  DELETE FROM station_day_sums;
  INSERT INTO station_day_sums (day, station_id, checkins, bottles_hot, bottles_cold, bottles_other)
    SELECT day, station_id, sum(CASE WHEN kind = 'checkin' THEN events ELSE 0 END),
      sum(CASE WHEN kind = 'bottle' AND compartment = 'hot' THEN events ELSE 0 END),
      sum(CASE WHEN kind = 'bottle' AND compartment = 'cold' THEN events ELSE 0 END),
      sum(CASE WHEN kind = 'bottle' AND compartment NOT IN ('hot', 'cold') THEN events ELSE 0 END)
    FROM day_facts WHERE kind <> 'restock' GROUP BY day, station_id;
  CREATE TABLE IF NOT EXISTS station_day_sponsors (
    day TEXT NOT NULL, station_id TEXT NOT NULL, sponsor TEXT NOT NULL, bottles INTEGER NOT NULL, restocked INTEGER NOT NULL,
    PRIMARY KEY (day, station_id, sponsor)
  ) WITHOUT ROWID;
  DELETE FROM station_day_sponsors;
  INSERT INTO station_day_sponsors (day, station_id, sponsor, bottles, restocked)
    SELECT day, station_id, sponsor, sum(CASE WHEN kind = 'bottle' THEN events ELSE 0 END), sum(CASE WHEN kind = 'restock' THEN count ELSE 0 END)
    FROM day_facts WHERE kind <> 'checkin' GROUP BY day, station_id, sponsor;
  `,
  // range report riders (issue 14): one row per rider seen (a check-in or a bottle) at a station on
  // a service day, whether they checked in, kept by the day-fact fold: the distinct and lapsed
  // counts read one row a rider-day instead of each fact; built from the facts (rebuilt whole).
  `
  CREATE TABLE IF NOT EXISTS station_day_riders (
    day TEXT NOT NULL, station_id TEXT NOT NULL, rider_id TEXT NOT NULL, checked_in INTEGER NOT NULL,
    PRIMARY KEY (day, station_id, rider_id)
  ) WITHOUT ROWID;
  DELETE FROM station_day_riders;
  INSERT INTO station_day_riders (day, station_id, rider_id, checked_in)
    SELECT day, station_id, rider_id, max(kind = 'checkin') FROM day_facts WHERE kind <> 'restock' GROUP BY day, station_id, rider_id;
  `,
  DAY_BITMAPS_MIGRATION,
];

/** The user_version after the reports migration (tests set it back to one less to run it again). */
export const REPORTS_MIGRATION_VERSION = MIGRATIONS.indexOf(REPORTS_MIGRATION) + 1;

const MIGRATION_5 = `
  ALTER TABLE alerts ADD COLUMN fingerprint TEXT;
  ALTER TABLE alerts ADD COLUMN subject TEXT NOT NULL DEFAULT '';
  ALTER TABLE alerts ADD COLUMN severity TEXT NOT NULL DEFAULT 'critical';
  ALTER TABLE alerts ADD COLUMN state TEXT NOT NULL DEFAULT 'firing';
  ALTER TABLE alerts ADD COLUMN since INTEGER;
  ALTER TABLE alerts ADD COLUMN resolved_at INTEGER;
  ALTER TABLE alerts ADD COLUMN episode INTEGER NOT NULL DEFAULT 1;
  UPDATE alerts SET
    fingerprint = station_id || '/seq:' || coalesce(seq, '-') || '/' || kind,
    subject = CASE WHEN seq IS NULL THEN '' ELSE 'seq:' || seq END,
    severity = CASE WHEN kind = 'chain_broken' THEN 'critical' ELSE 'warning' END,
    since = first_at,
    state = CASE WHEN acked_at IS NULL THEN 'firing' ELSE 'resolved' END,
    resolved_at = acked_at;
  DROP INDEX alerts_key;
  CREATE UNIQUE INDEX alerts_fingerprint ON alerts (fingerprint);
  CREATE INDEX alerts_by_state ON alerts (state, last_at);
  CREATE TABLE notifications (
    id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts (id), episode INTEGER NOT NULL,
    phase TEXT NOT NULL, channel TEXT NOT NULL, created_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
    sent_at INTEGER, last_error TEXT,
    UNIQUE (alert_id, episode, phase, channel)
  );
  CREATE INDEX notifications_due ON notifications (channel, state, next_at);
  CREATE TABLE notify_sends (channel TEXT NOT NULL, at INTEGER NOT NULL, notifications INTEGER NOT NULL, ok INTEGER NOT NULL);
  CREATE INDEX notify_sends_by_channel ON notify_sends (channel, at);
  CREATE TABLE notify_leases (channel TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL);
`;

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const m = MIGRATIONS[v]!;
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
