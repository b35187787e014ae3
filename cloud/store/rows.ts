/** Row mapping shared by both store backends: a sync head, a rider, an invite (same columns in SQLite and PostgreSQL). */
import type { InviteRow, RiderRow, SyncHeadRow } from './store.ts';

type Row = Record<string, unknown>;

export const riderOf = (r: Row): RiderRow => ({
  riderId: r.rider_id as string,
  group: r.grp as string,
  platform: (r.platform as string | null) ?? null,
  createdAt: r.created_at as number,
  revokedAt: (r.revoked_at as number | null) ?? null,
  revokeReason: (r.revoke_reason as string | null) ?? null,
  lastCredentialExp: (r.last_credential_exp as number | null) ?? null,
  withdrawnAt: (r.withdrawn_at as number | null) ?? null,
  zone: (r.zone as string | null) ?? null,
});

export const headOf = (r: Row): SyncHeadRow => ({
  stationId: r.station_id as string,
  seq: r.last_seq as number,
  hash: r.last_hash as string,
  ts: r.last_ts as number,
  updatedAt: r.updated_at as number,
});

export const inviteOf = (r: Row): InviteRow => ({
  code: r.code as string,
  uses: r.uses as number,
  used: r.used as number,
  expiresAt: r.expires_at as number,
  zone: (r.zone as string | null) ?? null,
  note: (r.note as string | null) ?? null,
  createdAt: r.created_at as number,
  createdBy: r.created_by as string,
});
