/**
 * Locker tables in the station ledger (migration range 100–199) and one small function per
 * SQL operation. Callers run these inside `ledger.tx` together with the event of the change.
 */
import type { Database } from 'better-sqlite3';
import { registerMigration } from '../../ledger/migrations.ts';
import type { UnlockJournalRow } from '../ports.ts';
import type { Phase } from './machine.ts';

export type { Phase };

registerMigration({
  version: 100,
  name: 'locker compartments and holdings',
  sql: `
    CREATE TABLE locker_compartments (
      name           TEXT PRIMARY KEY,
      bus            TEXT NOT NULL,
      board          INTEGER NOT NULL,
      lock           INTEGER NOT NULL,
      in_service     INTEGER NOT NULL DEFAULT 1,
      service_reason TEXT,
      phase          TEXT NOT NULL DEFAULT 'free'
                     CHECK (phase IN ('free','opening','depositing','held','retrieving')),
      updated_ts     INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- A holding: one rider's use of one compartment (SPEC §6a). 'opening' while the deposit's
    -- unlock is in flight; ended holdings are kept as history.
    CREATE TABLE locker_holdings (
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      rider_id     TEXT NOT NULL,
      compartment  TEXT NOT NULL REFERENCES locker_compartments (name),
      status       TEXT NOT NULL CHECK (status IN ('opening','active','ended')),
      created_ts   INTEGER NOT NULL,
      deposited_ts INTEGER,
      stored_ts    INTEGER,
      overdue_ts   INTEGER,
      ended_ts     INTEGER,
      end_reason   TEXT
    );
    -- The database itself refuses a second holding per rider or per compartment.
    CREATE UNIQUE INDEX locker_holdings_rider ON locker_holdings (rider_id) WHERE status <> 'ended';
    CREATE UNIQUE INDEX locker_holdings_compartment ON locker_holdings (compartment) WHERE status <> 'ended';
  `,
});

registerMigration({
  version: 101,
  name: 'locker unlock journal',
  sql: `
    -- Every unlock, written (fsynced) before the command goes on the wire and completed with
    -- its outcome after: no door opens without a durable record, even if the station stops
    -- between the unlock and the change it belongs to (a retrieve, a forced opening).
    CREATE TABLE locker_unlocks (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      compartment TEXT NOT NULL,
      purpose     TEXT NOT NULL CHECK (purpose IN ('deposit','retrieve','forced_open')),
      actor       TEXT NOT NULL,
      started_ts  INTEGER NOT NULL,
      outcome     TEXT CHECK (outcome IN ('opened','stayed_shut','no_answer','interrupted')),
      ended_ts    INTEGER
    );
    CREATE INDEX locker_unlocks_open ON locker_unlocks (id) WHERE outcome IS NULL;
  `,
});

export type UnlockRow = UnlockJournalRow;
export type UnlockPurpose = UnlockJournalRow['purpose'];
export type UnlockOutcome = NonNullable<UnlockJournalRow['outcome']>;

export function startUnlock(db: Database, compartment: string, purpose: UnlockPurpose, actor: string, ts: number): number {
  const r = db
    .prepare('INSERT INTO locker_unlocks (compartment, purpose, actor, started_ts) VALUES (?, ?, ?, ?)')
    .run(compartment, purpose, actor, ts);
  return Number(r.lastInsertRowid);
}

export function endUnlock(db: Database, id: number, outcome: UnlockOutcome, ts: number): void {
  db.prepare('UPDATE locker_unlocks SET outcome = ?, ended_ts = ? WHERE id = ?').run(outcome, ts, id);
}

/** Unlocks still in flight when the station stopped (their outcome was never written). */
export function unfinishedUnlocks(db: Database): UnlockRow[] {
  return db.prepare('SELECT * FROM locker_unlocks WHERE outcome IS NULL ORDER BY id').all() as UnlockRow[];
}

export function recentUnlocks(db: Database, limit: number): UnlockRow[] {
  return db.prepare('SELECT * FROM locker_unlocks ORDER BY id DESC LIMIT ?').all(limit) as UnlockRow[];
}

export function pruneUnlocks(db: Database, olderThanTs: number): number {
  return db.prepare('DELETE FROM locker_unlocks WHERE outcome IS NOT NULL AND ended_ts < ?').run(olderThanTs).changes;
}

export interface CompartmentRow {
  name: string;
  bus: string;
  board: number;
  lock: number;
  in_service: number;
  service_reason: string | null;
  phase: Phase;
}

export interface HoldingRow {
  id: number;
  rider_id: string;
  compartment: string;
  status: 'opening' | 'active' | 'ended';
  created_ts: number;
  deposited_ts: number | null;
  stored_ts: number | null;
  overdue_ts: number | null;
}

export function ensureCompartment(db: Database, c: { name: string; bus: string; board: number; lock: number }, ts: number): void {
  db.prepare(
    `INSERT INTO locker_compartments (name, bus, board, lock, updated_ts) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET bus = excluded.bus WHERE bus <> excluded.bus`,
  ).run(c.name, c.bus, c.board, c.lock, ts);
}

export function loadCompartments(db: Database): CompartmentRow[] {
  return db.prepare('SELECT name, bus, board, lock, in_service, service_reason, phase FROM locker_compartments').all() as CompartmentRow[];
}

export function loadOpenHoldings(db: Database): HoldingRow[] {
  return db
    .prepare(
      `SELECT id, rider_id, compartment, status, created_ts, deposited_ts, stored_ts, overdue_ts
       FROM locker_holdings WHERE status <> 'ended'`,
    )
    .all() as HoldingRow[];
}

export function setPhase(db: Database, name: string, phase: Phase, ts: number): void {
  db.prepare('UPDATE locker_compartments SET phase = ?, updated_ts = ? WHERE name = ?').run(phase, ts, name);
}

export function setService(db: Database, name: string, inService: boolean, reason: string | null, ts: number): void {
  db.prepare('UPDATE locker_compartments SET in_service = ?, service_reason = ?, updated_ts = ? WHERE name = ?').run(
    inService ? 1 : 0,
    reason,
    ts,
    name,
  );
}

export function insertOpeningHolding(db: Database, riderId: string, compartment: string, ts: number): number {
  const r = db
    .prepare(`INSERT INTO locker_holdings (rider_id, compartment, status, created_ts) VALUES (?, ?, 'opening', ?)`)
    .run(riderId, compartment, ts);
  return Number(r.lastInsertRowid);
}

export function deleteHolding(db: Database, id: number): void {
  db.prepare(`DELETE FROM locker_holdings WHERE id = ? AND status = 'opening'`).run(id);
}

export function activateHolding(db: Database, id: number, ts: number): void {
  db.prepare(`UPDATE locker_holdings SET status = 'active', deposited_ts = ? WHERE id = ?`).run(ts, id);
}

export function startStorage(db: Database, id: number, ts: number): void {
  db.prepare('UPDATE locker_holdings SET stored_ts = ? WHERE id = ?').run(ts, id);
}

export function markOverdue(db: Database, id: number, ts: number): void {
  db.prepare('UPDATE locker_holdings SET overdue_ts = ? WHERE id = ?').run(ts, id);
}

export function endHolding(db: Database, id: number, reason: string, ts: number): void {
  db.prepare(`UPDATE locker_holdings SET status = 'ended', ended_ts = ?, end_reason = ? WHERE id = ?`).run(ts, reason, id);
}
