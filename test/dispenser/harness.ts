/**
 * A whole dispenser side of a station for tests: real ledger (temp dir), real broker on port 0,
 * real driver and claim service, real simulators over TCP loopback (or, with `inMemory`, over
 * the broker's in-memory connection). Nothing of ours is mocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { systemClock, type Clock } from '../../protocol/index.ts';
import { ClaimService } from '../../edge/core/claims.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { Broker } from '../../edge/drivers/broker.ts';
import type { BrokerLimits } from '../../edge/drivers/mqtt-guard.ts';
import { DispenserDriver } from '../../edge/drivers/dispensers.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { QuotaLedger } from '../../edge/ledger/quota-ledger.ts';
import { silentLogger, type Logger } from '../../edge/log.ts';
import { claimPolicy } from '../helpers/defaults.ts';
import { DispenserSimulator, type DispenserSimOptions } from '../../firmware-sim/dispenser/simulator.ts';

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

export const password = (id: string): string => `secret-of-${id}`;

export async function startStation(o: StationOptions = {}, existingDir?: string): Promise<Station> {
  const dir = existingDir ?? mkdtempSync(join(tmpdir(), 'waystation-disp-'));
  const ids = o.dispensers ?? ['disp-1'];
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? silentLogger();
  const ledger = Ledger.open({ path: join(dir, 'station.db'), clock, timezone: 'Asia/Shanghai', logger });
  const quota = new QuotaLedger(ledger);
  const health = new DeviceHealth({ ledger, clock: o.healthClock ?? systemClock, logger, checkIntervalMs: o.healthCheckIntervalMs ?? 50, ...(o.eventBudget ? { eventBudget: o.eventBudget } : {}) });
  const broker = new Broker({ port: o.port ?? 0, devices: ids.map((id) => ({ id, password: password(id) })), logger, health, ...(o.brokerLimits ? { limits: o.brokerLimits } : {}) });
  const { port } = await broker.start();
  const telemetryIntervalMs = o.telemetryIntervalMs ?? 10_000;
  const driver = new DispenserDriver({
    bus: broker,
    health,
    logger,
    dispensers: ids.map((id) => ({ id })),
    telemetryIntervalMs,
    dispenseTimeoutMs: o.dispenseTimeoutMs ?? 1500,
    queryTimeoutMs: o.queryTimeoutMs ?? 1000,
  });
  await driver.start();
  health.start();
  const claims = new ClaimService({
    quota,
    driver,
    health,
    logger,
    ...claimPolicy(o.lowStockThreshold !== undefined ? { lowStockThreshold: o.lowStockThreshold } : {}),
    ...(o.commandTtlMs !== undefined ? { commandTtlMs: o.commandTtlMs } : {}),
    ...(o.resolveOnReconnect !== undefined ? { resolveOnReconnect: o.resolveOnReconnect } : {}),
  });
  await claims.start();
  const url = `mqtt://127.0.0.1:${port}`;
  const sims: DispenserSimulator[] = [];
  let edgeStopped = false;
  const stopEdge = async (): Promise<void> => {
    if (edgeStopped) return;
    edgeStopped = true;
    await claims.stop();
    await driver.stop();
    health.stop();
    await broker.stop();
    ledger.close();
  };
  return {
    dir,
    ledger,
    quota,
    health,
    broker,
    driver,
    claims,
    url,
    port,
    password,
    async addSim(id, opts = {}) {
      // A test's own `url` or `connect` wins; otherwise the station's way of connecting.
      const dial = opts.url !== undefined || opts.connect !== undefined ? {} : o.inMemory ? { connect: () => broker.connectInMemory() } : { url };
      const sim = new DispenserSimulator({
        ...dial,
        id,
        password: password(id),
        clock,
        motorMs: 0,
        telemetryIntervalMs: telemetryIntervalMs,
        powerOffMs: 100,
        offlineMs: 100,
        lateEventMs: 400,
        reconnectPeriodMs: 100,
        ...opts,
      });
      sims.push(sim);
      await sim.start();
      await waitFor(() => health.usable(id), 3000, `${id} online`);
      return sim;
    },
    stopEdge,
    async stop() {
      await Promise.all(sims.map((s) => s.stop().catch(() => {})));
      await stopEdge();
      if (!existingDir) rmSync(dir, { recursive: true, force: true });
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
