/**
 * Streaming lock-board frame parser (SPEC §6: "bytes may arrive split, joined, behind
 * garbage, corrupted or not at all").
 *
 * It only splits bytes into checksum-valid frames; it never interprets them (that is the
 * codec's job) — the first of the three serial layers in STYLE.md. Bytes that cannot start a
 * valid frame are reported as discarded so the driver can log and count them.
 *
 * The 0x80 header is ambiguous on the wire (a query reply is 5 bytes, a query-all reply 7),
 * so the host tells the parser which reply it is waiting for (`expect`); one request is in
 * flight per bus, so this is always known.
 */
import { checksum, PROFILE_8A80, type BoardProfile } from './profile';
import { replyLengthFor, type ReplyKind } from './codec';

export interface ParseResult {
  frames: Buffer[];
  discarded: Buffer[];
}

export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private readonly baseLengths: Map<number, number>;
  private override: { head: number; length: number } | undefined;

  /** `lengths`: frame length by header byte. */
  constructor(
    private readonly profile: BoardProfile,
    lengths: Map<number, number>,
  ) {
    this.baseLengths = new Map(lengths);
  }

  /** A parser for what boards send back to the host. */
  static forReplies(profile: BoardProfile = PROFILE_8A80): FrameParser {
    const r = profile.replies;
    const m = new Map<number, number>();
    for (const spec of [r.unlock, r.probe, r.query]) m.set(spec.head, spec.length);
    return new FrameParser(profile, m);
  }

  /** A parser for what the host sends to boards (used by the simulator). */
  static forRequests(profile: BoardProfile = PROFILE_8A80): FrameParser {
    const r = profile.requests;
    const m = new Map<number, number>();
    for (const spec of [r.unlock, r.query, r.queryAll, r.probe]) m.set(spec.head, spec.length);
    return new FrameParser(profile, m);
  }

  /** Wait for a reply of this kind next: sets the frame length of its header. */
  expect(kind: ReplyKind | undefined): void {
    if (kind === undefined) {
      this.override = undefined;
      return;
    }
    const spec = kind === 'unlockAll' ? this.profile.replies.unlock : this.profile.replies[kind];
    this.override = { head: spec.head, length: replyLengthFor(kind, this.profile) };
  }

  private lengthOf(head: number): number | undefined {
    if (this.override && this.override.head === head) return this.override.length;
    return this.baseLengths.get(head);
  }

  /**
   * Every frame carries a board address after its header (SPEC §6: `HEAD BOARD ...`, 1–31).
   * Checking it keeps a damaged frame whose last byte happens to be a header (e.g. `8A`, the BCC
   * of the SPEC reply `8A 01 01 00 8A`) from starting a checksum-valid false frame that swallows
   * the head of the next good one: the false frame's address byte is then a header, not 1–31.
   */
  private addressOk(board: number): boolean {
    return board >= this.profile.minAddress && board <= this.profile.maxAddress;
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
        this.addressOk(this.buf[start + 1]!) &&
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
