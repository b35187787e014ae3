/**
 * The wire layer of a lock bus: the serial port (a ReopeningPort), the
 * frame parser, and one request/reply exchange at a time with its waiter, timeout, retries and
 * per-board error counters. The bus above it (lockbus.ts) decides what to ask and what the
 * answers mean for boards and doors.
 */
import { FrameParser, boardDeviceId, encodeRequest, hex, type BoardProfile, type LockReply, type LockRequest } from '../../../protocol/lockboard/index.ts';
import type { DeviceHealthReporter } from '../../core/device-ports.ts';
import type { Logger } from '../../log.ts';
import { judgeFrame, looksLikeBadChecksum, Waiter, type ExchangeOutcome } from './exchange.ts';
import { ReopeningPort } from '../reopening-port.ts';
import type { BindingInterface } from './open-port.ts';


export interface LockBusWireOptions {
  path: string;
  baudRate: number;
  binding?: BindingInterface | undefined;
  profile: BoardProfile;
  log: Logger;
  health: DeviceHealthReporter;
  /** Counters are kept only for boards configured on this bus. */
  isBoard: (address: number) => boolean;
  replyTimeoutMs: number;
  reopenInitialMs: number;
  reopenMaxMs: number;
  /** The port failed or went away (every board on it is unreachable until it reopens). */
  onPortLost: () => void;
}

export class LockBusWire {
  private readonly parser: FrameParser;
  private readonly log: Logger;
  private readonly port: ReopeningPort;
  private waiter: Waiter | undefined;
  private lastBoard: number | undefined;
  private running = false;

  constructor(private readonly opts: LockBusWireOptions) {
    this.parser = FrameParser.forReplies(opts.profile);
    this.log = opts.log;
    this.port = new ReopeningPort({
      path: opts.path,
      baudRate: opts.baudRate,
      binding: opts.binding,
      name: 'lock bus',
      log: opts.log,
      reopenInitialMs: opts.reopenInitialMs,
      reopenMaxMs: opts.reopenMaxMs,
      onData: (chunk) => this.receive(chunk),
      onOpen: () => this.parser.reset(),
      onLost: () => {
        this.log.error('every board on this lock bus is unreachable until its port reopens');
        this.waiter?.finish({ ok: false, error: 'port_closed' });
        this.opts.onPortLost();
      },
    });
  }

  /** Open the port; when that fails, keep retrying in the background. */
  async start(): Promise<void> {
    this.running = true;
    await this.port.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.waiter?.finish({ ok: false, error: 'stopped' });
    await this.port.stop();
  }

  /** Send one request and wait for its reply, retrying `retries` times on a timeout or bad frame. */
  async exchange(req: LockRequest, retries: number, timeoutMs = this.opts.replyTimeoutMs): Promise<ExchangeOutcome> {
    const deviceId = boardDeviceId(req.board);
    let last: ExchangeOutcome = { ok: false, error: 'timeout' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (!this.running) return { ok: false, error: 'stopped' };
      if (!this.port.isOpen) return { ok: false, error: 'port_closed' };
      // Leftovers of an earlier exchange (a late or duplicated reply) must not answer this one.
      const left = this.parser.reset();
      if (left) this.countGarbage(left);
      this.parser.expect(req.kind);
      this.lastBoard = req.board;
      const waiter = new Waiter(req, timeoutMs); // registered before the write (the "waitress")
      this.waiter = waiter;
      const bytes = encodeRequest(req, this.opts.profile);
      // The hex dump only when trace is on: it is built for every frame otherwise (twice a second at rest).
      if (this.log.isLevelEnabled('trace')) this.log.trace({ dir: 'tx', bytes: hex(bytes) }, 'lock bus tx');
      this.port.write(bytes);
      last = await waiter.done;
      this.waiter = undefined;
      if (last.ok) return last;
      if (last.error === 'timeout') this.opts.health.count(deviceId, 'timeouts');
      if (last.error !== 'timeout' && last.error !== 'bad_frame') return last;
      if (attempt < retries) {
        this.opts.health.count(deviceId, 'retries');
        this.log.debug({ board: req.board, request: req.kind, error: last.error, attempt: attempt + 1 }, 'retrying lock bus request');
      }
    }
    return last;
  }

  private receive(chunk: Buffer): void {
    if (this.log.isLevelEnabled('trace')) this.log.trace({ dir: 'rx', bytes: hex(chunk) }, 'lock bus rx');
    const { frames, discarded } = this.parser.push(chunk);
    const w = this.waiter && !this.waiter.settled ? this.waiter : undefined;
    for (const d of discarded) {
      if (w && looksLikeBadChecksum(d, w.request, this.opts.profile)) {
        this.opts.health.count(boardDeviceId(w.request.board), 'badChecksums');
        this.log.debug({ board: w.request.board, bytes: hex(d) }, 'reply with a bad checksum');
        w.finish({ ok: false, error: 'bad_frame' }); // retry now rather than at the timeout
      } else this.countGarbage(d);
    }
    for (const f of frames) this.judge(f);
  }

  private judge(frame: Buffer): void {
    const w = this.waiter && !this.waiter.settled ? this.waiter : undefined;
    const v = judgeFrame(frame, w?.request, this.opts.profile);
    if (v.kind === 'reply') {
      w!.finish({ ok: true, reply: v.reply as LockReply });
      return;
    }
    const board = w?.request.board ?? this.lastBoard;
    const counter = v.kind === 'wrong_address' ? 'wrongAddress' : 'unexpectedFrames';
    if (board !== undefined && this.opts.isBoard(board)) this.opts.health.count(boardDeviceId(board), counter);
    this.log.debug({ bytes: hex(frame), awaiting: w?.request, verdict: v.kind }, 'frame ignored');
  }

  private countGarbage(bytes: Buffer): void {
    const board = this.waiter?.request.board ?? this.lastBoard;
    if (board !== undefined && this.opts.isBoard(board)) this.opts.health.count(boardDeviceId(board), 'garbageBytes', bytes.length);
    this.log.debug({ bytes: hex(bytes) }, 'discarded bytes on lock bus');
  }
}
