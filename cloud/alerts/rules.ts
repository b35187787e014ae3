/**
 * The alert rules (SPEC §15), pure: the state of the fleet (rollups kept at ingest) and a clock
 * reading in, the alerts that should be firing out; and the alerts a batch of fresh events
 * raises or clears. The shell (alertService.ts) compares with what the store holds as firing.
 *
 * A fingerprint is `station/subject/kind[:qualifier]`: the subject is the device or compartment,
 * the qualifier tells two alerts of one kind on one device apart (two faults, hot and cold).
 */
import type { StationEvent } from '../../protocol/index.ts';
import type { AlertFire, AlertRow, AlertSeverity, DeviceRow, FaultRow, HeartbeatRow, OverdueLockerRow } from '../store/store.ts';

export type AlertKind =
  | 'device_offline'
  | 'device_fault'
  | 'low_stock'
  | 'temperature'
  | 'locker_overdue'
  | 'door_left_open'
  | 'station_silent'
  | 'chain_broken'
  | 'invalid_event';

/** Kinds the fleet evaluation owns: it fires them and resolves them when their condition is gone. */
export const LEVEL_KINDS: ReadonlySet<string> = new Set<AlertKind>(['device_offline', 'device_fault', 'low_stock', 'temperature', 'locker_overdue', 'station_silent']);

export type AlertCandidate = Omit<AlertFire, 'channels'>;

export interface FleetState {
  nowMs: number;
  stationIds: readonly string[];
  heartbeats: readonly HeartbeatRow[];
  devices: readonly DeviceRow[];
  faults: readonly FaultRow[];
  overdue: readonly OverdueLockerRow[];
}

export interface AlertRules {
  /** SPEC §15 `alerts.deviceOfflineAfterMs`. */
  deviceOfflineAfterMs: number;
  /** A station whose last heartbeat is older than this has gone silent. */
  stationSilentAfterMs: number;
}

export function fingerprintOf(stationId: string, subject: string, kind: string, qualifier = ''): string {
  return `${stationId}/${subject}/${kind}${qualifier ? `:${qualifier}` : ''}`;
}

/** The kind and qualifier back out of a fingerprint (the subject may hold anything but the last `/`). */
export function qualifierOf(fingerprint: string): string {
  const last = fingerprint.slice(fingerprint.lastIndexOf('/') + 1);
  const i = last.indexOf(':');
  return i < 0 ? '' : last.slice(i + 1);
}

/** Faults that stop riders getting water or a locker: someone should go now. */
const CRITICAL_FAULTS = /^(jam|motor|drop_sensor|heater|compressor|no_drop_detected|door_stuck:.*|door_forced:.*|out_of_stock_(hot|cold))$/;

/** Which alert a device fault is (SPEC §5 fault names, the edge's own `low_stock_*`, `temp_out_of_range_*`). */
export function classifyFault(fault: string): { kind: AlertKind; qualifier: string; severity: AlertSeverity } {
  const stock = /^(low_stock|out_of_stock)_(hot|cold)$/.exec(fault);
  if (stock) return { kind: 'low_stock', qualifier: stock[2]!, severity: stock[1] === 'out_of_stock' ? 'critical' : 'warning' };
  const temp = /^temp_out_of_range_(hot|cold)$/.exec(fault);
  if (temp) return { kind: 'temperature', qualifier: temp[1]!, severity: 'warning' };
  if (fault === 'temp_high' || fault === 'temp_low' || fault === 'temp_sensor') return { kind: 'temperature', qualifier: fault, severity: 'warning' };
  return { kind: 'device_fault', qualifier: fault, severity: CRITICAL_FAULTS.test(fault) ? 'critical' : 'warning' };
}

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };
export const severityAtLeast = (s: AlertSeverity, min: AlertSeverity): boolean => RANK[s] >= RANK[min];

/** The level alerts that should be firing now. */
export function fleetAlerts(f: FleetState, rules: AlertRules): AlertCandidate[] {
  const out = new Map<string, AlertCandidate>();
  const add = (c: AlertCandidate) => {
    const had = out.get(c.fingerprint);
    // Two faults into one alert (out_of_stock_hot and low_stock_hot): the worse severity, the earlier since.
    if (had) {
      if (RANK[c.severity] > RANK[had.severity]) Object.assign(had, { severity: c.severity, detail: c.detail });
      had.since = Math.min(had.since, c.since);
      return;
    }
    out.set(c.fingerprint, c);
  };
  const known = new Set(f.stationIds);
  for (const hb of f.heartbeats) {
    if (!known.has(hb.stationId) || f.nowMs - hb.ts <= rules.stationSilentAfterMs) continue;
    add({ fingerprint: fingerprintOf(hb.stationId, '', 'station_silent'), stationId: hb.stationId, subject: '', kind: 'station_silent', severity: 'critical', since: hb.ts, detail: 'no heartbeat', seq: null });
  }
  // Maintenance took these out of service: their faults and silence are known, nobody is paged.
  const outOfService = new Set(f.devices.filter((d) => !d.inService || d.state === 'out_of_service').map((d) => `${d.stationId}/${d.deviceId}`));
  for (const d of f.devices) {
    if (d.state !== 'offline' || outOfService.has(`${d.stationId}/${d.deviceId}`)) continue;
    // The devices row's last_seen is the ts of its newest device event: here, the device.offline.
    if (f.nowMs - d.lastSeenAt < rules.deviceOfflineAfterMs) continue;
    add({ fingerprint: fingerprintOf(d.stationId, d.deviceId, 'device_offline'), stationId: d.stationId, subject: d.deviceId, kind: 'device_offline', severity: 'critical', since: d.lastSeenAt, detail: d.kind ?? 'device', seq: null });
  }
  const stockOf = new Map(f.devices.map((d) => [`${d.stationId}/${d.deviceId}`, d.stock]));
  for (const x of f.faults) {
    if (outOfService.has(`${x.stationId}/${x.deviceId}`)) continue;
    const c = classifyFault(x.fault);
    const left = c.kind === 'low_stock' ? stockOf.get(`${x.stationId}/${x.deviceId}`)?.[c.qualifier] : undefined;
    add({
      fingerprint: fingerprintOf(x.stationId, x.deviceId, c.kind, c.qualifier),
      stationId: x.stationId,
      subject: x.deviceId,
      kind: c.kind,
      severity: c.severity,
      since: x.since,
      detail: left === undefined ? x.fault : `${x.fault} (${left} left)`,
      seq: null,
    });
  }
  for (const o of f.overdue) {
    add({ fingerprint: fingerprintOf(o.stationId, o.compartment, 'locker_overdue'), stationId: o.stationId, subject: o.compartment, kind: 'locker_overdue', severity: 'warning', since: o.since, detail: o.riderId ? 'held' : 'overdue', seq: null });
  }
  return [...out.values()];
}

/** What to do: fire the candidates not firing yet, resolve the firing level alerts no longer wanted. */
export function diffAlerts(candidates: readonly AlertCandidate[], firing: readonly AlertRow[]): { fire: AlertCandidate[]; resolve: string[] } {
  const wanted = new Set(candidates.map((c) => c.fingerprint));
  const firingNow = new Map(firing.filter((a) => a.state === 'firing').map((a) => [a.fingerprint, a]));
  return {
    // Candidates already firing are fired again too when their severity changed (the store only touches them).
    fire: candidates.filter((c) => !firingNow.has(c.fingerprint) || firingNow.get(c.fingerprint)!.severity !== c.severity),
    resolve: [...firingNow.values()].filter((a) => LEVEL_KINDS.has(a.kind) && !wanted.has(a.fingerprint)).map((a) => a.fingerprint),
  };
}

const LOCKER_DONE = new Set(['locker.deposited', 'locker.retrieved', 'locker.forced_open', 'locker.door_closed']);

/**
 * The alerts one batch of fresh events raises and clears by itself: a door left open (SPEC §6a)
 * fires on `locker.door_left_open` and clears on the compartment's next locker event — the edge
 * writes no event when a door closes, and a deposit, retrieve or forced open is only possible once
 * the door was seen again. Events are in seq order; the last word on a compartment wins.
 */
export function eventAlerts(stationId: string, events: readonly StationEvent[]): { fire: AlertCandidate[]; resolve: string[] } {
  const last = new Map<string, AlertCandidate | null>();
  for (const e of events) {
    const compartment = typeof e.data.compartment === 'string' ? e.data.compartment : null;
    if (!compartment) continue;
    const fp = fingerprintOf(stationId, compartment, 'door_left_open');
    if (e.type === 'locker.door_left_open') {
      const openFor = typeof e.data.openForMs === 'number' && e.data.openForMs >= 0 ? e.data.openForMs : 0;
      last.set(fp, { fingerprint: fp, stationId, subject: compartment, kind: 'door_left_open', severity: 'warning', since: e.ts - openFor, detail: `open ${Math.round(openFor / 1000)} s`, seq: e.seq });
    } else if (LOCKER_DONE.has(e.type)) {
      last.set(fp, null);
    }
  }
  const fire: AlertCandidate[] = [];
  const resolve: string[] = [];
  for (const [fp, c] of last) {
    if (c) fire.push(c);
    else resolve.push(fp);
  }
  return { fire, resolve };
}
