import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalJson, canonicalJsonOfParsed, hashEvent, sealEvent, verifyChain, type ChainCheck, type StationEvent } from '../../protocol/index.ts';

/** The chain rule spelled out with the RFC 8785 library (hashEvent), as the reference. */
function referenceVerify(events: readonly StationEvent[], prevSeq: number, prevHash: string): ChainCheck {
  let seq = prevSeq;
  let hash = prevHash;
  for (const e of events) {
    if (e.seq !== seq + 1) return { ok: false, seq: e.seq, reason: 'seq_not_contiguous' };
    if (hashEvent(hash, e) !== e.hash) return { ok: false, seq: e.seq, reason: 'hash_mismatch' };
    seq = e.seq;
    hash = e.hash;
  }
  return { ok: true, lastHash: hash, lastSeq: seq };
}

// Values as they come out of JSON.parse of an upload body.
const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const data = fc.dictionary(fc.string(), jsonValue, { maxKeys: 8 }).map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

describe('verifyChain (fast canonical JSON of parsed values) agrees with the RFC 8785 library (SPEC §9 hash rule)', () => {
  it('serialises any parsed JSON value exactly as the RFC 8785 library does', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(canonicalJsonOfParsed(v)).toBe(canonicalJson(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the JSON.stringify shortcut only when that is the canonical form (data the edge stored in canonical order)', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        const stored = JSON.parse(canonicalJson(v)) as unknown;
        expect(canonicalJsonOfParsed(stored)).toBe(canonicalJson(v));
      }),
      { numRuns: 2000 },
    );
    // Integer-like keys: JSON.parse orders them numerically ("9" before "10"), RFC 8785 by code units.
    const parsed = JSON.parse('{"b":{"9":1,"10":2},"a":[{"y":1,"x":2}]}') as unknown;
    expect(canonicalJsonOfParsed(parsed)).toBe('{"a":[{"x":2,"y":1}],"b":{"10":2,"9":1}}');
    expect(canonicalJsonOfParsed(JSON.parse('{"a":{"10":2,"9":1}}'))).toBe('{"a":{"10":2,"9":1}}');
  });

  it('accepts exactly the chains protocol accepts, and finds the same break', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.nat(), data), { minLength: 1, maxLength: 12 }), fc.nat(), fc.boolean(), (specs, pick, tamper) => {
        let hash = GENESIS_HASH;
        const events: StationEvent[] = specs.map(([type, ts, d], i) => {
          const e = sealEvent(hash, { seq: i + 1, type: type || 'x', ts, day: '2026-11-23', data: d });
          hash = e.hash;
          return e;
        });
        if (tamper) {
          const i = pick % events.length;
          events[i] = { ...events[i]!, ts: events[i]!.ts + 1 };
        }
        // As stored or uploaded: through JSON, so the data is what JSON.parse gives.
        const parsed = JSON.parse(JSON.stringify(events)) as StationEvent[];
        const dataJson: string[] = [];
        const fast = verifyChain(parsed, 0, GENESIS_HASH, dataJson);
        expect(fast).toEqual(referenceVerify(events, 0, GENESIS_HASH));
        if (fast.ok) expect(dataJson).toEqual(events.map((e) => canonicalJson(e.data)));
        expect(hashEvent(GENESIS_HASH, events[0]!)).toBeTypeOf('string');
      }),
      { numRuns: 500 },
    );
  });
});
