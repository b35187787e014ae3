/**
 * The dispenser tests' view of the one station harness (test/helpers/station.ts): a whole
 * station through `startStation` with no lock bus and no simulator started — tests add their
 * dispenser simulators with `addSim` — and the dispenser side's parts at hand (broker, driver,
 * claims). Over TCP loopback or, with `inMemory`, the broker's in-memory connection. Nothing
 * of ours is mocked.
 */
import type { MqttClient } from 'mqtt';
import { systemClock, type Clock } from '../../protocol/index.ts';
import type { ClaimService } from '../../edge/core/claims.ts';
import type { DeviceHealth } from '../../edge/core/health.ts';
import type { Broker } from '../../edge/drivers/broker.ts';
import type { BrokerLimits } from '../../edge/drivers/mqtt-guard.ts';
import type { DispenserDriver } from '../../edge/drivers/dispensers.ts';
import type { Ledger } from '../../edge/ledger/ledger.ts';
import type { QuotaLedger } from '../../edge/ledger/quota-ledger.ts';
import { silentLogger, type Logger } from '../../edge/log.ts';
import type { DispenserSimOptions, DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { passwordOf, startHarness } from '../helpers/station.ts';
import { tempDir } from '../helpers/tmp.ts';

export interface StationOptions {
  dispensers?: string[];
  /** Clock of the ledger (service days) and of the simulators (expiresAt). */
  clock?: Clock;
  /** Clock of device health (silence); a ManualClock advanced by days would mark everyone silent. */
  healthClock?: Clock;
  telemetryIntervalMs?: number;
  dispenseTimeoutMs?: number;
  queryTimeoutMs?: number;
  commandTtlMs?: number;
  healthCheckIntervalMs?: number;
  lowStockThreshold?: number;
  resolveOnReconnect?: boolean;
  /** Simulators connect with `broker.connectInMemory()` instead of TCP loopback (the broker still listens). */
  inMemory?: boolean;
  /** Broker port; 0 (default) picks a free one. A restart test passes the port read back before. */
  port?: number;
  logger?: Logger;
  /** Health events per device per window (issue 11); the station's default otherwise. */
  eventBudget?: { events: number; windowMs: number };
  /** Hysteresis of reachability (issue 11); the station's default otherwise. */
  stateHoldMs?: number;
  /** Broker limits (issue 11); the station's defaults otherwise. */
  brokerLimits?: Partial<BrokerLimits>;
}

export interface Station {
  dir: string;
  ledger: Ledger;
  quota: QuotaLedger;
  health: DeviceHealth;
  broker: Broker;
  driver: DispenserDriver;
  claims: ClaimService;
  url: string;
  port: number;
  password(id: string): string;
  addSim(id: string, opts?: Partial<DispenserSimOptions>): Promise<DispenserSimulator>;
  /** Stop the edge side only (a crash or restart test reopens the same directory). */
  stopEdge(): Promise<void>;
  stop(): Promise<void>;
}

export const password = passwordOf;

export async function startStation(o: StationOptions = {}, existingDir?: string): Promise<Station> {
  const own = existingDir === undefined ? tempDir('waystation-disp-') : undefined;
  const dir = existingDir ?? own!.dir;
  const clock = o.clock ?? systemClock;
  const h = await startHarness({
    dir,
    dispensers: o.dispensers ?? ['disp-1'],
    dispenser: false,
    locks: 0,
    inMemory: o.inMemory,
    // The simulators' clock is the ledger's (expiresAt); short outages so fault tests run fast.
    sim: { clock, telemetryIntervalMs: o.telemetryIntervalMs ?? 10_000, powerOffMs: 100, offlineMs: 100, lateEventMs: 400, reconnectPeriodMs: 100 },
    config: {
      mqtt: { host: '127.0.0.1', port: o.port ?? 0 },
      heartbeatIntervalMs: o.telemetryIntervalMs ?? 10_000,
      dispense: { timeoutMs: o.dispenseTimeoutMs ?? 1500, queryTimeoutMs: o.queryTimeoutMs ?? 1000 },
      ...(o.lowStockThreshold !== undefined ? { lowStockThreshold: o.lowStockThreshold } : {}),
      ...(o.stateHoldMs !== undefined ? { deviceStateHoldMs: o.stateHoldMs } : {}),
    },
    station: {
      clock,
      healthClock: o.healthClock ?? systemClock,
      healthCheckIntervalMs: o.healthCheckIntervalMs ?? 50,
      logger: o.logger ?? silentLogger(),
      scheduleJobs: false,
      ...(o.eventBudget ? { eventBudget: o.eventBudget } : {}),
      ...(o.brokerLimits ? { brokerLimits: o.brokerLimits } : {}),
      claims: {
        ...(o.commandTtlMs !== undefined ? { commandTtlMs: o.commandTtlMs } : {}),
        ...(o.resolveOnReconnect !== undefined ? { resolveOnReconnect: o.resolveOnReconnect } : {}),
      },
    },
  });
  const s = h.station;
  return {
    dir,
    ledger: s.ledger,
    quota: s.quota,
    health: s.health,
    broker: s.broker,
    driver: s.dispensers,
    claims: s.claims,
    url: h.mqttUrl,
    port: s.mqttPort,
    password,
    addSim: (id, opts) => h.addSim(id, opts),
    stopEdge: () => h.stopStation(),
    async stop() {
      await h.stop();
      own?.cleanup();
    },
  };
}


export async function waitFor(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A bare MQTT client's first CONNACK: resolves connected, rejects on a refusal or a close. */
export function connected(c: MqttClient): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed')));
  });
}

/** Events of one type in the ledger, oldest first. */
export function eventsOf(ledger: Ledger, type: string): Array<Record<string, unknown>> {
  return ledger
    .eventsAfter(0, 100_000)
    .filter((e) => e.type === type)
    .map((e) => e.data);
}
