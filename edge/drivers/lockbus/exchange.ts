/**
 * One request/reply exchange on a lock bus: the "waitress" is registered before the request
 * is written, and every incoming frame or discarded byte is judged against it (SPEC §6:
 * a board answers only to its own address; bytes may arrive split, joined, behind garbage,
 * corrupted or not at all).
 */
import { decodeReply, fieldOffset, frameLength, type BoardProfile, type LockReply, type LockRequest } from '../../../protocol/lockboard/index.ts';
import type { LockBusError } from '../../core/device-ports.ts';

/** Why an exchange gave no answer (the lock port's errors but `unknown_board`, which the bus decides). */
export type ExchangeError = Exclude<LockBusError, 'unknown_board'>;

export type ExchangeOutcome = { ok: true; reply: LockReply } | { ok: false; error: ExchangeError };

/** What became of one frame the parser delivered. */
export type FrameVerdict =
  | { kind: 'reply'; reply: LockReply }
  /** A valid reply of the expected kind from another address (ignored, counted). */
  | { kind: 'wrong_address'; board: number }
  /** A valid frame that is not the awaited reply: a duplicate, a late reply, a stray frame. */
  | { kind: 'unexpected' };

export function judgeFrame(frame: Buffer, awaiting: LockRequest | undefined, profile: BoardProfile): FrameVerdict {
  if (!awaiting) return { kind: 'unexpected' };
  const reply = decodeReply(frame, awaiting.kind, profile);
  if (!reply) return { kind: 'unexpected' };
  if (reply.board !== awaiting.board) return { kind: 'wrong_address', board: reply.board };
  if ((reply.kind === 'unlock' || reply.kind === 'query') && 'lock' in awaiting && reply.lock !== awaiting.lock)
    return { kind: 'unexpected' };
  return { kind: 'reply', reply };
}

/**
 * True when discarded bytes look like the awaited reply with a broken checksum: the reply's
 * header and this board's address (where the profile's layout puts it), at least a whole frame
 * long. Otherwise they count as garbage.
 */
export function looksLikeBadChecksum(bytes: Buffer, awaiting: LockRequest | undefined, profile: BoardProfile): boolean {
  if (!awaiting) return false;
  const spec = profile.replies[awaiting.kind];
  return bytes.length >= frameLength(profile, spec) && bytes[0] === spec.head && bytes[fieldOffset(profile, spec, 'board')] === awaiting.board;
}

/** The pending exchange: resolved by a reply, a bad frame, the timeout, or the port going away. */
export class Waiter {
  private timer: NodeJS.Timeout | undefined;
  private settle!: (o: ExchangeOutcome) => void;
  readonly done: Promise<ExchangeOutcome>;
  settled = false;

  constructor(
    readonly request: LockRequest,
    timeoutMs: number,
  ) {
    this.done = new Promise<ExchangeOutcome>((resolve) => (this.settle = resolve));
    this.timer = setTimeout(() => this.finish({ ok: false, error: 'timeout' }), timeoutMs);
  }

  finish(outcome: ExchangeOutcome): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.settle(outcome);
  }
}
