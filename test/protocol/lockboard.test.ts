/**
 * Lock-board codec and stream parser (SPEC §6, contract): the examples of the contract, codec
 * round trips, and the parser's promise that "bytes may arrive split, joined, behind garbage,
 * corrupted" without losing or inventing frames.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameParser,
  PROFILE_8A80,
  checksum,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  hex,
  replyLengthFor,
  type LockReply,
  type LockRequest,
  type ReplyKind,
} from '../../protocol/lockboard/index.ts';
import { REPLY_KINDS, arbitraries, expectEveryByteAccounted, pushAll, splitAt, total } from './lockboard-arbitraries.ts';

const P = PROFILE_8A80;
const HEADERS = new Set([0x8a, 0x80, 0x81]);
const bytes = (...b: number[]) => Buffer.from(b);

// ---- arbitraries -------------------------------------------------------------------------

const { request, replyOf } = arbitraries(P);
const replyKind = fc.constantFrom(...REPLY_KINDS);
const anyReply = fc.oneof(...REPLY_KINDS.map(replyOf));

/** Replies that are all 5 bytes long, so they can be mixed in one stream without `expect`. */
const fiveByteReply = fc.oneof(replyOf('unlock'), replyOf('unlockAll'), replyOf('query'), replyOf('probe'));

function replyParser(kind?: ReplyKind): FrameParser {
  const p = FrameParser.forReplies();
  p.expect(kind);
  return p;
}


// ---- tests ---------------------------------------------------------------------------------

describe('lock-board codec: SPEC §6 examples', () => {
  it('encodes "unlock board 1 lock 1" as 8A 01 01 11 9B', () => {
    expect(hex(encodeRequest({ kind: 'unlock', board: 1, lock: 1 }))).toBe('8A 01 01 11 9B');
  });

  it('decodes the reply 8A 01 01 00 8A as lock 1 of board 1 open', () => {
    expect(decodeReply(bytes(0x8a, 0x01, 0x01, 0x00, 0x8a), 'unlock')).toEqual({
      kind: 'unlock',
      board: 1,
      lock: 1,
      open: true,
    });
  });

  it('decodes an unlock reply with status 11 as a door that stayed shut', () => {
    expect(decodeReply(encodeReply({ kind: 'unlock', board: 1, lock: 1, open: false }), 'unlock')).toMatchObject({
      open: false,
    });
    expect(hex(encodeReply({ kind: 'unlock', board: 1, lock: 1, open: false }))).toBe('8A 01 01 11 9B');
  });

  it('encodes "query all of board 1" as 80 01 00 33 B2', () => {
    expect(hex(encodeRequest({ kind: 'queryAll', board: 1 }))).toBe('80 01 00 33 B2');
  });

  it('answers a probe with the same five bytes echoed', () => {
    const req = encodeRequest({ kind: 'probe', board: 7 });
    expect(hex(req)).toBe('81 07 01 99 1E');
    expect(encodeReply({ kind: 'probe', board: 7 })).toEqual(req);
    expect(decodeReply(req, 'probe')).toEqual({ kind: 'probe', board: 7 });
  });

  it('puts lock 1 in bit 0 of the last bitmap byte (S1-8) of a query-all reply, bit set = closed', () => {
    const closed = new Array<boolean>(24).fill(false);
    closed[0] = true; // lock 1
    const frame = encodeReply({ kind: 'queryAll', board: 1, closed });
    // 80 bb S17-24 S9-16 S1-8 33 x
    expect(hex(frame.subarray(0, 6))).toBe('80 01 00 00 01 33');
    expect(frame[6]).toBe(checksum('xor', frame, 6));
  });

  it('reads a query-all bitmap with lock 9 in S9-16 and lock 24 in bit 7 of S17-24', () => {
    const body = [0x80, 0x02, 0x80, 0x01, 0x01, 0x33];
    const frame = bytes(...body, checksum('xor', Uint8Array.from(body)));
    const reply = decodeReply(frame, 'queryAll');
    expect(reply?.kind).toBe('queryAll');
    const closed = (reply as Extract<LockReply, { kind: 'queryAll' }>).closed;
    expect(closed).toHaveLength(24);
    const closedLocks = closed.flatMap((c, i) => (c ? [i + 1] : []));
    expect(closedLocks).toEqual([1, 9, 24]);
  });

  it('refuses a reply with a wrong BCC, wrong header or wrong length', () => {
    expect(decodeReply(bytes(0x8a, 0x01, 0x01, 0x00, 0x8b), 'unlock')).toBeUndefined();
    expect(decodeReply(bytes(0x80, 0x01, 0x01, 0x00, 0x80), 'unlock')).toBeUndefined();
    expect(decodeReply(bytes(0x8a, 0x01, 0x01, 0x00), 'unlock')).toBeUndefined();
    expect(decodeRequest(bytes(0x8a, 0x01, 0x01, 0x11, 0x9a))).toBeUndefined();
  });

  it.each([
    ['board 0', { kind: 'unlock', board: 0, lock: 1 }],
    ['board 32', { kind: 'unlock', board: 32, lock: 1 }],
    ['lock 0', { kind: 'unlock', board: 1, lock: 0 }],
    ['lock 25', { kind: 'query', board: 1, lock: 25 }],
    ['board 0 in a query-all', { kind: 'queryAll', board: 0 }],
    ['a fractional board', { kind: 'probe', board: 1.5 }],
  ] as [string, LockRequest][])('refuses to encode a request for %s with a RangeError', (_name, req) => {
    expect(() => encodeRequest(req)).toThrow(RangeError);
  });
});

describe('lock-board codec: round trips', () => {
  it('decodes every encoded request back to itself (boards 1–31, locks 1–24)', () => {
    fc.assert(
      fc.property(request, (req) => {
        const frame = encodeRequest(req);
        expect(frame).toHaveLength(5);
        expect(frame[4]).toBe(checksum('xor', frame, 4));
        expect(decodeRequest(frame)).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes every encoded reply back to itself', () => {
    fc.assert(
      fc.property(anyReply, (reply) => {
        const frame = encodeReply(reply);
        expect(frame).toHaveLength(replyLengthFor(reply.kind));
        expect(frame[frame.length - 1]).toBe(checksum('xor', frame, frame.length - 1));
        expect(decodeReply(frame, reply.kind)).toEqual(reply);
      }),
      { numRuns: 500 },
    );
  });
});

describe('lock-board parser', () => {
  it('yields the same frames for any split of a valid stream of one reply kind', () => {
    fc.assert(
      fc.property(
        replyKind.chain((kind) => fc.tuple(fc.constant(kind), fc.array(replyOf(kind), { minLength: 1, maxLength: 12 }))),
        fc.array(fc.nat(), { maxLength: 30 }),
        ([kind, replies], cuts) => {
          const frames = replies.map((r) => encodeReply(r));
          const stream = Buffer.concat(frames);
          const whole = pushAll(replyParser(kind), [stream]);
          const split = replyParser(kind);
          const parts = pushAll(split, splitAt(stream, cuts));
          expect(parts.frames).toEqual(whole.frames);
          expect(parts.frames).toEqual(frames);
          expect(parts.discarded).toEqual([]);
          expect(split.pending).toBe(0);
          expect(parts.frames.map((f) => decodeReply(f, kind))).toEqual(replies);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('yields the same frames for any split of a stream mixing unlock, probe and query replies', () => {
    fc.assert(
      fc.property(
        fc.array(fiveByteReply, { minLength: 1, maxLength: 15 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom<ReplyKind | undefined>(undefined, 'query', 'unlock', 'probe'),
        (replies, cuts, expected) => {
          const frames = replies.map((r) => encodeReply(r));
          const stream = Buffer.concat(frames);
          const whole = pushAll(replyParser(expected), [stream]);
          const parts = pushAll(replyParser(expected), splitAt(stream, cuts));
          expect(parts.frames).toEqual(whole.frames);
          expect(parts.frames).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on random garbage, yields only checksum-valid frames and accounts for every byte', () => {
    fc.assert(
      fc.property(
        // Mostly noise, with real frames mixed in so that some frames do come out.
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
            { weight: 1, arbitrary: anyReply.map((r) => Uint8Array.from(encodeReply(r))) },
          ),
          { maxLength: 20 },
        ),
        fc.constantFrom<ReplyKind | undefined>(undefined, ...REPLY_KINDS),
        (chunks, expected) => {
          const parser = replyParser(expected);
          const { frames, discarded } = pushAll(
            parser,
            chunks.map((c) => Buffer.from(c)),
          );
          for (const f of frames) {
            expect(HEADERS.has(f[0]!)).toBe(true);
            expect(f[1]).toBeGreaterThanOrEqual(P.minAddress);
            expect(f[1]).toBeLessThanOrEqual(P.maxAddress);
            expect(f[f.length - 1]).toBe(checksum(P.checksum, f, f.length - 1));
          }
          expectEveryByteAccounted(parser, chunks.reduce((n, c) => n + c.length, 0), frames, discarded);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('recovers every valid frame behind garbage that contains no header byte', () => {
    const garbage = fc.uint8Array({ maxLength: 12 }).map((g) => Buffer.from(g.filter((b) => !HEADERS.has(b))));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(garbage, fiveByteReply), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (pairs, cuts) => {
          const frames = pairs.map(([, r]) => encodeReply(r));
          const stream = Buffer.concat(pairs.flatMap(([g], i) => [g, frames[i]!]));
          const parser = replyParser();
          const out = pushAll(parser, splitAt(stream, cuts));
          expect(out.frames).toEqual(frames);
          expect(total(out.discarded)).toBe(total(pairs.map(([g]) => g)));
          expect(parser.pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('recovers query-all replies behind garbage when it expects query-all', () => {
    const garbage = fc.uint8Array({ maxLength: 12 }).map((g) => Buffer.from(g.filter((b) => !HEADERS.has(b))));
    fc.assert(
      fc.property(fc.array(fc.tuple(garbage, replyOf('queryAll')), { minLength: 1, maxLength: 8 }), (pairs) => {
        const frames = pairs.map(([, r]) => encodeReply(r));
        const stream = Buffer.concat(pairs.flatMap(([g], i) => [g, frames[i]!]));
        expect(pushAll(replyParser('queryAll'), [stream]).frames).toEqual(frames);
      }),
      { numRuns: 200 },
    );
  });

  it('drops a frame with a corrupted BCC and still yields the valid frame after it', () => {
    // The SPEC §6 reply 8A 01 01 00 8A ends in a header byte; a damaged frame whose BCC byte is
    // that same 0x8A must not make the parser take `8A 8A 01 01 00` as a frame and lose it.
    const damaged = bytes(0x8a, 0x02, 0x01, 0x00, 0x8a); // its BCC should be 0x89
    const good = bytes(0x8a, 0x01, 0x01, 0x00, 0x8a);
    const parser = replyParser('unlock');
    const out = pushAll(parser, [Buffer.concat([damaged, good])]);
    expect(out.frames).toEqual([good]);
    expect(total(out.discarded)).toBe(5);
    expect(parser.pending).toBe(0);
  });

  it('never yields a frame with a corrupted BCC and keeps every valid frame around it (any split)', () => {
    const badBcc = fc.oneof(fc.constantFrom(0x80, 0x81, 0x8a), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fiveByteReply, fc.boolean(), badBcc), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.constantFrom<ReplyKind | undefined>(undefined, 'query', 'unlock'),
        (items, cuts, expected) => {
          const frames = items.map(([r, corrupt, bcc]) => {
            const f = encodeReply(r);
            if (corrupt) f[4] = bcc === f[4] ? f[4]! ^ 0xff : bcc;
            return { f, corrupt };
          });
          const stream = Buffer.concat(frames.map((x) => x.f));
          const out = pushAll(replyParser(expected), splitAt(stream, cuts));
          expect(out.frames).toEqual(frames.filter((x) => !x.corrupt).map((x) => x.f));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('waits for the rest of a frame that arrives one byte at a time', () => {
    const frame = encodeReply({ kind: 'queryAll', board: 3, closed: new Array<boolean>(24).fill(true) });
    const parser = replyParser('queryAll');
    for (let i = 0; i < frame.length - 1; i++) {
      expect(parser.push(frame.subarray(i, i + 1)).frames).toEqual([]);
      expect(parser.pending).toBe(i + 1);
    }
    expect(parser.push(frame.subarray(frame.length - 1)).frames).toEqual([frame]);
    expect(parser.pending).toBe(0);
  });

  it('splits requests for the simulator with the request parser', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (reqs, cuts) => {
        const frames = reqs.map((r) => encodeRequest(r));
        const out = pushAll(FrameParser.forRequests(), splitAt(Buffer.concat(frames), cuts));
        expect(out.frames.map((f) => decodeRequest(f))).toEqual(reqs);
      }),
      { numRuns: 200 },
    );
  });
});
