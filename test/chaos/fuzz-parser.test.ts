import { describe, expect, it } from 'vitest';
import { checksum, FrameParser, PROFILE_8A80, encodeReply, type ReplyKind } from '../../protocol/index.ts';
import { seededRandom } from '../../firmware-sim/faults.ts';
import { scaled, summary } from './scale.ts';


describe('lock-board parser under fuzz', () => {
  it('survives random chunks mixed with valid frames: no throw, bounded memory, only valid frames', () => {
    const chunks = scaled(1_000_000, 200_000);
    const seed = 20261123;
    const rand = seededRandom(seed);
    const parser = FrameParser.forReplies();
    const kinds: ReplyKind[] = ['unlock', 'query', 'queryAll', 'probe'];
    let frames = 0;
    let discardedBytes = 0;
    let validInjected = 0;
    let maxPending = 0;
    const heapStart = process.memoryUsage().heapUsed;
    for (let i = 0; i < chunks; i++) {
      if (i % 1000 === 0) parser.expect(kinds[Math.floor(rand() * kinds.length)]);
      let chunk: Uint8Array;
      if (rand() < 0.2) {
        const board = 1 + Math.floor(rand() * 31);
        const closed = Array.from({ length: 24 }, () => rand() < 0.5);
        const reply = encodeReply(
          [
            { kind: 'unlock' as const, board, lock: 1 + Math.floor(rand() * 24), open: rand() < 0.5 },
            { kind: 'query' as const, board, lock: 1 + Math.floor(rand() * 24), open: rand() < 0.5 },
            { kind: 'queryAll' as const, board, closed },
            { kind: 'probe' as const, board },
          ][Math.floor(rand() * 4)]!,
        );
        chunk = reply;
        validInjected++;
      } else {
        const n = 1 + Math.floor(rand() * 16);
        const bytes = new Uint8Array(n);
        for (let j = 0; j < n; j++) bytes[j] = rand() < 0.15 ? [0x8a, 0x80, 0x81][Math.floor(rand() * 3)]! : Math.floor(rand() * 256);
        chunk = bytes;
      }
      const r = parser.push(chunk);
      for (const f of r.frames) {
        expect(checksum(PROFILE_8A80.checksum, f, f.length - 1)).toBe(f[f.length - 1]);
        frames++;
      }
      for (const d of r.discarded) discardedBytes += d.length;
      if (parser.pending > maxPending) maxPending = parser.pending;
    }
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapStart) / 1e6;
    // The parser never holds more than one frame's worth of bytes.
    expect(maxPending).toBeLessThan(7);
    expect(frames).toBeGreaterThan(0);
    expect(heapGrowthMb).toBeLessThan(64);
    summary('parser fuzz', { chunks, seed: String(seed), framesYielded: frames, validFramesInjected: validInjected, discardedBytes, maxPendingBytes: maxPending, heapGrowthMb: heapGrowthMb.toFixed(1) });
  });
});
