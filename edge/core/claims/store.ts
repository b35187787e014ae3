/**
 * The claim service's table in the station ledger (migration range 200–299) and one small
 * function per SQL operation it runs itself. Writers run inside `ledger.tx` together with the
 * event of the change.
 */
import type { Database } from 'better-sqlite3';
import type { Compartment } from '../../../protocol/index.ts';
import { registerMigration } from '../../ledger/migrations.ts';

registerMigration({
  version: 200,
  name: 'dispenser compartments: current sponsor',
  sql: `
    -- The sponsor of the bottles last restocked into a compartment (SPEC §10 claim.committed.sponsor).
    CREATE TABLE dispenser_compartments (
      dispenser_id  TEXT NOT NULL,
      compartment   TEXT NOT NULL CHECK (compartment IN ('hot','cold')),
      sponsor       TEXT,
      restocked_ts  INTEGER NOT NULL,
      PRIMARY KEY (dispenser_id, compartment)
    ) WITHOUT ROWID;
  `,
});

/** The sponsor of the bottles last restocked into a compartment, if any. */
export function sponsorOf(db: Database, dispenserId: string, compartment: Compartment): string | undefined {
  const row = db
    .prepare('SELECT sponsor FROM dispenser_compartments WHERE dispenser_id = ? AND compartment = ?')
    .get(dispenserId, compartment) as { sponsor: string | null } | undefined;
  return row?.sponsor ?? undefined;
}

/** Record a restock: the compartment's bottles now come from `sponsor` (none: null). */
export function setSponsor(db: Database, dispenserId: string, compartment: Compartment, sponsor: string | null, ts: number): void {
  db.prepare(
    `INSERT INTO dispenser_compartments (dispenser_id, compartment, sponsor, restocked_ts) VALUES (?, ?, ?, ?)
     ON CONFLICT (dispenser_id, compartment) DO UPDATE SET sponsor = excluded.sponsor, restocked_ts = excluded.restocked_ts`,
  ).run(dispenserId, compartment, sponsor, ts);
}

/** Change the reason of a claim that is still `unknown` (the status is left as it is). */
export function setUnknownReason(db: Database, claimId: string, reason: string, ts: number): void {
  db.prepare("UPDATE claims SET reason = ?, updated_ts = ? WHERE id = ? AND status = 'unknown'").run(reason, ts, claimId);
}
