/**
 * Lock-board bus driver (SPEC §6, contract): one serial line, up to 31 boards.
 *
 * - One request in flight per bus (a queue; rider-facing requests ahead of polls); the reply
 *   waiter is registered before the request is written; every attempt has its own timeout.
 * - Queries are retried on a timeout or a bad frame (`queryRetries`, SPEC §6: up to 3). An
 *   unlock is never blindly re-sent: it is verified by querying the lock, and only the query's
 *   answer (or the unlock's own reply) says whether the door opened.
 * - Discarded bytes, bad checksums, timeouts and wrong-address replies are counted per board in
 *   the device health; a board that stops answering is marked offline and its doors unknown.
 * - Door states are polled with query-all (~1 s); changes are emitted as `doors` events.
 */
import type { SerialPort } from 'serialport';
import {
  FrameParser,
  PROFILE_8A80,
  encodeRequest,
  hex,
  type BoardProfile,
  type LockReply,
  type LockRequest,
} from '../../protocol/lockboard/index';
import type { Clock } from '../../protocol/time';
import type { DeviceHealth } from '../core/health';
import type { Logger } from '../log';
import { judgeFrame, looksLikeBadChecksum, Waiter, type ExchangeError, type ExchangeOutcome } from './lockbus/exchange';
import { backoffMs, openSerialPort, type BindingInterface } from './lockbus/open-port';
import { SerialQueue, type Priority } from './lockbus/queue';

export interface LockBusTimeouts {
  /** Per attempt (SPEC §6: a board answers within 1 s). Default 1000. */
  replyTimeoutMs?: number;
  /** Extra attempts of a query after a timeout or a bad frame. Default 3. */
  queryRetries?: number;
  /** Extra unlocks, each only after a query showed the door still shut and the unlock got no reply. Default 0. */
  unlockRetries?: number;
  /** Door-state polling with query-all. Default 1000. */
  pollIntervalMs?: number;
  /** How often an unreachable board is asked again (one attempt, no retries). Default 5000. */
  offlinePollIntervalMs?: number;
  /** Reopen backoff after the port fails or closes. Defaults 500 → 10 000. */
  reopenInitialMs?: number;
  reopenMaxMs?: number;
}

export interface LockBusOptions {
  /** Bus name in logs and views; defaults to the path. */
  id?: string;
  path: string;
  baudRate?: number;
  /** Another serialport binding (tests: the simulator's mock line). */
  binding?: BindingInterface;
  profile?: BoardProfile;
  boards: ReadonlyArray<{ address: number; locks?: number }>;
  logger: Logger;
  health: DeviceHealth;
  clock: Clock;
  timeouts?: LockBusTimeouts;
  /** Poll door states on a timer (default true); tests may poll by hand with `pollNow()`. */
  poll?: boolean;
}

export type LockBusError = ExchangeError | 'unknown_board';
export type Result<T> = { ok: true; value: T } | { ok: false; error: LockBusError };

/** What an unlock did, as far as the board's replies and a verifying query tell. */
export type UnlockResult =
  | { kind: 'opened'; confirmedBy: 'query' | 'reply' }
  | { kind: 'stayed_shut'; unlockReplied: boolean }
  | { kind: 'no_answer'; error: LockBusError };

export type LockBusEvent =
  /** After each query-all (every poll), and when a single query or unlock changed a door. */
  | { type: 'doors'; bus: string; board: number; open: boolean[]; changed: number[]; source: 'poll' | 'query' | 'unlock' }
  | { type: 'reachability'; bus: string; board: number; reachable: boolean };

/** The device-health id of a board. Addresses are unique per station (compartments are "{board}-{lock}"). */
export function boardDeviceId(address: number): string {
  return `lockboard-${address}`;
}

interface BoardState {
  address: number;
  locks: number;
  deviceId: string;
  reachable: boolean;
  /** Open flag per lock (index 0 = lock 1); undefined while unknown. */
  open: Array<boolean | undefined>;
  pollQueued: boolean;
  lastPollMono: number;
}

export class LockBus {
  readonly id: string;
  readonly profile: BoardProfile;
  private readonly boards = new Map<number, BoardState>();
  private readonly log: Logger;
  private readonly t: Required<LockBusTimeouts>;
  private readonly parser: FrameParser;
  private readonly queue = new SerialQueue();
  private readonly listeners = new Set<(e: LockBusEvent) => void>();
  private port: SerialPort | undefined;
  private waiter: Waiter | undefined;
  private lastBoard: number | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempt = 0;
  private running = false;

  constructor(private readonly opts: LockBusOptions) {
    this.id = opts.id ?? opts.path;
    this.profile = opts.profile ?? PROFILE_8A80;
    this.parser = FrameParser.forReplies(this.profile);
    this.log = opts.logger.child({ module: 'lockboard', port: opts.path });
    const t = opts.timeouts ?? {};
    this.t = {
      replyTimeoutMs: t.replyTimeoutMs ?? 1000,
      queryRetries: t.queryRetries ?? 3,
      unlockRetries: t.unlockRetries ?? 0,
      pollIntervalMs: t.pollIntervalMs ?? 1000,
      offlinePollIntervalMs: t.offlinePollIntervalMs ?? 5000,
      reopenInitialMs: t.reopenInitialMs ?? 500,
      reopenMaxMs: t.reopenMaxMs ?? 10_000,
    };
    for (const b of opts.boards) {
      const locks = b.locks ?? this.profile.locksPerBoard;
      this.boards.set(b.address, {
        address: b.address,
        locks,
        deviceId: boardDeviceId(b.address),
        reachable: false,
        open: new Array<boolean | undefined>(locks).fill(undefined),
        pollQueued: false,
        lastPollMono: -Infinity,
      });
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Register the boards in health, open the port (retrying in the background if it fails), start polling. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.queue.open();
    const heartbeatMs = this.t.pollIntervalMs + this.t.replyTimeoutMs * (this.t.queryRetries + 1);
    for (const b of this.boards.values()) this.opts.health.register(b.deviceId, 'lockboard', heartbeatMs);
    await this.openPort();
    if (this.opts.poll !== false) {
      this.pollTimer = setInterval(() => this.pollDue(), this.t.pollIntervalMs);
      this.pollTimer.unref?.();
      this.pollDue();
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.queue.close(new Error('lock bus stopped'));
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.pollTimer = this.reopenTimer = undefined;
    this.waiter?.finish({ ok: false, error: 'stopped' });
    const port = this.port;
    this.port = undefined;
    if (port) {
      port.removeAllListeners('data');
      port.removeAllListeners('close');
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      port.removeAllListeners();
    }
  }

  private async openPort(): Promise<void> {
    try {
      const port = await openSerialPort({ path: this.opts.path, baudRate: this.opts.baudRate ?? 9600, binding: this.opts.binding });
      if (!this.running) {
        port.close();
        return;
      }
      this.port = port;
      this.reopenAttempt = 0;
      this.parser.reset();
      port.on('data', (chunk: Buffer) => this.receive(chunk));
      port.on('error', (err) => this.log.warn({ err }, 'lock bus port error'));
      port.on('close', (err: Error | null) => this.portLost(err ?? new Error('port closed')));
      this.log.info('lock bus port open');
    } catch (err) {
      this.log.error({ err }, 'cannot open lock bus port; retrying');
      this.scheduleReopen();
    }
  }

  private portLost(err: Error): void {
    if (!this.running) return;
    this.log.error({ err }, 'lock bus port lost; every board on it is unreachable until it reopens');
    this.port?.removeAllListeners();
    this.port = undefined;
    this.waiter?.finish({ ok: false, error: 'port_closed' });
    for (const b of this.boards.values()) this.setReachable(b, false, 'port_closed');
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running || this.reopenTimer) return;
    const ms = backoffMs(this.reopenAttempt++, this.t.reopenInitialMs, this.t.reopenMaxMs);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      void this.openPort();
    }, ms);
    this.reopenTimer.unref?.();
  }

  // ---- public operations --------------------------------------------------------------------

  on(listener: (e: LockBusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get addresses(): number[] {
    return [...this.boards.keys()];
  }

  locksOf(board: number): number {
    return this.boards.get(board)?.locks ?? 0;
  }

  isReachable(board: number): boolean {
    return this.boards.get(board)?.reachable ?? false;
  }

  doorState(board: number, lock: number): 'open' | 'closed' | 'unknown' {
    const v = this.boards.get(board)?.open[lock - 1];
    return v === undefined ? 'unknown' : v ? 'open' : 'closed';
  }

  /** Query-all of one board, with retries; updates door states and emits `doors`. Index 0 = lock 1, true = open. */
  queryAll(board: number, priority: Priority = 'high'): Promise<Result<boolean[]>> {
    return this.run(board, priority, async (b) => this.doQueryAll(b, this.t.queryRetries));
  }

  /** Query one lock, with retries. True = open. */
  query(board: number, lock: number): Promise<Result<boolean>> {
    return this.run(board, 'high', async (b) => this.doQuery(b, lock));
  }

  /** Probe a board (is it on the bus?). */
  probe(board: number): Promise<Result<true>> {
    return this.run(board, 'high', async (b) => {
      const r = await this.exchange({ kind: 'probe', board }, this.t.queryRetries);
      this.afterQuery(b, r);
      return r.ok ? { ok: true, value: true } : r;
    });
  }

  /**
   * Pulse one latch and find out whether the door opened (SPEC §6: never assume an unlock worked
   * without a reply or a later query saying the door is open). The unlock itself is sent once;
   * a query of the lock then decides. Only when the unlock got no reply and the query shows the
   * door shut is it sent again, up to `unlockRetries` times (default 0).
   */
  async unlock(board: number, lock: number): Promise<UnlockResult> {
    const r = await this.run(board, 'high', async (b): Promise<Result<UnlockResult>> => {
      for (let attempt = 0; ; attempt++) {
        const u = await this.exchange({ kind: 'unlock', board, lock }, 0);
        if (u.ok) this.markSeen(b);
        const q = await this.doQuery(b, lock);
        if (q.ok && q.value) return { ok: true, value: { kind: 'opened', confirmedBy: 'query' } };
        if (q.ok && u.ok) return { ok: true, value: { kind: 'stayed_shut', unlockReplied: true } };
        if (q.ok && attempt < this.t.unlockRetries) continue;
        if (q.ok) return { ok: true, value: { kind: 'stayed_shut', unlockReplied: false } };
        // The query failed: the unlock's own reply is all there is.
        if (u.ok && u.reply.kind === 'unlock') {
          this.setDoor(b, lock, u.reply.open, 'unlock');
          return { ok: true, value: u.reply.open ? { kind: 'opened', confirmedBy: 'reply' } : { kind: 'stayed_shut', unlockReplied: true } };
        }
        return { ok: true, value: { kind: 'no_answer', error: q.error } };
      }
    });
    return r.ok ? r.value : { kind: 'no_answer', error: r.error };
  }

  /** Pulse every latch of a board (SPEC §6: fired ~300 ms apart; the reply comes when all have fired). */
  unlockAll(board: number, stepMs = 300): Promise<Result<true>> {
    return this.run(board, 'high', async (b) => {
      const r = await this.exchange({ kind: 'unlockAll', board }, 0, this.t.replyTimeoutMs + b.locks * stepMs);
      if (r.ok) this.markSeen(b);
      return r.ok ? { ok: true, value: true } : r;
    });
  }

  /** Poll every board now and wait for the answers (tests, and start-up). */
  async pollNow(): Promise<void> {
    await Promise.all([...this.boards.values()].map((b) => this.queryAll(b.address, 'low')));
  }

  // ---- polling ------------------------------------------------------------------------------

  private pollDue(): void {
    const now = this.opts.clock.monotonic();
    for (const b of this.boards.values()) {
      if (b.pollQueued) continue;
      // An unreachable board is asked less often and only once, so it does not hold up the bus.
      if (!b.reachable && now - b.lastPollMono < this.t.offlinePollIntervalMs) continue;
      b.pollQueued = true;
      b.lastPollMono = now;
      void this.run(b.address, 'low', async (s) => this.doQueryAll(s, s.reachable ? this.t.queryRetries : 0)).finally(() => {
        b.pollQueued = false;
      });
    }
  }

  private async doQueryAll(b: BoardState, retries: number): Promise<Result<boolean[]>> {
    const r = await this.exchange({ kind: 'queryAll', board: b.address }, retries);
    this.afterQuery(b, r);
    if (!r.ok || r.reply.kind !== 'queryAll') return r.ok ? { ok: false, error: 'bad_frame' } : r;
    const open = r.reply.closed.slice(0, b.locks).map((c) => !c);
    const changed: number[] = [];
    open.forEach((o, i) => {
      if (b.open[i] !== o) changed.push(i + 1);
      b.open[i] = o;
    });
    this.emit({ type: 'doors', bus: this.id, board: b.address, open, changed, source: 'poll' });
    return { ok: true, value: open };
  }

  private async doQuery(b: BoardState, lock: number): Promise<Result<boolean>> {
    const r = await this.exchange({ kind: 'query', board: b.address, lock }, this.t.queryRetries);
    this.afterQuery(b, r);
    if (!r.ok || r.reply.kind !== 'query') return r.ok ? { ok: false, error: 'bad_frame' } : r;
    this.setDoor(b, lock, r.reply.open, 'query');
    return { ok: true, value: r.reply.open };
  }

  /** A query's outcome decides reachability: answered → seen; no answer after every retry → offline. */
  private afterQuery(b: BoardState, r: ExchangeOutcome): void {
    if (r.ok) this.markSeen(b);
    else if (r.error === 'timeout' || r.error === 'bad_frame') this.setReachable(b, false, r.error === 'timeout' ? 'no_reply' : 'bad_frames');
  }

  private markSeen(b: BoardState): void {
    this.opts.health.seen(b.deviceId);
    this.setReachable(b, true);
  }

  private setReachable(b: BoardState, reachable: boolean, reason?: string): void {
    if (!reachable) this.opts.health.markOffline(b.deviceId, reason ?? 'no_reply');
    if (b.reachable === reachable) return;
    b.reachable = reachable;
    if (!reachable) b.open.fill(undefined);
    this.log.warn({ board: b.address, reachable, reason }, reachable ? 'board answering' : 'board not answering');
    this.emit({ type: 'reachability', bus: this.id, board: b.address, reachable });
  }

  private setDoor(b: BoardState, lock: number, open: boolean, source: 'query' | 'unlock'): void {
    if (b.open[lock - 1] === open) return;
    b.open[lock - 1] = open;
    this.emit({ type: 'doors', bus: this.id, board: b.address, open: b.open.map((o) => o ?? false), changed: [lock], source });
  }

  // ---- the wire -----------------------------------------------------------------------------

  private run<T>(board: number, priority: Priority, fn: (b: BoardState) => Promise<Result<T>>): Promise<Result<T>> {
    const b = this.boards.get(board);
    if (!b) return Promise.resolve({ ok: false, error: 'unknown_board' });
    if (!this.running) return Promise.resolve({ ok: false, error: 'stopped' });
    return this.queue.push(priority, () => fn(b)).catch(() => ({ ok: false, error: 'stopped' }) as const);
  }

  /** Send one request and wait for its reply, retrying `retries` times on a timeout or bad frame. */
  private async exchange(req: LockRequest, retries: number, timeoutMs = this.t.replyTimeoutMs): Promise<ExchangeOutcome> {
    const deviceId = boardDeviceId(req.board);
    let last: ExchangeOutcome = { ok: false, error: 'timeout' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (!this.running) return { ok: false, error: 'stopped' };
      const port = this.port;
      if (!port?.isOpen) return { ok: false, error: 'port_closed' };
      // Leftovers of an earlier exchange (a late or duplicated reply) must not answer this one.
      const left = this.parser.reset();
      if (left) this.countGarbage(left);
      this.parser.expect(req.kind);
      this.lastBoard = req.board;
      const waiter = new Waiter(req, timeoutMs); // registered before the write (the "waitress")
      this.waiter = waiter;
      const bytes = encodeRequest(req, this.profile);
      this.log.trace({ dir: 'tx', bytes: hex(bytes) }, 'lock bus tx');
      port.write(bytes);
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
    this.log.trace({ dir: 'rx', bytes: hex(chunk) }, 'lock bus rx');
    const { frames, discarded } = this.parser.push(chunk);
    const w = this.waiter && !this.waiter.settled ? this.waiter : undefined;
    for (const d of discarded) {
      if (w && looksLikeBadChecksum(d, w.request, this.profile)) {
        this.opts.health.count(boardDeviceId(w.request.board), 'badChecksums');
        this.log.debug({ board: w.request.board, bytes: hex(d) }, 'reply with a bad checksum');
        w.finish({ ok: false, error: 'bad_frame' }); // retry now rather than at the timeout
      } else this.countGarbage(d);
    }
    for (const f of frames) this.judge(f);
  }

  private judge(frame: Buffer): void {
    const w = this.waiter && !this.waiter.settled ? this.waiter : undefined;
    const v = judgeFrame(frame, w?.request, this.profile);
    if (v.kind === 'reply') {
      w!.finish({ ok: true, reply: v.reply as LockReply });
      return;
    }
    const board = w?.request.board ?? this.lastBoard;
    const counter = v.kind === 'wrong_address' ? 'wrongAddress' : 'unexpectedFrames';
    if (board !== undefined && this.boards.has(board)) this.opts.health.count(boardDeviceId(board), counter);
    this.log.debug({ bytes: hex(frame), awaiting: w?.request, verdict: v.kind }, 'frame ignored');
  }

  private countGarbage(bytes: Buffer): void {
    const board = this.waiter?.request.board ?? this.lastBoard;
    if (board !== undefined && this.boards.has(board)) this.opts.health.count(boardDeviceId(board), 'garbageBytes', bytes.length);
    this.log.debug({ bytes: hex(bytes) }, 'discarded bytes on lock bus');
  }

  private emit(e: LockBusEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err, event: e.type }, 'lock bus listener failed');
      }
    }
  }
}
