/**
 * A claim's life as one pure state machine (SPEC §3 rule 4, §5 rules 1–4; docs/dispensers.md
 * "The claim machine"). `stepClaim(claim, input, ctx)` answers the next status and the effects;
 * the claim service applies them inside one ledger transaction, and the quota ledger refuses
 * any change the transition table below does not allow.
 *
 *   reserved ──send──▶ dispensing ──dropped──▶ committed
 *      │                   │ ──rejected/failed──▶ released (the quota goes back)
 *      │                   └─indeterminate / timeout / restart──▶ unknown ──report/maintenance──▶ committed | released
 *      └─restart / maintenance──▶ released (the command was provably never sent)
 *
 * `reserved` is written by the reserve transaction (the quota is held, the dispenser not told);
 * `dispensing` is written, durably, right before `cmd/dispense` is published. So a claim found
 * `reserved` after a crash was never sent and gives its quota back at once, while one found
 * `dispensing` may have dropped and becomes `unknown` (queried, never sent again under a new id).
 * `committed` and `released` are final.
 */
import type { ClaimStatus } from '../../../protocol/index.ts';

/** Which status may follow which (SPEC §3 rule 4). Final statuses have none. */
export const CLAIM_TRANSITIONS: Readonly<Record<ClaimStatus, readonly ClaimStatus[]>> = {
  reserved: ['dispensing', 'released'],
  dispensing: ['committed', 'released', 'unknown'],
  unknown: ['committed', 'released'],
  committed: [],
  released: [],
};

export function mayMove(from: ClaimStatus, to: ClaimStatus): boolean {
  return CLAIM_TRANSITIONS[from].includes(to);
}

/** In flight: the dispenser may be acting on it (or, `reserved`, is about to be told). */
export function inFlight(status: ClaimStatus): boolean {
  return status === 'reserved' || status === 'dispensing';
}

/** Still open: a final answer may settle it. */
export function isOpen(status: ClaimStatus): boolean {
  return inFlight(status) || status === 'unknown';
}

/** The reason an unknown claim carries when it waits for maintenance. */
export const INDETERMINATE = 'indeterminate';
/** The reason of a `reserved` claim released at start: its command was never sent. */
export const NOT_SENT = 'not_sent';

/** How long a dispenser remembers a command id at least (SPEC §5 rule 2). */
export const DEVICE_MEMORY_MS = 24 * 3_600_000;

/** What the machine needs to know of a claim (the ledger's `Claim` has it all). */
export interface ClaimFacts {
  id: string;
  status: ClaimStatus;
  reason: string | null;
  createdTs: number;
  expiresAt: number;
}

/** A device's word on a claim: a dispense's final answer, a late final event, or a query's answer. */
export type DeviceWord =
  | { result: 'dropped' }
  | { result: 'rejected' | 'failed'; reason?: string }
  | { result: 'indeterminate' }
  /** Only in answer to a query: the device does not know the id. */
  | { result: 'unknown' }
  /** No final answer in time. */
  | { result: 'timeout' };

export type ClaimInput =
  /** The command is about to be published (SPEC §5 rule 1: stored before publishing). */
  | { type: 'send' }
  /** What the device said; `source` names who heard it (it is the settlement's `by`). */
  | { type: 'device'; word: DeviceWord; source: 'dispenser' | 'late_event' | 'query' }
  /** The station started and found the claim as a crash left it. */
  | { type: 'restart' }
  /** Maintenance decides. */
  | { type: 'maintenance'; outcome: 'committed' | 'released'; by: string };

export type ClaimEffect =
  /** Write `dispensing`, then publish `cmd/dispense` with the claim's own id. */
  | { kind: 'publish' }
  /** Write the settlement and its events (`claim.committed` | `claim.released` | `claim.unknown`, and `claim.resolved` from unknown). */
  | { kind: 'settle'; to: 'committed' | 'released' | 'unknown'; reason?: string; by?: string }
  /** An `unknown` claim the device itself cannot decide: it waits for maintenance. */
  | { kind: 'mark_indeterminate' }
  /** Tell maintenance (an indeterminate vend). */
  | { kind: 'alert'; message: string }
  /** The device contradicts a final settlement: logged, nothing changes. */
  | { kind: 'contradiction'; word: DeviceWord };

export interface ClaimStep {
  status: ClaimStatus;
  reason: string | null;
  effects: ClaimEffect[];
}

export interface ClaimContext {
  /** Wall clock now (ms). */
  now: number;
  /** Margin after `expiresAt` before a device's `unknown` proves the command never arrived. */
  neverReceivedMarginMs: number;
}

const INDETERMINATE_ALERT = 'vend indeterminate (power lost mid-vend): maintenance must decide';

/**
 * True when a device's `unknown` answer proves nothing can drop for this claim: the device
 * remembers every id it saw for 24 h and writes "dispensing" before the motor runs (SPEC §5
 * rule 2), and refuses a command whose `expiresAt` has passed (rule 3). So an id it does not
 * know, asked well after expiry but inside its memory, was never acted on and never will be.
 */
export function neverReceived(claim: Pick<ClaimFacts, 'expiresAt' | 'createdTs'>, now: number, marginMs: number): boolean {
  return now > claim.expiresAt + marginMs && now < claim.createdTs + DEVICE_MEMORY_MS;
}

function settle(c: ClaimFacts, to: 'committed' | 'released' | 'unknown', reason: string | undefined, by: string | undefined, extra: ClaimEffect[] = []): ClaimStep {
  if (!mayMove(c.status, to)) return { status: c.status, reason: c.reason, effects: [] };
  const effect: ClaimEffect = { kind: 'settle', to, ...(reason !== undefined ? { reason } : {}), ...(by !== undefined ? { by } : {}) };
  return { status: to, reason: reason ?? null, effects: [effect, ...extra] };
}

const stay = (c: ClaimFacts, effects: ClaimEffect[] = []): ClaimStep => ({ status: c.status, reason: c.reason, effects });

export function stepClaim(c: ClaimFacts, input: ClaimInput, ctx: ClaimContext): ClaimStep {
  switch (input.type) {
    case 'send':
      // Only a reserved claim is ever sent, and nothing goes back to reserved: one command per claim.
      return c.status === 'reserved' ? { status: 'dispensing', reason: c.reason, effects: [{ kind: 'publish' }] } : stay(c);
    case 'restart':
      if (c.status === 'reserved') return settle(c, 'released', NOT_SENT, 'station');
      if (c.status === 'dispensing') return settle(c, 'unknown', 'restart', undefined);
      return stay(c);
    case 'maintenance':
      return settle(c, input.outcome, input.outcome === 'released' ? 'maintenance' : undefined, input.by);
    case 'device':
      return onDeviceWord(c, input.word, input.source, ctx);
  }
}

function onDeviceWord(c: ClaimFacts, word: DeviceWord, source: 'dispenser' | 'late_event' | 'query', ctx: ClaimContext): ClaimStep {
  if (!isOpen(c.status) || c.status === 'reserved') {
    // A word about a settled claim never changes it; one that disagrees is logged. A reserved
    // claim was never sent, so nothing the device says can be about it.
    const agrees =
      (c.status === 'committed' && word.result === 'dropped') ||
      (c.status === 'released' && (word.result === 'rejected' || word.result === 'failed'));
    const silent = word.result === 'unknown' || word.result === 'timeout';
    return stay(c, agrees || silent || c.status === 'reserved' ? [] : [{ kind: 'contradiction', word }]);
  }
  switch (word.result) {
    case 'dropped':
      return settle(c, 'committed', undefined, source);
    case 'rejected':
    case 'failed':
      return settle(c, 'released', word.reason, source);
    case 'indeterminate':
      if (c.status === 'dispensing') return settle(c, 'unknown', INDETERMINATE, undefined, [{ kind: 'alert', message: INDETERMINATE_ALERT }]);
      if (c.reason === INDETERMINATE) return stay(c, [{ kind: 'alert', message: INDETERMINATE_ALERT }]);
      return { status: 'unknown', reason: INDETERMINATE, effects: [{ kind: 'mark_indeterminate' }, { kind: 'alert', message: INDETERMINATE_ALERT }] };
    case 'timeout':
      return c.status === 'dispensing' && source === 'dispenser' ? settle(c, 'unknown', 'timeout', undefined) : stay(c);
    case 'unknown':
      // An indeterminate vend waits for maintenance: the device did start it, whatever it says later.
      if (source === 'query' && c.status === 'unknown' && c.reason !== INDETERMINATE && neverReceived(c, ctx.now, ctx.neverReceivedMarginMs)) {
        return settle(c, 'released', 'never_received', source);
      }
      return stay(c);
  }
}
