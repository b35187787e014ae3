/**
 * Lock-board bus driver (SPEC §6, contract): one serial line, up to 31 boards.
 *
 * - One request in flight per bus (a queue; rider-facing requests ahead of polls); the reply
 *   waiter is registered before the request is written; every attempt has its own timeout.
 * - Queries are retried on a timeout or a bad frame (`queryRetries`, SPEC §6: up to 3). An
 *   unlock is never re-sent here: it is verified by querying the lock, and only the query's
 *   answer (or the unlock's own reply) says whether the door opened; trying again is the
 *   locker core's decision.
 * - Discarded bytes, bad checksums, timeouts and wrong-address replies are counted per board in
 *   the device health; a board that stops answering is marked offline and its doors unknown.
 * - Door states are polled with query-all (~1 s); changes are emitted as `doors` events.
 *
 * The port, parser, waiter and counters are the wire layer (lockbus/wire.ts); this file decides
 * what to ask and what the answers mean for boards and doors.
 */
import { PROFILE_8A80, type BoardProfile } from '../../protocol/lockboard/index.ts';
import type { Clock } from '../../protocol/time.ts';
import type { DeviceHealthReporter, LockBusError, LockBusEvent, LockPort, UnlockResult } from '../core/device-ports.ts';
import type { Logger } from '../log.ts';
import { Emitter } from '../emitter.ts';
import type { ExchangeOutcome } from './lockbus/exchange.ts';
import type { BindingInterface } from './lockbus/open-port.ts';
import { SerialQueue, type Priority } from './lockbus/queue.ts';
import { DEFAULT_BAUD_RATE, boardDeviceId } from '../../protocol/index.ts';
import { LockBusWire } from './lockbus/wire.ts';

export type { LockBusError, LockBusEvent, UnlockResult };

/** The bus's timings, from config `lockers` (edge/station.ts `lockBusTimeoutsOf`); the defaults are the config schema's. */
export interface LockBusTimeouts {
  /** Per attempt (SPEC §6: a board answers within 1 s). */
  replyTimeoutMs: number;
  /** Extra attempts of a query after a timeout or a bad frame (SPEC §6: up to 3). */
  queryRetries: number;
  /** Door-state polling with query-all. */
  pollIntervalMs: number;
  /** How often an unreachable board is asked again (one attempt, no retries). */
  offlinePollIntervalMs: number;
  /** Reopen backoff after the port fails or closes. */
  reopenInitialMs: number;
  reopenMaxMs: number;
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
  health: DeviceHealthReporter;
  clock: Clock;
  timeouts: LockBusTimeouts;
  /** Poll door states on a timer (default true); tests may poll by hand with `pollNow()`. */
  poll?: boolean;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: LockBusError };

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

export class LockBus implements LockPort {
  readonly id: string;
  readonly profile: BoardProfile;
  private readonly boards = new Map<number, BoardState>();
  private readonly log: Logger;
  private readonly t: LockBusTimeouts;
  private readonly wire: LockBusWire;
  private readonly queue = new SerialQueue();
  private readonly events: Emitter<[LockBusEvent]>;
  private pollTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly opts: LockBusOptions) {
    this.id = opts.id ?? opts.path;
    this.profile = opts.profile ?? PROFILE_8A80;
    this.log = opts.logger.child({ module: 'lockboard', port: opts.path });
    this.events = new Emitter('lock-bus', this.log);
    this.t = { ...opts.timeouts };
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
    this.wire = new LockBusWire({
      path: opts.path,
      baudRate: opts.baudRate ?? DEFAULT_BAUD_RATE,
      binding: opts.binding,
      profile: this.profile,
      log: this.log,
      health: opts.health,
      isBoard: (address) => this.boards.has(address),
      replyTimeoutMs: this.t.replyTimeoutMs,
      reopenInitialMs: this.t.reopenInitialMs,
      reopenMaxMs: this.t.reopenMaxMs,
      onPortLost: () => {
        for (const b of this.boards.values()) this.setReachable(b, false, 'port_closed');
      },
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Register the boards in health, open the port (retrying in the background if it fails), start polling. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.queue.open();
    const heartbeatMs = this.t.pollIntervalMs + this.t.replyTimeoutMs * (this.t.queryRetries + 1);
    for (const b of this.boards.values()) this.opts.health.register(b.deviceId, 'lockboard', heartbeatMs);
    await this.wire.start();
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
    this.pollTimer = undefined;
    await this.wire.stop();
  }

  // ---- public operations --------------------------------------------------------------------

  on(listener: (e: LockBusEvent) => void): () => void {
    return this.events.on(listener);
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
      const r = await this.wire.exchange({ kind: 'probe', board }, this.t.queryRetries);
      this.afterQuery(b, r);
      return r.ok ? { ok: true, value: true } : r;
    });
  }

  /**
   * Pulse one latch once and report what the board says of the door (SPEC §6: never assume an
   * unlock worked without a reply or a later query saying the door is open): the unlock, then a
   * query of the lock; the query's answer decides, or, when it cannot be had, the unlock's own
   * reply. The pulse is never re-sent here: whether to try again is the locker core's decision
   * (its compartment machine, config `lockers.unlockAttempts`), the one retry layer for unlocks.
   */
  async unlock(board: number, lock: number): Promise<UnlockResult> {
    const r = await this.run(board, 'high', async (b): Promise<Result<UnlockResult>> => {
      const u = await this.wire.exchange({ kind: 'unlock', board, lock }, 0);
      if (u.ok) this.markSeen(b);
      const q = await this.doQuery(b, lock);
      if (q.ok && q.value) return { ok: true, value: { kind: 'opened', confirmedBy: 'query' } };
      if (q.ok) return { ok: true, value: { kind: 'stayed_shut', unlockReplied: u.ok } };
      // The query failed: the unlock's own reply is all there is.
      if (u.ok && u.reply.kind === 'unlock') {
        this.setDoor(b, lock, u.reply.open, 'unlock');
        return { ok: true, value: u.reply.open ? { kind: 'opened', confirmedBy: 'reply' } : { kind: 'stayed_shut', unlockReplied: true } };
      }
      return { ok: true, value: { kind: 'no_answer', error: q.error } };
    });
    return r.ok ? r.value : { kind: 'no_answer', error: r.error };
  }

  /** Pulse every latch of a board (SPEC §6: fired ~300 ms apart; the reply comes when all have fired). */
  unlockAll(board: number, stepMs = 300): Promise<Result<true>> {
    return this.run(board, 'high', async (b) => {
      const r = await this.wire.exchange({ kind: 'unlockAll', board }, 0, this.t.replyTimeoutMs + b.locks * stepMs);
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
    const r = await this.wire.exchange({ kind: 'queryAll', board: b.address }, retries);
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
    const r = await this.wire.exchange({ kind: 'query', board: b.address, lock }, this.t.queryRetries);
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

  private emit(e: LockBusEvent): void {
    this.events.emit(e);
  }
}
