/**
 * Invites and self-enrolment in the SQLite store (SPEC §14). An enrolment is one transaction:
 * a device key seen before is a replay (its rider, nothing counted); otherwise the invite is
 * checked and one use taken by a guarded UPDATE, and the rider row created — so two requests
 * racing for an invite's last use cannot both get it.
 */
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import type { EnrolInput, EnrolResult, InviteRow, RiderRow } from './store.ts';
import { inviteOf, riderOf } from './rows.ts';

type Row = Record<string, unknown>;

export class SqliteEnrolment {
  private readonly s: Record<string, Statement>;
  private readonly enrolTx: Transaction<(e: EnrolInput) => EnrolResult>;
  private readonly withdrawTx: Transaction<(riderId: string, at: number) => void>;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      inviteInsert: p('INSERT INTO invites (code, uses, expires_at, zone, note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      invite: p('SELECT * FROM invites WHERE code = ?'),
      takeUse: p('UPDATE invites SET used = used + 1 WHERE code = ? AND used < uses AND expires_at > ?'),
      byDevice: p('SELECT * FROM riders WHERE device_x = ?'),
      rider: p('SELECT * FROM riders WHERE rider_id = ?'),
      riderInsert: p('INSERT INTO riders (rider_id, grp, platform, created_at, device_x, zone, invite) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      contactInsert: p('INSERT INTO rider_contacts (rider_id, contact, consented_at) VALUES (?, ?, ?)'),
      contact: p('SELECT contact FROM rider_contacts WHERE rider_id = ?'),
      contactDelete: p('DELETE FROM rider_contacts WHERE rider_id = ?'),
      statusDelete: p('DELETE FROM rider_status WHERE rider_id = ?'),
      withdraw: p(`UPDATE riders SET grp = '', platform = NULL, zone = NULL, device_x = NULL, withdrawn_at = coalesce(withdrawn_at, ?),
        revoked_at = coalesce(revoked_at, ?), revoke_reason = coalesce(revoke_reason, 'withdrawn') WHERE rider_id = ?`),
    };
    this.enrolTx = db.transaction((e: EnrolInput) => this.enrolInTx(e));
    this.withdrawTx = db.transaction((riderId: string, at: number) => {
      this.s.withdraw!.run(at, at, riderId);
      this.s.contactDelete!.run(riderId);
      this.s.statusDelete!.run(riderId);
    });
  }

  createInvite(i: Omit<InviteRow, 'used'>): InviteRow {
    this.s.inviteInsert!.run(i.code, i.uses, i.expiresAt, i.zone, i.note, i.createdAt, i.createdBy);
    return this.invite(i.code)!;
  }

  invite(code: string): InviteRow | null {
    const r = this.s.invite!.get(code) as Row | undefined;
    return r ? inviteOf(r) : null;
  }

  enrol(e: EnrolInput): EnrolResult {
    // IMMEDIATE: the write lock is taken before the replay check, so the check and the insert
    // see the same database.
    return this.enrolTx.immediate(e);
  }

  private enrolInTx(e: EnrolInput): EnrolResult {
    const seen = this.s.byDevice!.get(e.deviceX) as Row | undefined;
    if (seen) return { kind: 'replayed', rider: riderOf(seen) };
    if (this.s.takeUse!.run(e.invite, e.at).changes !== 1) {
      const inv = this.invite(e.invite);
      return { kind: 'invite_invalid', reason: !inv ? 'unknown' : inv.expiresAt <= e.at ? 'expired' : 'used_up' };
    }
    const zone = this.invite(e.invite)!.zone;
    this.s.riderInsert!.run(e.riderId, e.group, e.platform, e.at, e.deviceX, zone, e.invite);
    if (e.contact !== null) this.s.contactInsert!.run(e.riderId, e.contact, e.at);
    return { kind: 'enrolled', rider: riderOf(this.s.rider!.get(e.riderId) as Row) };
  }

  riderByDevice(deviceX: string): RiderRow | null {
    const r = this.s.byDevice!.get(deviceX) as Row | undefined;
    return r ? riderOf(r) : null;
  }

  contact(riderId: string): string | null {
    return ((this.s.contact!.get(riderId) as { contact: string } | undefined)?.contact) ?? null;
  }

  withdraw(riderId: string, at: number): RiderRow | null {
    this.withdrawTx(riderId, at);
    const r = this.s.rider!.get(riderId) as Row | undefined;
    return r ? riderOf(r) : null;
  }
}
