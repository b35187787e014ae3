/**
 * The station's periodic work (issue 4 "Jobs"): node-cron for what runs on the wall clock's
 * minute and hour (the heartbeat, pruning), plain intervals for the sub-minute checks
 * (locker timers, unknown-claim retries, the clock watch). Every job catches and logs its
 * own failures: a job never takes the daemon down. The methods are public so tests can run a
 * job at a set time instead of waiting for it.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { heartbeatSecondOf, type Clock, type EventDataOf, type StationEvent } from '../protocol/index.ts';
import type { ClockJumpView } from './api/context.ts';
import type { StationConfig } from './config.ts';
import type { ClaimPort, LockerPort } from './core/ports.ts';
import type { Ledger } from './ledger/ledger.ts';
import type { Logger } from './log.ts';

/** How long a clock jump stays an open fault in health (SPEC §6c "shown in health"). */
export const CLOCK_FAULT_HOLD_MS = 24 * 3_600_000;
/** How often wall and monotonic clocks are compared. */
export const CLOCK_CHECK_INTERVAL_MS = 10_000;

export interface JobsOptions {
  config: StationConfig;
  clock: Clock;
  logger: Logger;
  ledger: Ledger;
  claims: ClaimPort;
  lockers: LockerPort;
  /** The `station.heartbeat` data: uptime, disk free, db size, backlog, devices (SPEC §6b). */
  heartbeatData: () => EventDataOf<'station.heartbeat'>;
  /** Use intervals and cron (false in tests that drive the jobs by hand). */
  schedule?: boolean;
}

export class StationJobs {
  private readonly log: Logger;
  private tasks: ScheduledTask[] = [];
  private intervals: NodeJS.Timeout[] = [];
  private lastReading: { wall: number; mono: number };
  private readonly jumps: Array<ClockJumpView & { mono: number }> = [];
  private resolving: Promise<number> | null = null;

  constructor(private readonly opts: JobsOptions) {
    this.log = opts.logger.child({ module: 'jobs' });
    this.lastReading = { wall: opts.clock.now(), mono: opts.clock.monotonic() };
  }

  start(): void {
    this.lastReading = { wall: this.opts.clock.now(), mono: this.opts.clock.monotonic() };
    if (this.opts.schedule === false) return;
    const { config } = this.opts;
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.intervals.push(t);
    };
    every(config.lockers.timerCheckIntervalMs, () => this.checkLockerTimers());
    every(config.unknownClaimRetryMs, () => void this.resolveUnknownClaims());
    every(Math.min(CLOCK_CHECK_INTERVAL_MS, config.clockJumpThresholdMs), () => this.checkClock());
    const opts = { timezone: config.timezone, noOverlap: true };
    // Every minute, at this station's own second, so a fleet's heartbeats do not arrive together.
    const second = heartbeatSecondOf(config.stationId);
    this.tasks.push(cron.schedule(`${second} * * * * *`, () => this.heartbeat(), { ...opts, name: `heartbeat-${config.stationId}` }));
    // Pruning is housekeeping: once a day, in the quiet hours of the station's timezone.
    this.tasks.push(cron.schedule('17 3 * * *', () => this.prune(), { ...opts, name: `prune-${config.stationId}` }));
  }

  async stop(): Promise<void> {
    for (const t of this.intervals) clearInterval(t);
    this.intervals = [];
    for (const t of this.tasks) await t.destroy();
    this.tasks = [];
    await this.resolving?.catch(() => 0);
  }

  /** Overdue holdings and doors left open (SPEC §6a); the locker area raises the events. */
  checkLockerTimers(): void {
    try {
      this.opts.lockers.checkTimers();
    } catch (e) {
      this.log.error({ err: e }, 'locker timer check failed');
    }
  }

  /** Ask dispensers that are back about `unknown` claims (SPEC §5 rule 4); never two at once. */
  resolveUnknownClaims(): Promise<number> {
    if (this.resolving) return this.resolving;
    this.resolving = this.opts.claims
      .resolveUnknownClaims()
      .then((n) => {
        if (n > 0) this.log.info({ resolved: n }, 'unknown claims resolved');
        return n;
      })
      .catch((e: unknown) => {
        this.log.error({ err: e }, 'unknown-claim resolution failed');
        return 0;
      })
      .finally(() => {
        this.resolving = null;
      });
    return this.resolving;
  }

  /** The `station.heartbeat` event, every minute (SPEC §6b). */
  heartbeat(): StationEvent | null {
    try {
      return this.opts.ledger.append('station.heartbeat', this.opts.heartbeatData());
    } catch (e) {
      this.log.error({ err: e }, 'heartbeat not recorded');
      return null;
    }
  }

  /** Delete events the cloud acknowledged and older than the retention (SPEC §9), and finished unlock-journal rows as old. */
  prune(): number {
    try {
      const olderThanTs = this.opts.clock.now() - this.opts.config.retentionDays * 86_400_000;
      const n = this.opts.ledger.pruneAcknowledged(olderThanTs);
      if (n > 0) this.log.info({ pruned: n, olderThanTs }, 'acknowledged events pruned');
      const unlocks = this.opts.lockers.pruneUnlockJournal(olderThanTs);
      if (unlocks > 0) this.log.info({ pruned: unlocks, olderThanTs }, 'finished unlock-journal rows pruned');
      return n;
    } catch (e) {
      this.log.error({ err: e }, 'pruning failed');
      return 0;
    }
  }

  /**
   * Compare how far the wall clock moved with how far the monotonic clock moved since the
   * last reading (SPEC §6c). More than the threshold apart is a jump: logged, recorded as
   * `station.clock_jump`, and shown in health as a fault for a day.
   */
  checkClock(): ClockJumpView | null {
    const wall = this.opts.clock.now();
    const mono = this.opts.clock.monotonic();
    const expectedWall = this.lastReading.wall + (mono - this.lastReading.mono);
    const deltaMs = Math.round(wall - expectedWall);
    this.lastReading = { wall, mono };
    if (Math.abs(deltaMs) <= this.opts.config.clockJumpThresholdMs) return null;
    const jump = { ts: wall, deltaMs, mono };
    this.jumps.push(jump);
    if (this.jumps.length > 20) this.jumps.shift();
    this.log.warn({ deltaMs, expectedWall, wall }, `wall clock jumped ${deltaMs > 0 ? 'forwards' : 'backwards'} by ${Math.abs(Math.round(deltaMs / 1000))} s`);
    try {
      this.opts.ledger.append('station.clock_jump', { fromTs: Math.round(expectedWall), toTs: wall, deltaMs });
    } catch (e) {
      this.log.error({ err: e }, 'clock jump not recorded');
    }
    return { ts: jump.ts, deltaMs };
  }

  clockJumps(): ClockJumpView[] {
    return this.jumps.map(({ ts, deltaMs }) => ({ ts, deltaMs }));
  }

  clockFault(): boolean {
    const last = this.jumps.at(-1);
    return !!last && this.opts.clock.monotonic() - last.mono < CLOCK_FAULT_HOLD_MS;
  }
}
