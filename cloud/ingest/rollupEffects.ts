/**
 * What one station event does to the cloud's rollups (pure; SPEC §9–10). The store applies
 * the effects in the same transaction that stores the event, so reports read rollups whose
 * cost does not grow with history.
 *
 * Events the reports read have schemas in protocol/events.ts. The health events (device.*,
 * locker.*, station.heartbeat) are read leniently: the keys below are used when present.
 */
import { EVENT_DATA, eventErrors, isoWeekOf, isServiceDay, validator, type StationEvent } from '../../protocol/index.ts';

export type DeviceState = 'online' | 'degraded' | 'offline' | 'out_of_service';

export type RollupEffect =
  | { kind: 'checkin'; week: string; day: string; riderId: string }
  | { kind: 'bottle'; week: string; day: string; riderId: string; compartment: 'hot' | 'cold' | null; sponsor: string }
  | { kind: 'restock'; week: string; day: string; sponsor: string; count: number; dispenserId: string; compartment: string }
  | {
      kind: 'device';
      deviceId: string;
      ts: number;
      state?: DeviceState;
      deviceKind?: string;
      inService?: boolean;
      faults?: string[];
      stock?: Record<string, number>;
    }
  | { kind: 'fault.open'; deviceId: string; fault: string; ts: number }
  | { kind: 'fault.close'; deviceId: string; fault: string | null }
  | { kind: 'locker.overdue'; compartment: string; ts: number; riderId: string | null }
  | { kind: 'locker.clear'; compartment: string }
  | { kind: 'heartbeat'; ts: number; data: Record<string, unknown> }
  // The rider's own status (issue 12, the rider page): the newest by `ts` wins, whatever order
  // stations sync in; a compartment's holding is one row, replaced by a deposit, cleared by a
  // retrieval or a forced opening.
  | { kind: 'rider.window'; riderId: string; from: string; to: string; ts: number }
  | { kind: 'rider.claim'; riderId: string; day: string; ts: number; compartment: 'hot' | 'cold' }
  | { kind: 'rider.seen'; riderId: string; ts: number }
  | { kind: 'rider.locker'; riderId: string; compartment: string; label: string | null; ts: number; deadlineTs: number | null }
  | { kind: 'rider.locker.overdue'; compartment: string; ts: number }
  | { kind: 'rider.locker.clear'; compartment: string; ts: number }
  /** The event is stored, but its data does not match its type's schema: raised as an alert. */
  | { kind: 'invalid'; detail: string };

/** Sponsor key for bottles/restocks without one. */
export const NO_SPONSOR = '';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function deviceIdOf(d: Record<string, unknown>): string | undefined {
  return str(d.deviceId) ?? str(d.dispenserId) ?? str(d.id) ?? str(d.device);
}

function stockOf(d: Record<string, unknown>): Record<string, number> | undefined {
  const s = d.stock;
  if (!s || typeof s !== 'object') return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** Low stock reported by the edge: fault names (SPEC §5 `out_of_stock_hot`) or a `lowStock` list. */
function lowStockFaults(d: Record<string, unknown>): string[] {
  const ls = d.lowStock;
  if (Array.isArray(ls)) return strList(ls).map((c) => `low_stock_${c}`);
  return [];
}

// Compiled checks of the data the reports read; the error walk runs only for invalid data.
const dataChecks = new Map(Object.entries(EVENT_DATA).map(([type, schema]) => [type, validator(schema)]));

/** Memo of ISO weeks by service day: a batch has few distinct days. */
const weekOfDay = new Map<string, string | null>();
function weekOf(day: string): string | null {
  let w = weekOfDay.get(day);
  if (w === undefined) {
    w = isServiceDay(day) ? isoWeekOf(day) : null;
    if (weekOfDay.size > 10_000) weekOfDay.clear();
    weekOfDay.set(day, w);
  }
  return w;
}

export function rollupEffectsOf(e: StationEvent): RollupEffect[] {
  const check = dataChecks.get(e.type);
  if (check && !check.check(e.data)) {
    const errs = eventErrors(e);
    return [{ kind: 'invalid', detail: `${e.type}: ${errs.slice(0, 3).join('; ')}` }];
  }
  const d = e.data;
  const week = weekOf(e.day);
  if (week === null) return [{ kind: 'invalid', detail: `${e.type}: day ${e.day} is not a calendar date` }];
  switch (e.type) {
    case 'checkin': {
      const riderId = d.riderId as string;
      return [
        { kind: 'checkin', week, day: e.day, riderId },
        { kind: 'rider.window', riderId, from: d.windowFrom as string, to: d.windowTo as string, ts: e.ts },
        { kind: 'rider.seen', riderId, ts: e.ts },
      ];
    }
    case 'claim.committed': {
      const riderId = d.riderId as string;
      const compartment = d.compartment as 'hot' | 'cold';
      return [
        { kind: 'bottle', week, day: e.day, riderId, compartment, sponsor: str(d.sponsor) ?? NO_SPONSOR },
        { kind: 'rider.claim', riderId, day: e.day, ts: e.ts, compartment },
        { kind: 'rider.seen', riderId, ts: e.ts },
      ];
    }
    case 'claim.resolved':
      // The edge writes claim.resolved and then, for a bottle that did drop, claim.committed
      // (on the claim's own day): the bottle counts once, from claim.committed.
      return [];
    case 'dispenser.restocked': {
      const effects: RollupEffect[] = [
        {
          kind: 'restock',
          week,
          day: e.day,
          sponsor: str(d.sponsor) ?? NO_SPONSOR,
          count: d.count as number,
          dispenserId: d.dispenserId as string,
          compartment: d.compartment as string,
        },
        { kind: 'fault.close', deviceId: d.dispenserId as string, fault: `out_of_stock_${String(d.compartment)}` },
        { kind: 'fault.close', deviceId: d.dispenserId as string, fault: `low_stock_${String(d.compartment)}` },
      ];
      return effects;
    }
    case 'device.online':
    case 'device.offline':
    case 'device.fault':
    case 'device.recovered':
    case 'device.service':
      return deviceEffects(e);
    case 'locker.deposited': {
      const c = str(d.compartment);
      const riderId = str(d.riderId);
      if (!c || !riderId) return [];
      const limitMs = typeof d.limitMs === 'number' && Number.isSafeInteger(d.limitMs) && d.limitMs >= 0 ? d.limitMs : null;
      const label = typeof d.label === 'string' && d.label.length > 0 ? d.label.slice(0, 16) : null;
      return [
        { kind: 'rider.locker', riderId, compartment: c, label, ts: e.ts, deadlineTs: limitMs === null ? null : e.ts + limitMs },
        { kind: 'rider.seen', riderId, ts: e.ts },
      ];
    }
    case 'locker.overdue': {
      const c = str(d.compartment);
      return c
        ? [
            { kind: 'locker.overdue', compartment: c, ts: e.ts, riderId: str(d.riderId) ?? null },
            { kind: 'rider.locker.overdue', compartment: c, ts: e.ts },
          ]
        : [];
    }
    case 'locker.retrieved':
    case 'locker.forced_open': {
      const c = str(d.compartment);
      const riderId = e.type === 'locker.retrieved' ? str(d.riderId) : undefined;
      return c
        ? [
            { kind: 'locker.clear', compartment: c },
            { kind: 'rider.locker.clear', compartment: c, ts: e.ts },
            ...(riderId ? [{ kind: 'rider.seen' as const, riderId, ts: e.ts }] : []),
          ]
        : [];
    }
    case 'station.heartbeat':
      return [{ kind: 'heartbeat', ts: e.ts, data: d }];
    default:
      return [];
  }
}

function deviceEffects(e: StationEvent): RollupEffect[] {
  const d = e.data;
  const deviceId = deviceIdOf(d);
  if (!deviceId) return [{ kind: 'invalid', detail: `${e.type}: no deviceId` }];
  const faults = [...strList(d.faults), ...(str(d.fault) ? [d.fault as string] : []), ...lowStockFaults(d)];
  const base = {
    kind: 'device' as const,
    deviceId,
    ts: e.ts,
    ...(str(d.kind) ? { deviceKind: d.kind as string } : {}),
    ...(stockOf(d) ? { stock: stockOf(d)! } : {}),
  };
  switch (e.type) {
    case 'device.online':
      return [{ ...base, state: faults.length > 0 ? 'degraded' : 'online' }, ...faults.map((f) => open(deviceId, f, e.ts))];
    case 'device.offline':
      return [{ ...base, state: 'offline' }];
    case 'device.fault':
      return [{ ...base, state: 'degraded' }, ...faults.map((f) => open(deviceId, f, e.ts))];
    case 'device.recovered': {
      // A named fault cleared, or all of them when none is named.
      const closes: RollupEffect[] =
        faults.length > 0 ? faults.map((f) => ({ kind: 'fault.close', deviceId, fault: f })) : [{ kind: 'fault.close', deviceId, fault: null }];
      const state = str(d.state) as DeviceState | undefined;
      return [...closes, { ...base, state: state ?? 'online' }];
    }
    case 'device.service': {
      // One compartment out of service (a door that never opened) is not the whole board: its
      // fault (`door_stuck:{c}`) arrives as device.fault; the board keeps its state.
      if (str(d.compartment)) return [base];
      const inService = d.inService !== false;
      return [{ ...base, inService, state: inService ? 'online' : 'out_of_service' }];
    }
    default:
      return [];
  }
}

function open(deviceId: string, fault: string, ts: number): RollupEffect {
  return { kind: 'fault.open', deviceId, fault, ts };
}
