/**
 * Versioned schema migrations of the station ledger. Each runs once, in its own transaction,
 * in version order; the table `schema_migrations` records each one applied (a set, not a
 * high-water mark, so an area's migration registered later is still applied). Ranges by area:
 * 1–99 ledger core, 100–199 lockers, 200–299 dispensers, 300–399 daemon/api, 400–499 sync.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const registry: Migration[] = [
  {
    version: 1,
    name: 'events, meta, windows, claims, devices',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

      -- The append-only, hash-chained event log and transactional outbox (SPEC §9).
      CREATE TABLE events (
        seq  INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        ts   INTEGER NOT NULL,
        day  TEXT NOT NULL,
        data TEXT NOT NULL,
        hash TEXT NOT NULL
      );

      -- Entitlement windows (SPEC §3): [day_from, day_to], inclusive service days.
      CREATE TABLE windows (
        rider_id   TEXT NOT NULL,
        day_from   TEXT NOT NULL,
        day_to     TEXT NOT NULL,
        created_ts INTEGER NOT NULL,
        PRIMARY KEY (rider_id, day_from)
      ) WITHOUT ROWID;

      -- Claims and their life cycle (SPEC §3 rule 4). The claim id is also the dispense command id.
      CREATE TABLE claims (
        id           TEXT PRIMARY KEY,
        rider_id     TEXT NOT NULL,
        day          TEXT NOT NULL,
        slot         INTEGER,            -- NULL once released: a released claim holds no slot
        compartment  TEXT NOT NULL,
        dispenser_id TEXT NOT NULL,
        sponsor      TEXT,
        status       TEXT NOT NULL CHECK (status IN ('reserved','dispensing','committed','released','unknown')),
        reason       TEXT,
        created_ts   INTEGER NOT NULL,
        updated_ts   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- The database itself refuses a second quota-holding claim in the same slot of a rider-day
      -- (released claims have slot NULL, which UNIQUE allows any number of). The same index
      -- serves the quota decision's lookup of a rider's claims on one day.
      CREATE UNIQUE INDEX claims_quota ON claims (rider_id, day, slot);
      CREATE INDEX claims_open ON claims (status) WHERE status IN ('reserved','dispensing','unknown');

      -- Device health (SPEC §6b).
      CREATE TABLE devices (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        state       TEXT NOT NULL,
        in_service  INTEGER NOT NULL DEFAULT 1,
        last_seen   INTEGER,
        faults      TEXT NOT NULL DEFAULT '[]',
        counters    TEXT NOT NULL DEFAULT '{}',
        detail      TEXT NOT NULL DEFAULT '{}',
        updated_ts  INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/** Areas add their migrations here at import time (before the ledger is opened). */
export function registerMigration(m: Migration): void {
  if (registry.some((r) => r.version === m.version)) {
    if (registry.some((r) => r.version === m.version && r.sql === m.sql)) return;
    throw new Error(`migration version ${m.version} registered twice`);
  }
  registry.push(m);
}

export function migrate(db: Database): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ts INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_ts) VALUES (?, ?, ?)');
  for (const m of [...registry].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
    applied.add(m.version);
  }
  return [...applied].sort((a, b) => a - b);
}
