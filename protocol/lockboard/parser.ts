/**
 * Streaming lock-board frame parser (SPEC §6: "bytes may arrive split, joined, behind
 * garbage, corrupted or not at all").
 *
 * It only splits bytes into checksum-valid frames; it never interprets them (that is the
 * codec's job) — the first of the three serial layers in STYLE.md. Bytes that cannot start a
 * valid frame are reported as discarded so the driver can log and count them.
 *
 * A header may start frames of several lengths (8A80: a query reply is 5 bytes, a query-all
 * reply 7; Kerong-style: every frame starts with STX), so the parser takes the shortest frame of
 * a header unless the host tells it which reply it is waiting for (`expect`); one request is in
 * flight per bus, so this is always known. Lengths, the address position and trailer bytes all
 * come from the profile's frame layouts.
 */
import { checksum, fieldOffset, fieldWidth, frameLength, PROFILE_8A80, type BoardProfile, type FrameSpec } from './profile.ts';
import type { ReplyKind } from './codec.ts';

export interface ParseResult {
  frames: Buffer[];
  discarded: Buffer[];
}

/** What the parser checks of a candidate frame besides its checksum. */
interface Envelope {
  length: number;
  /** Offset of the address byte. */
  boardAt: number;
  /** Offsets of trailer bytes (e.g. ETX). */
  trailerAt: number[];
}

export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  /** Envelopes of every frame a header can start. */
  private readonly envelopes = new Map<number, Envelope[]>();
  /** Frame length by header byte when nothing is expected: the shortest frame of that header. */
  private readonly baseLengths = new Map<number, number>();
  private override: { head: number; length: number } | undefined;

  /** `specs`: every frame this parser may meet (a profile's replies, or its requests). */
  constructor(
    private readonly profile: BoardProfile,
    specs: readonly FrameSpec[],
  ) {
    for (const spec of specs) {
      const env: Envelope = {
        length: frameLength(profile, spec),
        boardAt: fieldOffset(profile, spec, 'board'),
        trailerAt: trailerOffsets(profile, spec),
      };
      const list = this.envelopes.get(spec.head) ?? [];
      if (!list.some((e) => sameEnvelope(e, env))) list.push(env);
      this.envelopes.set(spec.head, list);
      const base = this.baseLengths.get(spec.head);
      if (base === undefined || env.length < base) this.baseLengths.set(spec.head, env.length);
    }
  }

  /** A parser for what boards send back to the host. */
  static forReplies(profile: BoardProfile = PROFILE_8A80): FrameParser {
    return new FrameParser(profile, Object.values(profile.replies));
  }

  /** A parser for what the host sends to boards (used by the simulator). */
  static forRequests(profile: BoardProfile = PROFILE_8A80): FrameParser {
    return new FrameParser(profile, Object.values(profile.requests));
  }

  /** Wait for a reply of this kind next: sets the frame length of its header. */
  expect(kind: ReplyKind | undefined): void {
    if (kind === undefined) {
      this.override = undefined;
      return;
    }
    const spec = this.profile.replies[kind];
    this.override = { head: spec.head, length: frameLength(this.profile, spec) };
  }

  private lengthOf(head: number): number | undefined {
    if (this.override && this.override.head === head) return this.override.length;
    return this.baseLengths.get(head);
  }

  /**
   * Every frame carries a board address (SPEC §6: `HEAD BOARD ...`, 1–31), and some a trailer.
   * Checking them keeps a damaged frame whose last byte happens to be a header (e.g. `8A`, the BCC
   * of the SPEC reply `8A 01 01 00 8A`) from starting a checksum-valid false frame that swallows
   * the head of the next good one: the false frame's address byte is then a header, not 1–31.
   */
  private envelopeOk(start: number, length: number): boolean {
    const list = this.envelopes.get(this.buf[start]!) ?? [];
    return list.some((e) => {
      if (e.length !== length) return false;
      const board = this.buf[start + e.boardAt]!;
      if (board < this.profile.minAddress || board > this.profile.maxAddress) return false;
      return e.trailerAt.every((t) => this.buf[start + t] === this.profile.trailer);
    });
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Drop whatever is buffered (after a timeout); returns it as discarded. */
  reset(): Buffer | undefined {
    const left = this.buf.length > 0 ? this.buf : undefined;
    this.buf = Buffer.alloc(0);
    return left;
  }

  push(chunk: Uint8Array): ParseResult {
    const frames: Buffer[] = [];
    const discarded: Buffer[] = [];
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let start = 0;
    let garbageFrom = -1;
    const flushGarbage = (to: number) => {
      if (garbageFrom >= 0 && to > garbageFrom) discarded.push(Buffer.from(this.buf.subarray(garbageFrom, to)));
      garbageFrom = -1;
    };
    while (start < this.buf.length) {
      const len = this.lengthOf(this.buf[start]!);
      if (len === undefined) {
        if (garbageFrom < 0) garbageFrom = start;
        start++;
        continue;
      }
      if (this.buf.length - start < len) break; // wait for the rest
      const end = start + len;
      const valid =
        this.envelopeOk(start, len) &&
        checksum(this.profile.checksum, this.buf.subarray(start, end - 1)) === this.buf[end - 1];
      if (valid) {
        flushGarbage(start);
        frames.push(Buffer.from(this.buf.subarray(start, end)));
        start = end;
      } else {
        // Not a frame here: skip this header byte and resync on the next one.
        if (garbageFrom < 0) garbageFrom = start;
        start++;
      }
    }
    flushGarbage(start);
    this.buf = Buffer.from(this.buf.subarray(start));
    return { frames, discarded };
  }
}

function trailerOffsets(profile: BoardProfile, spec: FrameSpec): number[] {
  const out: number[] = [];
  let at = 0;
  for (const f of spec.fields) {
    if (f === 'trailer') out.push(at);
    at += fieldWidth(profile, f);
  }
  return out;
}

function sameEnvelope(a: Envelope, b: Envelope): boolean {
  return a.length === b.length && a.boardAt === b.boardAt && a.trailerAt.join() === b.trailerAt.join();
}
