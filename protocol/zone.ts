/**
 * The zone feed (SPEC §13, contract): what `GET /v1/stations/{id}/zone-feed?after&waitMs`
 * answers. The cursor is opaque to the station; entries are the quota-relevant events of the
 * other stations of its zone, in the order the cloud stored them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ZONE_FACT_TYPES } from './quota.ts';

/** The longest a station may ask the cloud to hold a long poll. */
export const ZONE_FEED_MAX_WAIT_MS = 25_000;
/** The most entries one answer may carry (a station refuses a bigger answer as a bad one). */
export const ZONE_FEED_MAX_ENTRIES = 5_000;

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Id = Type.String({ minLength: 1, maxLength: 128 });

export const ZoneFeedEntry = Type.Object({
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
export type ZoneFeedEntry = Static<typeof ZoneFeedEntry>;

export const ZoneFeedAnswer = Type.Object({
  cursor: Type.String({ minLength: 1, maxLength: 512 }),
  entries: Type.Array(ZoneFeedEntry, { maxItems: ZONE_FEED_MAX_ENTRIES }),
});
export type ZoneFeedAnswer = Static<typeof ZoneFeedAnswer>;
