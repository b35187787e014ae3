/**
 * Station events (SPEC §9–10): the append-only, hash-chained log that is the unit of sync.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { GENESIS_HASH, canonicalJsonOfParsed, chainHash, sha256Hex } from './canonical.ts';
import { validator, type Validator } from './schema.ts';
import { Compartment } from './dispenser/topics.ts';

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
/** A locker compartment's name (`{board}-{lock}`, SPEC §6a); kept a plain id so a renamed layout still validates. */
const LockerName = Id;
/** Who did it: a maintenance operator's token name (SPEC §8), or `station` for the station's own decisions. */
const Actor = Id;
const Ms = Type.Integer({ minimum: 0 });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/**
 * Device kinds and fault names stay open strings: a newer edge may drive a new kind or report a
 * new fault, and the cloud must not flag its events for that (SPEC §9: the log is the edge's).
 */
const DeviceKind = Type.String({ minLength: 1, maxLength: 64 });
const Device = { deviceId: Id, kind: DeviceKind };

/**
 * The data of every event type the edge writes (SPEC §10; issue 2). Required are the keys every
 * call site writes, optional the keys only some write. Objects stay open (TypeBox's default):
 * a newer edge may add keys, and neither side refuses them.
 */
export const EVENT_DATA_SCHEMAS = {
  // SPEC §10 minimum, exactly.
  checkin: Type.Object({ riderId: Id, windowFrom: Day, windowTo: Day }),
  // SPEC §10 minimum, exactly.
  'claim.committed': Type.Object({
    claimId: Id,
    riderId: Id,
    compartment: Compartment,
    dispenserId: Id,
    sponsor: Type.Optional(Type.String({ maxLength: 128 })),
    /** SPEC §13, zone scope only: ms since the station's last successful zone-feed answer when it granted. */
    zoneFeedAgeMs: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  'claim.released': Type.Object({ claimId: Id, riderId: Id, reason: Type.Optional(Type.String()) }),
  'claim.unknown': Type.Object({
    claimId: Id,
    riderId: Id,
    dispenserId: Id,
    reason: Type.Optional(Type.String()),
    /** As in claim.committed: an unknown claim holds the quota, so it can be half of a conflict (SPEC §13). */
    zoneFeedAgeMs: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  /** An unknown claim settled later (SPEC §3 rule 4); `by` when maintenance decided it. The settled event follows. */
  'claim.resolved': Type.Object({
    claimId: Id,
    riderId: Id,
    outcome: Type.Union([Type.Literal('committed'), Type.Literal('released')]),
    by: Type.Optional(Actor),
  }),
  /**
   * `recovered`: a deposit whose unlock was in flight when the station stopped, kept at the next
   * start. `label` (what the door says) and `limitMs` (the storage limit then) let the rider's
   * page show the compartment and its deadline (issue 12); older stations leave them out.
   */
  'locker.deposited': Type.Object({
    riderId: Id,
    compartment: LockerName,
    bus: Id,
    recovered: Type.Optional(Type.Boolean()),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    limitMs: Type.Optional(Ms),
  }),
  /** `storedSince`: when the door was seen shut after the deposit; null if it never was. */
  'locker.retrieved': Type.Object({ riderId: Id, compartment: LockerName, storedSince: Nullable(Ms) }),
  'locker.overdue': Type.Object({ riderId: Id, compartment: LockerName, storedSince: Nullable(Ms), limitMs: Ms }),
  /** `riderId` null: the compartment held nothing. */
  'locker.forced_open': Type.Object({
    compartment: LockerName,
    reason: Type.String(),
    by: Actor,
    riderId: Nullable(Id),
    overdue: Type.Boolean(),
  }),
  /** `state`: the compartment's phase (free, opening, depositing, held, retrieving). */
  'locker.door_left_open': Type.Object({ compartment: LockerName, openForMs: Ms, riderId: Nullable(Id), state: Type.String({ minLength: 1 }) }),
  'device.online': Type.Object(Device),
  'device.offline': Type.Object({ ...Device, reason: Type.String() }),
  'device.fault': Type.Object({ ...Device, fault: Type.String({ minLength: 1 }) }),
  /** The end of a `flapping` spell also carries the device's state and faults as they are then (issue 11). */
  'device.recovered': Type.Object({
    ...Device,
    fault: Type.String({ minLength: 1 }),
    state: Type.Optional(Type.String({ minLength: 1 })),
    faults: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
    suppressedEvents: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  /** A whole device, or with `compartment` one locker compartment of a board (and `reason` when the station took it out). */
  'device.service': Type.Object({
    ...Device,
    inService: Type.Boolean(),
    by: Actor,
    compartment: Type.Optional(LockerName),
    reason: Type.Optional(Type.String()),
  }),
  // SPEC §10 minimum, exactly.
  'dispenser.restocked': Type.Object({
    dispenserId: Id,
    compartment: Compartment,
    count: Type.Integer({ minimum: 0 }),
    sponsor: Type.Optional(Type.String({ maxLength: 128 })),
    by: Type.String({ maxLength: 128 }),
  }),
  /** SPEC §6b; `devices` counts devices by state. `diskFreeBytes` is null when the disk cannot be read. */
  'station.heartbeat': Type.Object({
    uptimeS: Type.Integer({ minimum: 0 }),
    diskFreeBytes: Nullable(Type.Integer({ minimum: 0 })),
    dbBytes: Type.Integer({ minimum: 0 }),
    backlog: Type.Integer({ minimum: 0 }),
    devices: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  }),
  /**
   * Every maintenance call (SPEC §8), refused ones included (`outcome` is then the error code).
   * The optional keys are the details of the call that made the change.
   */
  'maintenance.audit': Type.Object({
    by: Actor,
    method: Type.String({ minLength: 1 }),
    route: Type.String({ minLength: 1 }),
    path: Type.String({ minLength: 1 }),
    outcome: Type.String({ minLength: 1 }),
    dispenserId: Type.Optional(Id),
    deviceId: Type.Optional(Id),
    claimId: Type.Optional(Id),
    /** `hot`/`cold` for a restock, a locker compartment's name for an open or a service change. */
    compartment: Type.Optional(Type.String({ minLength: 1 })),
    count: Type.Optional(Type.Integer({ minimum: 0 })),
    sponsor: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    inService: Type.Optional(Type.Boolean()),
    /** What maintenance decided for an unknown claim (`committed` / `released`). */
    resolution: Type.Optional(Type.String({ minLength: 1 })),
    /** A restock's mode (`add` / `set`) and, for `set`, the count asked for and the one the device reported. */
    mode: Type.Optional(Type.String({ minLength: 1 })),
    setTo: Type.Optional(Type.Integer({ minimum: 0 })),
    reported: Type.Optional(Type.Integer({ minimum: 0 })),
    /** A console subscription to the live health stream. */
    stream: Type.Optional(Type.String({ minLength: 1 })),
  }),
  /** SPEC §6c: `fromTs` is where the wall clock should have been, `toTs` where it was. */
  'station.clock_jump': Type.Object({ fromTs: Type.Integer(), toTs: Type.Integer(), deltaMs: Type.Integer() }),
} satisfies Record<EventType, TSchema>;

/**
 * The data the cloud's reports read (SPEC §10 "at least"). cloud/ingest keeps an event's rollup
 * only when its data passes these; the health events (device.*, locker.*, station.*) are read
 * leniently there, so their schemas above only flag, never drop, what a station reports.
 */
export const EVENT_DATA = {
  checkin: EVENT_DATA_SCHEMAS.checkin,
  'claim.committed': EVENT_DATA_SCHEMAS['claim.committed'],
  'claim.released': EVENT_DATA_SCHEMAS['claim.released'],
  'claim.unknown': EVENT_DATA_SCHEMAS['claim.unknown'],
  'claim.resolved': EVENT_DATA_SCHEMAS['claim.resolved'],
  'dispenser.restocked': EVENT_DATA_SCHEMAS['dispenser.restocked'],
} satisfies Partial<Record<EventType, TSchema>>;

export type EventDataOf<T extends EventType> = Static<(typeof EVENT_DATA_SCHEMAS)[T]>;

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
const dataValidators = new Map<string, Validator<TSchema>>(Object.entries(EVENT_DATA_SCHEMAS).map(([k, s]) => [k, validator(s)]));

/**
 * Schema problems of one event: the envelope, then the data against its type's schema. A type
 * this version does not know has any object as data: a newer edge may write new types, and an
 * upload must not fail over them (SPEC §9).
 */
export function eventErrors(e: unknown): string[] {
  const errs = eventValidator.errors(e);
  if (errs.length > 0) return errs;
  const ev = e as StationEvent;
  const dv = dataValidators.get(ev.type);
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
 * What an event's hash covers after the previous hash (SPEC §9): its canonical JSON without
 * `hash`, given the canonical JSON of its `data` (top-level keys in canonical order).
 */
export function chainTextOf(e: Pick<StationEvent, 'day' | 'seq' | 'ts' | 'type'>, dataJson: string): string {
  return `{"data":${dataJson},"day":${JSON.stringify(e.day)},"seq":${canonicalJsonOfParsed(e.seq)},"ts":${canonicalJsonOfParsed(e.ts)},"type":${JSON.stringify(e.type)}}`;
}

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
    if (sha256Hex(hash + chainTextOf(e, data)) !== e.hash) return { ok: false, seq: e.seq, reason: 'hash_mismatch' };
    seq = e.seq;
    hash = e.hash;
  }
  return { ok: true, lastHash: hash, lastSeq: seq };
}

export { GENESIS_HASH };
