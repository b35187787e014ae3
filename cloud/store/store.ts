/**
 * The cloud's one storage interface. SQLite (sqlite.ts) is the default backend; a PostgreSQL
 * backend can be added behind the same interface and run the same contract suite
 * (test/cloud/store-contract.ts). Methods are async so a networked backend fits; each one is a
 * single unit of work (the SQLite backend runs each in one transaction).
 */
import type { StationEvent } from '../../protocol/index.ts';
import type { RollupEffect } from '../ingest/rollupEffects.ts';

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
}

export type AppendResult = { ok: true; seq: number } | { ok: false; reason: 'head_moved'; seq: number };

export interface AlertInput {
  stationId: string;
  kind: string;
  seq: number | null;
  detail: string;
  at: number;
}

export interface AlertRow extends AlertInput {
  id: number;
  firstAt: number;
  count: number;
  /** When and by which admin it was acknowledged; null while open. */
  ackedAt: number | null;
  ackedBy: string | null;
}

export interface RiderRow {
  riderId: string;
  group: string;
  platform: string | null;
  createdAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
  /** Latest `exp` (ms) of a credential issued to this rider. */
  lastCredentialExp: number | null;
}

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
  eventsAfter(stationId: string, afterSeq: number, limit: number): Promise<StationEvent[]>;
  countEvents(stationId: string): Promise<number>;

  // --- alerts (hash chain, invalid data) ---
  /** Record an alert; the same (station, kind, seq) again bumps its count and opens it again. */
  raiseAlert(a: AlertInput): Promise<void>;
  /** Newest first; `openOnly` leaves out acknowledged ones. */
  alerts(limit: number, opts?: { openOnly?: boolean }): Promise<AlertRow[]>;
  /** Acknowledge an open alert (an acknowledged one keeps its first acknowledgement); null if there is no such id. */
  acknowledgeAlert(id: number, by: string, at: number): Promise<AlertRow | null>;

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

  // --- fleet health ---
  heartbeats(): Promise<HeartbeatRow[]>;
  devices(): Promise<DeviceRow[]>;
  openFaults(): Promise<FaultRow[]>;
  overdueLockers(): Promise<OverdueLockerRow[]>;
}
