/**
 * Lockers (SPEC §6a): riders deposit and retrieve personal items in compartments named
 * `"{board}-{lock}"` (SPEC §11) on the station's lock buses.
 *
 * - One compartment per rider (`locker_already_held`). A deposit picks a free, in-service
 *   compartment on a board that answers, with its door seen closed, and unlocks it. The storage
 *   clock starts when the door is seen closed again (polling).
 * - A door that does not open is unlocked once more; then the compartment goes out of service
 *   and the rider gets another one.
 * - Retrieve unlocks and ends the holding; the compartment is free once its door is seen closed.
 * - Overdue storage → `locker.overdue`; maintenance may open any compartment → `locker.forced_open`.
 * - A door open longer than the limit → `locker.door_left_open`; a door found open without an
 *   unlock → a `door_forced:{compartment}` fault on its board.
 * - A board that stops answering makes its compartments unavailable, not lost: holdings are in
 *   the ledger and come back with the board (and across restarts).
 *
 * Every state change is written with its event in one ledger transaction. Durations use the
 * injected clock's monotonic time.
 */
import type { Clock } from '../../protocol/time.ts';
import type { Ledger, LedgerTx } from '../ledger/ledger.ts';
import type { Logger } from '../log.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import type { LockPort, UnlockResult } from './device-ports.ts';
import type { DeviceHealth } from './health.ts';
import { writeAudit } from './audit.ts';
import type { AuditRecord, DepositOutcome, LockerPort, LockerView, RetrieveOutcome } from './ports.ts';
import * as store from './lockers/store.ts';
import { DoorObserver } from './lockers/doors.ts';
import { leftOpenDue, newCompartment, overdueDue, viewOf, type Compartment } from './lockers/model.ts';

export interface LockerServiceOptions {
  ledger: Ledger;
  health: DeviceHealth;
  clock: Clock;
  logger: Logger;
  buses: readonly LockPort[];
  /** Storage limit before `locker.overdue` (SPEC §6a default 24 h). */
  storageLimitMs?: number;
  /** What is printed on each door (config `lockers.labels`), written into `locker.deposited` for the rider page. */
  labels?: Readonly<Record<string, string>>;
  /** A door open longer than this raises `locker.door_left_open` (default 120 s). */
  doorLeftOpenMs?: number;
  /** Compartments tried for one deposit before giving up (default 3). */
  maxCompartmentsPerDeposit?: number;
  /** After an unlock without a confirmed opening, a door found open within this is not "forced" (default 30 s). */
  unlockGraceMs?: number;
  /** Also run `checkTimers()` after every poll (default true). */
  timersOnPoll?: boolean;
}

export class LockerService implements LockerPort {
  private readonly comps = new Map<string, Compartment>();
  private readonly doors: DoorObserver;
  /** Holdings on compartments of boards no longer configured: kept, shown, not openable. */
  private readonly orphans = new Map<string, { compartment: string; storedTs: number | null }>();
  private readonly log: Logger;
  private readonly storageLimitMs: number;
  private readonly doorLeftOpenMs: number;
  private readonly unlockGraceMs: number;
  private offs: Array<() => void> = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LockerServiceOptions) {
    this.log = opts.logger.child({ module: 'lockers' });
    this.storageLimitMs = opts.storageLimitMs ?? 86_400_000;
    this.doorLeftOpenMs = opts.doorLeftOpenMs ?? 120_000;
    this.unlockGraceMs = opts.unlockGraceMs ?? 30_000;
    this.doors = new DoorObserver({
      ledger: opts.ledger,
      health: opts.health,
      clock: opts.clock,
      log: this.log,
      compartment: (name) => this.comps.get(name),
      boardComps: (board) => this.boardComps(board),
      afterPoll: () => {
        if (opts.timersOnPoll !== false) this.checkTimers();
      },
    });
    for (const bus of opts.buses) {
      for (const board of bus.addresses) {
        for (let lock = 1; lock <= bus.locksOf(board); lock++) {
          const c = newCompartment(bus, board, lock, boardDeviceId(board));
          if (this.comps.has(c.name)) throw new Error(`compartment ${c.name} is on two buses; board addresses must be unique per station`);
          this.comps.set(c.name, c);
        }
      }
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Load compartments and holdings from the ledger and follow the buses' door states. */
  start(): void {
    const { ledger } = this.opts;
    ledger.tx((t) => {
      for (const c of this.comps.values()) store.ensureCompartment(t.db, { name: c.name, bus: c.bus.id, board: c.board, lock: c.lock }, t.now);
    });
    this.recoverUnlocks();
    for (const row of store.loadCompartments(ledger.db)) {
      const c = this.comps.get(row.name);
      if (!c) continue; // a board no longer configured: its rows and holdings stay in the ledger
      c.inService = row.in_service === 1;
      c.phase = row.phase;
    }
    const mono = this.opts.clock.monotonic();
    const now = this.opts.clock.now();
    for (const h of store.loadOpenHoldings(ledger.db)) {
      const c = this.comps.get(h.compartment);
      if (!c) {
        this.orphans.set(h.rider_id, { compartment: h.compartment, storedTs: h.stored_ts });
        continue;
      }
      c.holding = {
        id: h.id,
        riderId: h.rider_id,
        depositedTs: h.deposited_ts,
        storedTs: h.stored_ts,
        // The monotonic clock restarts with the process: rebuild the start from the wall clock.
        storedMono: h.stored_ts === null ? null : mono - Math.max(0, now - h.stored_ts),
        overdue: h.overdue_ts !== null,
      };
      if (h.status === 'opening') this.recoverOpening(c);
    }
    for (const bus of this.opts.buses) {
      this.offs.push(bus.on((e) => this.doors.onBusEvent(e)));
      for (const board of bus.addresses) {
        const open = Array.from({ length: bus.locksOf(board) }, (_, i) => bus.doorState(board, i + 1));
        if (open.every((d) => d === 'unknown')) continue;
        const changed = open.flatMap((d, i) => (d === 'unknown' ? [] : [i + 1]));
        this.doors.onBusEvent({ type: 'doors', bus: bus.id, board, open: open.map((d) => d === 'open'), changed, source: 'poll' });
      }
    }
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
  }

  /**
   * A deposit whose unlock was in flight when the station stopped: the door may have opened and
   * the rider may have put things in, so the holding is kept (never lose a rider's items).
   */
  private recoverOpening(c: Compartment): void {
    const h = c.holding!;
    this.opts.ledger.tx((t) => {
      store.activateHolding(t.db, h.id, t.now);
      store.setPhase(t.db, c.name, 'depositing', t.now);
      t.append('locker.deposited', { ...this.depositFacts(h.riderId, c), recovered: true });
      h.depositedTs = t.now;
    });
    c.phase = 'depositing';
    this.log.warn({ compartment: c.name }, 'deposit interrupted by a restart; kept as a holding');
  }

  /** A deposit's event data: with the door's label and the storage limit, so the rider's page can show the deadline (issue 12). */
  private depositFacts(riderId: string, c: Compartment): { riderId: string; compartment: string; bus: string; label: string; limitMs: number } {
    return { riderId, compartment: c.name, bus: c.bus.id, label: this.opts.labels?.[c.name] ?? c.name, limitMs: this.storageLimitMs };
  }

  // ---- rider operations ---------------------------------------------------------------------

  deposit(riderId: string): Promise<DepositOutcome> {
    return this.serial(async () => {
      const held = this.holdingOf(riderId);
      if (held) return { kind: 'locker_already_held', compartment: held.compartment };
      const tried = new Set<string>();
      let unreachable = false;
      const max = this.opts.maxCompartmentsPerDeposit ?? 3;
      for (let i = 0; i < max; i++) {
        const c = this.pickFree(tried);
        if (!c) break;
        tried.add(c.name);
        // The holding and the unlock's journal row in one transaction: both or neither.
        const { holdingId, journalId } = this.opts.ledger.tx((t) => {
          const id = store.insertOpeningHolding(t.db, riderId, c.name, t.now);
          store.setPhase(t.db, c.name, 'opening', t.now);
          return { holdingId: id, journalId: store.startUnlock(t.db, c.name, 'deposit', riderId, t.now) };
        });
        c.phase = 'opening';
        c.holding = { id: holdingId, riderId, depositedTs: null, storedTs: null, storedMono: null, overdue: false };
        const r = await this.unlockOnceMore(c, 'deposit', riderId, journalId);
        if (r.kind === 'opened') {
          this.opts.ledger.tx((t) => {
            store.activateHolding(t.db, holdingId, t.now);
            store.setPhase(t.db, c.name, 'depositing', t.now);
            t.append('locker.deposited', this.depositFacts(riderId, c));
            c.holding!.depositedTs = t.now;
          });
          c.phase = 'depositing';
          return { kind: 'deposited', compartment: c.name };
        }
        this.opts.ledger.tx((t) => {
          store.deleteHolding(t.db, holdingId);
          store.setPhase(t.db, c.name, 'free', t.now);
        });
        c.phase = 'free';
        c.holding = undefined;
        if (r.kind === 'stayed_shut') this.outOfService(c, 'door_never_opened', 'station');
        else unreachable = true;
      }
      if (unreachable || this.freeOnUnusableBoard()) return { kind: 'locker_unavailable', reason: 'lock board not answering' };
      return { kind: 'no_free_compartment' };
    });
  }

  retrieve(riderId: string): Promise<RetrieveOutcome> {
    return this.serial(async () => {
      const c = this.holdingCompartment(riderId);
      const orphan = this.orphans.get(riderId);
      if (!c && orphan) return { kind: 'locker_unavailable', compartment: orphan.compartment, reason: 'its lock board is not configured' };
      if (!c) return { kind: 'no_locker_held' };
      if (!c.bus.isReachable(c.board))
        return { kind: 'locker_unavailable', compartment: c.name, reason: 'lock board not answering; the holding is kept' };
      const r = await this.unlockOnceMore(c, 'retrieve', riderId);
      if (r.kind === 'no_answer') return { kind: 'locker_unavailable', compartment: c.name, reason: 'lock board not answering; the holding is kept' };
      if (r.kind === 'stayed_shut') {
        this.outOfService(c, 'door_never_opened', 'station');
        return { kind: 'locker_unavailable', compartment: c.name, reason: 'the door did not open; maintenance has been alerted' };
      }
      const h = c.holding!;
      this.opts.ledger.tx((t) => {
        store.endHolding(t.db, h.id, 'retrieved', t.now);
        store.setPhase(t.db, c.name, 'retrieving', t.now);
        t.append('locker.retrieved', { riderId, compartment: c.name, storedSince: h.storedTs });
      });
      c.holding = undefined;
      c.phase = 'retrieving';
      return { kind: 'retrieved', compartment: c.name };
    });
  }

  forceOpen(compartment: string, reason: string, by: string, audit?: AuditRecord): ReturnType<LockerPort['forceOpen']> {
    return this.serial(async () => {
      const c = this.comps.get(compartment);
      if (!c) return { ok: false as const, error: 'unknown_compartment' as const, message: `no compartment ${compartment}` };
      if (!c.bus.isReachable(c.board)) return { ok: false as const, error: 'locker_unavailable' as const, message: `board ${c.board} is not answering` };
      const r = await this.unlockOnceMore(c, 'forced_open', by);
      if (r.kind !== 'opened')
        return {
          ok: false as const,
          error: 'locker_unavailable' as const,
          message: r.kind === 'stayed_shut' ? `the door of ${compartment} did not open` : `board ${c.board} is not answering`,
        };
      const h = c.holding;
      this.opts.ledger.tx((t) => {
        if (h) store.endHolding(t.db, h.id, 'forced_open', t.now);
        store.setPhase(t.db, c.name, 'retrieving', t.now);
        t.append('locker.forced_open', { compartment: c.name, reason, by, riderId: h?.riderId ?? null, overdue: h?.overdue ?? false });
        writeAudit(t, audit);
      });
      c.holding = undefined;
      c.phase = 'retrieving';
      return { ok: true as const };
    });
  }

  /** Maintenance puts a compartment out of service or back (beyond the port: the maintenance API may use it). */
  setCompartmentService(compartment: string, inService: boolean, by: string): boolean {
    const c = this.comps.get(compartment);
    if (!c) return false;
    if (inService) {
      if (c.inService) return true;
      this.opts.ledger.tx((t) => {
        store.setService(t.db, c.name, true, null, t.now);
        t.append('device.service', { deviceId: c.deviceId, kind: 'lockboard', compartment: c.name, inService: true, by });
      });
      c.inService = true;
      this.opts.health.clearFault(c.deviceId, `door_stuck:${c.name}`);
    } else this.outOfService(c, 'maintenance', by);
    return true;
  }

  // ---- views --------------------------------------------------------------------------------

  holdingOf(riderId: string): { compartment: string; since: number | null } | null {
    const c = this.holdingCompartment(riderId);
    if (c) return { compartment: c.name, since: c.holding!.storedTs };
    const orphan = this.orphans.get(riderId);
    return orphan ? { compartment: orphan.compartment, since: orphan.storedTs } : null;
  }

  hasCompartment(compartment: string): boolean {
    return this.comps.has(compartment);
  }

  compartments(): LockerView[] {
    return [...this.comps.values()].map((c) => viewOf(c, this.boardUsable(c)));
  }

  // ---- timers -------------------------------------------------------------------------------

  /** Overdue holdings and doors left open (SPEC §6a); the jobs call this, and every poll does. */
  checkTimers(): void {
    const mono = this.opts.clock.monotonic();
    for (const c of this.comps.values()) {
      const h = c.holding;
      if (h && overdueDue(c, mono, this.storageLimitMs)) {
        this.opts.ledger.tx((t) => {
          store.markOverdue(t.db, h.id, t.now);
          t.append('locker.overdue', { riderId: h.riderId, compartment: c.name, storedSince: h.storedTs, limitMs: this.storageLimitMs });
        });
        h.overdue = true;
        this.log.warn({ compartment: c.name }, 'locker overdue');
      }
      if (leftOpenDue(c, mono, this.doorLeftOpenMs)) {
        this.opts.ledger.append('locker.door_left_open', {
          compartment: c.name,
          openForMs: Math.round(mono - c.doorOpenSinceMono!),
          riderId: h?.riderId ?? null,
          state: c.phase,
        });
        c.leftOpenReported = true;
        this.log.warn({ compartment: c.name }, 'locker door left open');
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /**
   * Unlock; when the door stayed shut, once more (SPEC §6a). The unlock journal records it
   * (fsynced) before the command goes on the wire, and its outcome after; a ledger that cannot
   * write the record throws here and nothing is unlocked.
   */
  private async unlockOnceMore(c: Compartment, purpose: store.UnlockPurpose, actor: string, journalled?: number): Promise<UnlockResult> {
    const journalId = journalled ?? this.opts.ledger.tx((t) => store.startUnlock(t.db, c.name, purpose, actor, t.now));
    c.expectOpenUntilMono = Infinity;
    let r: UnlockResult = { kind: 'no_answer', error: 'stopped' };
    try {
      r = await c.bus.unlock(c.board, c.lock);
      if (r.kind === 'stayed_shut') {
        this.log.warn({ compartment: c.name }, 'door did not open; unlocking once more');
        r = await c.bus.unlock(c.board, c.lock);
      }
      return r;
    } finally {
      // Unconfirmed (no answer): the latch may still have fired, so a door found open soon is ours.
      c.expectOpenUntilMono = r.kind === 'no_answer' ? this.opts.clock.monotonic() + this.unlockGraceMs : -Infinity;
      try {
        this.opts.ledger.tx((t) => store.endUnlock(t.db, journalId, r.kind, t.now));
      } catch (e) {
        // The start is on disk; at the next start this unlock shows as interrupted.
        this.log.error({ err: e, compartment: c.name, purpose }, 'unlock outcome not recorded');
      }
    }
  }

  /** Unlocks the station stopped in the middle of: their doors may have opened. */
  private recoverUnlocks(): void {
    const rows = store.unfinishedUnlocks(this.opts.ledger.db);
    if (rows.length === 0) return;
    this.opts.ledger.tx((t) => {
      for (const u of rows) store.endUnlock(t.db, u.id, 'interrupted', t.now);
    });
    for (const u of rows) {
      this.log.warn(
        { compartment: u.compartment, purpose: u.purpose, actor: u.actor, startedTs: u.started_ts },
        'an unlock was in flight when the station stopped; the door may have opened (holdings are kept)',
      );
    }
  }

  /** The unlock journal, newest first (maintenance, tests). */
  unlockJournal(limit = 50): store.UnlockRow[] {
    return store.recentUnlocks(this.opts.ledger.db, limit);
  }

  /** Forget finished unlocks older than `olderThanTs` (the pruning job, with the retention). */
  pruneUnlockJournal(olderThanTs: number): number {
    return this.opts.ledger.tx((t) => store.pruneUnlocks(t.db, olderThanTs));
  }

  private outOfService(c: Compartment, reason: string, by: string): void {
    if (c.inService) {
      this.opts.ledger.tx((t) => {
        store.setService(t.db, c.name, false, reason, t.now);
        t.append('device.service', { deviceId: c.deviceId, kind: 'lockboard', compartment: c.name, inService: false, by, reason });
      });
      c.inService = false;
    }
    this.log.error({ compartment: c.name, reason }, 'compartment out of service');
    if (reason === 'door_never_opened') this.opts.health.addFault(c.deviceId, `door_stuck:${c.name}`);
  }

  private pickFree(skip: ReadonlySet<string>): Compartment | undefined {
    for (const c of this.sorted()) {
      if (skip.has(c.name) || !c.inService || c.phase !== 'free' || c.holding || c.door !== 'closed' || c.forced) continue;
      if (this.boardUsable(c)) return c;
    }
    return undefined;
  }

  private freeOnUnusableBoard(): boolean {
    return [...this.comps.values()].some((c) => c.inService && c.phase === 'free' && !this.boardUsable(c));
  }

  private boardUsable(c: Compartment): boolean {
    return c.bus.isReachable(c.board) && this.opts.health.usable(c.deviceId) && !this.doors.isSuspect(c.board);
  }

  private holdingCompartment(riderId: string): Compartment | undefined {
    for (const c of this.comps.values()) if (c.holding?.riderId === riderId) return c;
    return undefined;
  }

  private boardComps(board: number): Compartment[] {
    return [...this.comps.values()].filter((c) => c.board === board);
  }

  private sorted(): Compartment[] {
    return [...this.comps.values()].sort((a, b) => a.board - b.board || a.lock - b.lock);
  }

  /** One rider operation at a time: they share the bus anyway, and this keeps picks race-free. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
