/**
 * What the station core needs from its devices, owned by the core (issue 10, item 1): a
 * dispenser port (SPEC §5), a lock port (SPEC §6) and a device-health reporter (SPEC §6b), with
 * the types that cross them. The drivers in edge/drivers/ implement these and import nothing
 * else from edge/core/; the core imports nothing from edge/drivers/ (test/architecture.test.ts).
 */
import type { Compartment, DispenseAnswer, DispenseEvent, QueryAnswer, TelemetryPayload } from '../../protocol/index.ts';

export type { DispenseAnswer, QueryAnswer };

// ---- device health (SPEC §6b) ------------------------------------------------------------------

export type DeviceKind = 'dispenser' | 'lockboard' | 'scanner';

/** What a driver tells the health registry (edge/core/health.ts implements it). */
export interface DeviceHealthReporter {
  /** Add a device; offline within two `heartbeatMs` of silence. */
  register(id: string, kind: DeviceKind, heartbeatMs: number): void;
  has(id: string): boolean;
  /** Heard from the device now. */
  seen(id: string): void;
  markOffline(id: string, reason: string): void;
  setFaults(id: string, faults: readonly string[]): void;
  /** A fault the station itself raises (a client-id fight), kept whatever the device reports. */
  addFault(id: string, fault: string): void;
  clearFault(id: string, fault: string): void;
  get(id: string): { faults: readonly string[] } | undefined;
  count(id: string, counter: string, by?: number): void;
  setDetail(id: string, patch: Record<string, unknown>): void;
}

// ---- dispensers (SPEC §5) ----------------------------------------------------------------------

export interface DispenseRequest {
  /** The claim id, also the command id (SPEC §5 rule 1). */
  id: string;
  dispenserId: string;
  compartment: Compartment;
  /** Wall-clock ms after which the device must refuse (SPEC §5 rule 3). */
  expiresAt: number;
}

export interface DispenserState {
  id: string;
  /** Last status said online and nothing since said otherwise (health has the silence rule). */
  online: boolean;
  fw?: string;
  stock?: Record<Compartment, number>;
  tempC?: Record<Compartment, number>;
  door?: 'open' | 'closed';
  /** Faults as the device reported them. */
  deviceFaults: string[];
  telemetryTs?: number;
}

/** A final `evt/dispense` (not `accepted`, not a query's `unknown`). */
export type FinalDispenseEvent = DispenseEvent & { result: 'dropped' | 'rejected' | 'failed' | 'indeterminate' };

export interface DispenserPort {
  /** How long a dispense waits for its final event by default (ms). */
  readonly dispenseTimeoutMs: number;
  ids(): string[];
  has(id: string): boolean;
  state(id: string): DispenserState | undefined;
  /** Final `evt/dispense` that no dispense or query was waiting for. */
  onUnclaimedEvent(listener: (dispenserId: string, evt: FinalDispenseEvent) => void): () => void;
  /** The device announced itself online (connect, reconnect, restart). */
  onOnline(listener: (dispenserId: string) => void): () => void;
  /** Every valid telemetry report as it came: the core keeps the stock and raises its own alerts. */
  onTelemetry(listener: (dispenserId: string, telemetry: TelemetryPayload) => void): () => void;
  /** `cmd/dispense`, then its final event or `timeout`. */
  dispense(req: DispenseRequest, timeoutMs?: number): Promise<DispenseAnswer>;
  /** `cmd/query`: the stored outcome of `claimId`. */
  query(dispenserId: string, claimId: string, timeoutMs?: number): Promise<QueryAnswer>;
  /** `cmd/restock`. */
  restock(dispenserId: string, compartment: Compartment, count: number): Promise<void>;
  /** End every wait now with `timeout` (shutdown). */
  cancelWaiting(reason: string): void;
}

// ---- lock boards (SPEC §6) ---------------------------------------------------------------------

/** Why a lock-board exchange gave no answer. */
export type LockBusError = 'timeout' | 'bad_frame' | 'port_closed' | 'stopped' | 'unknown_board';

/** What an unlock did, as far as the board's replies and a verifying query tell. */
export type UnlockResult =
  | { kind: 'opened'; confirmedBy: 'query' | 'reply' }
  | { kind: 'stayed_shut'; unlockReplied: boolean }
  | { kind: 'no_answer'; error: LockBusError };

export type LockBusEvent =
  /** After each query-all (every poll), and when a single query or unlock changed a door. */
  | { type: 'doors'; bus: string; board: number; open: boolean[]; changed: number[]; source: 'poll' | 'query' | 'unlock' }
  | { type: 'reachability'; bus: string; board: number; reachable: boolean };

/** One lock bus (a serial line with its boards), as the locker service drives it. */
export interface LockPort {
  readonly id: string;
  readonly addresses: number[];
  locksOf(board: number): number;
  isReachable(board: number): boolean;
  doorState(board: number, lock: number): 'open' | 'closed' | 'unknown';
  /** Pulse one latch and find out whether the door opened (SPEC §6). */
  unlock(board: number, lock: number): Promise<UnlockResult>;
  on(listener: (e: LockBusEvent) => void): () => void;
}
