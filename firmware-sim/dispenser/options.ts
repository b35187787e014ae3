/**
 * Options of the dispenser simulator (`DispenserSimulator`, ./simulator.ts) and their defaults:
 * SPEC §5 where the contract sets a value, otherwise values that keep tests and benches quick.
 */
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type Compartment } from '../../protocol/index.ts';
import type { FaultProfile } from './faults.ts';
import type { MemoryStore } from './memory.ts';

export type SimLog = (level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>) => void;

export interface DispenserSimOptions {
  /** Broker URL, `mqtt://host:port`. Give exactly one of `url` and `connect`. */
  url?: string;
  /**
   * Instead of `url`: opens a fresh connection to the broker, e.g. `() => broker.connectInMemory()`
   * for a station in the same process (issue 3). Called again on every reconnect, so it must
   * return a new stream each time. Everything else (last will, QoS, faults) is the same.
   */
  connect?: () => Duplex;
  id: string;
  password: string;
  /** Bottles per compartment at start (default 40 each). */
  stock?: number | Partial<Record<Compartment, number>>;
  fw?: string;
  clock?: Clock;
  /** Telemetry period (SPEC §5: 10 s by default); 0 turns the timer off (tests call `publishTelemetry`). */
  telemetryIntervalMs?: number;
  /** How long the motor runs for one bottle (default 1500 ms; 0 for benches). */
  motorMs?: number;
  /** A FaultProfile or a profile string (see ./faults.ts). */
  faults?: string | FaultProfile;
  /** Where the vend memory lives; keep the same store across a restart. Default: in memory. */
  memory?: MemoryStore;
  /** How long ids are remembered (default 48 h; at least 24 h). */
  memoryRetainMs?: number;
  /** Time without power after a power loss before the firmware boots again (default 300 ms). */
  powerOffMs?: number;
  /** Time without network after a `disconnect` fault (default 300 ms). */
  offlineMs?: number;
  /** Delay of the final event under `late_event` (default 2000 ms). */
  lateEventMs?: number;
  /** mqtt.js reconnect period (default 250 ms). */
  reconnectPeriodMs?: number;
  /** TCP no-delay on the client socket (default true; false only to show the Nagle effect). */
  noDelay?: boolean;
  /** Persistent session (default): commands published while the device is offline arrive when it is back. */
  clean?: boolean;
  /** Seed of the temperature noise. */
  seed?: number;
  log?: SimLog;
}

/** The options with their defaults; the others (faults, memory, stock, log, seed) become the simulator's state. */
export type SimSettings = Required<Omit<DispenserSimOptions, 'faults' | 'memory' | 'stock' | 'log' | 'seed' | 'url' | 'connect'>> &
  Pick<DispenserSimOptions, 'url' | 'connect'>;

export function withDefaults(options: DispenserSimOptions): SimSettings {
  if ((options.url === undefined) === (options.connect === undefined)) {
    throw Object.assign(new Error('dispenser simulator: give exactly one of url and connect'), { code: 'sim_bad_connection_option' });
  }
  return {
    url: options.url,
    connect: options.connect,
    id: options.id,
    password: options.password,
    fw: options.fw ?? '1.4.2-sim',
    clock: options.clock ?? systemClock,
    telemetryIntervalMs: options.telemetryIntervalMs ?? 10_000,
    motorMs: options.motorMs ?? 1500,
    memoryRetainMs: options.memoryRetainMs ?? 48 * 3600_000,
    powerOffMs: options.powerOffMs ?? 300,
    offlineMs: options.offlineMs ?? 300,
    lateEventMs: options.lateEventMs ?? 2000,
    reconnectPeriodMs: options.reconnectPeriodMs ?? 250,
    noDelay: options.noDelay ?? true,
    clean: options.clean ?? false,
  };
}

/** Bottles per compartment at start: one number for both, or per compartment (40 where unset). */
export function initialStock(stock: DispenserSimOptions['stock']): Record<Compartment, number> {
  const s = stock ?? 40;
  return typeof s === 'number' ? { hot: s, cold: s } : { hot: s.hot ?? 40, cold: s.cold ?? 40 };
}
