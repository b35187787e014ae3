/** Shared by the lock-board codec and parser property tests, for any board profile. */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { BoardProfile, FrameParser, LockReply, LockRequest, ReplyKind } from '../../protocol/lockboard/index.ts';

export const REPLY_KINDS: ReplyKind[] = ['unlock', 'unlockAll', 'query', 'queryAll', 'probe'];

/** Requests and replies of one profile: addresses, lock numbers and bitmap sizes from it. */
export function arbitraries(p: BoardProfile) {
  const board = fc.integer({ min: p.minAddress, max: p.maxAddress });
  const lock = fc.integer({ min: 1, max: p.locksPerBoard });
  const request: fc.Arbitrary<LockRequest> = fc.oneof(
    fc.record({ kind: fc.constant('unlock' as const), board, lock }),
    fc.record({ kind: fc.constant('unlockAll' as const), board }),
    fc.record({ kind: fc.constant('query' as const), board, lock }),
    fc.record({ kind: fc.constant('queryAll' as const), board }),
    fc.record({ kind: fc.constant('probe' as const), board }),
  );
  const replyOf = (kind: ReplyKind): fc.Arbitrary<LockReply> => {
    switch (kind) {
      case 'unlock':
      case 'query':
        return fc.record({ kind: fc.constant(kind), board, lock, open: fc.boolean() });
      case 'queryAll':
        return fc.record({
          kind: fc.constant('queryAll' as const),
          board,
          closed: fc.array(fc.boolean(), { minLength: p.locksPerBoard, maxLength: p.locksPerBoard }),
        });
      case 'unlockAll':
      case 'probe':
        return fc.record({ kind: fc.constant(kind), board });
    }
  };
  return { board, lock, request, replyOf };
}

/** Split `buf` at the given (unsorted, possibly repeated) cut points. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

export function pushAll(parser: FrameParser, chunks: Buffer[]): { frames: Buffer[]; discarded: Buffer[] } {
  const frames: Buffer[] = [];
  const discarded: Buffer[] = [];
  for (const c of chunks) {
    const r = parser.push(c);
    frames.push(...r.frames);
    discarded.push(...r.discarded);
  }
  return { frames, discarded };
}

export const total = (bufs: Buffer[]) => bufs.reduce((n, b) => n + b.length, 0);

/** Every byte pushed came out in a frame, was discarded, or is pending; `reset()` hands the pending back. */
export function expectEveryByteAccounted(parser: FrameParser, pushed: number, frames: Buffer[], discarded: Buffer[]): void {
  expect(total(discarded) + total(frames) + parser.pending).toBe(pushed);
  const left = parser.reset();
  expect(left?.length ?? 0).toBe(pushed - total(discarded) - total(frames));
  expect(parser.pending).toBe(0);
}
