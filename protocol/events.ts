/**
 * Station events (SPEC §9–10): the append-only, hash-chained log that is the unit of sync.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { GENESIS_HASH, canonicalJsonOfParsed, chainHash, sha256Hex } from './canonical';
import { validator } from './schema';

export const EVENT_TYPES = [
  'checkin',
  'claim.committed',
  'claim.released',
  'claim.unknown',
  'claim.resolved',
  'locker.deposited',
  'locker.retrieved',
  'locker.overdue',
  'locker.forced_open',
  'locker.door_left_open',
  'device.online',
  'device.offline',
  'device.fault',
  'device.recovered',
  'device.service',
  'dispenser.restocked',
  'station.heartbeat',
  // Beyond SPEC §10's list: maintenance audit and clock faults (SPEC §6c, §8 "every call is audited").
  'maintenance.audit',
  'station.clock_jump',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Id = Type.String({ minLength: 1, maxLength: 128 });
const Compartment = Type.Union([Type.Literal('hot'), Type.Literal('cold')]);

/** Data schemas of the events the reports read (SPEC §10: "at least"). More keys are allowed. */
export const EVENT_DATA = {
  checkin: Type.Object({ riderId: Id, windowFrom: Day, windowTo: Day }),
  'claim.committed': Type.Object({
    claimId: Id,
    riderId: Id,
    compartment: Compartment,
    dispenserId: Id,
    sponsor: Type.Optional(Type.String({ maxLength: 128 })),
  }),
  'claim.released': Type.Object({ claimId: Id, riderId: Id, reason: Type.Optional(Type.String()) }),
  'claim.unknown': Type.Object({ claimId: Id, riderId: Id }),
  'claim.resolved': Type.Object({
    claimId: Id,
    riderId: Id,
    outcome: Type.Union([Type.Literal('committed'), Type.Literal('released')]),
  }),
  'dispenser.restocked': Type.Object({
    dispenserId: Id,
    compartment: Compartment,
    count: Type.Integer({ minimum: 0 }),
    sponsor: Type.Optional(Type.String({ maxLength: 128 })),
    by: Type.String({ maxLength: 128 }),
  }),
} satisfies Partial<Record<EventType, TSchema>>;

export type EventDataOf<T extends EventType> = T extends keyof typeof EVENT_DATA
  ? Static<(typeof EVENT_DATA)[T]>
  : Record<string, unknown>;

export const StationEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    ts: Type.Integer({ minimum: 0 }),
    day: Day,
    data: Type.Record(Type.String(), Type.Unknown()),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);
export type StationEvent = Static<typeof StationEvent>;
export type UnhashedEvent = Omit<StationEvent, 'hash'>;

const eventValidator = validator(StationEvent);
const dataValidators = Object.fromEntries(Object.entries(EVENT_DATA).map(([k, s]) => [k, validator(s)]));

/** Schema problems of one event, including the data of the types the reports read. */
export function eventErrors(e: unknown): string[] {
  const errs = eventValidator.errors(e);
  if (errs.length > 0) return errs;
  const ev = e as StationEvent;
  const dv = dataValidators[ev.type];
  return dv ? dv.errors(ev.data).map((m) => `/data${m}`) : [];
}

/** The hash of an event given the previous event's hash (SPEC §9). */
export function hashEvent(prevHash: string, e: UnhashedEvent): string {
  return chainHash(prevHash, { seq: e.seq, type: e.type, ts: e.ts, day: e.day, data: e.data });
}

export function sealEvent(prevHash: string, e: UnhashedEvent): StationEvent {
  return { ...e, hash: hashEvent(prevHash, e) };
}

export type ChainCheck =
  | { ok: true; lastHash: string; lastSeq: number }
  | { ok: false; seq: number; reason: 'seq_not_contiguous' | 'hash_mismatch' };

/**
 * Check that `events` (as parsed from JSON: stored rows, an upload body) continue a chain
 * ending at (`prevSeq`, `prevHash`). The same rule as hashEvent, with the canonical form built
 * by `canonicalJsonOfParsed` (top-level keys in canonical order: data, day, seq, ts, type).
 * With `dataJson`, each checked event's canonical `data` JSON is pushed to it (the cloud
 * stores that string, so ingest serialises every event once).
 */
export function verifyChain(events: readonly StationEvent[], prevSeq = 0, prevHash = GENESIS_HASH, dataJson?: string[]): ChainCheck {
  let seq = prevSeq;
  let hash = prevHash;
  for (const e of events) {
    if (e.seq !== seq + 1) return { ok: false, seq: e.seq, reason: 'seq_not_contiguous' };
    const data = canonicalJsonOfParsed(e.data);
    dataJson?.push(data);
    const canon = `{"data":${data},"day":${JSON.stringify(e.day)},"seq":${canonicalJsonOfParsed(e.seq)},"ts":${canonicalJsonOfParsed(e.ts)},"type":${JSON.stringify(e.type)}}`;
    if (sha256Hex(hash + canon) !== e.hash) return { ok: false, seq: e.seq, reason: 'hash_mismatch' };
    seq = e.seq;
    hash = e.hash;
  }
  return { ok: true, lastHash: hash, lastSeq: seq };
}

export { GENESIS_HASH };
