/**
 * A lock-board bench for tests: a real Ledger on a temp dir, device health, the simulated bus
 * on a mock serial line, and the real LockBus driver (and, on request, the LockerService).
 */
import { join } from 'node:path';
import { ManualClock, systemClock, type Clock } from '../../protocol/time.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { silentLogger } from '../../edge/log.ts';
import { LockBus, type LockBusTimeouts } from '../../edge/drivers/lockbus.ts';
import { LockerService, type LockerServiceOptions } from '../../edge/core/lockers.ts';
import { createMockLine, type MockLine } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim, type LockBoardSimOptions } from '../../firmware-sim/lockboard/sim.ts';
import { tempDir } from '../helpers/tmp.ts';
import { busTimeouts, lockerTimings } from '../helpers/defaults.ts';

/** Fast timeouts: the simulator answers at once, so 60 ms is a long silence. */
export const FAST: Partial<LockBusTimeouts> = { replyTimeoutMs: 60, queryRetries: 3, pollIntervalMs: 1000, offlinePollIntervalMs: 0 };

export interface Rig {
  dir: string;
  clock: Clock;
  ledger: Ledger;
  health: DeviceHealth;
  line: MockLine;
  sim: LockBoardSim;
  bus: LockBus;
  lockers?: LockerService;
  /** Stop the driver and service, keep the ledger file (for a restart). */
  stopStation(): Promise<void>;
  /** Start a new driver + service on the same ledger path and line (a daemon restart). */
  restartStation(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  boards?: LockBoardSimOptions['boards'];
  sim?: Partial<LockBoardSimOptions>;
  timeouts?: Partial<LockBusTimeouts>;
  clock?: Clock;
  lockers?: Partial<LockerServiceOptions> | false;
}

export async function rig(opts: RigOptions = {}): Promise<Rig> {
  const { dir, cleanup } = tempDir('waystation-lockboard-');
  const clock = opts.clock ?? systemClock;
  const boards = opts.boards ?? [{ address: 1, locks: 24 }];
  const line = createMockLine();
  const sim = new LockBoardSim({ boards, latencyMs: 0, closeAfterMs: null, lateReplyMs: 150, ...opts.sim });
  sim.attach(line.device);
  const logger = silentLogger();

  const make = async () => {
    const ledger = Ledger.open({ path: join(dir, 'station.db'), clock, timezone: 'Asia/Shanghai', logger });
    const health = new DeviceHealth({ ledger, clock, logger });
    const bus = new LockBus({
      path: line.path,
      binding: line.binding,
      boards,
      logger,
      health,
      clock,
      timeouts: busTimeouts({ ...FAST, ...opts.timeouts }),
      poll: false,
    });
    const lockers =
      opts.lockers === false ? undefined : new LockerService({ ledger, health, clock, logger, buses: [bus], ...lockerTimings(), ...(opts.lockers ?? {}) });
    await bus.start();
    lockers?.start();
    await bus.pollNow();
    return { ledger, health, bus, lockers };
  };

  let parts = await make();
  const r: Rig = {
    dir,
    clock,
    line,
    sim,
    get ledger() {
      return parts.ledger;
    },
    get health() {
      return parts.health;
    },
    get bus() {
      return parts.bus;
    },
    get lockers() {
      return parts.lockers;
    },
    async stopStation() {
      parts.lockers?.stop();
      await parts.bus.stop();
      parts.ledger.close();
    },
    async restartStation() {
      parts = await make();
    },
    async close() {
      await r.stopStation();
      sim.stop();
      cleanup();
    },
  };
  return r;
}

export function manualClock(): ManualClock {
  return new ManualClock(Date.UTC(2026, 2, 2, 2, 0, 0));
}

/** Events of some types from the ledger, oldest first. */
export function eventsOf(ledger: Ledger, ...types: string[]): Array<{ type: string; data: Record<string, unknown> }> {
  return ledger.eventsAfter(0, 100_000).filter((e) => types.length === 0 || types.includes(e.type));
}
