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
