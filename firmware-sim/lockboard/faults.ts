/**
 * Fault switches of the simulated lock-board bus, and how a wire fault mangles a reply.
 * Every way SPEC §6 says bytes can arrive ("split, joined, behind garbage, corrupted or not at
 * all") plus the board- and lock-level failures real stations see.
 */
import { encodeRequest, type BoardProfile } from '../../protocol/lockboard/index.ts';

/** Faults that change how one reply travels on the wire. A random profile picks among these. */
export const WIRE_FAULTS = [
  'no_reply', // the board acts but its reply is lost
  'late_reply', // the reply comes after the host's timeout
  'truncated', // only the first bytes of the reply arrive
  'bad_bcc', // the last byte is corrupted
  'garbage', // noise bytes before the reply
  'split', // the reply arrives one byte at a time
  'joined', // a stray frame glued in front of the reply, in one chunk
  'duplicate', // the reply is sent twice
  'wrong_address', // the reply carries another board's address
] as const;
export type WireFault = (typeof WIRE_FAULTS)[number];

/** Faults of a whole board (set per board, or for all boards by the CLI). */
export const BOARD_FAULTS = [...WIRE_FAULTS, 'offline', 'inverted'] as const;
export type BoardFault = (typeof BOARD_FAULTS)[number];

/** Faults of one lock. */
export const LOCK_FAULTS = [
  'jammed', // unlock answered 11 (stayed shut); the door stays shut
  'jammed_reports_open', // unlock answered 00 (open) but the door stays shut
  'left_open', // the simulated rider never closes this door
] as const;
export type LockFault = (typeof LOCK_FAULTS)[number];

/** Every switch name the `--faults` option accepts (lock faults then apply to every lock). */
export const ALL_SIM_FAULTS = [...BOARD_FAULTS, ...LOCK_FAULTS] as const;
export type SimFault = (typeof ALL_SIM_FAULTS)[number];

export function isWireFault(f: string): f is WireFault {
  return (WIRE_FAULTS as readonly string[]).includes(f);
}
export function isBoardFault(f: string): f is BoardFault {
  return (BOARD_FAULTS as readonly string[]).includes(f);
}
export function isLockFault(f: string): f is LockFault {
  return (LOCK_FAULTS as readonly string[]).includes(f);
}

/** One timed write of the board. */
export interface Emission {
  delayMs: number;
  bytes: Buffer;
}

/**
 * Noise with a header byte of the profile in it followed by a bad address, so the host must
 * resync (8A80: `13 8A 7F 00`; 0x7F is no board address in either profile).
 */
function noiseFor(profile: BoardProfile): Buffer {
  return Buffer.from([0x13, profile.replies.unlock.head, 0x7f, 0x00]);
}

/**
 * The writes a reply turns into under `fault` (none: one write after `latencyMs`).
 * `reencode(address)` builds the same reply from another address (for `wrong_address`).
 */
export function emissionsFor(
  fault: WireFault | undefined,
  reply: Buffer,
  opts: {
    latencyMs: number;
    lateReplyMs: number;
    board: number;
    profile: BoardProfile;
    reencode: (address: number) => Buffer;
  },
): Emission[] {
  const at = (bytes: Buffer, delayMs = opts.latencyMs): Emission => ({ delayMs, bytes });
  switch (fault) {
    case undefined:
      return [at(reply)];
    case 'no_reply':
      return [];
    case 'late_reply':
      return [at(reply, opts.lateReplyMs)];
    case 'truncated':
      return [at(reply.subarray(0, Math.max(1, reply.length - 2)))];
    case 'bad_bcc': {
      const bad = Buffer.from(reply);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x5a;
      return [at(bad)];
    }
    case 'garbage':
      return [at(Buffer.concat([noiseFor(opts.profile), reply]))];
    case 'split':
      return Array.from(reply, (b, i) => at(Buffer.from([b]), opts.latencyMs + 2 * i));
    case 'joined': {
      // A stray probe echo of this board (a valid frame nobody asked for) glued to the reply.
      const stray = encodeRequest({ kind: 'probe', board: opts.board }, opts.profile);
      return [at(Buffer.concat([stray, reply]))];
    }
    case 'duplicate':
      return [at(reply), at(Buffer.from(reply))];
    case 'wrong_address': {
      const other = opts.board >= opts.profile.maxAddress ? opts.profile.minAddress : opts.board + 1;
      return [at(opts.reencode(other))];
    }
  }
}
