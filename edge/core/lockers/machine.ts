/**
 * A compartment's life as one pure state machine (SPEC §6a; docs/lockers.md "The compartment
 * machine"). `stepCompartment(state, input, ctx)` answers the next state and the effects; the
 * locker service applies the effects — every ledger write of one step in one transaction — and
 * does the I/O the effects ask for (the unlock itself), feeding its result back as an input.
 *
 * Phases: free → opening (a deposit's unlock in flight) → depositing (the rider has it, the door
 * not yet seen closed) → held (stored: the storage clock runs) → retrieving (the holding ended;
 * free once the door is seen closed).
 *
 * The rules it keeps:
 * - No unlock without a recorded intent: every `unlock` effect follows a `record_unlock` of the
 *   same intent (a journal row, fsynced before the command goes on the wire).
 * - One unlock in flight per compartment; at most `unlockAttempts` pulses per intent (SPEC §6a:
 *   "retried once"), only after the board said the door stayed shut — the one retry layer.
 * - A holding exists exactly in opening, depositing and held; `overdue` and `door_left_open`
 *   are raised once (per holding, per opening of the door).
 */
import type { UnlockResult } from '../device-ports.ts';

export type Phase = 'free' | 'opening' | 'depositing' | 'held' | 'retrieving';
export type UnlockPurpose = 'deposit' | 'retrieve' | 'forced_open';
export type UnlockOutcome = 'opened' | 'stayed_shut' | 'no_answer';
export type Door = 'open' | 'closed' | 'unknown';

export interface HoldingState {
  riderId: string;
  /** Wall-clock start of storage (door seen closed after the deposit); null before. */
  storedTs: number | null;
  /** Monotonic start of storage, for the limit (rebuilt from `storedTs` after a restart). */
  storedMono: number | null;
  overdue: boolean;
}

export interface UnlockIntent {
  purpose: UnlockPurpose;
  /** The rider, or the maintenance operator of a forced opening. */
  actor: string;
  /** Pulses sent so far for this intent. */
  attempts: number;
  /** A forced opening's reason (the event carries it). */
  reason?: string;
}

export interface CompartmentState {
  name: string;
  phase: Phase;
  inService: boolean;
  holding: HoldingState | undefined;
  door: Door;
  doorOpenSinceMono: number | undefined;
  leftOpenReported: boolean;
  /** A door found open that no unlock of ours explains (fault `door_forced:{name}`). */
  forced: boolean;
  /** An unconfirmed unlock of ours may have opened the door until then (monotonic ms). */
  expectOpenUntilMono: number;
  unlock: UnlockIntent | undefined;
}

export type CompartmentInput =
  | { type: 'deposit'; riderId: string }
  | { type: 'retrieve'; riderId: string }
  | { type: 'force_open'; by: string; reason: string }
  | { type: 'unlock_result'; result: UnlockResult }
  | { type: 'door'; open: boolean }
  /** The board stopped answering: its doors are unknown. */
  | { type: 'board_lost' }
  | { type: 'tick' }
  /** At start: a deposit whose unlock was in flight when the station stopped. */
  | { type: 'recover_opening' }
  | { type: 'service'; inService: boolean; by: string; reason: string };

/** Events the service appends (their data is completed from the compartment and holding). */
export type CompartmentEffect =
  // ---- ledger writes (one transaction per step) ----
  | { kind: 'holding_open'; riderId: string }
  | { kind: 'holding_activate'; recovered: boolean }
  | { kind: 'holding_drop' }
  | { kind: 'holding_end'; reason: 'retrieved' | 'forced_open' }
  | { kind: 'storage_start' }
  | { kind: 'overdue' }
  | { kind: 'phase'; phase: Phase }
  | { kind: 'service'; inService: boolean; by: string; reason: string | null }
  | { kind: 'record_unlock'; purpose: UnlockPurpose; actor: string }
  | { kind: 'end_unlock'; outcome: UnlockOutcome }
  | { kind: 'event'; type: 'locker.deposited'; riderId: string; recovered: boolean }
  | { kind: 'event'; type: 'locker.retrieved'; riderId: string; storedSince: number | null }
  | { kind: 'event'; type: 'locker.forced_open'; reason: string; by: string; riderId: string | null; overdue: boolean }
  | { kind: 'event'; type: 'locker.overdue'; riderId: string; storedSince: number | null }
  | { kind: 'event'; type: 'locker.door_left_open'; openForMs: number; riderId: string | null; state: Phase }
  // ---- after the transaction ----
  /** Pulse the latch (after the intent is on disk). */
  | { kind: 'unlock' }
  | { kind: 'fault'; fault: string; on: boolean }
  | { kind: 'log'; level: 'warn' | 'error'; message: string };

/** What the rider operation learns from this step, when it ends one. */
export type StepOutcome =
  | { kind: 'refused'; reason: 'busy' | 'not_free' | 'not_holder' | 'out_of_service' }
  | { kind: 'unlocking' }
  | { kind: 'done'; purpose: UnlockPurpose; outcome: UnlockOutcome };

export interface CompartmentStep {
  state: CompartmentState;
  effects: CompartmentEffect[];
  outcome?: StepOutcome;
}

export interface CompartmentContext {
  /** Monotonic ms now. */
  mono: number;
  /** Wall-clock ms now (the storage clock's start). */
  now: number;
  unlockAttempts: number;
  unlockGraceMs: number;
  storageLimitMs: number;
  doorLeftOpenMs: number;
}

export function newCompartmentState(name: string): CompartmentState {
  return {
    name,
    phase: 'free',
    inService: true,
    holding: undefined,
    door: 'unknown',
    doorOpenSinceMono: undefined,
    leftOpenReported: false,
    forced: false,
    expectOpenUntilMono: -Infinity,
    unlock: undefined,
  };
}

/** An open door is ours when a deposit or retrieve is under way, or an unconfirmed unlock of ours is recent. */
export function openExpected(c: CompartmentState, mono: number): boolean {
  return c.unlock !== undefined || c.phase === 'opening' || c.phase === 'depositing' || c.phase === 'retrieving' || mono <= c.expectOpenUntilMono;
}

/** Can a deposit be handed this compartment (the board's usability is the service's to add)? */
export function handable(c: CompartmentState): boolean {
  return c.inService && c.phase === 'free' && !c.holding && c.door === 'closed' && !c.forced && !c.unlock;
}

const forcedFault = (c: CompartmentState) => `door_forced:${c.name}`;
const stuckFault = (c: CompartmentState) => `door_stuck:${c.name}`;

function startUnlock(s: CompartmentState, intent: Omit<UnlockIntent, 'attempts'>, before: CompartmentEffect[] = []): CompartmentStep {
  const unlock: UnlockIntent = { ...intent, attempts: 1 };
  return {
    // While an unlock is in flight, a door seen open is ours.
    state: { ...s, unlock, expectOpenUntilMono: Infinity },
    effects: [...before, { kind: 'record_unlock', purpose: intent.purpose, actor: intent.actor }, { kind: 'unlock' }],
    outcome: { kind: 'unlocking' },
  };
}

const refuse = (s: CompartmentState, reason: Extract<StepOutcome, { kind: 'refused' }>['reason']): CompartmentStep => ({
  state: s,
  effects: [],
  outcome: { kind: 'refused', reason },
});

function outOfService(s: CompartmentState, reason: string, by: string): { state: CompartmentState; effects: CompartmentEffect[] } {
  const effects: CompartmentEffect[] = [];
  if (s.inService) effects.push({ kind: 'service', inService: false, by, reason });
  effects.push({ kind: 'log', level: 'error', message: 'compartment out of service' });
  if (reason === 'door_never_opened') effects.push({ kind: 'fault', fault: stuckFault(s), on: true });
  return { state: { ...s, inService: false }, effects };
}

export function stepCompartment(s: CompartmentState, input: CompartmentInput, ctx: CompartmentContext): CompartmentStep {
  switch (input.type) {
    case 'deposit':
      if (s.unlock) return refuse(s, 'busy');
      if (!handable(s)) return refuse(s, s.inService ? 'not_free' : 'out_of_service');
      return startUnlock(
        { ...s, phase: 'opening', holding: { riderId: input.riderId, storedTs: null, storedMono: null, overdue: false } },
        { purpose: 'deposit', actor: input.riderId },
        [{ kind: 'holding_open', riderId: input.riderId }, { kind: 'phase', phase: 'opening' }],
      );
    case 'retrieve':
      if (s.unlock) return refuse(s, 'busy');
      if (s.holding?.riderId !== input.riderId || (s.phase !== 'depositing' && s.phase !== 'held')) return refuse(s, 'not_holder');
      return startUnlock(s, { purpose: 'retrieve', actor: input.riderId });
    case 'force_open':
      if (s.unlock) return refuse(s, 'busy');
      return startUnlock(s, { purpose: 'forced_open', actor: input.by, reason: input.reason });
    case 'unlock_result':
      return onUnlockResult(s, input.result, ctx);
    case 'door':
      return onDoor(s, input.open, ctx);
    case 'board_lost':
      return { state: { ...s, door: 'unknown' }, effects: [] };
    case 'tick':
      return onTick(s, ctx);
    case 'recover_opening':
      // The door may have opened and the rider may have put things in: keep the holding.
      if (s.phase !== 'opening' || !s.holding || s.unlock) return { state: s, effects: [] };
      return {
        state: { ...s, phase: 'depositing' },
        effects: [
          { kind: 'holding_activate', recovered: true },
          { kind: 'phase', phase: 'depositing' },
          { kind: 'event', type: 'locker.deposited', riderId: s.holding.riderId, recovered: true },
          { kind: 'log', level: 'warn', message: 'deposit interrupted by a restart; kept as a holding' },
        ],
      };
    case 'service':
      if (!input.inService) return outOfService(s, input.reason, input.by);
      if (s.inService) return { state: s, effects: [] };
      return {
        state: { ...s, inService: true },
        effects: [
          { kind: 'service', inService: true, by: input.by, reason: null },
          { kind: 'fault', fault: stuckFault(s), on: false },
        ],
      };
  }
}

function onUnlockResult(s: CompartmentState, r: UnlockResult, ctx: CompartmentContext): CompartmentStep {
  const u = s.unlock;
  if (!u) return { state: s, effects: [] }; // no unlock of ours in flight: nothing to conclude
  if (r.kind === 'stayed_shut' && u.attempts < ctx.unlockAttempts) {
    // SPEC §6a: a door that never opens after an unlock is retried (once by default).
    return {
      state: { ...s, unlock: { ...u, attempts: u.attempts + 1 } },
      effects: [{ kind: 'log', level: 'warn', message: 'door did not open; unlocking once more' }, { kind: 'unlock' }],
      outcome: { kind: 'unlocking' },
    };
  }
  // Unconfirmed (no answer): the latch may still have fired, so a door found open soon is ours.
  const expectOpenUntilMono = r.kind === 'no_answer' ? ctx.mono + ctx.unlockGraceMs : -Infinity;
  let next: CompartmentState = { ...s, unlock: undefined, expectOpenUntilMono };
  const effects: CompartmentEffect[] = [{ kind: 'end_unlock', outcome: r.kind }];
  const done = { kind: 'done', purpose: u.purpose, outcome: r.kind } as const;
  const h = s.holding;
  if (u.purpose === 'deposit') {
    if (r.kind === 'opened') {
      next = { ...next, phase: 'depositing' };
      effects.push({ kind: 'holding_activate', recovered: false }, { kind: 'phase', phase: 'depositing' });
      effects.push({ kind: 'event', type: 'locker.deposited', riderId: h!.riderId, recovered: false });
      return { state: next, effects, outcome: done };
    }
    next = { ...next, phase: 'free', holding: undefined };
    effects.push({ kind: 'holding_drop' }, { kind: 'phase', phase: 'free' });
  } else if (r.kind === 'opened') {
    next = { ...next, phase: 'retrieving', holding: undefined };
    if (u.purpose === 'retrieve') {
      effects.push({ kind: 'holding_end', reason: 'retrieved' }, { kind: 'phase', phase: 'retrieving' });
      effects.push({ kind: 'event', type: 'locker.retrieved', riderId: h!.riderId, storedSince: h!.storedTs });
    } else {
      if (h) effects.push({ kind: 'holding_end', reason: 'forced_open' });
      effects.push({ kind: 'phase', phase: 'retrieving' });
      effects.push({ kind: 'event', type: 'locker.forced_open', reason: u.reason ?? '', by: u.actor, riderId: h?.riderId ?? null, overdue: h?.overdue ?? false });
    }
    return { state: next, effects, outcome: done };
  }
  // Stayed shut after every attempt: the compartment goes out of service (SPEC §6a). A forced
  // opening that did not open leaves the compartment as it was (maintenance sees the answer).
  if (r.kind === 'stayed_shut' && u.purpose !== 'forced_open') {
    const oos = outOfService(next, 'door_never_opened', 'station');
    return { state: oos.state, effects: [...effects, ...oos.effects], outcome: done };
  }
  return { state: next, effects, outcome: done };
}

function onDoor(s: CompartmentState, open: boolean, ctx: CompartmentContext): CompartmentStep {
  const was = s.door;
  if (open) {
    if (was === 'open') return { state: s, effects: [] };
    const next: CompartmentState = { ...s, door: 'open', doorOpenSinceMono: s.doorOpenSinceMono ?? ctx.mono };
    if (!openExpected(s, ctx.mono) && !s.forced) {
      return {
        state: { ...next, forced: true },
        effects: [
          { kind: 'log', level: 'error', message: 'door found open without an unlock' },
          { kind: 'fault', fault: forcedFault(s), on: true },
        ],
      };
    }
    return { state: next, effects: [] };
  }
  let next: CompartmentState = { ...s, door: 'closed', doorOpenSinceMono: undefined, leftOpenReported: false, forced: false };
  const effects: CompartmentEffect[] = s.forced ? [{ kind: 'fault', fault: forcedFault(s), on: false }] : [];
  if (s.phase === 'depositing' && s.holding) {
    // The storage clock starts when the door is seen closed again (SPEC §6a).
    next = { ...next, phase: 'held', holding: { ...s.holding, storedTs: ctx.now, storedMono: ctx.mono } };
    effects.push({ kind: 'storage_start' }, { kind: 'phase', phase: 'held' });
  } else if (s.phase === 'retrieving') {
    next = { ...next, phase: 'free' };
    effects.push({ kind: 'phase', phase: 'free' });
  }
  return { state: next, effects };
}

function onTick(s: CompartmentState, ctx: CompartmentContext): CompartmentStep {
  let next = s;
  const effects: CompartmentEffect[] = [];
  const h = s.holding;
  if (h && s.phase === 'held' && h.storedMono !== null && !h.overdue && ctx.mono - h.storedMono >= ctx.storageLimitMs) {
    next = { ...next, holding: { ...h, overdue: true } };
    effects.push({ kind: 'overdue' }, { kind: 'event', type: 'locker.overdue', riderId: h.riderId, storedSince: h.storedTs });
    effects.push({ kind: 'log', level: 'warn', message: 'locker overdue' });
  }
  if (s.door === 'open' && s.doorOpenSinceMono !== undefined && !s.leftOpenReported && ctx.mono - s.doorOpenSinceMono >= ctx.doorLeftOpenMs) {
    next = { ...next, leftOpenReported: true };
    effects.push({
      kind: 'event',
      type: 'locker.door_left_open',
      openForMs: Math.round(ctx.mono - s.doorOpenSinceMono),
      riderId: h?.riderId ?? null,
      state: s.phase,
    });
    effects.push({ kind: 'log', level: 'warn', message: 'locker door left open' });
  }
  return { state: next, effects };
}
