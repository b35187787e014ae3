/**
 * The station core's services as the API, jobs and kiosk see them. The dispenser and locker
 * areas implement these (edge/core/claims.ts, edge/core/lockers.ts); the HTTP API and jobs
 * depend only on this file, so each side can be built and tested on its own.
 */
import type { Compartment, EventDataOf, ServiceDay, Window } from '../../protocol/index.ts';
import type { Claim } from '../ledger/quota-ledger.ts';

/** Outcome of `POST /v1/claims` (SPEC §8); `kind` is the API's error code where it refuses. */
export type ClaimOutcome =
  | { kind: 'committed'; claim: Claim; day: ServiceDay }
  | { kind: 'not_checked_in'; day: ServiceDay }
  /** `station`: the other station of the zone where the day's bottle was taken (SPEC §13). */
  | { kind: 'already_claimed_today'; day: ServiceDay; window: Window; station?: string }
  | { kind: 'out_of_stock'; compartment: Compartment }
  | { kind: 'dispenser_unavailable'; reason: string }
  /** The dispenser said nothing moved or the motor ran without a drop: quota given back. */
  | { kind: 'dispense_failed'; claim: Claim; reason: string }
  /** No final answer in time: the claim is `unknown` and the quota stays held (SPEC §3). */
  | { kind: 'dispense_unknown'; claim: Claim };

/**
 * A maintenance call's audit (SPEC §8: every maintenance call is audited), handed to a service
 * as a value: the service writes `data` as a `maintenance.audit` event in the same ledger
 * transaction as the change it records, then calls `written()` (so the API does not write a
 * second, failure audit). Routes never see the transaction itself.
 */
export interface AuditRecord {
  readonly data: EventDataOf<'maintenance.audit'>;
  written(): void;
}

export interface ClaimPort {
  /** Reserve → dispense → settle; resolves only on the dispenser's final answer or the timeout. */
  claim(riderId: string, compartment: Compartment): Promise<ClaimOutcome>;
  /** Ask dispensers that are back about `unknown` claims (cmd/query); the job calls this. */
  resolveUnknownClaims(): Promise<number>;
  /** Maintenance decides an `unknown` / `indeterminate` claim. */
  resolveByMaintenance(claimId: string, outcome: 'committed' | 'released', by: string): Claim | undefined;
  /**
   * Restock a compartment (sends cmd/restock, writes `dispenser.restocked`); `audit` is written
   * in the same transaction.
   */
  restock(dispenserId: string, compartment: Compartment, count: number, sponsor: string | undefined, by: string, audit?: AuditRecord): Promise<{ deviceTold: boolean }>;
  /** Stock per dispenser and compartment as last reported, for the kiosk and health. */
  availability(): Array<{ dispenserId: string; usable: boolean; stock: Partial<Record<Compartment, number>> }>;
  /** Whether a rider can be served from a compartment now: `ok`, `empty` or `unavailable`. */
  serving(compartment: Compartment): 'ok' | 'empty' | 'unavailable';
  /** Finish or mark `unknown` every claim in flight (shutdown). */
  drain(timeoutMs: number): Promise<void>;
}

export type DepositOutcome =
  | { kind: 'deposited'; compartment: string }
  | { kind: 'locker_already_held'; compartment: string }
  | { kind: 'no_free_compartment' }
  | { kind: 'locker_unavailable'; reason: string };

export type RetrieveOutcome =
  | { kind: 'retrieved'; compartment: string }
  | { kind: 'no_locker_held' }
  | { kind: 'locker_unavailable'; compartment: string; reason: string };

export interface LockerView {
  compartment: string;
  board: number;
  lock: number;
  bus: string;
  inService: boolean;
  /** free | held | opening | retrieving | unavailable … as the locker area defines. */
  state: string;
  door: 'open' | 'closed' | 'unknown';
  riderId: string | null;
  heldSince: number | null;
  overdue: boolean;
}

/** One unlock: written before the command goes to the board, completed with its outcome. */
export interface UnlockJournalRow {
  id: number;
  compartment: string;
  purpose: 'deposit' | 'retrieve' | 'forced_open';
  /** The rider, or the maintenance operator for a forced opening. */
  actor: string;
  started_ts: number;
  /** null while in flight; `interrupted` when the station stopped in the middle of it. */
  outcome: 'opened' | 'stayed_shut' | 'no_answer' | 'interrupted' | null;
  ended_ts: number | null;
}

export interface LockerPort {
  deposit(riderId: string): Promise<DepositOutcome>;
  retrieve(riderId: string): Promise<RetrieveOutcome>;
  /** Maintenance opens a compartment with a reason (`locker.forced_open`); `audit` is written in its transaction. */
  forceOpen(compartment: string, reason: string, by: string, audit?: AuditRecord): Promise<{ ok: true } | { ok: false; error: 'unknown_compartment' | 'locker_unavailable'; message: string }>;
  /** The compartment a rider holds, if any (rider status). */
  holdingOf(riderId: string): { compartment: string; since: number | null } | null;
  /** Overdue holdings and doors left open (the jobs call this). */
  checkTimers(): void;
  /** The unlock journal, newest first (maintenance health). */
  unlockJournal(limit?: number): UnlockJournalRow[];
  /** Forget finished unlock-journal rows older than `olderThanTs` (the pruning job). */
  pruneUnlockJournal(olderThanTs: number): number;
  compartments(): LockerView[];
  hasCompartment(compartment: string): boolean;
}
