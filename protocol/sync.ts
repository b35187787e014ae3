/**
 * Edge ↔ cloud sync messages (SPEC §9, contract).
 */
import { Type, type Static } from '@sinclair/typebox';
import { StationEvent } from './events.ts';

export const MAX_UPLOAD_BATCH = 1000;
/** The largest one event may be, as JSON (UTF-8 bytes): the cloud refuses bigger (SPEC §9). */
export const MAX_EVENT_JSON_BYTES = 16 * 1024;

/**
 * A station id, the same rule at the edge and in the cloud (it is in sync URLs and in the
 * cloud's tables): 1–64 lowercase letters, digits, "_" or "-", starting with a letter or digit.
 */
export const STATION_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

export const UploadRequest = Type.Object({
  events: Type.Array(StationEvent, { minItems: 1, maxItems: MAX_UPLOAD_BATCH }),
});
export type UploadRequest = Static<typeof UploadRequest>;

export const UploadResponse = Type.Object({ ackedSeq: Type.Integer({ minimum: 0 }) });
export type UploadResponse = Static<typeof UploadResponse>;

export const GapError = Type.Object({
  error: Type.Literal('gap'),
  expectedSeq: Type.Integer({ minimum: 1 }),
  message: Type.Optional(Type.String()),
});
export type GapError = Static<typeof GapError>;

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;

export const Jwk = Type.Object({ kty: Type.String(), kid: Type.Optional(Type.String()) }, { additionalProperties: true });
export const Jwks = Type.Object({ keys: Type.Array(Jwk, { maxItems: 64 }) });

export const TokenHash = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type TokenHash = Static<typeof TokenHash>;

export const QuotaPolicySchema = Type.Object({
  windowDays: Type.Integer({ minimum: 1, maximum: 366 }),
  claimsPerDay: Type.Integer({ minimum: 1, maximum: 24 }),
  /** SPEC §13: `zone` holds the §3 rules across the station's zone; absent (older clouds) = `station`. */
  scope: Type.Optional(Type.Union([Type.Literal('station'), Type.Literal('zone')])),
});

export const DeviceListEntry = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('dispenser'), Type.Literal('lockboard'), Type.Literal('scanner')]),
});

/** Which rider codes a station accepts (SPEC §14); absent in documents of older clouds. */
export const CredentialPolicySchema = Type.Object({
  /** Only the rotating, device-signed code; static credentials (printed cards) are refused. */
  requireDeviceBound: Type.Boolean(),
  /** The longest credential lifetime the cloud issues (SPEC §4); stations refuse longer ones. */
  maxLifetimeDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660 })),
});

/** What a station pulls from `GET /v1/stations/{id}/config` (with ETag). */
export const StationConfigDoc = Type.Object({
  stationId: Type.String(),
  /** The station's zone (SPEC §13); absent in documents of older clouds. */
  zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  jwks: Jwks,
  revokedRiders: Type.Array(Type.String()),
  quota: QuotaPolicySchema,
  credentials: Type.Optional(CredentialPolicySchema),
  maintenanceTokens: Type.Array(TokenHash),
  devices: Type.Array(DeviceListEntry),
});
export type StationConfigDoc = Static<typeof StationConfigDoc>;

/** Zone feed (SPEC §13): the longest a station may ask the cloud to hold a poll. */
export const MAX_ZONE_FEED_WAIT_MS = 25_000;

/** One quota-relevant event of another station of the zone (SPEC §13). */
export const ZoneFeedEntry = Type.Object({
  stationId: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  type: Type.Union(['checkin', 'claim.committed', 'claim.unknown', 'claim.released', 'claim.resolved'].map((t) => Type.Literal(t))),
  day: Type.String(),
  ts: Type.Integer(),
  riderId: Type.String(),
  windowFrom: Type.Optional(Type.String()),
  windowTo: Type.Optional(Type.String()),
  claimId: Type.Optional(Type.String()),
  /** `claim.resolved` only: what the unknown claim turned out to be, when the event says. */
  outcome: Type.Optional(Type.String()),
});
export type ZoneFeedEntry = Static<typeof ZoneFeedEntry>;

export const ZoneFeedQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 256 })),
  waitMs: Type.Integer({ minimum: 0, maximum: MAX_ZONE_FEED_WAIT_MS, default: 0 }),
});
export type ZoneFeedQuery = Static<typeof ZoneFeedQuery>;

/** `cursor` is opaque to the station: it sends it back as `after`. */
export const ZoneFeedResponse = Type.Object({
  cursor: Type.String(),
  zone: Type.String(),
  entries: Type.Array(ZoneFeedEntry),
});
export type ZoneFeedResponse = Static<typeof ZoneFeedResponse>;
