/**
 * Locker tables in the station ledger (migration range 100–199) and one small function per
 * SQL operation. Callers run these inside `ledger.tx` together with the event of the change.
 */
import type { Database } from 'better-sqlite3';
import { registerMigration } from '../../ledger/migrations';

/**
 * free: nobody's · opening: a deposit's unlock is in flight · depositing: the rider has it, the
 * door has not been seen closed yet · held: stored (the storage clock runs) · retrieving: the
 * holding ended, free once the door is seen closed.
 */
export type Phase = 'free' | 'opening' | 'depositing' | 'held' | 'retrieving';

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
