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
 * Every decision about a compartment is its pure machine's (`lockers/machine.ts`): this service
 * feeds it inputs (rider operations, unlock results, doors seen, ticks) and applies the effects
 * in `step` — every ledger write of one step, with its events, in one transaction — then does
 * the unlock the effects ask for and feeds its result back. Durations use the injected clock's
 * monotonic time.
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
import { handable, stepCompartment, type CompartmentContext, type CompartmentEffect, type CompartmentInput, type CompartmentState, type StepOutcome } from './lockers/machine.ts';
import { newCompartment, viewOf, type Compartment } from './lockers/model.ts';

export interface LockerServiceOptions {
  ledger: Ledger;
  health: DeviceHealth;
  clock: Clock;
  logger: Logger;
  buses: readonly LockPort[];
  /** Storage limit before `locker.overdue` (config `lockers.storageLimitMs`). */
  storageLimitMs: number;
  /** What is printed on each door (config `lockers.labels`), written into `locker.deposited` for the rider page. */
  labels?: Readonly<Record<string, string>>;
  /** A door open longer than this raises `locker.door_left_open` (config `lockers.doorLeftOpenMs`). */
  doorLeftOpenMs: number;
  /** Pulses per unlock intent before the door counts as stuck (config `lockers.unlockAttempts`). */
  unlockAttempts: number;
  /** Compartments tried for one deposit before giving up (config `lockers.maxCompartmentsPerDeposit`). */
  maxCompartmentsPerDeposit: number;
  /** After an unlock without a confirmed opening, a door found open within this is not "forced" (config `lockers.unlockGraceMs`). */
  unlockGraceMs: number;
  /** Also run `checkTimers()` after every poll (default true). */
  timersOnPoll?: boolean;
}

const TICK: CompartmentInput = { type: 'tick' };

type Write = Exclude<CompartmentEffect, { kind: 'unlock' | 'fault' | 'log' }>;
const isWrite = (e: CompartmentEffect): e is Write => e.kind !== 'unlock' && e.kind !== 'fault' && e.kind !== 'log';

export class LockerService implements LockerPort {
  private readonly comps = new Map<string, Compartment>();
  /** The compartments of each board, in lock order (fixed at construction, as `comps`). */
  private readonly byBoard = new Map<number, Compartment[]>();
  private readonly doors: DoorObserver;
  /** Holdings on compartments of boards no longer configured: kept, shown, not openable. */
  private readonly orphans = new Map<string, { compartment: string; storedTs: number | null }>();
  private readonly log: Logger;
  private offs: Array<() => void> = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LockerServiceOptions) {
    this.log = opts.logger.child({ module: 'lockers' });
    this.doors = new DoorObserver({
      health: opts.health,
      clock: opts.clock,
      log: this.log,
      compartment: (name) => this.comps.get(name),
      boardComps: (board) => this.boardComps(board),
      step: (c, input) => void this.step(c, input),
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
          const list = this.byBoard.get(board) ?? [];
          list.push(c);
          this.byBoard.set(board, list);
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
      c.s = { ...c.s, inService: row.in_service === 1, phase: row.phase };
    }
    const mono = this.opts.clock.monotonic();
    const now = this.opts.clock.now();
    for (const h of store.loadOpenHoldings(ledger.db)) {
      const c = this.comps.get(h.compartment);
      if (!c) {
        this.orphans.set(h.rider_id, { compartment: h.compartment, storedTs: h.stored_ts });
        continue;
      }
      c.holdingId = h.id;
      c.s = {
        ...c.s,
        holding: {
          riderId: h.rider_id,
          storedTs: h.stored_ts,
          // The monotonic clock restarts with the process: rebuild the start from the wall clock.
          storedMono: h.stored_ts === null ? null : mono - Math.max(0, now - h.stored_ts),
          overdue: h.overdue_ts !== null,
        },
      };
      // A deposit whose unlock was in flight when the station stopped: the door may have opened
      // and the rider may have put things in, so the holding is kept (never lose a rider's items).
      if (h.status === 'opening') this.step(c, { type: 'recover_opening' });
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

  // ---- the machine --------------------------------------------------------------------------

  private context(): CompartmentContext {
    return {
      mono: this.opts.clock.monotonic(),
      now: this.opts.clock.now(),
      unlockAttempts: this.opts.unlockAttempts,
      unlockGraceMs: this.opts.unlockGraceMs,
      storageLimitMs: this.opts.storageLimitMs,
      doorLeftOpenMs: this.opts.doorLeftOpenMs,
    };
  }

  /**
   * Feed one input to a compartment's machine and apply its effects: every ledger write in one
   * transaction (with `audit`, when the step records a forced opening), then faults and logs.
   * A ledger that cannot write throws here and the state stays as it was: nothing is unlocked
   * without its record.
   */
  private step(c: Compartment, input: CompartmentInput, audit?: AuditRecord, ctx: CompartmentContext = this.context()): { effects: CompartmentEffect[]; outcome?: StepOutcome } {
    const r = stepCompartment(c.s, input, ctx);
    const writes = r.effects.filter(isWrite);
    if (writes.length > 0) {
      const ids = this.opts.ledger.tx((t) => {
        const ids = { holdingId: c.holdingId, journalId: c.journalId };
        for (const e of writes) this.write(t, c, r.state, e, ids);
        if (writes.some((e) => e.kind === 'event' && e.type === 'locker.forced_open')) writeAudit(t, audit);
        return ids;
      });
      c.holdingId = ids.holdingId;
      c.journalId = ids.journalId;
    }
    c.s = r.state;
    for (const e of r.effects) {
      if (e.kind === 'fault') {
        if (e.on) this.opts.health.addFault(c.deviceId, e.fault);
        else this.opts.health.clearFault(c.deviceId, e.fault);
      } else if (e.kind === 'log') this.log[e.level]({ compartment: c.name, phase: r.state.phase }, e.message);
    }
    return r;
  }

  /** One ledger write of a step (lockers/store.ts), with the event data as SPEC §10 names it. */
  private write(t: LedgerTx, c: Compartment, next: CompartmentState, e: Write, ids: { holdingId: number | undefined; journalId: number | undefined }): void {
    const hid = () => {
      if (ids.holdingId === undefined) throw new Error(`compartment ${c.name}: no holding row`);
      return ids.holdingId;
    };
    switch (e.kind) {
      case 'holding_open':
        ids.holdingId = store.insertOpeningHolding(t.db, e.riderId, c.name, t.now);
        return;
      case 'holding_activate':
        return store.activateHolding(t.db, hid(), t.now);
      case 'holding_drop':
        store.deleteHolding(t.db, hid());
        ids.holdingId = undefined;
        return;
      case 'holding_end':
        store.endHolding(t.db, hid(), e.reason, t.now);
        ids.holdingId = undefined;
        return;
      case 'storage_start':
        return store.startStorage(t.db, hid(), next.holding?.storedTs ?? t.now);
      case 'overdue':
        return store.markOverdue(t.db, hid(), t.now);
      case 'phase':
        return store.setPhase(t.db, c.name, e.phase, t.now);
      case 'service':
        store.setService(t.db, c.name, e.inService, e.reason, t.now);
        t.append('device.service', {
          deviceId: c.deviceId,
          kind: 'lockboard',
          compartment: c.name,
          inService: e.inService,
          by: e.by,
          ...(e.reason !== null ? { reason: e.reason } : {}),
        });
        return;
      case 'record_unlock':
        ids.journalId = store.startUnlock(t.db, c.name, e.purpose, e.actor, t.now);
        return;
      case 'end_unlock':
        if (ids.journalId !== undefined) store.endUnlock(t.db, ids.journalId, e.outcome, t.now);
        ids.journalId = undefined;
        return;
      case 'event':
        switch (e.type) {
          case 'locker.deposited':
            // With the door's label and the storage limit, so the rider's page can show the deadline (issue 12).
            t.append('locker.deposited', {
              riderId: e.riderId,
              compartment: c.name,
              bus: c.bus.id,
              label: this.opts.labels?.[c.name] ?? c.name,
              limitMs: this.opts.storageLimitMs,
              ...(e.recovered ? { recovered: true } : {}),
            });
            return;
          case 'locker.retrieved':
            t.append('locker.retrieved', { riderId: e.riderId, compartment: c.name, storedSince: e.storedSince });
            return;
          case 'locker.forced_open':
            t.append('locker.forced_open', { compartment: c.name, reason: e.reason, by: e.by, riderId: e.riderId, overdue: e.overdue });
            return;
          case 'locker.overdue':
            t.append('locker.overdue', { riderId: e.riderId, compartment: c.name, storedSince: e.storedSince, limitMs: this.opts.storageLimitMs });
            return;
          case 'locker.door_left_open':
            t.append('locker.door_left_open', { compartment: c.name, openForMs: e.openForMs, riderId: e.riderId, state: e.state });
            return;
        }
    }
  }

  /**
   * Run an operation to its end: step it, pulse the latch while the machine asks for it (the
   * journal row is on disk before each pulse), and feed each result back.
   */
  private async operate(c: Compartment, input: CompartmentInput, audit?: AuditRecord): Promise<StepOutcome | undefined> {
    let r = this.step(c, input, audit);
    while (r.effects.some((e) => e.kind === 'unlock')) {
      let result: UnlockResult;
      try {
        result = await c.bus.unlock(c.board, c.lock);
      } catch {
        result = { kind: 'no_answer', error: 'stopped' };
      }
      r = this.step(c, { type: 'unlock_result', result }, audit);
    }
    return r.outcome;
  }

  // ---- rider operations ---------------------------------------------------------------------

  deposit(riderId: string): Promise<DepositOutcome> {
    return this.serial(async () => {
      const held = this.holdingOf(riderId);
      if (held) return { kind: 'locker_already_held', compartment: held.compartment };
      const tried = new Set<string>();
      let unreachable = false;
      for (let i = 0; i < this.opts.maxCompartmentsPerDeposit; i++) {
        const c = this.pickFree(tried);
        if (!c) break;
        tried.add(c.name);
        const out = await this.operate(c, { type: 'deposit', riderId });
        if (out?.kind === 'done' && out.outcome === 'opened') return { kind: 'deposited', compartment: c.name };
        // stayed shut: the machine put it out of service; the rider gets the next one.
        if (out?.kind === 'done' && out.outcome === 'no_answer') unreachable = true;
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
      const kept = 'lock board not answering; the holding is kept';
      if (!c.bus.isReachable(c.board)) return { kind: 'locker_unavailable', compartment: c.name, reason: kept };
      const out = await this.operate(c, { type: 'retrieve', riderId });
      if (out?.kind !== 'done') return { kind: 'locker_unavailable', compartment: c.name, reason: 'the compartment is busy; try again' };
      if (out.outcome === 'no_answer') return { kind: 'locker_unavailable', compartment: c.name, reason: kept };
      if (out.outcome === 'stayed_shut') return { kind: 'locker_unavailable', compartment: c.name, reason: 'the door did not open; maintenance has been alerted' };
      return { kind: 'retrieved', compartment: c.name };
    });
  }

  forceOpen(compartment: string, reason: string, by: string, audit?: AuditRecord): ReturnType<LockerPort['forceOpen']> {
    return this.serial(async () => {
      const c = this.comps.get(compartment);
      if (!c) return { ok: false as const, error: 'unknown_compartment' as const, message: `no compartment ${compartment}` };
      if (!c.bus.isReachable(c.board)) return { ok: false as const, error: 'locker_unavailable' as const, message: `board ${c.board} is not answering` };
      const out = await this.operate(c, { type: 'force_open', by, reason }, audit);
      if (out?.kind === 'done' && out.outcome === 'opened') return { ok: true as const };
      const message =
        out?.kind !== 'done' ? `compartment ${compartment} is busy` : out.outcome === 'stayed_shut' ? `the door of ${compartment} did not open` : `board ${c.board} is not answering`;
      return { ok: false as const, error: 'locker_unavailable' as const, message };
    });
  }

  /** Maintenance puts a compartment out of service or back (beyond the port: the maintenance API may use it). */
  setCompartmentService(compartment: string, inService: boolean, by: string): boolean {
    const c = this.comps.get(compartment);
    if (!c) return false;
    this.step(c, { type: 'service', inService, by, reason: 'maintenance' });
    return true;
  }

  // ---- views --------------------------------------------------------------------------------

  holdingOf(riderId: string): { compartment: string; since: number | null } | null {
    const c = this.holdingCompartment(riderId);
    if (c) return { compartment: c.name, since: c.s.holding!.storedTs };
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
    // One reading of the clocks for the whole sweep: this runs after every poll (twice a second with two boards).
    const ctx = this.context();
    for (const c of this.comps.values()) this.step(c, TICK, undefined, ctx);
  }

  // ---- helpers ------------------------------------------------------------------------------

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

  private pickFree(skip: ReadonlySet<string>): Compartment | undefined {
    for (const c of this.sorted()) {
      if (skip.has(c.name) || !handable(c.s)) continue;
      if (this.boardUsable(c)) return c;
    }
    return undefined;
  }

  private freeOnUnusableBoard(): boolean {
    return [...this.comps.values()].some((c) => c.s.inService && c.s.phase === 'free' && !this.boardUsable(c));
  }

  private boardUsable(c: Compartment): boolean {
    return c.bus.isReachable(c.board) && this.opts.health.usable(c.deviceId) && !this.doors.isSuspect(c.board);
  }

  private holdingCompartment(riderId: string): Compartment | undefined {
    for (const c of this.comps.values()) if (c.s.holding?.riderId === riderId) return c;
    return undefined;
  }

  private boardComps(board: number): Compartment[] {
    return this.byBoard.get(board) ?? [];
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
