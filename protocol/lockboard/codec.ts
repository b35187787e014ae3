/**
 * Lock-board frame codec (SPEC §6): `HEAD BOARD LOCK FUNC [..] BCC`, BCC = XOR of all bytes
 * before it. Encodes every request and reply (the simulator answers with the same codec)
 * and decodes one complete frame into a typed message.
 */
import { checksum, PROFILE_8A80, type BoardProfile } from './profile';

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

function frame(profile: BoardProfile, body: number[]): Buffer {
  const out = Buffer.alloc(body.length + 1);
  for (let i = 0; i < body.length; i++) out[i] = body[i]! & 0xff;
  out[body.length] = checksum(profile.checksum, out, body.length);
  return out;
}

function checkAddress(profile: BoardProfile, board: number): void {
  if (!Number.isInteger(board) || board < profile.minAddress || board > profile.maxAddress)
    throw new RangeError(`board address ${board} outside ${profile.minAddress}–${profile.maxAddress}`);
}

function checkLock(profile: BoardProfile, lock: number): void {
  if (!Number.isInteger(lock) || lock < 1 || lock > profile.locksPerBoard)
    throw new RangeError(`lock ${lock} outside 1–${profile.locksPerBoard}`);
}

export function encodeRequest(req: LockRequest, profile: BoardProfile = PROFILE_8A80): Buffer {
  checkAddress(profile, req.board);
  const r = profile.requests;
  switch (req.kind) {
    case 'unlock':
      checkLock(profile, req.lock);
      return frame(profile, [r.unlock.head, req.board, req.lock, r.unlock.func]);
    case 'unlockAll':
      return frame(profile, [r.unlock.head, req.board, profile.allLocks, r.unlock.func]);
    case 'query':
      checkLock(profile, req.lock);
      return frame(profile, [r.query.head, req.board, req.lock, r.query.func]);
    case 'queryAll':
      return frame(profile, [r.queryAll.head, req.board, profile.allLocks, r.queryAll.func]);
    case 'probe':
      return frame(profile, [r.probe.head, req.board, profile.probeLock, r.probe.func]);
  }
}

/** Decode a request frame (what a board receives). Undefined when it is not a valid request. */
export function decodeRequest(buf: Uint8Array, profile: BoardProfile = PROFILE_8A80): LockRequest | undefined {
  const r = profile.requests;
  if (buf.length !== r.unlock.length) return undefined;
  if (checksum(profile.checksum, buf, buf.length - 1) !== buf[buf.length - 1]) return undefined;
  const [head, board, lock, func] = [buf[0]!, buf[1]!, buf[2]!, buf[3]!];
  if (board < profile.minAddress || board > profile.maxAddress) return undefined;
  if (head === r.unlock.head && func === r.unlock.func) {
    if (lock === profile.allLocks) return { kind: 'unlockAll', board };
    return lock <= profile.locksPerBoard ? { kind: 'unlock', board, lock } : undefined;
  }
  if (head === r.query.head && func === r.query.func) {
    if (lock === profile.allLocks) return { kind: 'queryAll', board };
    return lock <= profile.locksPerBoard ? { kind: 'query', board, lock } : undefined;
  }
  if (head === r.probe.head && func === r.probe.func && lock === profile.probeLock) return { kind: 'probe', board };
  return undefined;
}

/** The length of the reply a request expects. */
export function replyLengthFor(kind: ReplyKind, profile: BoardProfile = PROFILE_8A80): number {
  const s = profile.replies;
  return kind === 'queryAll' ? s.queryAll.length : kind === 'probe' ? s.probe.length : kind === 'query' ? s.query.length : s.unlock.length;
}

export function encodeReply(reply: LockReply, profile: BoardProfile = PROFILE_8A80): Buffer {
  const s = profile.replies;
  const status = (open: boolean) => (open ? profile.statusOpen : profile.statusClosed);
  switch (reply.kind) {
    case 'unlock':
      return frame(profile, [s.unlock.head, reply.board, reply.lock, status(reply.open)]);
    case 'unlockAll':
      return frame(profile, [s.unlock.head, reply.board, profile.allLocks, s.unlock.func]);
    case 'query':
      return frame(profile, [s.query.head, reply.board, reply.lock, status(reply.open)]);
    case 'queryAll': {
      const bytes = new Array<number>(profile.bitmapBytes).fill(0);
      for (let i = 0; i < profile.locksPerBoard; i++) {
        const closed = reply.closed[i] ?? true;
        const set = profile.bitmapSetMeansClosed ? closed : !closed;
        if (set) bytes[profile.bitmapBytes - 1 - (i >> 3)]! |= 1 << (i & 7);
      }
      return frame(profile, [s.queryAll.head, reply.board, ...bytes, s.queryAll.func]);
    }
    case 'probe':
      return frame(profile, [s.probe.head, reply.board, profile.probeLock, s.probe.func]);
  }
}

/**
 * Decode one complete reply frame of the expected kind. Returns undefined when the bytes are
 * not such a frame (wrong header, length, checksum or function byte).
 */
export function decodeReply(
  buf: Uint8Array,
  kind: ReplyKind,
  profile: BoardProfile = PROFILE_8A80,
): LockReply | undefined {
  const s = profile.replies;
  const spec = kind === 'unlockAll' ? s.unlock : s[kind];
  if (buf.length !== spec.length || buf[0] !== spec.head) return undefined;
  if (checksum(profile.checksum, buf, buf.length - 1) !== buf[buf.length - 1]) return undefined;
  const board = buf[1]!;
  const third = buf[2]!;
  const fourth = buf[3]!;
  const statusOf = (b: number): boolean | undefined =>
    b === profile.statusOpen ? true : b === profile.statusClosed ? false : undefined;
  switch (kind) {
    case 'unlock': {
      if (third === profile.allLocks) return undefined;
      const open = statusOf(fourth);
      return open === undefined ? undefined : { kind, board, lock: third, open };
    }
    case 'unlockAll':
      return third === profile.allLocks && fourth === s.unlock.func ? { kind, board } : undefined;
    case 'query': {
      const open = statusOf(fourth);
      return open === undefined || third === profile.allLocks ? undefined : { kind, board, lock: third, open };
    }
    case 'queryAll': {
      if (buf[2 + profile.bitmapBytes] !== s.queryAll.func) return undefined;
      const closed: boolean[] = [];
      for (let i = 0; i < profile.locksPerBoard; i++) {
        const byte = buf[2 + profile.bitmapBytes - 1 - (i >> 3)]!;
        const set = (byte & (1 << (i & 7))) !== 0;
        closed.push(profile.bitmapSetMeansClosed ? set : !set);
      }
      return { kind, board, closed };
    }
    case 'probe':
      return third === profile.probeLock && fourth === s.probe.func ? { kind, board } : undefined;
  }
}

/** Hex dump for logs (`8A 01 01 11 9B`). */
export function hex(buf: Uint8Array): string {
  return Array.from(buf, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
