/**
 * The claim machine (edge/core/claims/machine.ts) against SPEC §3 rule 4 and §5 rules 1–4, over
 * random sequences of everything that can happen to one claim: the send, dispenser answers,
 * late events, query answers, timeouts, restarts and maintenance decisions, at random times.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { holdsQuota, type ClaimStatus } from '../../protocol/index.ts';
import {
  CLAIM_TRANSITIONS,
  INDETERMINATE,
  NOT_SENT,
  mayMove,
  stepClaim,
  type ClaimEffect,
  type ClaimFacts,
  type ClaimInput,
  type DeviceWord,
} from '../../edge/core/claims/machine.ts';

const T0 = Date.UTC(2026, 11, 4, 2, 0, 0);
const MARGIN = 600_000;

const word: fc.Arbitrary<DeviceWord> = fc.oneof(
  fc.constant({ result: 'dropped' as const }),
  fc.record({ result: fc.constantFrom('rejected' as const, 'failed' as const), reason: fc.constantFrom('jam', 'busy', 'out_of_stock', 'expired') }),
  fc.constant({ result: 'indeterminate' as const }),
  fc.constant({ result: 'unknown' as const }),
  fc.constant({ result: 'timeout' as const }),
);

const input: fc.Arbitrary<ClaimInput> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'send' as const }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('device' as const), word, source: fc.constantFrom('dispenser' as const, 'late_event' as const, 'query' as const) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('maintenance' as const), outcome: fc.constantFrom('committed' as const, 'released' as const), by: fc.constant('ops-wang') }) },
);

/** Inputs with the minutes that pass before each (so `never_received` can come up). */
const history = fc.array(fc.tuple(input, fc.integer({ min: 0, max: 20 })), { minLength: 1, maxLength: 40 });

interface Run {
  statuses: ClaimStatus[];
  effects: Array<{ input: ClaimInput; from: ClaimStatus; to: ClaimStatus; effects: ClaimEffect[] }>;
}

function run(steps: Array<[ClaimInput, number]>): Run {
  let c: ClaimFacts = { id: 'claim-1', status: 'reserved', reason: null, createdTs: T0, expiresAt: T0 + 8_000 };
  let now = T0;
  const out: Run = { statuses: ['reserved'], effects: [] };
  for (const [i, minutes] of steps) {
    now += minutes * 60_000;
    const r = stepClaim(c, i, { now, neverReceivedMarginMs: MARGIN });
    out.effects.push({ input: i, from: c.status, to: r.status, effects: r.effects });
    c = { ...c, status: r.status, reason: r.reason };
    out.statuses.push(c.status);
  }
  return out;
}

describe('claim machine (SPEC §3 rule 4, §5)', () => {
  it('never sends one claim twice, whatever happens to it', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const r = run(steps);
        const publishes = r.effects.flatMap((s) => s.effects).filter((e) => e.kind === 'publish');
        expect(publishes.length).toBeLessThanOrEqual(1);
        // …and only a reserved claim is sent, becoming dispensing.
        for (const s of r.effects) if (s.effects.some((e) => e.kind === 'publish')) expect([s.from, s.to]).toEqual(['reserved', 'dispensing']);
      }),
      { numRuns: 2000 },
    );
  });

  it('moves only along the transition table, and a committed or released claim never leaves it', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const r = run(steps);
        for (const s of r.effects) {
          if (s.from !== s.to) expect(CLAIM_TRANSITIONS[s.from]).toContain(s.to);
          if (s.from === 'committed' || s.from === 'released') {
            expect(s.to).toBe(s.from);
            expect(s.effects.filter((e) => e.kind !== 'contradiction')).toEqual([]);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('writes one settlement per status change, naming the status it moves to, and at most one final one', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const r = run(steps);
        let finals = 0;
        for (const s of r.effects) {
          const settles = s.effects.filter((e) => e.kind === 'settle');
          if (s.from === s.to || (s.from === 'reserved' && s.to === 'dispensing')) expect(settles).toEqual([]);
          else expect(settles).toEqual([expect.objectContaining({ to: s.to })]);
          finals += settles.filter((e) => e.kind === 'settle' && e.to !== 'unknown').length;
        }
        expect(finals).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('commits a sent, open claim on the dispenser\'s word that the bottle dropped: no drop without its committed claim', () => {
    fc.assert(
      fc.property(history, fc.constantFrom('dispenser' as const, 'late_event' as const, 'query' as const), (steps, source) => {
        const r = run([...steps, [{ type: 'device', word: { result: 'dropped' }, source }, 0]]);
        const before = r.statuses.at(-2)!;
        const after = r.statuses.at(-1)!;
        if (before === 'dispensing' || before === 'unknown') expect(after).toBe('committed');
        if (before === 'released') expect(r.effects.at(-1)!.effects).toEqual([{ kind: 'contradiction', word: { result: 'dropped' } }]);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the quota back only on a refusal, a failed vend, a never-sent or never-received command, or maintenance', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const r = run(steps);
        for (const s of r.effects) {
          if (s.to !== 'released' || s.from === 'released') continue;
          const i = s.input;
          const ok =
            (i.type === 'device' && (i.word.result === 'rejected' || i.word.result === 'failed')) ||
            (i.type === 'device' && i.word.result === 'unknown' && i.source === 'query' && s.from === 'unknown' && s.effects[0]?.kind === 'settle' && s.effects[0].reason === 'never_received') ||
            (i.type === 'restart' && s.from === 'reserved') ||
            (i.type === 'maintenance' && i.outcome === 'released');
          expect(ok, JSON.stringify(s)).toBe(true);
        }
        // The quota is held in every status but released (SPEC §3 rule 3).
        for (const st of r.statuses) expect(holdsQuota(st)).toBe(st !== 'released');
      }),
      { numRuns: 2000 },
    );
  });

  it('at a restart releases a claim never sent and makes one in flight unknown, to be queried', () => {
    const at = (status: ClaimStatus) => stepClaim({ id: 'c', status, reason: null, createdTs: T0, expiresAt: T0 + 8000 }, { type: 'restart' }, { now: T0, neverReceivedMarginMs: MARGIN });
    expect(at('reserved')).toEqual({ status: 'released', reason: NOT_SENT, effects: [{ kind: 'settle', to: 'released', reason: NOT_SENT, by: 'station' }] });
    expect(at('dispensing')).toEqual({ status: 'unknown', reason: 'restart', effects: [{ kind: 'settle', to: 'unknown', reason: 'restart' }] });
    for (const s of ['unknown', 'committed', 'released'] as const) expect(at(s).effects).toEqual([]);
  });

  it('keeps an indeterminate vend for maintenance: later queries do not release it, maintenance does', () => {
    const ctx = { now: T0 + 3_600_000, neverReceivedMarginMs: MARGIN };
    let c: ClaimFacts = { id: 'c', status: 'dispensing', reason: null, createdTs: T0, expiresAt: T0 + 8000 };
    const s1 = stepClaim(c, { type: 'device', word: { result: 'indeterminate' }, source: 'dispenser' }, ctx);
    expect(s1).toMatchObject({ status: 'unknown', reason: INDETERMINATE });
    c = { ...c, status: s1.status, reason: s1.reason };
    // Long after expiry a query's `unknown` releases a claim the device never saw, but not this one.
    expect(stepClaim(c, { type: 'device', word: { result: 'unknown' }, source: 'query' }, ctx).status).toBe('unknown');
    expect(mayMove('unknown', 'committed')).toBe(true);
    const s2 = stepClaim(c, { type: 'maintenance', outcome: 'committed', by: 'ops-wang' }, ctx);
    expect(s2).toMatchObject({ status: 'committed', effects: [{ kind: 'settle', to: 'committed', by: 'ops-wang' }] });
  });
});
