/**
 * Invites and self-enrolment in the PostgreSQL store (SPEC §14), as sqliteEnrol.ts. The invite
 * use is taken by a guarded UPDATE (its row lock serialises instances racing for the last
 * use); two instances enrolling one device key at once meet at the unique index on
 * `device_x`, and the loser runs again and finds the replay.
 */
import type pg from 'pg';
import type { EnrolInput, EnrolResult, InviteRow, RiderRow } from './store.ts';
import { inviteOf, riderOf } from './rows.ts';

type Row = Record<string, unknown>;
type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

const UNIQUE_VIOLATION = '23505';

export class PgEnrolment {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: Tx,
  ) {}

  async createInvite(i: Omit<InviteRow, 'used'>): Promise<InviteRow> {
    await this.pool.query('INSERT INTO invites (code, uses, expires_at, zone, note, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      i.code, i.uses, i.expiresAt, i.zone, i.note, i.createdAt, i.createdBy,
    ]);
    return (await this.invite(i.code))!;
  }

  async invite(code: string): Promise<InviteRow | null> {
    const r = await this.pool.query<Row>('SELECT * FROM invites WHERE code = $1', [code]);
    return r.rows[0] ? inviteOf(r.rows[0]) : null;
  }

  async enrol(e: EnrolInput): Promise<EnrolResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.tx(async (c) => {
          const seen = await c.query<Row>('SELECT * FROM riders WHERE device_x = $1', [e.deviceX]);
          if (seen.rows[0]) return { kind: 'replayed', rider: riderOf(seen.rows[0]) } as const;
          const took = await c.query<Row>('UPDATE invites SET used = used + 1 WHERE code = $1 AND used < uses AND expires_at > $2 RETURNING zone', [e.invite, e.at]);
          if (took.rowCount !== 1) {
            const inv = await c.query<Row>('SELECT * FROM invites WHERE code = $1', [e.invite]);
            const row = inv.rows[0] ? inviteOf(inv.rows[0]) : null;
            return { kind: 'invite_invalid', reason: !row ? 'unknown' : row.expiresAt <= e.at ? 'expired' : 'used_up' } as const;
          }
          const zone = (took.rows[0]!.zone as string | null) ?? null;
          await c.query('INSERT INTO riders (rider_id, grp, platform, created_at, device_x, zone, invite) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
            e.riderId, e.group, e.platform, e.at, e.deviceX, zone, e.invite,
          ]);
          if (e.contact !== null) await c.query('INSERT INTO rider_contacts (rider_id, contact, consented_at) VALUES ($1, $2, $3)', [e.riderId, e.contact, e.at]);
          const r = await c.query<Row>('SELECT * FROM riders WHERE rider_id = $1', [e.riderId]);
          return { kind: 'enrolled', rider: riderOf(r.rows[0]!) } as const;
        });
      } catch (err) {
        // Another instance enrolled this device key meanwhile: run again, which finds the replay.
        if ((err as { code?: string }).code === UNIQUE_VIOLATION && attempt < 3) continue;
        throw err;
      }
    }
  }

  async riderByDevice(deviceX: string): Promise<RiderRow | null> {
    const r = await this.pool.query<Row>('SELECT * FROM riders WHERE device_x = $1', [deviceX]);
    return r.rows[0] ? riderOf(r.rows[0]) : null;
  }

  async contact(riderId: string): Promise<string | null> {
    const r = await this.pool.query<{ contact: string }>('SELECT contact FROM rider_contacts WHERE rider_id = $1', [riderId]);
    return r.rows[0]?.contact ?? null;
  }

  async withdraw(riderId: string, at: number): Promise<RiderRow | null> {
    return this.tx(async (c) => {
      await c.query(
        `UPDATE riders SET grp = '', platform = NULL, zone = NULL, device_x = NULL, withdrawn_at = coalesce(withdrawn_at, $1),
          revoked_at = coalesce(revoked_at, $1), revoke_reason = coalesce(revoke_reason, 'withdrawn') WHERE rider_id = $2`,
        [at, riderId],
      );
      await c.query('DELETE FROM rider_contacts WHERE rider_id = $1', [riderId]);
      await c.query('DELETE FROM rider_status WHERE rider_id = $1', [riderId]);
      const r = await c.query<Row>('SELECT * FROM riders WHERE rider_id = $1', [riderId]);
      return r.rows[0] ? riderOf(r.rows[0]) : null;
    });
  }
}
