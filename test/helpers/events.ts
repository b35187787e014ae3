/** Event data the tests append, shaped by the event's schema (the ledger's `append` is typed by event type). */
import type { EventDataOf } from '../../protocol/index.ts';

/** A `station.heartbeat`'s data; tests that only need some event set `uptimeS` to tell them apart. */
export function heartbeat(fields: Partial<EventDataOf<'station.heartbeat'>> = {}): EventDataOf<'station.heartbeat'> {
  return { uptimeS: 0, diskFreeBytes: null, dbBytes: 0, backlog: 0, devices: {}, ...fields };
}

/** A heartbeat of roughly `bytes` bytes of JSON (many device counts), to fill a small disk. */
export function bigHeartbeat(bytes: number): EventDataOf<'station.heartbeat'> {
  return heartbeat({ devices: Object.fromEntries(Array.from({ length: Math.ceil(bytes / 12) }, (_, k) => [`pad-${k}`, k])) });
}

/** A `checkin`'s data: the rider and the window it opens (one day unless `windowTo` says). */
export function checkinData(riderId: string, windowFrom: string, windowTo = windowFrom): EventDataOf<'checkin'> {
  return { riderId, windowFrom, windowTo };
}

/** A `claim.committed`'s data: one bottle, with the sponsor the edge named, if any. */
export function bottleData(claimId: string, riderId: string, compartment: 'hot' | 'cold', sponsor?: string): EventDataOf<'claim.committed'> {
  return { claimId, riderId, compartment, dispenserId: 'disp-1', ...(sponsor ? { sponsor } : {}) };
}

/** A `dispenser.restocked`'s data: `count` bottles into a compartment, by staff, for a sponsor if named. */
export function restockData(count: number, compartment: 'hot' | 'cold', sponsor?: string, by = 'ops-wang'): EventDataOf<'dispenser.restocked'> {
  return { dispenserId: 'disp-1', compartment, count, by, ...(sponsor ? { sponsor } : {}) };
}
