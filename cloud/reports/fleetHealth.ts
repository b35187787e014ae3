/**
 * Fleet health for maintenance (SPEC §6b as seen from the cloud): stations online or offline by
 * heartbeat age, devices by state, open faults, low stock, overdue lockers, sync backlog and
 * hash-chain alerts. Everything comes from rollups kept at ingest.
 */
import type { CloudStore, DeviceRow, FaultRow, OverdueLockerRow, AlertRow } from '../store/store.ts';
import type { StationConfig } from '../config.ts';

export interface StationHealth {
  stationId: string;
  zone: string;
  online: boolean;
  lastHeartbeatAt: number | null;
  heartbeatAgeMs: number | null;
  /** Events the station reported as not yet acknowledged, in its last heartbeat. */
  backlog: number | null;
  syncedSeq: number;
  syncedThrough: number | null;
  lastUploadAt: number | null;
  heartbeat: Record<string, unknown> | null;
}

export interface FleetHealth {
  generatedAt: number;
  stations: StationHealth[];
  devicesByState: Record<string, number>;
  devices: DeviceRow[];
  openFaults: FaultRow[];
  lowStock: FaultRow[];
  overdueLockers: OverdueLockerRow[];
  chainAlerts: AlertRow[];
}

const LOW_STOCK = /^(out_of_stock|low_stock)/;

function backlogOf(d: Record<string, unknown>): number | null {
  for (const k of ['backlog', 'syncBacklog', 'sync_backlog']) if (typeof d[k] === 'number') return d[k] as number;
  const sync = d.sync as Record<string, unknown> | undefined;
  return sync && typeof sync.backlog === 'number' ? sync.backlog : null;
}

export async function fleetHealth(
  store: CloudStore,
  stations: readonly StationConfig[],
  nowMs: number,
  offlineAfterMs: number,
): Promise<FleetHealth> {
  const beats = new Map((await store.heartbeats()).map((h) => [h.stationId, h]));
  const heads = new Map((await store.syncHeads()).map((h) => [h.stationId, h]));
  const devices = await store.devices();
  const faults = await store.openFaults();
  const devicesByState: Record<string, number> = { online: 0, degraded: 0, offline: 0, out_of_service: 0 };
  for (const d of devices) devicesByState[d.state] = (devicesByState[d.state] ?? 0) + 1;
  return {
    generatedAt: nowMs,
    stations: stations.map((s) => {
      const hb = beats.get(s.id);
      const head = heads.get(s.id);
      const age = hb ? nowMs - hb.ts : null;
      return {
        stationId: s.id,
        zone: s.zone,
        online: age !== null && age <= offlineAfterMs,
        lastHeartbeatAt: hb?.ts ?? null,
        heartbeatAgeMs: age,
        backlog: hb ? backlogOf(hb.data) : null,
        syncedSeq: head?.seq ?? 0,
        syncedThrough: head?.ts ?? null,
        lastUploadAt: head?.updatedAt ?? null,
        heartbeat: hb?.data ?? null,
      };
    }),
    devicesByState,
    devices,
    openFaults: faults,
    lowStock: faults.filter((f) => LOW_STOCK.test(f.fault)),
    overdueLockers: await store.overdueLockers(),
    chainAlerts: (await store.alerts(100, { openOnly: true })).filter((a) => a.kind === 'chain_broken' || a.kind === 'invalid_event'),
  };
}
