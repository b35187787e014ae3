/**
 * The zone feed (SPEC §13, contract) as the station reads what
 * `GET /v1/stations/{id}/zone-feed?after&waitMs` answers (the cloud's schema is in sync.ts). The cursor is opaque to the station; entries are the quota-relevant events of the
 * other stations of its zone, in the order the cloud stored them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ZONE_FACT_TYPES } from './quota.ts';

/** The most entries one answer may carry (a station refuses a bigger answer as a bad one). */
export const ZONE_FEED_MAX_ENTRIES = 5_000;

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Id = Type.String({ minLength: 1, maxLength: 128 });

/**
 * One entry as the station reads it: stricter than the cloud's own schema (protocol/sync.ts
 * `ZoneFeedEntry`), with the bounds of the ledger's columns. An entry that fails it is skipped
 * and counted, never stored: a fact the station cannot read cannot decide anything.
 */
export const ZoneFact = Type.Object({
  stationId: Id,
  seq: Type.Integer({ minimum: 1 }),
  type: Type.Union(ZONE_FACT_TYPES.map((t) => Type.Literal(t))),
  day: Day,
  ts: Type.Integer({ minimum: 0 }),
  riderId: Id,
  windowFrom: Type.Optional(Day),
  windowTo: Type.Optional(Day),
  claimId: Type.Optional(Id),
  /** claim.resolved: the outcome (committed or released). */
  outcome: Type.Optional(Type.Union([Type.Literal('committed'), Type.Literal('released')])),
});
export type ZoneFact = Static<typeof ZoneFact>;

/** The answer's envelope as the station checks it; each entry is then checked against ZoneFact. */
export const ZoneFeedAnswer = Type.Object({
  cursor: Type.String({ minLength: 1, maxLength: 512 }),
  entries: Type.Array(Type.Unknown(), { maxItems: ZONE_FEED_MAX_ENTRIES }),
});
export type ZoneFeedAnswer = Static<typeof ZoneFeedAnswer>;
