/**
 * Lock-board protocol profiles (SPEC §6, contract).
 *
 * The protocol is kept as data — header and function codes, the layout of every frame,
 * checksum, feedback polarity, lock count — so a second family (Kerong CU16-style
 * `02 ADDR LOCK CMD 03 SUM`) is a new profile, not a rewrite of the codec, parser, simulator
 * or driver. The codec builds and reads frames field by field from `FrameSpec.fields`; the
 * parser takes frame lengths, the address position and trailer bytes from the same lists.
 */

export type ChecksumKind = 'xor' | 'sum8';

/**
 * One field of a frame, in wire order. The checksum byte always ends a frame and is not listed.
 * - `head`: the spec's header byte; always the first field (the parser resyncs on it).
 * - `board`: the board address (`minAddress`–`maxAddress`).
 * - `lock`: the lock number; `allLocks` in unlock-all / query-all frames, `probeLock` in probes.
 * - `func`: the spec's function (command) code.
 * - `status`: `statusOpen` / `statusClosed` (unlock and query replies only).
 * - `bitmap`: `bitmapBytes` bytes of door states (query-all replies only).
 * - `trailer`: the profile's `trailer` byte (e.g. ETX 0x03).
 */
export type FrameField = 'head' | 'board' | 'lock' | 'func' | 'status' | 'bitmap' | 'trailer';

export interface FrameSpec {
  head: number;
  func: number;
  /** The frame's fields in wire order, without the checksum that ends it. */
  fields: readonly FrameField[];
}

/** The five exchanges of SPEC §6; each has a request frame and a reply frame. */
export type FrameKind = 'unlock' | 'unlockAll' | 'query' | 'queryAll' | 'probe';
export const FRAME_KINDS: readonly FrameKind[] = ['unlock', 'unlockAll', 'query', 'queryAll', 'probe'];

export interface BoardProfile {
  /** The config name (`lockBuses[].profile`). */
  name: string;
  checksum: ChecksumKind;
  /** Highest lock number on one board. */
  locksPerBoard: number;
  /** Board addresses allowed on one bus. */
  minAddress: number;
  maxAddress: number;
  /** Status byte meaning "the door is open" in unlock / query replies. */
  statusOpen: number;
  /** Status byte meaning "the door is shut". */
  statusClosed: number;
  /** In a query-all bitmap, true when a set bit means closed (SPEC §6: bit set = closed). */
  bitmapSetMeansClosed: boolean;
  /** Number of bitmap bytes in a query-all reply; most significant group first, lock 1 = bit 0 of the last. */
  bitmapBytes: number;
  /** The byte of a `trailer` field; only profiles whose frames have one set it. */
  trailer?: number;
  requests: Readonly<Record<FrameKind, FrameSpec>>;
  replies: Readonly<Record<FrameKind, FrameSpec>>;
  /** The lock byte of "all locks" requests. */
  allLocks: number;
  /** The lock byte sent with a probe. */
  probeLock: number;
}

/** Bytes a field takes on the wire. */
export function fieldWidth(profile: BoardProfile, field: FrameField): number {
  return field === 'bitmap' ? profile.bitmapBytes : 1;
}

/** Total length of a frame of this spec, checksum included. */
export function frameLength(profile: BoardProfile, spec: FrameSpec): number {
  let n = 1;
  for (const f of spec.fields) n += fieldWidth(profile, f);
  return n;
}

/** Byte offset of the first occurrence of `field` in a frame of this spec, or -1. */
export function fieldOffset(profile: BoardProfile, spec: FrameSpec, field: FrameField): number {
  let at = 0;
  for (const f of spec.fields) {
    if (f === field) return at;
    at += fieldWidth(profile, f);
  }
  return -1;
}

/** What makes a profile usable by the codec and parser; one message per problem. */
export function profileProblems(p: BoardProfile): string[] {
  const out: string[] = [];
  const byte = (v: number | undefined) => v !== undefined && Number.isInteger(v) && v >= 0 && v <= 0xff;
  if (!(p.minAddress >= 0 && p.minAddress <= p.maxAddress && p.maxAddress <= 0xff)) out.push('addresses: need 0 ≤ minAddress ≤ maxAddress ≤ 255');
  if (!(p.locksPerBoard >= 1 && p.locksPerBoard <= p.bitmapBytes * 8)) out.push('locksPerBoard: must be 1 – 8 × bitmapBytes');
  if (p.allLocks >= 1 && p.allLocks <= p.locksPerBoard) out.push('allLocks: must not be a lock number');
  if (p.statusOpen === p.statusClosed) out.push('statusOpen and statusClosed must differ');
  for (const [key, v] of [['statusOpen', p.statusOpen], ['statusClosed', p.statusClosed], ['allLocks', p.allLocks], ['probeLock', p.probeLock]] as const)
    if (!byte(v)) out.push(`${key}: must be a byte`);
  if (p.trailer !== undefined && !byte(p.trailer)) out.push('trailer: must be a byte');
  for (const side of ['requests', 'replies'] as const) {
    for (const kind of FRAME_KINDS) {
      const spec = p[side][kind];
      const where = `${side}.${kind}`;
      if (!spec) {
        out.push(`${where}: missing`);
        continue;
      }
      const f = spec.fields;
      const count = (x: FrameField) => f.filter((y) => y === x).length;
      if (!byte(spec.head) || !byte(spec.func)) out.push(`${where}: head and func must be bytes`);
      if (f[0] !== 'head' || count('head') !== 1) out.push(`${where}: the header must be the first field, once`);
      if (count('board') !== 1) out.push(`${where}: needs one board field`);
      for (const x of ['lock', 'func', 'status', 'bitmap'] as const) if (count(x) > 1) out.push(`${where}: ${x} at most once`);
      if ((kind === 'unlock' || kind === 'query') && count('lock') !== 1) out.push(`${where}: needs the lock field`);
      const wantsStatus = side === 'replies' && (kind === 'unlock' || kind === 'query');
      if (wantsStatus !== (count('status') === 1)) out.push(`${where}: ${wantsStatus ? 'needs' : 'must not have'} a status field`);
      const wantsBitmap = side === 'replies' && kind === 'queryAll';
      if (wantsBitmap !== (count('bitmap') === 1)) out.push(`${where}: ${wantsBitmap ? 'needs' : 'must not have'} a bitmap field`);
      if (count('trailer') > 0 && p.trailer === undefined) out.push(`${where}: has a trailer field but the profile has no trailer byte`);
    }
  }
  return out;
}

/** Check a profile and freeze it (profiles are shared constants). */
export function defineProfile(p: BoardProfile): BoardProfile {
  const problems = profileProblems(p);
  if (problems.length > 0) throw new Error(`lock-board profile ${p.name}: ${problems.join('; ')}`);
  for (const side of [p.requests, p.replies]) {
    for (const spec of Object.values(side)) {
      Object.freeze(spec.fields);
      Object.freeze(spec);
    }
  }
  Object.freeze(p.requests);
  Object.freeze(p.replies);
  return Object.freeze(p);
}

/** `HEAD BOARD LOCK FUNC` — every request of SPEC §6 and the echoed replies. */
const HBLF: readonly FrameField[] = ['head', 'board', 'lock', 'func'];

/**
 * The widespread "0x8A/0x80" RS-485 lock control board family of SPEC §6: 5-byte frames
 * `HEAD BOARD LOCK FUNC BCC` (BCC = XOR), status 00 = open / 11 = shut, a 3-byte query-all
 * bitmap `S17-24 S9-16 S1-8` with bit set = closed, addresses 1–31, 24 locks.
 */
export const PROFILE_8A80: BoardProfile = defineProfile({
  name: '8a80',
  checksum: 'xor',
  locksPerBoard: 24,
  minAddress: 1,
  maxAddress: 31,
  statusOpen: 0x00,
  statusClosed: 0x11,
  bitmapSetMeansClosed: true,
  bitmapBytes: 3,
  requests: {
    unlock: { head: 0x8a, func: 0x11, fields: HBLF },
    unlockAll: { head: 0x8a, func: 0x11, fields: HBLF }, // lock byte 00
    query: { head: 0x80, func: 0x33, fields: HBLF },
    queryAll: { head: 0x80, func: 0x33, fields: HBLF }, // lock byte 00
    probe: { head: 0x81, func: 0x99, fields: HBLF },
  },
  replies: {
    unlock: { head: 0x8a, func: 0x11, fields: ['head', 'board', 'lock', 'status'] }, // 8A bb ll ss x
    unlockAll: { head: 0x8a, func: 0x11, fields: HBLF }, // 8A bb 00 11 x
    query: { head: 0x80, func: 0x33, fields: ['head', 'board', 'lock', 'status'] }, // 80 bb ll ss x
    queryAll: { head: 0x80, func: 0x33, fields: ['head', 'board', 'bitmap', 'func'] }, // 80 bb S17-24 S9-16 S1-8 33 x
    probe: { head: 0x81, func: 0x99, fields: HBLF }, // the request echoed
  },
  allLocks: 0x00,
  probeLock: 0x01,
});

/** `STX ADDR LOCK CMD ETX` — every Kerong-style request and the echoed replies. */
const KERONG: readonly FrameField[] = ['head', 'board', 'lock', 'func', 'trailer'];

/**
 * A Kerong CU16-style board (SPEC §6 names the family as the second profile to support).
 * ILLUSTRATIVE: SPEC §6 gives the shape `02 ADDR CMD 03 SUM` (STX, ETX, SUM = 8-bit sum of
 * every byte before it); the LOCK byte after ADDR, the command codes, reply layouts, status
 * bytes, bitmap and address range below are this project's choice, not taken from a vendor datasheet — check a
 * real board's manual and adjust this data before using it with hardware.
 *
 * | operation | request | reply |
 * |---|---|---|
 * | unlock lock `ll` | `02 aa ll 51 03 s` | `02 aa ll 51 ss 03 s`: `ss` = `01` open, `00` shut |
 * | unlock all | `02 aa 00 51 03 s` | `02 aa 00 51 03 s` when all have fired |
 * | query lock `ll` | `02 aa ll 52 03 s` | `02 aa ll 52 ss 03 s` |
 * | query all | `02 aa 00 50 03 s` | `02 aa 00 50 S9-16 S1-8 03 s`: bit set = open, lock 1 = bit 0 of S1-8 |
 * | probe | `02 aa 00 53 03 s` | the same six bytes echoed |
 *
 * 16 locks, addresses 1–15 (a 4-bit DIP switch; 0 is left unused so compartment names stay
 * `"{board}-{lock}"` from 1). The polarity is the opposite of the 8A80 family's on purpose, so
 * the data-driven status and bitmap paths are exercised both ways. Replies echo the command code
 * because every frame starts with the same STX: the echo tells a late query reply from an
 * unlock reply. Unlock and query replies (7 bytes) and query-all replies (8) are longer than
 * the echoed ones (6), so the host tells the parser which reply it awaits (`expect`).
 */
export const PROFILE_KERONG_CU16: BoardProfile = defineProfile({
  name: 'kerong-cu16',
  checksum: 'sum8',
  locksPerBoard: 16,
  minAddress: 1,
  maxAddress: 15,
  statusOpen: 0x01,
  statusClosed: 0x00,
  bitmapSetMeansClosed: false,
  bitmapBytes: 2,
  trailer: 0x03,
  requests: {
    unlock: { head: 0x02, func: 0x51, fields: KERONG },
    unlockAll: { head: 0x02, func: 0x51, fields: KERONG }, // lock byte 00
    query: { head: 0x02, func: 0x52, fields: KERONG },
    queryAll: { head: 0x02, func: 0x50, fields: KERONG }, // lock byte 00
    probe: { head: 0x02, func: 0x53, fields: KERONG },
  },
  replies: {
    unlock: { head: 0x02, func: 0x51, fields: ['head', 'board', 'lock', 'func', 'status', 'trailer'] },
    unlockAll: { head: 0x02, func: 0x51, fields: KERONG },
    query: { head: 0x02, func: 0x52, fields: ['head', 'board', 'lock', 'func', 'status', 'trailer'] },
    queryAll: { head: 0x02, func: 0x50, fields: ['head', 'board', 'lock', 'func', 'bitmap', 'trailer'] },
    probe: { head: 0x02, func: 0x53, fields: KERONG },
  },
  allLocks: 0x00,
  probeLock: 0x00,
});

/** Profiles by their config name (`lockBuses[].profile`); the first is the default. */
export const LOCK_BOARD_PROFILES = Object.freeze({
  '8a80': PROFILE_8A80,
  'kerong-cu16': PROFILE_KERONG_CU16,
});
export type LockBoardProfileName = keyof typeof LOCK_BOARD_PROFILES;
export const LOCK_BOARD_PROFILE_NAMES = Object.keys(LOCK_BOARD_PROFILES) as LockBoardProfileName[];
export const DEFAULT_LOCK_BOARD_PROFILE: LockBoardProfileName = '8a80';

/** The profile of a config name; absent means the default (8A80). */
export function lockBoardProfile(name: LockBoardProfileName | undefined): BoardProfile {
  return LOCK_BOARD_PROFILES[name ?? DEFAULT_LOCK_BOARD_PROFILE];
}

export function isLockBoardProfileName(name: string): name is LockBoardProfileName {
  return Object.prototype.hasOwnProperty.call(LOCK_BOARD_PROFILES, name);
}

export function checksum(kind: ChecksumKind, bytes: Uint8Array, end: number = bytes.length): number {
  let acc = 0;
  if (kind === 'xor') for (let i = 0; i < end; i++) acc ^= bytes[i]!;
  else for (let i = 0; i < end; i++) acc = (acc + bytes[i]!) & 0xff;
  return acc;
}
