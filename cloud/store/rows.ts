/** Row mapping shared by both store backends: a sync head, a rider, an invite, the fleet's health (same columns in SQLite and PostgreSQL). */
import type { DeviceRow, FaultRow, HeartbeatRow, InviteRow, OverdueLockerRow, RiderRow, SyncHeadRow } from './store.ts';

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

// The fleet's health rollups. BIGINT columns come from PostgreSQL as strings, hence Number();
// a boolean is 1/0 in SQLite.
export const heartbeatOf = (r: Row): HeartbeatRow => ({ stationId: r.station_id as string, ts: Number(r.ts), data: JSON.parse(r.data as string) as Row });

export const faultOf = (r: Row): FaultRow => ({ stationId: r.station_id as string, deviceId: r.device_id as string, fault: r.fault as string, since: Number(r.since) });

export const overdueOf = (r: Row): OverdueLockerRow => ({
  stationId: r.station_id as string,
  compartment: r.compartment as string,
  since: Number(r.since),
  riderId: (r.rider_id as string | null) ?? null,
});

export function devicesOf(rows: readonly Row[], faults: readonly FaultRow[]): DeviceRow[] {
  return rows.map((r) => ({
    stationId: r.station_id as string,
    deviceId: r.device_id as string,
    kind: (r.kind as string | null) ?? null,
    state: r.state as string,
    inService: r.in_service === true || r.in_service === 1,
    lastSeenAt: Number(r.last_seen),
    faults: faults.filter((f) => f.stationId === r.station_id && f.deviceId === r.device_id).map((f) => f.fault),
    stock: r.stock ? (JSON.parse(r.stock as string) as Record<string, number>) : null,
  }));
}
