/**
 * Lock-board protocol profiles (SPEC §6, contract).
 *
 * The protocol is kept as data — header and function codes, frame lengths, checksum,
 * feedback polarity, lock count — so a second family (Kerong CU16-style `02 ADDR CMD 03 SUM`)
 * is a new profile, not a rewrite of the codec, parser or drivers.
 */

export type ChecksumKind = 'xor' | 'sum8';

export interface FrameSpec {
  head: number;
  func: number;
  /** Total length of the frame including header and checksum. */
  length: number;
}

export interface BoardProfile {
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
  /** Number of bitmap bytes in a query-all reply; most significant group first. */
  bitmapBytes: number;
  requests: {
    unlock: FrameSpec;
    query: FrameSpec;
    queryAll: FrameSpec;
    probe: FrameSpec;
  };
  replies: {
    unlock: FrameSpec;
    query: FrameSpec;
    queryAll: FrameSpec;
    probe: FrameSpec;
  };
  /** The lock byte of "all locks" requests. */
  allLocks: number;
  /** The lock byte sent with a probe. */
  probeLock: number;
}

/** The widespread "0x8A/0x80" RS-485 lock control board family of SPEC §6. */
export const PROFILE_8A80: BoardProfile = Object.freeze({
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
    unlock: { head: 0x8a, func: 0x11, length: 5 },
    query: { head: 0x80, func: 0x33, length: 5 },
    queryAll: { head: 0x80, func: 0x33, length: 5 },
    probe: { head: 0x81, func: 0x99, length: 5 },
  },
  replies: {
    unlock: { head: 0x8a, func: 0x11, length: 5 },
    query: { head: 0x80, func: 0x33, length: 5 },
    queryAll: { head: 0x80, func: 0x33, length: 7 },
    probe: { head: 0x81, func: 0x99, length: 5 },
  },
  allLocks: 0x00,
  probeLock: 0x01,
}) as BoardProfile;

export function checksum(kind: ChecksumKind, bytes: Uint8Array, end: number = bytes.length): number {
  let acc = 0;
  if (kind === 'xor') for (let i = 0; i < end; i++) acc ^= bytes[i]!;
  else for (let i = 0; i < end; i++) acc = (acc + bytes[i]!) & 0xff;
  return acc;
}
