/**
 * Lock-board frame codec (SPEC §6): encodes every request and reply (the simulator answers
 * with the same codec) and decodes one complete frame into a typed message. The byte layout
 * comes from the profile (`FrameSpec.fields`): for the 8A80 family `HEAD BOARD LOCK FUNC BCC`,
 * BCC = XOR of all bytes before it; for the Kerong-style profile `02 ADDR LOCK CMD 03 SUM`.
 */
import {
  checksum,
  fieldWidth,
  frameLength,
  PROFILE_8A80,
  type BoardProfile,
  type FrameKind,
  type FrameSpec,
} from './profile.ts';

export type LockRequest =
  | { kind: 'unlock'; board: number; lock: number }
  | { kind: 'unlockAll'; board: number }
  | { kind: 'query'; board: number; lock: number }
  | { kind: 'queryAll'; board: number }
  | { kind: 'probe'; board: number };

export type LockReply =
  | { kind: 'unlock'; board: number; lock: number; open: boolean }
  | { kind: 'unlockAll'; board: number }
  | { kind: 'query'; board: number; lock: number; open: boolean }
  | { kind: 'queryAll'; board: number; closed: boolean[] } // index 0 = lock 1
  | { kind: 'probe'; board: number };

export type ReplyKind = LockReply['kind'];

/** What a frame carries besides its constant bytes (header, function code, trailer). */
interface FrameContent {
  board: number;
  lock?: number;
  open?: boolean;
  closed?: boolean[];
}

function checkAddress(profile: BoardProfile, board: number): void {
  if (!Number.isInteger(board) || board < profile.minAddress || board > profile.maxAddress)
    throw new RangeError(`board address ${board} outside ${profile.minAddress}–${profile.maxAddress}`);
}

function checkLock(profile: BoardProfile, lock: number): void {
  if (!Number.isInteger(lock) || lock < 1 || lock > profile.locksPerBoard)
    throw new RangeError(`lock ${lock} outside 1–${profile.locksPerBoard}`);
}

/** The lock byte a frame of this kind carries. */
function lockByte(profile: BoardProfile, kind: FrameKind, lock: number | undefined): number {
  if (kind === 'unlock' || kind === 'query') return lock!;
  return kind === 'probe' ? profile.probeLock : profile.allLocks;
}

/** True when `b` is a lock byte a frame of this kind may carry. */
function lockByteOk(profile: BoardProfile, kind: FrameKind, b: number): boolean {
  if (kind === 'unlock' || kind === 'query') return b >= 1 && b <= profile.locksPerBoard;
  return b === (kind === 'probe' ? profile.probeLock : profile.allLocks);
}

/** Query-all bitmap: most significant group first, lock 1 = bit 0 of the last byte (SPEC §6). */
function bitmapOf(profile: BoardProfile, closed: readonly boolean[]): number[] {
  const bytes = new Array<number>(profile.bitmapBytes).fill(0);
  for (let i = 0; i < profile.locksPerBoard; i++) {
    const c = closed[i] ?? true;
    const set = profile.bitmapSetMeansClosed ? c : !c;
    if (set) bytes[profile.bitmapBytes - 1 - (i >> 3)]! |= 1 << (i & 7);
  }
  return bytes;
}

function readBitmap(profile: BoardProfile, buf: Uint8Array, at: number): boolean[] {
  const closed: boolean[] = [];
  for (let i = 0; i < profile.locksPerBoard; i++) {
    const byte = buf[at + profile.bitmapBytes - 1 - (i >> 3)]!;
    const set = (byte & (1 << (i & 7))) !== 0;
    closed.push(profile.bitmapSetMeansClosed ? set : !set);
  }
  return closed;
}

/** Lay out the fields of `spec` and append the checksum. */
function build(profile: BoardProfile, spec: FrameSpec, kind: FrameKind, c: FrameContent): Buffer {
  const body: number[] = [];
  for (const field of spec.fields) {
    switch (field) {
      case 'head':
        body.push(spec.head);
        break;
      case 'board':
        body.push(c.board);
        break;
      case 'lock':
        body.push(lockByte(profile, kind, c.lock));
        break;
      case 'func':
        body.push(spec.func);
        break;
      case 'status':
        body.push(c.open ? profile.statusOpen : profile.statusClosed);
        break;
      case 'bitmap':
        body.push(...bitmapOf(profile, c.closed ?? []));
        break;
      case 'trailer':
        body.push(profile.trailer!);
        break;
    }
  }
  const out = Buffer.alloc(body.length + 1);
  for (let i = 0; i < body.length; i++) out[i] = body[i]! & 0xff;
  out[body.length] = checksum(profile.checksum, out, body.length);
  return out;
}

/**
 * Read a frame of `spec` field by field. Undefined unless the length, checksum, every constant
 * byte (header, function code, trailer), the address, the lock byte and the status are right.
 */
function read(profile: BoardProfile, spec: FrameSpec, kind: FrameKind, buf: Uint8Array): FrameContent | undefined {
  if (buf.length !== frameLength(profile, spec)) return undefined;
  if (checksum(profile.checksum, buf, buf.length - 1) !== buf[buf.length - 1]) return undefined;
  const c: FrameContent = { board: -1 };
  let at = 0;
  for (const field of spec.fields) {
    const b = buf[at]!;
    switch (field) {
      case 'head':
        if (b !== spec.head) return undefined;
        break;
      case 'board':
        if (b < profile.minAddress || b > profile.maxAddress) return undefined;
        c.board = b;
        break;
      case 'lock':
        if (!lockByteOk(profile, kind, b)) return undefined;
        c.lock = b;
        break;
      case 'func':
        if (b !== spec.func) return undefined;
        break;
      case 'status':
        if (b !== profile.statusOpen && b !== profile.statusClosed) return undefined;
        c.open = b === profile.statusOpen;
        break;
      case 'bitmap':
        c.closed = readBitmap(profile, buf, at);
        break;
      case 'trailer':
        if (b !== profile.trailer) return undefined;
        break;
    }
    at += fieldWidth(profile, field);
  }
  return c;
}

export function encodeRequest(req: LockRequest, profile: BoardProfile = PROFILE_8A80): Buffer {
  checkAddress(profile, req.board);
  if (req.kind === 'unlock' || req.kind === 'query') checkLock(profile, req.lock);
  return build(profile, profile.requests[req.kind], req.kind, req);
}

/** Request kinds in the order a received frame is tried against them. */
const REQUEST_ORDER: readonly FrameKind[] = ['unlock', 'unlockAll', 'query', 'queryAll', 'probe'];

/** Decode a request frame (what a board receives). Undefined when it is not a valid request. */
export function decodeRequest(buf: Uint8Array, profile: BoardProfile = PROFILE_8A80): LockRequest | undefined {
  // Kinds that share a header and function code (8A80: unlock and unlock-all, query and
  // query-all) differ by their lock byte, so at most one kind reads the frame.
  for (const kind of REQUEST_ORDER) {
    const c = read(profile, profile.requests[kind], kind, buf);
    if (!c) continue;
    if (kind === 'unlock' || kind === 'query') return { kind, board: c.board, lock: c.lock! };
    return { kind, board: c.board };
  }
  return undefined;
}

/** The length of the reply a request expects. */
export function replyLengthFor(kind: ReplyKind, profile: BoardProfile = PROFILE_8A80): number {
  return frameLength(profile, profile.replies[kind]);
}

export function encodeReply(reply: LockReply, profile: BoardProfile = PROFILE_8A80): Buffer {
  return build(profile, profile.replies[reply.kind], reply.kind, reply);
}

/**
 * Decode one complete reply frame of the expected kind. Returns undefined when the bytes are
 * not such a frame (wrong header, length, checksum, function, trailer, address or status byte).
 */
export function decodeReply(
  buf: Uint8Array,
  kind: ReplyKind,
  profile: BoardProfile = PROFILE_8A80,
): LockReply | undefined {
  const c = read(profile, profile.replies[kind], kind, buf);
  if (!c) return undefined;
  switch (kind) {
    case 'unlock':
    case 'query':
      return { kind, board: c.board, lock: c.lock!, open: c.open! };
    case 'queryAll':
      return { kind, board: c.board, closed: c.closed! };
    case 'unlockAll':
    case 'probe':
      return { kind, board: c.board };
  }
}

/** Hex dump for logs (`8A 01 01 11 9B`). */
export function hex(buf: Uint8Array): string {
  return Array.from(buf, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
