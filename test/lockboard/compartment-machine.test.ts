/**
 * The compartment machine (edge/core/lockers/machine.ts) against SPEC §6a, over random
 * sequences of everything that can happen to one compartment: deposits and retrieves by two
 * riders, forced openings, every unlock result, doors seen open and closed, a board lost, time
 * passing, service changes. The effects are replayed against a model of the ledger rows (the
 * holding and the unlock journal) the way the locker service applies them.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  handable,
  newCompartmentState,
  stepCompartment,
  type CompartmentContext,
  type CompartmentEffect,
  type CompartmentInput,
  type CompartmentState,
} from '../../edge/core/lockers/machine.ts';
import type { UnlockResult } from '../../edge/core/device-ports.ts';

const ATTEMPTS = 2;
const baseCtx = { unlockAttempts: ATTEMPTS, unlockGraceMs: 30_000, storageLimitMs: 3_600_000, doorLeftOpenMs: 120_000 };

const unlockResult: fc.Arbitrary<UnlockResult> = fc.oneof(
  fc.record({ kind: fc.constant('opened' as const), confirmedBy: fc.constantFrom('query' as const, 'reply' as const) }),
  fc.record({ kind: fc.constant('stayed_shut' as const), unlockReplied: fc.boolean() }),
  fc.record({ kind: fc.constant('no_answer' as const), error: fc.constantFrom('timeout' as const, 'bad_frame' as const, 'stopped' as const) }),
);
const rider = fc.constantFrom('rider-a', 'rider-b');
const input: fc.Arbitrary<CompartmentInput> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('deposit' as const), riderId: rider }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('retrieve' as const), riderId: rider }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('force_open' as const), by: fc.constant('ops-wang'), reason: fc.constant('overdue') }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('unlock_result' as const), result: unlockResult }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('door' as const), open: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ type: 'board_lost' as const }) },
  { weight: 3, arbitrary: fc.constant({ type: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'recover_opening' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('service' as const), inService: fc.boolean(), by: fc.constant('ops-wang'), reason: fc.constant('maintenance') }) },
);
/** Inputs with the seconds that pass before each (up to ~70 min, so timers come due). */
const history = fc.array(fc.tuple(input, fc.integer({ min: 0, max: 4200 })), { minLength: 1, maxLength: 60 });

interface Ledger {
  holding: 'opening' | 'active' | undefined;
  journalOpen: boolean;
  pulses: number;
  deposited: number;
  overdue: number;
  leftOpen: number;
}

/** Replay one step's effects on the ledger model; throws where the service would find no row. */
function apply(l: Ledger, effects: CompartmentEffect[], before: CompartmentState, after: CompartmentState): void {
  for (const e of effects) {
    switch (e.kind) {
      case 'holding_open':
        expect(l.holding).toBeUndefined(); // one open holding per compartment (the unique index)
        l.holding = 'opening';
        l.deposited = 0;
        l.overdue = 0;
        break;
      case 'holding_activate':
        expect(l.holding).toBe('opening');
        l.holding = 'active';
        break;
      case 'holding_drop':
        expect(l.holding).toBe('opening');
        l.holding = undefined;
        break;
      case 'holding_end':
        expect(l.holding).toBe('active');
        l.holding = undefined;
        break;
      case 'storage_start':
      case 'overdue':
        expect(l.holding).toBe('active');
        break;
      case 'record_unlock':
        expect(l.journalOpen).toBe(false); // one unlock in flight
        l.journalOpen = true;
        l.pulses = 0;
        break;
      case 'unlock':
        // No door is unlocked without its recorded intent, and never more than the attempts.
        expect(l.journalOpen).toBe(true);
        l.pulses++;
        expect(l.pulses).toBeLessThanOrEqual(ATTEMPTS);
        break;
      case 'end_unlock':
        expect(l.journalOpen).toBe(true);
        l.journalOpen = false;
        break;
      case 'event':
        if (e.type === 'locker.deposited') l.deposited++;
        if (e.type === 'locker.overdue') l.overdue++;
        if (e.type === 'locker.door_left_open') l.leftOpen++;
        break;
      default:
        break;
    }
  }
  if (before.door !== 'open' || after.door !== 'open') l.leftOpen = 0;
}

function check(steps: Array<[CompartmentInput, number]>, start: Partial<CompartmentState> = {}, holding?: Ledger['holding']): void {
  let s: CompartmentState = { ...newCompartmentState('1-5'), door: 'closed', ...start };
  const l: Ledger = { holding, journalOpen: false, pulses: 0, deposited: 0, overdue: 0, leftOpen: 0 };
  let mono = 1_000_000;
  for (const [i, seconds] of steps) {
    mono += seconds * 1000;
    const ctx: CompartmentContext = { ...baseCtx, mono, now: Date.UTC(2026, 11, 4) + mono };
    const wasHandable = handable(s);
    const r = stepCompartment(s, i, ctx);
    apply(l, r.effects, s, r.state);
    // A deposit is taken only by a compartment that may be handed out.
    if (i.type === 'deposit' && r.outcome?.kind === 'unlocking') expect(wasHandable).toBe(true);
    // A holding deposited only after its door was confirmed open (or recovered at start).
    if (r.effects.some((e) => e.kind === 'event' && e.type === 'locker.deposited')) {
      expect(i.type === 'recover_opening' || (i.type === 'unlock_result' && i.result.kind === 'opened')).toBe(true);
    }
    s = r.state;
    // Phase invariants (a deposit a restart interrupted is `opening` with no unlock until it is recovered).
    if (s.phase === 'opening' && !s.unlock) expect(i.type).not.toBe('recover_opening');
    expect(s.holding !== undefined).toBe(s.phase === 'opening' || s.phase === 'depositing' || s.phase === 'held');
    expect(l.holding !== undefined).toBe(s.holding !== undefined);
    if (s.phase === 'held') expect(s.holding!.storedMono).not.toBeNull();
    if (s.phase === 'opening' && s.unlock) expect(s.unlock.purpose).toBe('deposit');
    expect(l.journalOpen).toBe(s.unlock !== undefined);
    expect(l.deposited).toBeLessThanOrEqual(1);
    expect(l.overdue).toBeLessThanOrEqual(1);
    expect(l.leftOpen).toBeLessThanOrEqual(1);
  }
}

describe('compartment machine (SPEC §6a)', () => {
  it('never unlocks without a recorded intent, keeps one holding and the phase invariants, raises each timer once', () => {
    fc.assert(fc.property(history, (steps) => check(steps)), { numRuns: 3000 });
  });

  it('keeps them from any door state and service state at start', () => {
    fc.assert(
      fc.property(fc.constantFrom('open' as const, 'closed' as const, 'unknown' as const), fc.boolean(), history, (door, inService, steps) =>
        check(steps, { door, inService, doorOpenSinceMono: door === 'open' ? 1_000_000 : undefined }),
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps them after a restart that found a deposit interrupted (opening, no unlock) and recovers it', () => {
    fc.assert(
      fc.property(history, (steps) =>
        check(
          [[{ type: 'recover_opening' }, 0], ...steps],
          { phase: 'opening', door: 'unknown', holding: { riderId: 'rider-a', storedTs: null, storedMono: null, overdue: false } },
          'opening',
        ),
      ),
      { numRuns: 1000 },
    );
  });

  it('unlocks once more when the door stayed shut, then takes the compartment out of service', () => {
    const ctx = { ...baseCtx, mono: 0, now: 0 };
    let s: CompartmentState = { ...newCompartmentState('1-5'), door: 'closed' };
    let r = stepCompartment(s, { type: 'deposit', riderId: 'rider-a' }, ctx);
    expect(r.effects.map((e) => e.kind)).toEqual(['holding_open', 'phase', 'record_unlock', 'unlock']);
    s = r.state;
    r = stepCompartment(s, { type: 'unlock_result', result: { kind: 'stayed_shut', unlockReplied: true } }, ctx);
    expect(r.effects.map((e) => e.kind)).toEqual(['log', 'unlock']);
    s = r.state;
    r = stepCompartment(s, { type: 'unlock_result', result: { kind: 'stayed_shut', unlockReplied: true } }, ctx);
    expect(r.outcome).toEqual({ kind: 'done', purpose: 'deposit', outcome: 'stayed_shut' });
    expect(r.effects).toEqual(
      expect.arrayContaining([
        { kind: 'end_unlock', outcome: 'stayed_shut' },
        { kind: 'holding_drop' },
        { kind: 'service', inService: false, by: 'station', reason: 'door_never_opened' },
        { kind: 'fault', fault: 'door_stuck:1-5', on: true },
      ]),
    );
    expect(r.state).toMatchObject({ phase: 'free', inService: false, holding: undefined, unlock: undefined });
  });

  it('starts the storage clock when the door is seen closed after the deposit, and frees the compartment after the retrieve', () => {
    const ctx = (mono: number) => ({ ...baseCtx, mono, now: 5_000 + mono });
    let s: CompartmentState = { ...newCompartmentState('1-5'), door: 'closed' };
    s = stepCompartment(s, { type: 'deposit', riderId: 'rider-a' }, ctx(0)).state;
    s = stepCompartment(s, { type: 'unlock_result', result: { kind: 'opened', confirmedBy: 'query' } }, ctx(10)).state;
    s = stepCompartment(s, { type: 'door', open: true }, ctx(20)).state;
    expect(s.forced).toBe(false);
    s = stepCompartment(s, { type: 'door', open: false }, ctx(30)).state;
    expect(s).toMatchObject({ phase: 'held', holding: { riderId: 'rider-a', storedTs: 5_030, storedMono: 30 } });
    const overdue = stepCompartment(s, { type: 'tick' }, ctx(30 + baseCtx.storageLimitMs));
    expect(overdue.effects).toContainEqual({ kind: 'event', type: 'locker.overdue', riderId: 'rider-a', storedSince: 5_030 });
    s = stepCompartment(overdue.state, { type: 'retrieve', riderId: 'rider-a' }, ctx(40)).state;
    const done = stepCompartment(s, { type: 'unlock_result', result: { kind: 'opened', confirmedBy: 'reply' } }, ctx(50));
    expect(done.effects).toContainEqual({ kind: 'event', type: 'locker.retrieved', riderId: 'rider-a', storedSince: 5_030 });
    s = stepCompartment(done.state, { type: 'door', open: false }, ctx(60)).state;
    expect(s).toMatchObject({ phase: 'free', holding: undefined });
    expect(handable(s)).toBe(true);
  });

  it('calls a door found open without an unlock forced, and not one found open soon after an unanswered unlock', () => {
    const ctx = (mono: number) => ({ ...baseCtx, mono, now: mono });
    const s: CompartmentState = { ...newCompartmentState('1-5'), door: 'closed' };
    const forced = stepCompartment(s, { type: 'door', open: true }, ctx(0));
    expect(forced.effects).toContainEqual({ kind: 'fault', fault: 'door_forced:1-5', on: true });
    expect(handable(forced.state)).toBe(false);
    let t = stepCompartment(s, { type: 'force_open', by: 'ops-wang', reason: 'check' }, ctx(0)).state;
    t = stepCompartment(t, { type: 'unlock_result', result: { kind: 'no_answer', error: 'timeout' } }, ctx(1000)).state;
    expect(stepCompartment(t, { type: 'door', open: true }, ctx(1000 + baseCtx.unlockGraceMs)).state.forced).toBe(false);
    expect(stepCompartment(t, { type: 'door', open: true }, ctx(1001 + baseCtx.unlockGraceMs)).state.forced).toBe(true);
  });
});
