/**
 * The cloud's one storage interface. SQLite (sqlite.ts) is the default backend; a PostgreSQL
 * backend can be added behind the same interface and run the same contract suite
 * (test/cloud/store-contract.ts). Methods are async so a networked backend fits; each one is a
 * single unit of work (the SQLite backend runs each in one transaction).
 */
import type { StationEvent } from '../../protocol/index.ts';
import type { RollupEffect } from '../ingest/rollupEffects.ts';
import type { FeedRow } from '../zone/feedEntries.ts';

export interface SyncHeadRow {
  stationId: string;
  seq: number;
  hash: string;
  /** `ts` of the head event: the station is complete up to here (SPEC §9 completeThrough). */
  ts: number;
  updatedAt: number;
}

export interface AppendBatch {
  stationId: string;
  /** The head the batch was planned against; the append fails with `head_moved` if it changed. */
  prev: { seq: number; hash: string };
  events: readonly StationEvent[];
  /** Rollup effects of each event, same order as `events`. */
  effects: readonly (readonly RollupEffect[])[];
  /** The JSON of each event's `data`, same order, when the caller has it already (ingest does). */
  dataJson?: readonly string[];
  receivedAt: number;
  /**
   * SHA-256 of the token the upload was let in with: the append is refused (`token_replaced`)
   * if the station's token changed since — an impostor's upload in flight while an admin
   * re-admits the station cannot land after its log was dropped.
   */
  tokenSha256?: string;
  /**
   * The quota-relevant rows of the events for the zone feed (SPEC §13), from `feedRowOf`. The
   * store gives them their place in the station's zone (read in the append transaction).
   */
  feed?: readonly FeedRow[];
  /** The policy scope of a zone at ingest: conflicts are looked for only where it is `zone`. */
  zoneScope?: (zone: string) => 'station' | 'zone';
}

/** `conflictsFound`: new zone conflicts this append found (SPEC §13), present only when > 0. */
export type AppendResult =
  /** `silentFiring`: whether the station's `station_silent` alert was firing (SPEC §15), read in the append when the store has it at no cost. */
  | { ok: true; seq: number; conflictsFound?: number; silentFiring?: boolean }
  /** `station_disabled`: the station was disabled since the upload was let in (SPEC §12): nothing stored. */
  | { ok: false; reason: 'head_moved' | 'token_replaced' | 'station_disabled'; seq: number };

/**
 * The common upload (SPEC §9 apply): a batch whose first event should be the one after the
 * stored head. The store checks that in the step that stores it, so the head need not be read
 * first: `events[0].seq` is the head's seq + 1 and `events[0].hash` is sha256(head hash +
 * `firstText`). The caller checked the rest of the batch's chain (planNext).
 */
export interface AppendNextBatch extends Omit<AppendBatch, 'prev'> {
  /** What the first event's hash covers after the previous hash (`chainTextOf`). */
  firstText: string;
}

/** `not_next`: the batch does not continue the stored head (a replay, a gap, a broken chain): nothing stored; plan it against `head`. */
export type AppendNextResult = AppendResult | { ok: false; reason: 'not_next'; seq: number; head: { seq: number; hash: string } };

/** One station's share of the fleet state the alert rules read (SPEC §15), and its firing alerts. */
export interface StationAlertState {
  heartbeats: HeartbeatRow[];
  devices: DeviceRow[];
  faults: FaultRow[];
  overdue: OverdueLockerRow[];
  firing: AlertRow[];
}

/** A feed row with its place in its zone: the zone's counter, taken in the ingest transaction. */
export interface StoredFeedRow extends FeedRow {
  zseq: number;
}

export interface ZoneBootstrapQuery {
  zone: string;
  /** The station asking: its own rows are not sent back. */
  stationId: string;
  /** The head the bootstrap was taken at; absent for its first page (read with the rows). */
  head?: number;
  afterZseq: number;
  /** Check-ins whose window ends on or after this day. */
  windowsFrom: string;
  /** Claim rows of this day and later. */
  claimsFrom: string;
  limit: number;
}

/** One granted claim of a conflict (SPEC §13). */
export interface ConflictClaimRow {
  stationId: string;
  claimId: string;
  ts: number;
  feedLagMs: number | null;
}

/** One station involved in one conflict (a rider's day in a zone): the range reports count these. */
export interface ConflictKeyRow {
  stationId: string;
  zone: string;
  riderId: string;
  day: string;
}

export interface ConflictRow {
  riderId: string;
  day: string;
  zone: string;
  foundAt: number;
  claims: ConflictClaimRow[];
}


/**
 * Drop a station's events from `fromSeq` on (an impostor's, uploaded with a stolen token) and
 * rebuild the station's rollups from the events that stay, in one unit of work under the
 * station's ingest lock (docs/security.md "Re-admitting a station's log").
 */
export interface DropEventsInput {
  stationId: string;
  /** The first seq dropped; the log is kept up to `fromSeq - 1`. At least 1. */
  fromSeq: number;
  /** The rollup effects of one kept event: the same function ingest uses (rollupEffectsOf). */
  effectsOf: (e: StationEvent) => readonly RollupEffect[];
  at: number;
  /** The quota scope of a zone (SPEC §13): a conflict the dropped events had hidden is found again only where it is `zone`. */
  zoneScope?: (zone: string) => 'station' | 'zone';
}

export type DropEventsResult =
  | { ok: true; dropped: number; head: { seq: number; hash: string } }
  /** `fromSeq` is past the stored head: nothing to drop. */
  | { ok: false; reason: 'beyond_head'; seq: number };

/**
 * Every table holding rollups of one station's events, keyed by `station_id` (both backends):
 * re-admitting a log deletes these rows and rebuilds them. A new per-station rollup belongs here.
 */
export const STATION_ROLLUP_TABLES = ['week_station', 'rider_week', 'week_sponsor', 'devices', 'open_faults', 'overdue_lockers', 'heartbeats'] as const;

/** Rebuilding reads the kept log this many events at a time. */
export const REBUILD_PAGE_EVENTS = 2000;

export interface AlertInput {
  stationId: string;
  kind: string;
  seq: number | null;
  detail: string;
  at: number;
  /** Notification channels (by name) told when it fires and resolves (SPEC §15). */
  channels?: readonly string[];
}

export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertState = 'firing' | 'resolved';

/**
 * Kinds whose condition never clears by itself (a forged upload, a stored invalid event): an
 * admin's acknowledgement resolves them. Every other kind resolves when its condition clears.
 */
export const ACK_RESOLVES_KINDS: readonly string[] = ['chain_broken', 'invalid_event'];

/** One alert to fire (SPEC §15): idempotent by `fingerprint`, the store's unique key. */
export interface AlertFire {
  /** `station/subject/kind[:qualifier]`, stable across evaluations and instances. */
  fingerprint: string;
  stationId: string;
  /** The device or compartment (`disp-1`, `1-5`), `seq:n` for a log alert, '' for the station. */
  subject: string;
  kind: string;
  severity: AlertSeverity;
  /** When the condition began (device offline since, fault since …). */
  since: number;
  detail: string;
  seq: number | null;
  channels: readonly string[];
  /** A repeat while firing bumps the count (a refused upload again); a re-evaluation does not. */
  countRepeat?: boolean;
}

export interface AlertRow {
  id: number;
  stationId: string;
  kind: string;
  seq: number | null;
  detail: string;
  /** Last time it was raised or (for a repeat-counting kind) seen again. */
  at: number;
  firstAt: number;
  count: number;
  /** When and by which admin it was acknowledged; null while open. */
  ackedAt: number | null;
  ackedBy: string | null;
  fingerprint: string;
  subject: string;
  severity: AlertSeverity;
  state: AlertState;
  /** Start of the current episode's condition. */
  since: number;
  /** When the current episode resolved; null while firing. */
  until: number | null;
  /** 1 for the first firing, +1 each time it fires again after resolving. */
  episode: number;
}

export type NotificationPhase = 'firing' | 'resolved';

/** One message owed to one channel (the notification outbox, SPEC §15 "once per fire"). */
export interface NotificationRow {
  id: number;
  alertId: number;
  episode: number;
  phase: NotificationPhase;
  channel: string;
  attempts: number;
  createdAt: number;
  nextAt: number;
  alert: AlertRow;
}

export type NotificationOutcome =
  | { kind: 'sent' }
  /** `nextAt` null: attempts used up, the notification is given up (state `failed`). */
  | { kind: 'failed'; error: string; nextAt: number | null };

export interface RiderRow {
  riderId: string;
  group: string;
  platform: string | null;
  createdAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
  /** Latest `exp` (ms) of a credential issued to this rider. */
  lastCredentialExp: number | null;
  /** Set when the rider withdrew (SPEC §14); group and platform are then cleared. */
  withdrawnAt?: number | null;
  /** The zone of the invite the rider enrolled with. */
  zone?: string | null;
}

export interface InviteRow {
  code: string;
  uses: number;
  used: number;
  expiresAt: number;
  zone: string | null;
  note: string | null;
  createdAt: number;
  createdBy: string;
}

export interface EnrolInput {
  invite: string;
  /** The new rider's id, used only if the enrolment creates a rider. */
  riderId: string;
  group: string;
  platform: string | null;
  /** `x` of the device's Ed25519 public key: one rider per device key. */
  deviceX: string;
  contact: string | null;
  at: number;
}

/** `replayed`: this device key has enrolled before; nothing was counted or created. */
export type EnrolResult =
  | { kind: 'enrolled'; rider: RiderRow }
  | { kind: 'replayed'; rider: RiderRow }
  | { kind: 'invite_invalid'; reason: 'unknown' | 'expired' | 'used_up' };

export interface SigningKeyRow {
  kid: string;
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
  createdAt: number;
  /** Set when a newer key replaced it; it stays published until `lastExp`. */
  retiredAt: number | null;
  /** Latest `exp` (ms) of a credential it signed. */
  lastExp: number | null;
}

export interface WeeklyStationRow {
  stationId: string;
  checkins: number;
  riders: number;
  newRiders: number;
  returningRiders: number;
  bottlesHot: number;
  bottlesCold: number;
  /** Bottles whose compartment is unknown (a late `claim.resolved` without it). */
  bottlesOther: number;
}

export interface WeeklyTotals {
  riders: number;
  newRiders: number;
  returningRiders: number;
}

/** What `weeklyFigures` returns (cloud/reports/weeklyReport.ts). */
export interface WeeklyFigures {
  stations: WeeklyStationRow[];
  totals: WeeklyTotals;
  /** Checked in the week before and not this week, by id. */
  lapsedRiders: string[];
}

export interface SponsorRow {
  sponsor: string;
  bottles: number;
  restocked: number;
}

export interface DeviceRow {
  stationId: string;
  deviceId: string;
  kind: string | null;
  state: string;
  inService: boolean;
  lastSeenAt: number;
  faults: string[];
  stock: Record<string, number> | null;
}

export interface FaultRow {
  stationId: string;
  deviceId: string;
  fault: string;
  since: number;
}

export interface OverdueLockerRow {
  stationId: string;
  compartment: string;
  since: number;
  riderId: string | null;
}

export interface HeartbeatRow {
  stationId: string;
  ts: number;
  data: Record<string, unknown>;
}

/** A station record (SPEC §12): provisioned at run time or from the config file's `stations[]`. */
export interface StationRow {
  id: string;
  /** SHA-256 of its bearer token; the token itself is never stored. */
  tokenSha256: string;
  timezone: string;
  zone: string;
  enabled: boolean;
  maintenanceTokens: { name: string; sha256: string }[];
  devices: { id: string; kind: 'dispenser' | 'lockboard' | 'scanner' }[];
  createdAt: number;
  updatedAt: number;
  /** ETag of the config document it last pulled, and when (shared by every instance). */
  configEtag: string | null;
  configPulledAt: number | null;
  /** The config file's entry for it as last applied (JSON), so a start re-applies only what the file changed. */
  configApplied: string | null;
}

export type StationInput = Pick<StationRow, 'id' | 'tokenSha256' | 'timezone' | 'zone'> &
  Partial<Pick<StationRow, 'enabled' | 'maintenanceTokens' | 'devices' | 'configApplied'>>;

export type StationPatch = Partial<Pick<StationRow, 'tokenSha256' | 'timezone' | 'zone' | 'enabled' | 'maintenanceTokens' | 'devices' | 'configApplied'>>;

/**
 * Report facts of one station and service day (SPEC §17): the `checkin`, `claim.committed` and
 * `dispenser.restocked` events grouped by rider, compartment and named sponsor, folded from the
 * log by `dayFacts` itself (cloud/ingest/dayFacts.ts). Range reports, sponsor statements and lapsed riders are computed
 * from these, with sponsors decided at report time, so a relay added after the events arrived
 * counts them correctly.
 */
/** What `rangeFigures` returns: the range report's sums and distinct counts (cloud/reports/rangeReport.ts). */
export interface RangeFigures {
  /** Stations with any fact in the range. */
  stations: Array<{
    stationId: string; checkins: number; riders: number; newRiders: number; returningRiders: number;
    hot: number; cold: number; other: number;
  }>;
  /** Days with any check-in or bottle in the range. */
  days: Array<{ day: string; checkins: number; bottles: number }>;
  /** Distinct over all the stations: riders seen; riders who checked in, new (first check-in ever on or after fromDay) or returning. */
  totals: { riders: number; newRiders: number; returningRiders: number };
  /** Bottles and restocks by the sponsor the facts name ('' for none) and, for unnamed ones, the sponsor id of the relay covering the station and day. */
  sponsors: Array<{ sponsor: string; relaySponsorId: string | null; bottles: number; restocked: number }>;
  /** Riders seen (a check-in or a bottle) in lapsedFrom..fromDay-1 and not in the range, at those stations. */
  lapsedRiders: string[];
}

export interface DayFactRow {
  stationId: string;
  day: string;
  kind: 'checkin' | 'bottle' | 'restock';
  /** Null for a restock. */
  riderId: string | null;
  /** `hot`/`cold` (a bottle), the restocked compartment, or null. */
  compartment: string | null;
  /** The sponsor named in the event, '' when none. */
  sponsor: string;
  /** How many events. */
  events: number;
  /** Bottles restocked (a restock's `count` summed), 0 otherwise. */
  count: number;
}

/** A sponsor record (SPEC §17); `nameKey` is the name normalised (NFKC, whitespace, case): unique. */
export interface SponsorRecord {
  id: string;
  name: string;
  nameKey: string;
  contact: string | null;
  createdAt: number;
  createdBy: string;
}

/** One station's relay: `sponsorId` supplies `stationId` on the service days `from..to` (inclusive). */
export interface RelayRow {
  id: number;
  sponsorId: string;
  stationId: string;
  from: string;
  to: string;
  createdAt: number;
  createdBy: string;
}

export type AddRelaysResult = { ok: true; relays: RelayRow[] } | { ok: false; overlap: RelayRow };

export interface OutreachRow {
  riderId: string;
  at: number;
  by: string;
  note: string;
}

/**
 * What the cloud last learnt of one rider from the stations' logs (issue 12, the rider page):
 * kept at ingest, newest by event time whatever order stations sync in. Null parts: never seen.
 */
export interface RiderStatusRow {
  riderId: string;
  window: { from: string; to: string; stationId: string; ts: number } | null;
  lastClaim: { day: string; stationId: string; ts: number; compartment: string | null } | null;
  lastSeen: { stationId: string; ts: number } | null;
  /** Compartments holding the rider's items now. */
  lockers: RiderLockerRow[];
}

export interface RiderLockerRow {
  stationId: string;
  compartment: string;
  /** What the door says (the station's `lockers.labels`); null from a station that does not say. */
  label: string | null;
  depositedAt: number;
  /** Deposit time plus the station's storage limit; null from a station that does not say. */
  deadlineAt: number | null;
  overdueSince: number | null;
}

/** A fixed enrolment window of one client address (issue 12), shared by every instance. */
export interface AddressWindow {
  windowStart: number;
  /** Requests counted in this window, this one included. */
  hits: number;
}

export const HAZARD_CATEGORIES = ['safety', 'food_safety', 'city_appearance', 'traffic', 'other'] as const;
export type HazardCategory = (typeof HAZARD_CATEGORIES)[number];
export const HAZARD_STATES = ['new', 'acknowledged', 'resolved'] as const;
export type HazardState = (typeof HAZARD_STATES)[number];

export interface HazardPlace {
  text: string | null;
  lat: number | null;
  lon: number | null;
}

/** A rider's hazard report (SPEC §17). The photo's bytes are read on their own (hazardPhoto). */
export interface HazardRow {
  id: string;
  riderId: string;
  category: HazardCategory;
  text: string;
  place: HazardPlace | null;
  photo: { type: string; bytes: number } | null;
  state: HazardState;
  /** The note of the latest state change. */
  note: string | null;
  createdAt: number;
  updatedAt: number;
  /** Every state change, oldest first, with who made it (`name (role)`). */
  changes: { at: number; by: string; state: HazardState; note: string | null }[];
}

export interface HazardInput {
  id: string;
  riderId: string;
  category: HazardCategory;
  text: string;
  place: HazardPlace | null;
  photo: { type: string; data: Buffer } | null;
  at: number;
}

export type FileHazardResult = { kind: 'filed'; hazard: HazardRow } | { kind: 'limited'; count: number };

export type HazardChangeResult =
  | { kind: 'changed'; hazard: HazardRow }
  | { kind: 'not_found' }
  /** Only forward: new → acknowledged → resolved (or new → resolved). */
  | { kind: 'bad_transition'; from: HazardState };

/** Which stations a report covers: one, or `null` for the whole network. */
export type Scope = string | null;

export interface CloudStore {
  close(): Promise<void>;

  // --- sync log ---
  syncHead(stationId: string): Promise<SyncHeadRow | null>;
  syncHeads(): Promise<SyncHeadRow[]>;
  /** Stored hashes of seqs `from..to` (inclusive) of one station. */
  eventHashes(stationId: string, fromSeq: number, toSeq: number): Promise<Map<number, string>>;
  /** Store events and apply their rollup effects atomically, if the head is still `prev`. */
  appendEvents(batch: AppendBatch): Promise<AppendResult>;
  /** Store a batch that continues the stored head, checked in the same unit of work (one round trip on PostgreSQL). */
  appendNext(batch: AppendNextBatch): Promise<AppendNextResult>;
  eventsAfter(stationId: string, afterSeq: number, limit: number): Promise<StationEvent[]>;
  countEvents(stationId: string): Promise<number>;
  /**
   * Drop the events from `fromSeq` on and recompute every rollup the station's events feed
   * (its week, rider-week, sponsor and health rows; the network-wide first check-in of each
   * rider the dropped events named) from the events that stay; the head moves back to
   * `fromSeq - 1`. Serialised with the station's appends on every instance.
   */
  dropEventsFrom(d: DropEventsInput): Promise<DropEventsResult>;

  // --- alerts (hash chain, invalid data) ---
  /** Record an alert; the same (station, kind, seq) again bumps its count and opens it again. */
  raiseAlert(a: AlertInput): Promise<void>;
  /** Newest first; `openOnly` leaves out acknowledged ones. */
  alerts(limit: number, opts?: { openOnly?: boolean }): Promise<AlertRow[]>;
  /**
   * Acknowledge an open alert (an acknowledged one keeps its first acknowledgement); null if
   * there is no such id. A kind of ACK_RESOLVES_KINDS resolves with it (and its channels are told).
   */
  acknowledgeAlert(id: number, by: string, at: number): Promise<AlertRow | null>;
  /**
   * Fire an alert unless it is firing already, in one unit of work with its notifications (one
   * per channel, unique per alert, episode, phase and channel). `fired` is true only for the
   * call that moved it to firing, so two instances evaluating at once notify once.
   */
  fireAlert(a: AlertFire, at: number): Promise<{ fired: boolean; alert: AlertRow }>;
  /** Resolve a firing alert and owe each channel told of its firing a resolved message; false if it was not firing. */
  resolveAlert(fingerprint: string, at: number): Promise<boolean>;
  /** Alerts by state, newest first. */
  listAlerts(state: AlertState | 'all', limit: number): Promise<AlertRow[]>;

  // --- notification outbox (SPEC §15) ---
  /** Take or renew the one-sender lease of a channel until `now + leaseMs`; false if another owner holds it. */
  leaseChannel(channel: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  releaseChannel(channel: string, owner: string): Promise<void>;
  /** Pending notifications of a channel due at `now`, oldest first. */
  dueNotifications(channel: string, now: number, limit: number): Promise<NotificationRow[]>;
  /** Messages sent (or tried) to a channel since `sinceMs`, for its rate limit. */
  channelSendsSince(channel: string, sinceMs: number): Promise<number>;
  /** Record one message sent to a channel at `at` (one or, for a digest, many notifications) and each one's outcome. */
  settleNotifications(channel: string, at: number, results: ReadonlyArray<{ id: number; outcome: NotificationOutcome }>): Promise<void>;
  /** Notifications by state, for tests and metrics. */
  notificationCounts(): Promise<Record<string, number>>;

  // --- riders and keys ---
  createRider(r: { riderId: string; group: string; platform: string | null; createdAt: number }): Promise<RiderRow>;
  rider(riderId: string): Promise<RiderRow | null>;
  revokeRider(riderId: string, at: number, reason: string | null): Promise<RiderRow | null>;
  /** Revoked riders that may still hold an unexpired credential at `nowMs`. */
  revokedRiders(nowMs: number): Promise<string[]>;
  /** Note an issued credential: bumps the rider's and the key's latest `exp`. */
  noteCredentialIssued(riderId: string, kid: string, expMs: number): Promise<void>;
  addSigningKey(k: { kid: string; privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown>; createdAt: number }): Promise<void>;
  /** Make `kid` the active key and retire the others at `at`. */
  activateSigningKey(kid: string, at: number): Promise<void>;
  signingKeys(): Promise<SigningKeyRow[]>;

  // --- invites and enrolment (SPEC §14) ---
  createInvite(i: Omit<InviteRow, 'used'>): Promise<InviteRow>;
  invite(code: string): Promise<InviteRow | null>;
  /** One unit of work: a replay finds the device's rider; otherwise one invite use is taken and the rider created. */
  enrolRider(e: EnrolInput): Promise<EnrolResult>;
  /** The rider whose device key has this `x`, if any. */
  riderByDevice(deviceX: string): Promise<RiderRow | null>;
  riderContact(riderId: string): Promise<string | null>;
  /** Revoke and erase what identifies the rider (group, platform, zone, device key, contact); counts stay. */
  withdrawRider(riderId: string, at: number): Promise<RiderRow | null>;
  // --- the rider page (issue 12) ---
  /** The rider's status rollup (all parts null and no lockers for a rider never seen). */
  riderStatus(riderId: string): Promise<RiderStatusRow>;
  /**
   * Count one enrolment request of `address` in its fixed window (a window older than
   * `windowMs` at `now` starts again), atomically across instances; expired windows are pruned.
   */
  hitAddressWindow(address: string, now: number, windowMs: number): Promise<AddressWindow>;
  /** Drop windows that started at or before `before`, then the oldest past `maxRows`; returns how many went. */
  pruneAddressWindows(before: number, maxRows: number): Promise<number>;

  // --- hazard reports (SPEC §17) ---
  /** File a report unless the rider filed `limit.max` since `limit.since` (one unit of work, so instances cannot both pass). */
  fileHazard(h: HazardInput, limit: { since: number; max: number }): Promise<FileHazardResult>;
  /** Newest first; by state and/or rider. */
  hazards(filter: { state?: HazardState; riderId?: string; limit: number }): Promise<HazardRow[]>;
  hazard(id: string): Promise<HazardRow | null>;
  hazardPhoto(id: string): Promise<{ type: string; data: Buffer } | null>;
  /** Delete reports (photos and changes with them) filed before `before`; returns how many. */
  pruneHazards(before: number): Promise<number>;
  /** Move a report forward and record who did it, with a note, in one unit of work. */
  changeHazardState(id: string, change: { state: Exclude<HazardState, 'new'>; note: string | null; by: string; at: number }): Promise<HazardChangeResult>;

  // --- stations (SPEC §12) ---
  /** Create a station; null if one with this id exists already. */
  createStation(s: StationInput, at: number): Promise<StationRow | null>;
  station(id: string): Promise<StationRow | null>;
  stationByTokenHash(tokenSha256: string): Promise<StationRow | null>;
  stations(): Promise<StationRow[]>;
  /** Change a station; null if there is no such station. */
  updateStation(id: string, patch: StationPatch, at: number): Promise<StationRow | null>;
  noteConfigPulled(id: string, etag: string, at: number): Promise<void>;

  // --- reports (read rollups only) ---
  /** Rows of the stations with any data that week. */
  weeklyStations(week: string, scope: Scope): Promise<WeeklyStationRow[]>;
  /** Distinct riders over the scope (a rider seen at two stations counts once). */
  weeklyTotals(week: string, scope: Scope): Promise<WeeklyTotals>;
  lapsedRiders(week: string, prevWeek: string, scope: Scope): Promise<string[]>;
  sponsors(week: string, scope: Scope): Promise<SponsorRow[]>;

  // --- range reports, sponsors, relays, outreach (SPEC §17) ---
  /**
   * Facts of the days `fromDay..toDay` (inclusive) at `stationIds` (null: every station), after
   * folding the events stored since each station's cursor (once, whoever calls at the same time).
   */
  dayFacts(fromDay: string, toDay: string, stationIds: readonly string[] | null): Promise<DayFactRow[]>;
  /** The service day of each rider's first check-in anywhere, for the riders that have one. */
  firstCheckinDays(riderIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * The range report's figures (SPEC §17), aggregated in the database over `fromDay..toDay` at
   * `stationIds` after folding (as `dayFacts`), from the tables the fold keeps beside the day
   * facts (station_day_sums, station_day_sponsors, and the day bitmaps station_rider_year and
   * rider_year, docs/cloud.md): per station, per day, the
   * distinct riders over all the stations, bottles and restocks per named sponsor and relay, and
   * the riders seen in `lapsedFrom..fromDay-1` and not in the range.
   */
  rangeFigures(fromDay: string, toDay: string, lapsedFrom: string, stationIds: readonly string[]): Promise<RangeFigures>;
  /**
   * The weekly report's station rows, distinct totals and lapsed riders (as weeklyStations,
   * weeklyTotals and lapsedRiders of `week` and the week before) after folding, the distinct
   * counts from the day bitmaps the fold keeps (a row per rider, not per rider and station-week).
   */
  weeklyFigures(week: string, scope: Scope): Promise<WeeklyFigures>;
  /** Create a sponsor; null when one with the same `nameKey` exists. */
  createSponsor(s: SponsorRecord): Promise<SponsorRecord | null>;
  sponsorRecords(): Promise<SponsorRecord[]>;
  sponsorRecord(id: string): Promise<SponsorRecord | null>;
  /**
   * One relay per station, in one unit of work: refused as a whole (with the first relay it
   * overlaps) when any station already has a relay on one of these days.
   */
  addRelays(r: { sponsorId: string; stationIds: readonly string[]; from: string; to: string; createdAt: number; createdBy: string }): Promise<AddRelaysResult>;
  /** Every relay, by station and first day. */
  relays(): Promise<RelayRow[]>;
  addOutreach(o: OutreachRow): Promise<void>;
  /** How many outreach notes a rider has, to bound them. */
  outreachCount(riderId: string): Promise<number>;
  /** Outreach notes of these riders, oldest first. */
  outreach(riderIds: readonly string[]): Promise<OutreachRow[]>;
  // --- zone feed and conflicts (SPEC §13) ---
  /** The zone's rows after `afterZseq`, every station's, in zone order. */
  zoneFeedAfter(zone: string, afterZseq: number, limit: number): Promise<StoredFeedRow[]>;
  /** The zone's counter: the place of its last stored row (0 before any). */
  zoneFeedHead(zone: string): Promise<number>;
  /** Delete up to `limit` feed rows of service days before `beforeDay`, every zone's; how many went. */
  pruneZoneFeed(beforeDay: string, limit: number): Promise<number>;
  /** A page of what a station joining the zone needs (open windows, recent claims), up to `head`. */
  zoneFeedBootstrap(q: ZoneBootstrapQuery): Promise<{ head: number; rows: StoredFeedRow[] }>;
  /**
   * Be told (after commit) when rows of a zone were stored by any instance of this database;
   * returns the unsubscribe. A wake-up only says "look again": it may come late, twice or, on a
   * lost connection, not at all, so readers also poll.
   */
  onZoneFeed(listener: (zone: string) => void): () => void;
  /** Conflicts (granted claims of one rider on one day at two stations of a zone) of a week. */
  conflicts(week: string, zone: string | null): Promise<ConflictRow[]>;
  /** Conflicts of the week per station involved in them. */
  weeklyConflicts(week: string, scope: Scope): Promise<Map<string, number>>;
  /** Every station involved in each conflict of the service days `fromDay..toDay` (range reports). */
  conflictsBetween(fromDay: string, toDay: string): Promise<ConflictKeyRow[]>;

  // --- fleet health ---
  heartbeats(): Promise<HeartbeatRow[]>;
  devices(): Promise<DeviceRow[]>;
  openFaults(): Promise<FaultRow[]>;
  overdueLockers(): Promise<OverdueLockerRow[]>;
  /** What the alert rules need of one station, read together (an upload's health events, SPEC §15). */
  stationAlertState(stationId: string): Promise<StationAlertState>;
}
