/**
 * The second lock-board profile (SPEC §6: "a second board family (Kerong CU16-style:
 * `02 ADDR CMD 03 SUM`) can be added as a profile, not a rewrite"): the same codec and stream
 * parser driven by PROFILE_KERONG_CU16 — STX/ETX framing, an 8-bit sum, 16 locks, a 2-byte
 * bitmap — and the frame layouts as data, with the 8A80 bytes unchanged.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameParser,
  PROFILE_8A80,
  PROFILE_KERONG_CU16,
  checksum,
  decodeReply,
  decodeRequest,
  defineProfile,
  encodeReply,
  encodeRequest,
  hex,
  lockBoardProfile,
  profileProblems,
  replyLengthFor,
  type BoardProfile,
  type LockReply,
  type LockRequest,
  type ReplyKind,
} from '../../protocol/lockboard/index.ts';
import { REPLY_KINDS, arbitraries, expectEveryByteAccounted, pushAll, splitAt, total } from './lockboard-arbitraries.ts';

const K = PROFILE_KERONG_CU16;
const STX = 0x02;
const ETX = 0x03;
const bytes = (...b: number[]) => Buffer.from(b);

// ---- arbitraries -------------------------------------------------------------------------

const { request, replyOf } = arbitraries(K);
const replyKind = fc.constantFrom(...REPLY_KINDS);
const anyReply = fc.oneof(...REPLY_KINDS.map(replyOf));
/** Unlock and query replies are both 7 bytes, so they share a stream under one `expect`. */
const sevenByteReply = fc.oneof(replyOf('unlock'), replyOf('query'));

function replyParser(kind?: ReplyKind): FrameParser {
  const p = FrameParser.forReplies(K);
  p.expect(kind);
  return p;
}

const kEncodeReq = (r: LockRequest) => encodeRequest(r, K);
const kEncodeReply = (r: LockReply) => encodeReply(r, K);

/** What every frame of this profile looks like: STX, an address 1–15, ETX, then a valid SUM. */
function expectKerongEnvelope(f: Buffer): void {
  expect(f[0]).toBe(STX);
  expect(f[1]).toBeGreaterThanOrEqual(K.minAddress);
  expect(f[1]).toBeLessThanOrEqual(K.maxAddress);
  expect(f[f.length - 2]).toBe(ETX);
  expect(f[f.length - 1]).toBe(checksum('sum8', f, f.length - 1));
}

// ---- tests ---------------------------------------------------------------------------------

describe('Kerong CU16-style profile: frames', () => {
  it('encodes "unlock board 1 lock 5" as 02 01 05 51 03 5C (SUM = 8-bit sum, not XOR)', () => {
    const f = kEncodeReq({ kind: 'unlock', board: 1, lock: 5 });
    expect(hex(f)).toBe('02 01 05 51 03 5C');
    expect(checksum('xor', f, 5)).not.toBe(f[5]);
  });

  it('encodes query-all, query, unlock-all and probe with lock byte 00 where no lock is meant', () => {
    expect(hex(kEncodeReq({ kind: 'queryAll', board: 1 }))).toBe('02 01 00 50 03 56');
    expect(hex(kEncodeReq({ kind: 'query', board: 2, lock: 16 }))).toBe('02 02 10 52 03 69');
    expect(hex(kEncodeReq({ kind: 'unlockAll', board: 15 }))).toBe('02 0F 00 51 03 65');
    expect(hex(kEncodeReq({ kind: 'probe', board: 3 }))).toBe('02 03 00 53 03 5B');
  });

  it('answers unlock and query with the command echoed and a status byte, 01 = open, 00 = shut', () => {
    expect(hex(kEncodeReply({ kind: 'unlock', board: 1, lock: 5, open: true }))).toBe('02 01 05 51 01 03 5D');
    expect(hex(kEncodeReply({ kind: 'query', board: 1, lock: 5, open: false }))).toBe('02 01 05 52 00 03 5D');
    expect(decodeReply(bytes(0x02, 0x01, 0x05, 0x51, 0x01, 0x03, 0x5d), 'unlock', K)).toEqual({ kind: 'unlock', board: 1, lock: 5, open: true });
  });

  it('carries a 2-byte query-all bitmap S9-16 S1-8 with lock 1 in bit 0 of S1-8, bit set = open', () => {
    const closed = new Array<boolean>(16).fill(true);
    closed[0] = false; // lock 1 open
    closed[15] = false; // lock 16 open
    const f = kEncodeReply({ kind: 'queryAll', board: 1, closed });
    expect(hex(f)).toBe('02 01 00 50 80 01 03 D7');
    expect(f).toHaveLength(replyLengthFor('queryAll', K));
    const back = decodeReply(f, 'queryAll', K) as Extract<LockReply, { kind: 'queryAll' }>;
    expect(back.closed.flatMap((c, i) => (c ? [] : [i + 1]))).toEqual([1, 16]);
  });

  it('echoes a probe and an unlock-all as the six request bytes', () => {
    expect(kEncodeReply({ kind: 'probe', board: 3 })).toEqual(kEncodeReq({ kind: 'probe', board: 3 }));
    expect(kEncodeReply({ kind: 'unlockAll', board: 4 })).toEqual(kEncodeReq({ kind: 'unlockAll', board: 4 }));
  });

  it('refuses a frame with a wrong SUM, ETX, command echo, address or status', () => {
    const good = bytes(0x02, 0x01, 0x05, 0x51, 0x01, 0x03, 0x5d);
    expect(decodeReply(good, 'unlock', K)).toBeDefined();
    const withByte = (i: number, v: number) => {
      const f = Buffer.from(good);
      f[i] = v;
      f[6] = checksum('sum8', f, 6); // a valid SUM, so only the named byte is wrong
      return f;
    };
    expect(decodeReply(bytes(0x02, 0x01, 0x05, 0x51, 0x01, 0x03, 0x5e), 'unlock', K)).toBeUndefined(); // SUM
    expect(decodeReply(withByte(5, 0x04), 'unlock', K)).toBeUndefined(); // ETX
    expect(decodeReply(withByte(3, 0x52), 'unlock', K)).toBeUndefined(); // a query reply is no unlock reply
    expect(decodeReply(withByte(1, 0x10), 'unlock', K)).toBeUndefined(); // address 16 > 15
    expect(decodeReply(withByte(4, 0x11), 'unlock', K)).toBeUndefined(); // 8A80's "shut" is no status here
    expect(decodeReply(withByte(2, 0x11), 'unlock', K)).toBeUndefined(); // lock 17 > 16
  });

  it.each([
    ['board 0', { kind: 'unlock', board: 0, lock: 1 }],
    ['board 16', { kind: 'queryAll', board: 16 }],
    ['lock 17', { kind: 'query', board: 1, lock: 17 }],
  ] as [string, LockRequest][])('refuses to encode a request for %s with a RangeError', (_name, req) => {
    expect(() => kEncodeReq(req)).toThrow(RangeError);
  });

  it('does not take an 8A80 frame for a Kerong one, or the other way round', () => {
    expect(decodeRequest(encodeRequest({ kind: 'unlock', board: 1, lock: 1 }), K)).toBeUndefined();
    expect(decodeRequest(kEncodeReq({ kind: 'unlock', board: 1, lock: 1 }))).toBeUndefined();
  });
});

describe('Kerong CU16-style profile: round trips', () => {
  it('decodes every encoded request back to itself (boards 1–15, locks 1–16)', () => {
    fc.assert(
      fc.property(request, (req) => {
        const frame = kEncodeReq(req);
        expect(frame).toHaveLength(6);
        expectKerongEnvelope(frame);
        expect(decodeRequest(frame, K)).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes every encoded reply back to itself', () => {
    fc.assert(
      fc.property(anyReply, (reply) => {
        const frame = kEncodeReply(reply);
        expect(frame).toHaveLength(replyLengthFor(reply.kind, K));
        expectKerongEnvelope(frame);
        expect(decodeReply(frame, reply.kind, K)).toEqual(reply);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Kerong CU16-style profile: stream parser', () => {
  it('yields the same frames for any split of a valid stream of one reply kind', () => {
    fc.assert(
      fc.property(
        replyKind.chain((kind) => fc.tuple(fc.constant(kind), fc.array(replyOf(kind), { minLength: 1, maxLength: 12 }))),
        fc.array(fc.nat(), { maxLength: 30 }),
        ([kind, replies], cuts) => {
          const frames = replies.map(kEncodeReply);
          const stream = Buffer.concat(frames);
          const whole = pushAll(replyParser(kind), [stream]);
          const split = replyParser(kind);
          const parts = pushAll(split, splitAt(stream, cuts));
          expect(parts.frames).toEqual(whole.frames);
          expect(parts.frames).toEqual(frames);
          expect(parts.discarded).toEqual([]);
          expect(split.pending).toBe(0);
          expect(parts.frames.map((f) => decodeReply(f, kind, K))).toEqual(replies);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('yields the same frames for any split of a stream mixing unlock and query replies', () => {
    fc.assert(
      fc.property(
        fc.array(sevenByteReply, { minLength: 1, maxLength: 15 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom<ReplyKind>('query', 'unlock'),
        (replies, cuts, expected) => {
          const frames = replies.map(kEncodeReply);
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

  it('never throws on random garbage, yields only frames with a valid SUM and ETX, and accounts for every byte', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
            // STX-heavy noise: the one header byte is also a common address, lock and bitmap value.
            { weight: 1, arbitrary: fc.array(fc.constantFrom(0x02, 0x03, 0x01, 0x50, 0x51, 0x52), { maxLength: 20 }).map((a) => Uint8Array.from(a)) },
            { weight: 1, arbitrary: anyReply.map((r) => Uint8Array.from(kEncodeReply(r))) },
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
          for (const f of frames) expectKerongEnvelope(f);
          expectEveryByteAccounted(parser, chunks.reduce((n, c) => n + c.length, 0), frames, discarded);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('recovers every valid frame behind garbage that contains no STX', () => {
    const garbage = fc.uint8Array({ maxLength: 12 }).map((g) => Buffer.from(g.filter((b) => b !== STX)));
    fc.assert(
      fc.property(
        replyKind.chain((kind) => fc.tuple(fc.constant(kind), fc.array(fc.tuple(garbage, replyOf(kind)), { minLength: 1, maxLength: 10 }))),
        fc.array(fc.nat(), { maxLength: 20 }),
        ([kind, pairs], cuts) => {
          const frames = pairs.map(([, r]) => kEncodeReply(r));
          const stream = Buffer.concat(pairs.flatMap(([g], i) => [g, frames[i]!]));
          const parser = replyParser(kind);
          const out = pushAll(parser, splitAt(stream, cuts));
          expect(out.frames).toEqual(frames);
          expect(total(out.discarded)).toBe(total(pairs.map(([g]) => g)));
          expect(parser.pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never yields a frame with a corrupted SUM', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(sevenByteReply, fc.boolean(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (items, cuts) => {
          const frames = items.map(([r, corrupt, delta]) => {
            const f = kEncodeReply(r);
            if (corrupt) f[6] = (f[6]! + delta) & 0xff;
            return { f, corrupt };
          });
          const out = pushAll(replyParser('query'), splitAt(Buffer.concat(frames.map((x) => x.f)), cuts));
          for (const f of out.frames) expectKerongEnvelope(f);
          for (const bad of frames.filter((x) => x.corrupt)) expect(out.frames).not.toContainEqual(bad.f);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('drops a reply with a corrupted SUM and still yields the good reply after it', () => {
    const good = kEncodeReply({ kind: 'query', board: 1, lock: 1, open: true });
    const bad = kEncodeReply({ kind: 'query', board: 1, lock: 1, open: false });
    bad[6] = bad[6]! ^ 0x5a;
    const parser = replyParser('query');
    const out = pushAll(parser, [Buffer.concat([bad, good])]);
    expect(out.frames).toEqual([good]);
    expect(out.discarded).toEqual([bad]);
    expect(parser.pending).toBe(0);
  });

  it('waits for the rest of a query-all reply that arrives one byte at a time', () => {
    const frame = kEncodeReply({ kind: 'queryAll', board: 2, closed: new Array<boolean>(16).fill(false) });
    const parser = replyParser('queryAll');
    for (let i = 0; i < frame.length - 1; i++) expect(parser.push(frame.subarray(i, i + 1)).frames).toEqual([]);
    expect(parser.push(frame.subarray(frame.length - 1)).frames).toEqual([frame]);
    expect(parser.pending).toBe(0);
  });

  it('splits requests for the simulator with the request parser', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (reqs, cuts) => {
        const out = pushAll(FrameParser.forRequests(K), splitAt(Buffer.concat(reqs.map(kEncodeReq)), cuts));
        expect(out.frames.map((f) => decodeRequest(f, K))).toEqual(reqs);
      }),
      { numRuns: 200 },
    );
  });
});

describe('frame layouts as profile data', () => {
  /** The frames as the codec built them before layouts were data: `[head, board, lock|bitmap, func|status] + XOR`. */
  function legacy8A80(body: number[]): Buffer {
    return Buffer.from([...body, body.reduce((a, b) => a ^ b, 0)]);
  }
  const a8 = arbitraries(PROFILE_8A80);

  it('keeps every 8A80 request byte for byte as the fixed layout had it', () => {
    fc.assert(
      fc.property(a8.request, (req) => {
        const head = { unlock: 0x8a, unlockAll: 0x8a, query: 0x80, queryAll: 0x80, probe: 0x81 }[req.kind];
        const func = { unlock: 0x11, unlockAll: 0x11, query: 0x33, queryAll: 0x33, probe: 0x99 }[req.kind];
        const lock = 'lock' in req ? req.lock : req.kind === 'probe' ? 0x01 : 0x00;
        expect(encodeRequest(req)).toEqual(legacy8A80([head, req.board, lock, func]));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every 8A80 reply byte for byte as the fixed layout had it', () => {
    fc.assert(
      fc.property(fc.oneof(...REPLY_KINDS.map(a8.replyOf)), (reply) => {
        let body: number[];
        switch (reply.kind) {
          case 'unlock':
            body = [0x8a, reply.board, reply.lock, reply.open ? 0x00 : 0x11];
            break;
          case 'query':
            body = [0x80, reply.board, reply.lock, reply.open ? 0x00 : 0x11];
            break;
          case 'unlockAll':
            body = [0x8a, reply.board, 0x00, 0x11];
            break;
          case 'probe':
            body = [0x81, reply.board, 0x01, 0x99];
            break;
          case 'queryAll': {
            const s = [0, 0, 0];
            reply.closed.forEach((c, i) => c && (s[2 - (i >> 3)]! |= 1 << (i & 7)));
            body = [0x80, reply.board, ...s, 0x33];
            break;
          }
        }
        expect(encodeReply(reply)).toEqual(legacy8A80(body));
      }),
      { numRuns: 300 },
    );
  });

  it('chooses the 8A80 profile when a config names none', () => {
    expect(lockBoardProfile(undefined)).toBe(PROFILE_8A80);
    expect(lockBoardProfile('kerong-cu16')).toBe(K);
    expect(profileProblems(PROFILE_8A80)).toEqual([]);
    expect(profileProblems(K)).toEqual([]);
  });

  it('refuses a profile whose layout the codec cannot build', () => {
    const broken: BoardProfile = {
      ...K,
      name: 'broken',
      trailer: undefined,
      replies: { ...K.replies, query: { head: 0x02, func: 0x52, fields: ['board', 'head', 'lock', 'func', 'trailer'] } },
    };
    const problems = profileProblems(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        'replies.query: the header must be the first field, once',
        'replies.query: needs a status field',
        'replies.query: has a trailer field but the profile has no trailer byte',
      ]),
    );
    expect(() => defineProfile(broken)).toThrow(/lock-board profile broken/);
  });
});
