/**
 * PostgreSQL schema of the cloud store: the same tables as the SQLite one (sqliteSchema.ts), with
 * versioned migrations taken under a session advisory lock, so N instances starting together
 * migrate once (SPEC §12): the first one applies them, the others wait for the lock and then find
 * nothing left to do. Text keys are `COLLATE "C"` so lists sort byte-wise, as on SQLite, whatever
 * the cluster's locale.
 */
import type pg from 'pg';

/** Advisory lock key of the migrations (`'WSmg'`); the ingest lock uses its own class. */
export const MIGRATION_LOCK = 0x57536d67;

/** Reports (SPEC §17): exported so a test can run it over a database from before it. */
export const PG_REPORTS_MIGRATION = `
  CREATE TABLE day_facts (
    day TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL,
    compartment TEXT COLLATE "C" NOT NULL, sponsor TEXT COLLATE "C" NOT NULL, events INTEGER NOT NULL, count BIGINT NOT NULL,
    PRIMARY KEY (day, station_id, kind, rider_id, compartment, sponsor)
  );
  INSERT INTO day_facts (day, station_id, kind, rider_id, compartment, sponsor, events, count)
    SELECT day, station_id, CASE type WHEN 'checkin' THEN 'checkin' WHEN 'claim.committed' THEN 'bottle' ELSE 'restock' END,
      CASE WHEN type = 'dispenser.restocked' THEN '' ELSE d->>'riderId' END,
      CASE WHEN type <> 'checkin' AND jsonb_typeof(d->'compartment') = 'string' THEN d->>'compartment' ELSE '' END,
      CASE WHEN type <> 'checkin' AND jsonb_typeof(d->'sponsor') = 'string' THEN d->>'sponsor' ELSE '' END,
      count(*), sum(CASE WHEN type = 'dispenser.restocked' THEN (d->>'count')::numeric ELSE 0 END)::bigint
    FROM (SELECT station_id, day, type, data::jsonb AS d FROM events WHERE type IN ('checkin', 'claim.committed', 'dispenser.restocked')) e
    WHERE CASE WHEN type = 'dispenser.restocked' THEN jsonb_typeof(d->'count') = 'number' ELSE jsonb_typeof(d->'riderId') = 'string' END
    GROUP BY 1, 2, 3, 4, 5, 6;
  CREATE TABLE day_facts_cursor (station_id TEXT COLLATE "C" PRIMARY KEY, seq INTEGER NOT NULL);
  INSERT INTO day_facts_cursor (station_id, seq) SELECT station_id, last_seq FROM station_sync;
  CREATE TABLE sponsors (
    id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, name_key TEXT COLLATE "C" NOT NULL UNIQUE, contact TEXT,
    created_at BIGINT NOT NULL, created_by TEXT NOT NULL
  );
  CREATE TABLE sponsor_relays (
    id BIGSERIAL PRIMARY KEY, sponsor_id TEXT COLLATE "C" NOT NULL REFERENCES sponsors (id), station_id TEXT COLLATE "C" NOT NULL,
    from_day TEXT COLLATE "C" NOT NULL, to_day TEXT COLLATE "C" NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL
  );
  CREATE INDEX sponsor_relays_by_station ON sponsor_relays (station_id, from_day);
  CREATE TABLE rider_outreach (
    id BIGSERIAL PRIMARY KEY, rider_id TEXT COLLATE "C" NOT NULL, at BIGINT NOT NULL, by_name TEXT NOT NULL, note TEXT NOT NULL
  );
  CREATE INDEX rider_outreach_by_rider ON rider_outreach (rider_id, at);
  `;

// The range report's riders as day bitmaps (issue 14, a year of 10,000 stations): one row per
// (station, rider, calendar year) and one per (rider, year) over every station, each with the
// days of the year the rider was seen (s0..s5) and checked in (c0..c5) as bits (reportRows.ts:
// 63 a word), kept by the day-fact fold; a range report reads rows per rider, not per rider-day.
// Built from station_day_riders, which nothing reads any more and is dropped.
// A day that is no calendar date (a station may send `2026-02-30`: events only match the
// pattern) is left out, as the fold leaves it out; tested in CASE so no bad cast runs.
export const PG_DAY_BITMAPS_MIGRATION = `
  CREATE TABLE IF NOT EXISTS station_rider_year (
    year INTEGER NOT NULL, station_id TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL,
    s0 BIGINT NOT NULL, s1 BIGINT NOT NULL, s2 BIGINT NOT NULL, s3 BIGINT NOT NULL, s4 BIGINT NOT NULL, s5 BIGINT NOT NULL, c0 BIGINT NOT NULL, c1 BIGINT NOT NULL, c2 BIGINT NOT NULL, c3 BIGINT NOT NULL, c4 BIGINT NOT NULL, c5 BIGINT NOT NULL,
    PRIMARY KEY (year, station_id, rider_id)
  );
  CREATE INDEX IF NOT EXISTS station_rider_year_rider ON station_rider_year (rider_id);
  CREATE TABLE IF NOT EXISTS rider_year (
    year INTEGER NOT NULL, rider_id TEXT COLLATE "C" NOT NULL,
    s0 BIGINT NOT NULL, s1 BIGINT NOT NULL, s2 BIGINT NOT NULL, s3 BIGINT NOT NULL, s4 BIGINT NOT NULL, s5 BIGINT NOT NULL, c0 BIGINT NOT NULL, c1 BIGINT NOT NULL, c2 BIGINT NOT NULL, c3 BIGINT NOT NULL, c4 BIGINT NOT NULL, c5 BIGINT NOT NULL,
    PRIMARY KEY (year, rider_id)
  );
  DELETE FROM station_rider_year;
  DELETE FROM rider_year;
  INSERT INTO station_rider_year (year, station_id, rider_id, s0, s1, s2, s3, s4, s5, c0, c1, c2, c3, c4, c5)
    SELECT year, station_id, rider_id, bit_or(CASE WHEN w = 0 THEN b ELSE 0 END), bit_or(CASE WHEN w = 1 THEN b ELSE 0 END), bit_or(CASE WHEN w = 2 THEN b ELSE 0 END), bit_or(CASE WHEN w = 3 THEN b ELSE 0 END), bit_or(CASE WHEN w = 4 THEN b ELSE 0 END), bit_or(CASE WHEN w = 5 THEN b ELSE 0 END), bit_or(CASE WHEN w = 0 AND checked_in THEN b ELSE 0 END), bit_or(CASE WHEN w = 1 AND checked_in THEN b ELSE 0 END), bit_or(CASE WHEN w = 2 AND checked_in THEN b ELSE 0 END), bit_or(CASE WHEN w = 3 AND checked_in THEN b ELSE 0 END), bit_or(CASE WHEN w = 4 AND checked_in THEN b ELSE 0 END), bit_or(CASE WHEN w = 5 AND checked_in THEN b ELSE 0 END)
    FROM (SELECT substr(day, 1, 4)::int AS year, station_id, rider_id, checked_in, (extract(doy FROM day::date)::int - 1) / 63 AS w,
      1::bigint << ((extract(doy FROM day::date)::int - 1) % 63) AS b FROM station_day_riders
      WHERE CASE WHEN day ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND substr(day, 1, 4) <> '0000'
        THEN substr(day, 9, 2)::int <= CASE WHEN substr(day, 6, 2) IN ('04', '06', '09', '11') THEN 30
          WHEN substr(day, 6, 2) <> '02' THEN 31
          WHEN substr(day, 1, 4)::int % 4 = 0 AND (substr(day, 1, 4)::int % 100 <> 0 OR substr(day, 1, 4)::int % 400 = 0) THEN 29 ELSE 28 END
        ELSE false END) x
    GROUP BY year, station_id, rider_id;
  INSERT INTO rider_year (year, rider_id, s0, s1, s2, s3, s4, s5, c0, c1, c2, c3, c4, c5)
    SELECT year, rider_id, bit_or(s0), bit_or(s1), bit_or(s2), bit_or(s3), bit_or(s4), bit_or(s5), bit_or(c0), bit_or(c1), bit_or(c2), bit_or(c3), bit_or(c4), bit_or(c5) FROM station_rider_year GROUP BY year, rider_id;
  DROP TABLE station_day_riders;
`;

const MIGRATIONS: readonly string[] = [
  // 1: the sync log, rollups, alerts, riders and signing keys.
  `
  CREATE TABLE events (
    station_id TEXT COLLATE "C" NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts BIGINT NOT NULL,
    day TEXT NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  );
  CREATE TABLE station_sync (
    station_id TEXT COLLATE "C" PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL,
    last_ts BIGINT NOT NULL, updated_at BIGINT NOT NULL
  );
  CREATE TABLE week_station (
    week TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL,
    checkins INTEGER NOT NULL DEFAULT 0, riders INTEGER NOT NULL DEFAULT 0,
    bottles_hot INTEGER NOT NULL DEFAULT 0, bottles_cold INTEGER NOT NULL DEFAULT 0,
    bottles_other INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, station_id)
  );
  CREATE TABLE rider_week (
    week TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL,
    checked_in BOOLEAN NOT NULL,
    PRIMARY KEY (week, station_id, rider_id)
  );
  CREATE TABLE rider_first_any (
    rider_id TEXT COLLATE "C" PRIMARY KEY, first_day TEXT COLLATE "C" NOT NULL, first_week TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX rider_first_any_week ON rider_first_any (first_week);
  CREATE TABLE week_sponsor (
    week TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, sponsor TEXT COLLATE "C" NOT NULL,
    bottles INTEGER NOT NULL DEFAULT 0, restocked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, station_id, sponsor)
  );
  CREATE TABLE devices (
    station_id TEXT COLLATE "C" NOT NULL, device_id TEXT COLLATE "C" NOT NULL, kind TEXT, state TEXT NOT NULL,
    in_service BOOLEAN NOT NULL DEFAULT true, last_seen BIGINT NOT NULL, stock TEXT,
    PRIMARY KEY (station_id, device_id)
  );
  CREATE TABLE open_faults (
    station_id TEXT COLLATE "C" NOT NULL, device_id TEXT COLLATE "C" NOT NULL, fault TEXT COLLATE "C" NOT NULL, since BIGINT NOT NULL,
    PRIMARY KEY (station_id, device_id, fault)
  );
  CREATE TABLE overdue_lockers (
    station_id TEXT COLLATE "C" NOT NULL, compartment TEXT COLLATE "C" NOT NULL, since BIGINT NOT NULL, rider_id TEXT,
    PRIMARY KEY (station_id, compartment)
  );
  CREATE TABLE heartbeats (station_id TEXT COLLATE "C" PRIMARY KEY, ts BIGINT NOT NULL, data TEXT NOT NULL);
  CREATE TABLE alerts (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, station_id TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL,
    seq INTEGER, detail TEXT NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1, acked_at BIGINT, acked_by TEXT
  );
  CREATE UNIQUE INDEX alerts_key ON alerts (station_id, kind, (coalesce(seq, -1)));
  CREATE TABLE riders (
    rider_id TEXT COLLATE "C" PRIMARY KEY, grp TEXT NOT NULL, platform TEXT, created_at BIGINT NOT NULL,
    revoked_at BIGINT, revoke_reason TEXT, last_credential_exp BIGINT
  );
  CREATE TABLE signing_keys (
    kid TEXT COLLATE "C" PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL, created_at BIGINT NOT NULL,
    retired_at BIGINT, last_exp BIGINT
  );
  `,
  // 2: stations provisioned at run time (SPEC §12), with their token hash and config ETag.
  `
  CREATE TABLE stations (
    id TEXT COLLATE "C" PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, timezone TEXT NOT NULL, zone TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT true, maintenance_tokens TEXT NOT NULL DEFAULT '[]', devices TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, config_etag TEXT, config_pulled_at BIGINT, config_applied TEXT
  );
  `,
  // 3: alerts per SPEC §15 (as SQLite migration 5): one row per fingerprint, firing until the
  // condition clears then resolved; the notification outbox (unique per alert, episode, phase and
  // channel), the per-channel message log of the rate limit, one sender lease per channel.
  `
  ALTER TABLE alerts ADD COLUMN fingerprint TEXT COLLATE "C";
  ALTER TABLE alerts ADD COLUMN subject TEXT NOT NULL DEFAULT '';
  ALTER TABLE alerts ADD COLUMN severity TEXT NOT NULL DEFAULT 'critical';
  ALTER TABLE alerts ADD COLUMN state TEXT NOT NULL DEFAULT 'firing';
  ALTER TABLE alerts ADD COLUMN since BIGINT;
  ALTER TABLE alerts ADD COLUMN resolved_at BIGINT;
  ALTER TABLE alerts ADD COLUMN episode INTEGER NOT NULL DEFAULT 1;
  UPDATE alerts SET
    fingerprint = station_id || '/seq:' || coalesce(seq::text, '-') || '/' || kind,
    subject = CASE WHEN seq IS NULL THEN '' ELSE 'seq:' || seq END,
    severity = CASE WHEN kind = 'chain_broken' THEN 'critical' ELSE 'warning' END,
    since = first_at,
    state = CASE WHEN acked_at IS NULL THEN 'firing' ELSE 'resolved' END,
    resolved_at = acked_at;
  ALTER TABLE alerts ALTER COLUMN fingerprint SET NOT NULL;
  DROP INDEX alerts_key;
  CREATE UNIQUE INDEX alerts_fingerprint ON alerts (fingerprint);
  CREATE INDEX alerts_by_state ON alerts (state, last_at);
  CREATE TABLE notifications (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, alert_id BIGINT NOT NULL REFERENCES alerts (id),
    episode INTEGER NOT NULL, phase TEXT NOT NULL, channel TEXT COLLATE "C" NOT NULL, created_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL,
    sent_at BIGINT, last_error TEXT,
    UNIQUE (alert_id, episode, phase, channel)
  );
  CREATE INDEX notifications_due ON notifications (channel, state, next_at);
  CREATE TABLE notify_sends (channel TEXT COLLATE "C" NOT NULL, at BIGINT NOT NULL, notifications INTEGER NOT NULL, ok BOOLEAN NOT NULL);
  CREATE INDEX notify_sends_by_channel ON notify_sends (channel, at);
  CREATE TABLE notify_leases (channel TEXT COLLATE "C" PRIMARY KEY, owner TEXT NOT NULL, until BIGINT NOT NULL);
  `,
  // 4: riders enrol themselves with an invite (SPEC §14); as SQLite migration 6.
  `
  CREATE TABLE invites (
    code TEXT COLLATE "C" PRIMARY KEY, uses INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL,
    zone TEXT, note TEXT, created_at BIGINT NOT NULL, created_by TEXT NOT NULL
  );
  ALTER TABLE riders ADD COLUMN device_x TEXT COLLATE "C", ADD COLUMN zone TEXT, ADD COLUMN invite TEXT, ADD COLUMN withdrawn_at BIGINT;
  CREATE UNIQUE INDEX riders_device ON riders (device_x) WHERE device_x IS NOT NULL;
  CREATE TABLE rider_contacts (rider_id TEXT COLLATE "C" PRIMARY KEY, contact TEXT NOT NULL, consented_at BIGINT NOT NULL);
  `,  // rider status (issue 12), as the SQLite migration of the same name: the last window, bottle
  // and sighting per rider, and the lockers held now (one row per compartment).
  `
  CREATE TABLE rider_status (
    rider_id TEXT COLLATE "C" PRIMARY KEY,
    window_from TEXT, window_to TEXT, window_station TEXT, window_ts BIGINT,
    claim_day TEXT, claim_station TEXT, claim_ts BIGINT, claim_compartment TEXT,
    seen_station TEXT, seen_ts BIGINT
  );
  CREATE TABLE rider_lockers (
    station_id TEXT COLLATE "C" NOT NULL, compartment TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL, label TEXT,
    deposited_ts BIGINT NOT NULL, deadline_ts BIGINT, overdue_since BIGINT,
    PRIMARY KEY (station_id, compartment)
  );
  CREATE INDEX rider_lockers_rider ON rider_lockers (rider_id);
  `,
  // enrolment limit across instances (issue 12): one fixed window per client address.
  `
  CREATE TABLE enrol_windows (address TEXT COLLATE "C" PRIMARY KEY, window_start BIGINT NOT NULL, hits INTEGER NOT NULL);
  CREATE INDEX enrol_windows_start ON enrol_windows (window_start);
  `,
  // hazard reports (SPEC §17), as the SQLite migration of the same name.
  `
  CREATE TABLE hazards (
    id TEXT COLLATE "C" PRIMARY KEY, rider_id TEXT COLLATE "C" NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL,
    place_text TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION, photo_type TEXT, photo BYTEA, photo_bytes INTEGER,
    state TEXT NOT NULL DEFAULT 'new', note TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
  );
  CREATE INDEX hazards_by_state ON hazards (state, created_at);
  CREATE INDEX hazards_by_rider ON hazards (rider_id, created_at);
  CREATE TABLE hazard_changes (
    hazard_id TEXT COLLATE "C" NOT NULL, at BIGINT NOT NULL, by TEXT NOT NULL, state TEXT NOT NULL, note TEXT
  );
  CREATE INDEX hazard_changes_by_hazard ON hazard_changes (hazard_id, at);
  `,
  // one quota across a zone (SPEC §13, issue 16); as the SQLite migration. zone_heads is the
  // zone's counter: taken with UPDATE … RETURNING in the ingest transaction, its row lock orders
  // the zone's appends, so a reader never sees a later zseq without every earlier one.
  `
  CREATE TABLE zone_heads (zone TEXT COLLATE "C" PRIMARY KEY, zseq BIGINT NOT NULL);
  CREATE TABLE zone_feed (
    zone TEXT COLLATE "C" NOT NULL, zseq BIGINT NOT NULL, station_id TEXT COLLATE "C" NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
    day TEXT COLLATE "C" NOT NULL, ts BIGINT NOT NULL, rider_id TEXT COLLATE "C" NOT NULL, window_from TEXT COLLATE "C", window_to TEXT COLLATE "C",
    claim_id TEXT, outcome TEXT, feed_age_ms BIGINT,
    PRIMARY KEY (zone, zseq)
  );
  CREATE INDEX zone_feed_days ON zone_feed (zone, day);
  CREATE TABLE zone_claims (
    station_id TEXT COLLATE "C" NOT NULL, claim_id TEXT COLLATE "C" NOT NULL, zone TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL, ts BIGINT NOT NULL, state TEXT NOT NULL, feed_age_ms BIGINT,
    PRIMARY KEY (station_id, claim_id)
  );
  CREATE INDEX zone_claims_rider_day ON zone_claims (zone, rider_id, day);
  CREATE TABLE zone_conflicts (
    zone TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL, day TEXT COLLATE "C" NOT NULL, week TEXT COLLATE "C" NOT NULL,
    found_at BIGINT NOT NULL,
    PRIMARY KEY (zone, rider_id, day)
  );
  CREATE INDEX zone_conflicts_week ON zone_conflicts (week, zone);
  `,
  // reports (SPEC §17): day facts (check-ins, bottles and restocks per station, service day,
  // rider, compartment and named sponsor) for range reports and statements, built here from the
  // stored events and folded forward from each station's cursor by the reports from then on;
  // sponsor records (unique by normalised name), relays per station and days, outreach notes.
  PG_REPORTS_MIGRATION,
  // pgingest (issue 14, the fleet's upload latency): the common upload in one round trip.
  // ws_append_next stores a batch that continues the station's head — under the station's ingest
  // advisory lock it checks the head (the first event's seq follows it and its hash chains from
  // the head's hash, SPEC §9), the token the upload was let in with and that the station is
  // enabled (SPEC §12), then stores the events, the newest heartbeat and the new head — and says
  // whether the station's station_silent alert is firing (SPEC §15), so a heartbeat needs no read
  // of its own. Anything else (a replay, a gap, a broken chain) stores nothing and returns the
  // head, against which the ingestor plans the batch as before. The other rollups and the zone
  // feed, when a batch has any, follow in the same transaction (pg.ts). Firing alerts by station.
  `
  CREATE INDEX alerts_firing_by_station ON alerts (station_id) WHERE state = 'firing';
  CREATE FUNCTION ws_append_next(
    p_lock_class INTEGER, p_station TEXT, p_token TEXT, p_first_text TEXT,
    p_seq INTEGER[], p_type TEXT[], p_ts BIGINT[], p_day TEXT[], p_data TEXT[], p_hash TEXT[],
    p_received_at BIGINT, p_heartbeat_ts BIGINT, p_heartbeat_data TEXT,
    OUT status TEXT, OUT head_seq INTEGER, OUT head_hash TEXT, OUT silent_firing BOOLEAN
  ) LANGUAGE plpgsql AS $fn$
  DECLARE
    n INTEGER := cardinality(p_seq);
    st_token TEXT;
    st_enabled BOOLEAN;
  BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_station));
    SELECT last_seq, last_hash INTO head_seq, head_hash FROM station_sync WHERE station_id = p_station;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    IF p_token IS NOT NULL THEN
      SELECT token_sha256, enabled INTO st_token, st_enabled FROM stations WHERE id = p_station;
      IF FOUND AND st_token IS DISTINCT FROM p_token THEN status := 'token_replaced'; RETURN; END IF;
      IF FOUND AND NOT st_enabled THEN status := 'station_disabled'; RETURN; END IF;
    END IF;
    IF n = 0 OR p_seq[1] <> head_seq + 1
       OR encode(sha256(convert_to(head_hash || p_first_text, 'UTF8')), 'hex') <> p_hash[1] THEN
      status := 'not_next';
      RETURN;
    END IF;
    INSERT INTO events (station_id, seq, type, ts, day, data, hash)
      SELECT p_station, * FROM unnest(p_seq, p_type, p_ts, p_day, p_data, p_hash);
    IF p_heartbeat_ts IS NOT NULL THEN
      INSERT INTO heartbeats (station_id, ts, data) VALUES (p_station, p_heartbeat_ts, p_heartbeat_data)
        ON CONFLICT (station_id) DO UPDATE SET ts = excluded.ts, data = excluded.data WHERE excluded.ts >= heartbeats.ts;
    END IF;
    INSERT INTO station_sync (station_id, last_seq, last_hash, last_ts, updated_at)
      VALUES (p_station, p_seq[n], p_hash[n], p_ts[n], p_received_at)
      ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
        last_ts = excluded.last_ts, updated_at = excluded.updated_at;
    head_seq := p_seq[n];
    head_hash := p_hash[n];
    silent_firing := EXISTS (SELECT 1 FROM alerts WHERE station_id = p_station AND state = 'firing' AND kind = 'station_silent');
    status := 'ok';
  END
  $fn$;
  `,
  // range report sums (issue 14, as SQLite's): per station and service day the check-ins and
  // bottles, and per named sponsor the bottles and restocks, kept by the day-fact fold beside the
  // facts; built here from the facts (rebuilt whole).
  `
  CREATE TABLE IF NOT EXISTS station_day_sums (
    day TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, checkins INTEGER NOT NULL, bottles_hot INTEGER NOT NULL,
    bottles_cold INTEGER NOT NULL, bottles_other INTEGER NOT NULL, PRIMARY KEY (day, station_id)
  );
  DELETE FROM station_day_sums;
  INSERT INTO station_day_sums (day, station_id, checkins, bottles_hot, bottles_cold, bottles_other)
    SELECT day, station_id, coalesce(sum(events) FILTER (WHERE kind = 'checkin'), 0),
      coalesce(sum(events) FILTER (WHERE kind = 'bottle' AND compartment = 'hot'), 0),
      coalesce(sum(events) FILTER (WHERE kind = 'bottle' AND compartment = 'cold'), 0),
      coalesce(sum(events) FILTER (WHERE kind = 'bottle' AND compartment NOT IN ('hot', 'cold')), 0)
    FROM day_facts WHERE kind <> 'restock' GROUP BY day, station_id;
  CREATE TABLE IF NOT EXISTS station_day_sponsors (
    day TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, sponsor TEXT COLLATE "C" NOT NULL,
    bottles INTEGER NOT NULL, restocked BIGINT NOT NULL, PRIMARY KEY (day, station_id, sponsor)
  );
  DELETE FROM station_day_sponsors;
  INSERT INTO station_day_sponsors (day, station_id, sponsor, bottles, restocked)
    SELECT day, station_id, sponsor, coalesce(sum(events) FILTER (WHERE kind = 'bottle'), 0), coalesce(sum(count) FILTER (WHERE kind = 'restock'), 0)
    FROM day_facts WHERE kind <> 'checkin' GROUP BY day, station_id, sponsor;
  `,
  // range report riders (issue 14, as SQLite's): one row per rider seen at a station on a service
  // day, whether they checked in, kept by the day-fact fold; built from the facts (rebuilt whole).
  `
  CREATE TABLE IF NOT EXISTS station_day_riders (
    day TEXT COLLATE "C" NOT NULL, station_id TEXT COLLATE "C" NOT NULL, rider_id TEXT COLLATE "C" NOT NULL, checked_in BOOLEAN NOT NULL,
    PRIMARY KEY (day, station_id, rider_id)
  );
  DELETE FROM station_day_riders;
  INSERT INTO station_day_riders (day, station_id, rider_id, checked_in)
    SELECT day, station_id, rider_id, bool_or(kind = 'checkin') FROM day_facts WHERE kind <> 'restock' GROUP BY day, station_id, rider_id;
  `,
  // ingest round trips (issue 14): a batch's rider-locker effects (issue 12: deposit, overdue,
  // freed) applied in their order by one call instead of one statement each — a deposit and its
  // retrieval often share a batch, so the order matters and they cannot be one set-based statement.
  `
  CREATE FUNCTION ws_rider_lockers(
    p_station TEXT, p_kind TEXT[], p_compartment TEXT[], p_rider TEXT[], p_label TEXT[], p_ts BIGINT[], p_deadline BIGINT[]
  ) RETURNS void LANGUAGE plpgsql AS $fn$
  BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_kind), 0) LOOP
      IF p_kind[i] = 'rider.locker' THEN
        INSERT INTO rider_lockers (station_id, compartment, rider_id, label, deposited_ts, deadline_ts, overdue_since)
          VALUES (p_station, p_compartment[i], p_rider[i], p_label[i], p_ts[i], p_deadline[i], NULL)
          ON CONFLICT (station_id, compartment) DO UPDATE SET rider_id = excluded.rider_id, label = excluded.label,
            deposited_ts = excluded.deposited_ts, deadline_ts = excluded.deadline_ts, overdue_since = NULL
          WHERE excluded.deposited_ts >= rider_lockers.deposited_ts;
      ELSIF p_kind[i] = 'rider.locker.overdue' THEN
        UPDATE rider_lockers SET overdue_since = coalesce(overdue_since, p_ts[i])
          WHERE station_id = p_station AND compartment = p_compartment[i] AND deposited_ts <= p_ts[i];
      ELSE
        DELETE FROM rider_lockers WHERE station_id = p_station AND compartment = p_compartment[i] AND deposited_ts <= p_ts[i];
      END IF;
    END LOOP;
  END
  $fn$;
  `,
  PG_DAY_BITMAPS_MIGRATION,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Apply the migrations this database lacks, under the migration lock; returns the versions applied. */
export async function migratePg(pool: pg.Pool): Promise<number[]> {
  const c = await pool.connect();
  const applied: number[] = [];
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const current = r.rows[0]?.v ?? 0;
      if (current > MIGRATIONS.length) {
        throw new Error(`the database is at schema version ${current}, newer than this cloud (${MIGRATIONS.length}); upgrade the cloud`);
      }
      for (let v = current; v < MIGRATIONS.length; v++) {
        await c.query('BEGIN');
        try {
          await c.query(MIGRATIONS[v]!);
          await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
          await c.query('COMMIT');
          applied.push(v + 1);
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    c.release();
  }
  return applied;
}
