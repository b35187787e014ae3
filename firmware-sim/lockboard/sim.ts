/**
 * Simulated lock-board bus (SPEC §6): several boards on one serial line, each with up to the
 * profile's lock count (24 for 8A80, 16 for the Kerong-style profile), each lock with a latch
 * and a door. It reads requests and writes replies with the protocol codec and parser of its
 * profile (`profile`, default 8A80), so the host driver is tested against the real bytes.
 *
 * A door springs open when its latch is pulsed; the simulated rider shuts it again after
 * `closeAfterMs` (or a test does, with `closeDoor`). Faults are switched per board or per lock
 * by a test (`inject`, `setLockFault`, `forceOpen`), for all boards by a profile string
 * (CLI `--faults`), and at random from a seeded profile (`flaky`).
 */
import {
  FrameParser,
  PROFILE_8A80,
  decodeRequest,
  encodeReply,
  type BoardProfile,
  type LockReply,
  type LockRequest,
} from '../../protocol/lockboard/index.ts';
import { parseFaultProfile, type FaultProfile } from '../faults.ts';
import type { ByteLink } from './link.ts';
import {
  ALL_SIM_FAULTS,
  WIRE_FAULTS,
  emissionsFor,
  isBoardFault,
  isLockFault,
  isWireFault,
  type BoardFault,
  type LockFault,
  type SimFault,
  type WireFault,
} from './faults.ts';

export interface LockBoardSimOptions {
  boards: ReadonlyArray<{ address: number; locks?: number }>;
  profile?: BoardProfile;
  /** Delay before each reply (SPEC §6: typically 20–200 ms). Default 30. */
  latencyMs?: number;
  /** The simulated rider shuts an opened door after this long; null: only `closeDoor` shuts it. Default 10 s. */
  closeAfterMs?: number | null;
  /** Delay of a `late_reply` (longer than the host's 1 s timeout). Default 1500. */
  lateReplyMs?: number;
  /** Unlock-all fires one lock after another this far apart (SPEC §6: ~300 ms). */
  unlockAllStepMs?: number;
  /** A profile string (`none`, `flaky@7`, `bad_bcc,split` …) or a built profile. */
  faults?: string | FaultProfile<SimFault>;
}

interface Lock {
  doorOpen: boolean;
  fault: LockFault | undefined;
  unlocks: number;
  closeTimer: NodeJS.Timeout | undefined;
}

interface Board {
  address: number;
  locks: Lock[];
  /** Scripted faults: remaining uses (Infinity until cleared). */
  faults: Map<BoardFault, number>;
}

export type SimEvent =
  | { type: 'request'; request: LockRequest }
  | { type: 'door'; board: number; lock: number; open: boolean; cause: 'unlock' | 'rider' | 'forced' | 'test' };

export class LockBoardSim {
  readonly profile: BoardProfile;
  private readonly boards = new Map<number, Board>();
  private readonly parser: FrameParser;
  private readonly random: FaultProfile<SimFault>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Set<(e: SimEvent) => void>();
  private links: Array<{ link: ByteLink; off: () => void }> = [];
  latencyMs: number;
  closeAfterMs: number | null;
  lateReplyMs: number;
  /** Requests received (valid frames addressed to any board). */
  requestCount = 0;

  constructor(opts: LockBoardSimOptions) {
    this.profile = opts.profile ?? PROFILE_8A80;
    this.parser = FrameParser.forRequests(this.profile);
    this.latencyMs = opts.latencyMs ?? 30;
    this.closeAfterMs = opts.closeAfterMs === undefined ? 10_000 : opts.closeAfterMs;
    this.lateReplyMs = opts.lateReplyMs ?? 1500;
    this.unlockAllStepMs = opts.unlockAllStepMs ?? 300;
    for (const b of opts.boards) {
      const n = b.locks ?? this.profile.locksPerBoard;
      if (b.address < this.profile.minAddress || b.address > this.profile.maxAddress || n < 1 || n > this.profile.locksPerBoard)
        throw new RangeError(
          `board ${b.address} with ${n} locks does not fit the ${this.profile.name} profile (addresses ${this.profile.minAddress}–${this.profile.maxAddress}, 1–${this.profile.locksPerBoard} locks)`,
        );
      this.boards.set(b.address, {
        address: b.address,
        locks: Array.from({ length: n }, () => ({ doorOpen: false, fault: undefined, unlocks: 0, closeTimer: undefined })),
        faults: new Map(),
      });
    }
    const faults = opts.faults ?? 'none';
    this.random = typeof faults === 'string' ? parseFaultProfile<SimFault>(faults, ALL_SIM_FAULTS, WIRE_FAULTS) : faults;
    for (const f of this.random.always) {
      for (const b of this.boards.values()) {
        if (isBoardFault(f)) b.faults.set(f, Infinity);
        else if (isLockFault(f)) for (const l of b.locks) l.fault = f;
      }
    }
  }

  private readonly unlockAllStepMs: number;

  /** Serve requests arriving on `link`. Returns the detach function. */
  attach(link: ByteLink): () => void {
    const off = link.onData((chunk) => this.receive(link, chunk));
    const entry = { link, off };
    this.links.push(entry);
    return () => {
      off();
      this.links = this.links.filter((e) => e !== entry);
    };
  }

  /** Detach from every link and clear every timer (doors stay as they are). */
  stop(): void {
    for (const e of this.links) e.off();
    this.links = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const b of this.boards.values()) for (const l of b.locks) this.cancelClose(l);
  }

  on(listener: (e: SimEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- scripted faults ----------------------------------------------------------------------

  /** Switch a board fault on, for the next `times` requests to that board (default: until cleared). */
  inject(board: number, fault: BoardFault, opts: { times?: number } = {}): void {
    this.board(board).faults.set(fault, opts.times ?? Infinity);
  }

  /** Switch board faults off: one, all of a board, or all of every board. */
  clear(board?: number, fault?: BoardFault): void {
    const targets = board === undefined ? [...this.boards.values()] : [this.board(board)];
    for (const b of targets) {
      if (fault) b.faults.delete(fault);
      else b.faults.clear();
    }
  }

  faultsOf(board: number): BoardFault[] {
    return [...this.board(board).faults.keys()];
  }

  setLockFault(board: number, lock: number, fault: LockFault | undefined): void {
    const l = this.lock(board, lock);
    l.fault = fault;
    if (fault === 'left_open') this.cancelClose(l);
    if (fault === undefined && l.doorOpen) this.scheduleClose(board, lock, l);
  }

  // ---- doors --------------------------------------------------------------------------------

  door(board: number, lock: number): 'open' | 'closed' {
    return this.lock(board, lock).doorOpen ? 'open' : 'closed';
  }

  /** Doors that are open now, as compartment names `"{board}-{lock}"`. */
  openDoors(): string[] {
    const out: string[] = [];
    for (const b of this.boards.values()) b.locks.forEach((l, i) => l.doorOpen && out.push(`${b.address}-${i + 1}`));
    return out;
  }

  unlockCount(board: number, lock: number): number {
    return this.lock(board, lock).unlocks;
  }

  /** The rider (or a test) shuts the door. */
  closeDoor(board: number, lock: number): void {
    this.setDoor(board, lock, false, 'rider');
  }

  /** The rider (or a test) pulls an unlatched door open again; a test may also open any door. */
  openDoor(board: number, lock: number): void {
    this.setDoor(board, lock, true, 'test');
  }

  /** A door opened by key or force, without an unlock (the host sees it only by polling). */
  forceOpen(board: number, lock: number): void {
    this.setDoor(board, lock, true, 'forced');
  }

  private setDoor(board: number, lock: number, open: boolean, cause: 'unlock' | 'rider' | 'forced' | 'test'): void {
    const l = this.lock(board, lock);
    this.cancelClose(l);
    // An unlock pulse on a door that is already open (the host retrying after a lost reply)
    // restarts the rider's timer: the rider still shuts the door afterwards.
    if (open && cause === 'unlock') this.scheduleClose(board, lock, l);
    if (l.doorOpen === open) return;
    l.doorOpen = open;
    this.emit({ type: 'door', board, lock, open, cause });
  }

  private scheduleClose(board: number, lock: number, l: Lock): void {
    if (this.closeAfterMs === null || l.fault === 'left_open') return;
    l.closeTimer = this.later(this.closeAfterMs, () => {
      l.closeTimer = undefined;
      this.setDoor(board, lock, false, 'rider');
    });
  }

  private cancelClose(l: Lock): void {
    if (l.closeTimer) {
      clearTimeout(l.closeTimer);
      this.timers.delete(l.closeTimer);
      l.closeTimer = undefined;
    }
  }

  // ---- the wire -----------------------------------------------------------------------------

  private receive(link: ByteLink, chunk: Buffer): void {
    for (const frame of this.parser.push(chunk).frames) {
      const req = decodeRequest(frame, this.profile);
      if (!req) continue;
      const board = this.boards.get(req.board);
      if (!board) continue; // no such board on this bus: silence (SPEC §6)
      this.requestCount++;
      this.emit({ type: 'request', request: req });
      if (this.take(board, 'offline')) continue; // off the bus: hears nothing, does nothing
      this.serve(link, board, req);
    }
  }

  private serve(link: ByteLink, board: Board, req: LockRequest): void {
    const inverted = board.faults.has('inverted');
    const feedback = (open: boolean) => (inverted ? !open : open);
    let reply: LockReply;
    let extraDelayMs = 0;
    switch (req.kind) {
      case 'unlock': {
        const l = this.lock(board.address, req.lock);
        l.unlocks++;
        if (l.fault !== 'jammed' && l.fault !== 'jammed_reports_open') this.setDoor(board.address, req.lock, true, 'unlock');
        const reported = l.fault === 'jammed_reports_open' ? true : l.doorOpen;
        reply = { kind: 'unlock', board: board.address, lock: req.lock, open: feedback(reported) };
        break;
      }
      case 'unlockAll': {
        board.locks.forEach((l, i) => {
          this.later(i * this.unlockAllStepMs, () => {
            l.unlocks++;
            if (l.fault !== 'jammed' && l.fault !== 'jammed_reports_open') this.setDoor(board.address, i + 1, true, 'unlock');
          });
        });
        extraDelayMs = board.locks.length * this.unlockAllStepMs;
        reply = { kind: 'unlockAll', board: board.address };
        break;
      }
      case 'query':
        reply = { kind: 'query', board: board.address, lock: req.lock, open: feedback(this.lock(board.address, req.lock).doorOpen) };
        break;
      case 'queryAll':
        reply = {
          kind: 'queryAll',
          board: board.address,
          closed: Array.from({ length: this.profile.locksPerBoard }, (_, i) => !feedback(board.locks[i]?.doorOpen ?? false)),
        };
        break;
      case 'probe':
        reply = { kind: 'probe', board: board.address };
        break;
    }
    const fault = this.wireFault(board);
    const emissions = emissionsFor(fault, encodeReply(reply, this.profile), {
      latencyMs: this.latencyMs + extraDelayMs,
      lateReplyMs: this.lateReplyMs + extraDelayMs,
      board: board.address,
      profile: this.profile,
      reencode: (address) => encodeReply({ ...reply, board: address }, this.profile),
    });
    for (const e of emissions) {
      if (e.delayMs <= 0) link.write(e.bytes);
      else this.later(e.delayMs, () => link.write(e.bytes));
    }
  }

  /** The wire fault for this reply: a scripted one first, else a random roll. */
  private wireFault(board: Board): WireFault | undefined {
    for (const f of board.faults.keys()) if (isWireFault(f) && this.take(board, f)) return f;
    return this.random.roll(WIRE_FAULTS) as WireFault | undefined;
  }

  /** True when `fault` is on for this request; uses up one of a counted fault. */
  private take(board: Board, fault: BoardFault): boolean {
    const left = board.faults.get(fault);
    if (left === undefined) return false;
    if (left !== Infinity) {
      if (left <= 1) board.faults.delete(fault);
      else board.faults.set(fault, left - 1);
    }
    return true;
  }

  // ---- helpers ------------------------------------------------------------------------------

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private emit(e: SimEvent): void {
    for (const l of this.listeners) l(e);
  }

  private board(address: number): Board {
    const b = this.boards.get(address);
    if (!b) throw new RangeError(`no board ${address} on this simulated bus`);
    return b;
  }

  private lock(board: number, lock: number): Lock {
    const l = this.board(board).locks[lock - 1];
    if (!l) throw new RangeError(`no lock ${lock} on board ${board}`);
    return l;
  }

  get addresses(): number[] {
    return [...this.boards.keys()];
  }
}
