/**
 * Fleet health for maintenance (SPEC §6b as seen from the cloud): stations online or offline by
 * heartbeat age, devices by state and every offline or degraded device by name, stock per
 * dispenser, open faults, low stock, overdue lockers, sync backlog, hash-chain alerts and the
 * count of firing alerts (SPEC §15). Everything comes from rollups kept at ingest.
 */
import type { CloudStore, DeviceRow, FaultRow, OverdueLockerRow, AlertRow } from '../store/store.ts';
import type { StationConfig } from '../config.ts';

export interface StationHealth {
  stationId: string;
  zone: string;
  /** The station's IANA time zone: pages show its times in it. */
  timezone: string;
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

/** A device someone should look at: offline or degraded, named, with since when and why. */
export interface ProblemDevice {
  stationId: string;
  deviceId: string;
  kind: string | null;
  state: 'offline' | 'degraded';
  /** The ts of its newest device event: when it went offline, or its latest fault change. */
  since: number;
  faults: string[];
}

/** Stock of one dispenser as its last telemetry-driven event reported it. */
export interface DispenserStock {
  stationId: string;
  deviceId: string;
  state: string;
  stock: Record<string, number>;
  /** Compartments with a low or out-of-stock fault open. */
  low: string[];
}

export interface FleetHealth {
  generatedAt: number;
  stations: StationHealth[];
  devicesByState: Record<string, number>;
  devices: DeviceRow[];
  problemDevices: ProblemDevice[];
  stock: DispenserStock[];
  /** Alerts firing now, by severity (the inbox is `GET /v1/alerts`). */
  firingAlerts: Record<string, number>;
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

/** The station heartbeat's `stock: {dispenserId: {hot, cold}}` (edge/station.ts), read leniently. */
function heartbeatStock(data: Record<string, unknown> | undefined, deviceId: string): Record<string, number> {
  const all = data?.stock;
  const one = all && typeof all === 'object' ? (all as Record<string, unknown>)[deviceId] : undefined;
  const out: Record<string, number> = {};
  if (one && typeof one === 'object') for (const [k, v] of Object.entries(one)) if (typeof v === 'number') out[k] = v;
  return out;
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
  const firingAlerts: Record<string, number> = { critical: 0, warning: 0, info: 0 };
  for (const a of await store.listAlerts('firing', 100_000)) firingAlerts[a.severity] = (firingAlerts[a.severity] ?? 0) + 1;
  return {
    generatedAt: nowMs,
    stations: stations.map((s) => {
      const hb = beats.get(s.id);
      const head = heads.get(s.id);
      const age = hb ? nowMs - hb.ts : null;
      return {
        stationId: s.id,
        zone: s.zone,
        timezone: s.timezone,
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
    problemDevices: devices
      .filter((d): d is DeviceRow & { state: 'offline' | 'degraded' } => d.state === 'offline' || d.state === 'degraded')
      .map((d) => ({ stationId: d.stationId, deviceId: d.deviceId, kind: d.kind, state: d.state, since: d.lastSeenAt, faults: d.faults })),
    stock: devices
      .filter((d) => d.stock !== null || d.kind === 'dispenser')
      .map((d) => ({
        stationId: d.stationId,
        deviceId: d.deviceId,
        state: d.state,
        stock: d.stock ?? heartbeatStock(beats.get(d.stationId)?.data, d.deviceId),
        low: d.faults.map((f) => /^(?:low_stock|out_of_stock)_(.+)$/.exec(f)?.[1]).filter((c): c is string => c !== undefined),
      })),
    firingAlerts,
    openFaults: faults,
    lowStock: faults.filter((f) => LOW_STOCK.test(f.fault)),
    overdueLockers: await store.overdueLockers(),
    chainAlerts: (await store.alerts(100, { openOnly: true })).filter((a) => a.kind === 'chain_broken' || a.kind === 'invalid_event'),
  };
}
