/**
 * The whole station in one process (issue 4): ledger → device health → broker → dispenser
 * driver → claims → lock buses → lockers → scanner → trust and sync → HTTP → jobs.
 * `startStation` starts the parts in that order and, if one fails, stops the ones already
 * running before it rethrows; `stop()` unwinds in reverse so in-flight claims finish or become
 * `unknown` (ClaimPort.drain) before the devices and the ledger go away. Tests run a whole
 * station on port 0 with serial paths on @serialport/binding-mock (`bindings`).
 */
import { join } from 'node:path';
import { lockBoardProfile, systemClock, type Clock } from '../protocol/index.ts';
import { buildApp, type AppDeps, type TypedApp } from './api/app.ts';
import { startMaintenanceListener } from './console/listener.ts';
import { deviceListDiff, diskFreeBytes, devicesSummary } from './api/station-health.ts';
import { TrustStore } from './api/trust.ts';
import type { StationConfig } from './config.ts';
import { ClaimService } from './core/claims.ts';
import { DeviceHealth } from './core/health.ts';
import { LockerService } from './core/lockers.ts';
import { Broker } from './drivers/broker.ts';
import type { BrokerLimits } from './drivers/mqtt-guard.ts';
import { DispenserDriver } from './drivers/dispensers.ts';
import { LockBus, type LockBusTimeouts } from './drivers/lockbus.ts';
import { ScannerReader } from './drivers/scanner.ts';
import type { BindingInterface } from './drivers/lockbus/open-port.ts';
import { StationJobs } from './jobs.ts';
import { startupSummary, type StartupSummary } from './tools/startup-summary.ts';
import { KioskHub } from './kiosk/hub.ts';
import { Ledger } from './ledger/ledger.ts';
import { QuotaLedger } from './ledger/quota-ledger.ts';
import { createLogger, type Logger } from './log.ts';
import { StationMetrics } from './metrics.ts';
import { ConfigPuller, Uploader, ZoneFeedClient, type ZoneSetting } from './sync/index.ts';
import { ZoneFacts } from './ledger/zone-facts.ts';

export interface StationOptions {
  clock?: Clock;
  logger?: Logger;
  /** Serial bindings by path (tests: each simulator's mock line); others use the real ports. */
  bindings?: Record<string, BindingInterface>;
  /** One binding for every serial path (e.g. @serialport/binding-mock). */
  serialBinding?: BindingInterface;
  /** Run the jobs on their timers (default true; tests may drive `station.jobs` by hand). */
  scheduleJobs?: boolean;
  /** Lock-bus reply timeout and polling (tests shorten them; config `lockers` otherwise). */
  lockBusTimeouts?: Partial<LockBusTimeouts>;
  /** Device health's own clock and silence check (tests: a ManualClock moved by days would mark every device silent). */
  healthClock?: Clock;
  healthCheckIntervalMs?: number;
  /** Test overrides below the config's ranges: health events per device, broker limits, claim timings. */
  eventBudget?: { events: number; windowMs: number };
  brokerLimits?: Partial<BrokerLimits>;
  claims?: { commandTtlMs?: number; resolveOnReconnect?: boolean };
  /** fetch for the sync jobs (tests). */
  fetch?: typeof fetch;
  /** When the start-up summary of which devices answered is logged (default 5000 ms after start). */
  startupSummaryMs?: number;
  /** Also hand the summary to the caller (the CLI prints it). */
  onStartupSummary?: (s: StartupSummary) => void;
}

export interface Station {
  readonly httpUrl: string;
  /** The staff listener's URL (config `maintenance`), when there is one. */
  readonly maintenanceUrl: string | undefined;
  readonly mqttPort: number;
  readonly config: StationConfig;
  readonly ledger: Ledger;
  readonly quota: QuotaLedger;
  readonly health: DeviceHealth;
  readonly claims: ClaimService;
  readonly lockers: LockerService;
  readonly jobs: StationJobs;
  readonly kiosk: KioskHub;
  readonly trust: TrustStore;
  readonly metrics: StationMetrics;
  readonly app: TypedApp;
  readonly uploader: Uploader | undefined;
  readonly configPuller: ConfigPuller | undefined;
  /** The zone feed (SPEC §13), when a cloud is configured; it polls only in scope "zone". */
  readonly zoneFeed: ZoneFeedClient | undefined;
  readonly zoneFacts: ZoneFacts;
  /** The device side (tests and tools drive the broker and the dispenser driver directly). */
  readonly broker: Broker;
  readonly dispensers: DispenserDriver;
  readonly lockBuses: readonly LockBus[];
  stop(): Promise<void>;
}

export class StationStartError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DB_FILE = 'station.db';

export function dbPathOf(config: StationConfig): string {
  return join(config.dataDir, DB_FILE);
}

/** A lock bus's timeouts from the config's `lockers` and serial keys (SPEC §6). */
export function lockBusTimeoutsOf(c: Pick<StationConfig, 'lockers' | 'serialReopenInitialMs' | 'serialReopenMaxMs'>): LockBusTimeouts {
  const l = c.lockers;
  return {
    replyTimeoutMs: l.replyTimeoutMs,
    queryRetries: l.queryRetries,
    pollIntervalMs: l.pollIntervalMs,
    offlinePollIntervalMs: l.offlinePollIntervalMs,
    reopenInitialMs: c.serialReopenInitialMs,
    reopenMaxMs: c.serialReopenMaxMs,
  };
}

export async function startStation(config: StationConfig, opts: StationOptions = {}): Promise<Station> {
  const clock = opts.clock ?? systemClock;
  const logger = (opts.logger ?? createLogger({ level: config.logLevel })).child({ stationId: config.stationId });
  const log = logger.child({ module: 'station' });
  const startedMono = clock.monotonic();
  const stops: Array<{ name: string; stop: () => unknown }> = [];
  const started = (name: string, stop: () => unknown) => stops.push({ name, stop });

  async function unwind(): Promise<void> {
    for (const s of stops.reverse()) {
      try {
        await s.stop();
      } catch (e) {
        log.error({ err: e, part: s.name }, 'stop failed');
      }
    }
    stops.length = 0;
  }

  let metricsRef: StationMetrics | undefined;
  try {
    const ledger = Ledger.open({ path: dbPathOf(config), clock, timezone: config.timezone, logger: logger.child({ module: 'ledger' }) });
    started('ledger', () => ledger.close());

    const health = new DeviceHealth({
      ledger,
      clock: opts.healthClock ?? clock,
      logger: logger.child({ module: 'health' }),
      eventBudget: opts.eventBudget ?? config.deviceEventBudget,
      stateHoldMs: config.deviceStateHoldMs,
      ...(opts.healthCheckIntervalMs !== undefined ? { checkIntervalMs: opts.healthCheckIntervalMs } : {}),
    });
    health.start();
    started('health', () => health.stop());

    const quota = new QuotaLedger(ledger, config.quota);
    // The zone's remote facts (SPEC §13) are read only while the cloud's policy says scope "zone".
    const zoneFacts = new ZoneFacts(ledger, config.stationId);
    zoneFacts.windowDays = quota.policy.windowDays;
    quota.zone = zoneFacts;

    const { host: mqttHost, port: mqttPort, ...limits } = config.mqtt;
    const broker = new Broker({ host: mqttHost, port: mqttPort, devices: config.dispensers, logger, health, limits: { ...limits, ...opts.brokerLimits } });
    const mqtt = await broker.start().catch((e: unknown) => {
      throw new StationStartError('mqtt_port_in_use', (e as Error).message, { cause: e });
    });
    started('broker', () => broker.stop());

    const driver = new DispenserDriver({
      bus: broker,
      health,
      logger,
      dispensers: config.dispensers,
      telemetryIntervalMs: config.heartbeatIntervalMs,
      dispenseTimeoutMs: config.dispense.timeoutMs,
      queryTimeoutMs: config.dispense.queryTimeoutMs,
    });
    await driver.start();
    started('dispensers', () => driver.stop());

    const claims = new ClaimService({
      quota,
      driver,
      health,
      logger,
      neverReceivedMarginMs: config.dispense.neverReceivedMarginMs,
      ...(opts.claims?.commandTtlMs !== undefined ? { commandTtlMs: opts.claims.commandTtlMs } : {}),
      ...(opts.claims?.resolveOnReconnect !== undefined ? { resolveOnReconnect: opts.claims.resolveOnReconnect } : {}),
      alerts: { lowStockThreshold: config.lowStockThreshold, temperatureRangeC: config.dispense.temperatureRangeC },
    });
    await claims.start();
    started('claims', () => claims.stop());

    const buses = config.lockBuses.map(
      (b) =>
        new LockBus({
          path: b.path,
          baudRate: b.baudRate,
          profile: lockBoardProfile(b.profile),
          boards: b.boards,
          binding: opts.bindings?.[b.path] ?? opts.serialBinding,
          logger,
          health,
          clock,
          timeouts: { ...lockBusTimeoutsOf(config), ...opts.lockBusTimeouts },
        }),
    );
    for (const bus of buses) {
      await bus.start();
      started(`lockbus ${bus.id}`, () => bus.stop());
    }
    // The lock buses stop after the lockers (reverse order), so no unlock is cut off half-way.
    const lockers = new LockerService({
      ledger,
      health,
      clock,
      logger,
      buses,
      storageLimitMs: config.lockers.storageLimitMs,
      doorLeftOpenMs: config.lockers.doorLeftOpenMs,
      labels: config.lockers.labels,
      unlockAttempts: config.lockers.unlockAttempts,
      unlockGraceMs: config.lockers.unlockGraceMs,
      maxCompartmentsPerDeposit: config.lockers.maxCompartmentsPerDeposit,
    });
    lockers.start();
    started('lockers', () => lockers.stop());

    const trust = new TrustStore({ config, clock, logger: logger.child({ module: 'trust' }) });
    const kiosk = new KioskHub({ logger: logger.child({ module: 'kiosk' }) });
    kiosk.start();
    started('kiosk', () => kiosk.stop());

    // Each scanned code goes to the kiosk screen, which drives the rider API (SPEC §7).
    let scanner: ScannerReader | undefined;
    if (config.scanner) {
      scanner = new ScannerReader({
        path: config.scanner.path,
        baudRate: config.scanner.baudRate,
        binding: opts.bindings?.[config.scanner.path] ?? opts.serialBinding,
        logger,
        health,
        reopenInitialMs: config.serialReopenInitialMs,
        reopenMaxMs: config.serialReopenMaxMs,
        onCode: (code) => kiosk.publishScan(code),
      });
      await scanner.start();
      started('scanner', () => scanner!.stop());
    }

    let uploader: Uploader | undefined;
    let puller: ConfigPuller | undefined;
    let zoneFeed: ZoneFeedClient | undefined;
    let zoneSetting: ZoneSetting | undefined;
    if (config.cloud) {
      const link = { stationId: config.stationId, cloudUrl: config.cloud.url, token: config.cloud.token };
      const syncLog = logger.child({ module: 'sync' });
      puller = new ConfigPuller({
        ...link,
        ledger,
        clock,
        logger: syncLog,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        onConfig: (doc) => {
          trust.applyCloudConfig(doc);
          const diff = deviceListDiff(doc.devices, health.all());
          if (diff && diff.missingHere.length + diff.notListed.length + diff.kindDiffers.length > 0)
            syncLog.warn(diff, 'the cloud lists other devices for this station than its config drives; fix the station or the cloud config');
          // The cloud's quota policy wins over the file's (SPEC §9: the config pull carries it).
          // SPEC §13: scope "zone" needs a zone; a station in none decides per station.
          const scope = doc.quota.scope === 'zone' && doc.zone ? 'zone' : 'station';
          quota.policy = { windowDays: doc.quota.windowDays, claimsPerDay: doc.quota.claimsPerDay, scope };
          zoneFacts.windowDays = doc.quota.windowDays;
          // The station's zone and the policy's scope decide whether the feed polls.
          zoneSetting = { zone: doc.zone, scope };
          zoneFeed?.settingChanged();
        },
      });
      zoneFeed = new ZoneFeedClient({
        ...link,
        store: zoneFacts,
        clock,
        logger: syncLog.child({ part: 'zone-feed' }),
        setting: () => zoneSetting,
        waitMs: config.cloud.zoneFeedWaitMs ?? 20_000,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        onApplied: (r) => metricsRef?.zoneFeedApplied.inc({}, r.applied),
        onError: (code) => metricsRef?.zoneFeedErrors.inc({ code }),
        onInvalid: (n) => metricsRef?.zoneFeedErrors.inc({ code: 'invalid_entry' }, n),
        onZoneMoved: () => puller?.pullSoon(),
      });
      quota.zoneFeedAgeMs = () => zoneFeed?.ageMs();
      await puller.start();
      started('config puller', () => puller!.stop());
      uploader = new Uploader({ ...link, ledger, clock, logger: syncLog, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
      uploader.start();
      started('uploader', () => uploader!.stop());
      zoneFeed.start();
      started('zone feed', () => zoneFeed!.stop());
    }

    let jobs: StationJobs | undefined;
    const metrics = new StationMetrics({
      zoneFeed: () => zoneFeed?.status(),
      ledger,
      quota,
      health,
      uptimeS: () => (clock.monotonic() - startedMono) / 1000,
      clockJumps: () => jobs?.clockJumps().length ?? 0,
    });
    metrics.start();
    metricsRef = metrics;
    started('metrics', () => metrics.stop());
    const offRefusals = broker.onRefusal((r) => metrics.mqttRefusals.inc({ kind: r.kind }));
    started('mqtt refusal counter', offRefusals);

    jobs = new StationJobs({
      config,
      clock,
      logger,
      ledger,
      claims,
      lockers,
      schedule: opts.scheduleJobs ?? true,
      heartbeatData: () => ({
        uptimeS: Math.round((clock.monotonic() - startedMono) / 1000),
        diskFreeBytes: diskFreeBytes(config.dataDir),
        dbBytes: ledger.sizeBytes(),
        backlog: ledger.backlog(),
        devices: devicesSummary({ health }),
        // Stock per dispenser for the cloud's fleet health (SPEC §15); device events carry none.
        stock: Object.fromEntries(health.all().filter((v) => v.kind === 'dispenser' && v.detail.stock).map((v) => [v.id, v.detail.stock])),
      }),
    });
    const theJobs = jobs;

    const appDeps: AppDeps = {
      config,
      clock,
      logger,
      ledger,
      quota,
      health,
      claims,
      lockers,
      trust,
      metrics,
      kiosk,
      probe: {
        startedMono,
        clockJumps: () => theJobs.clockJumps(),
        clockFault: () => theJobs.clockFault(),
        sync: () =>
          uploader
            ? {
                uploader: uploader.status(),
                config: puller?.status() ?? null,
                // SPEC §13: the zone feed's cursor, lag and last success (null fields in scope "station").
                zoneFeed: zoneFeed ? { ...zoneFeedHealth(zoneFeed.status()), factsHeld: zoneFacts.count() } : null,
              }
            : null,
      },
    };
    const app = buildApp(appDeps);
    try {
      await app.listen({ host: config.http.host, port: config.http.port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new StationStartError('http_port_in_use', `HTTP port ${config.http.port} on ${config.http.host} is in use; set http.port in the config or stop the other process`, { cause: e });
      }
      throw e;
    }
    // In-flight claims finish or become unknown while the server stops taking requests.
    started('http', async () => {
      // Event streams never end on their own: close them first, then let requests finish.
      kiosk.stop();
      // A keep-alive connection busy when close() began becomes idle once its answer is sent,
      // and Node closes idle connections only at the moment close() is called: sweep them until
      // the server is closed, and cut whatever is left after the drain time.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      const cut = setTimeout(() => app.server.closeAllConnections(), config.shutdownDrainMs + 5000);
      try {
        await Promise.all([app.close(), claims.drain(config.shutdownDrainMs)]);
      } finally {
        clearInterval(sweep);
        clearTimeout(cut);
      }
    });

    let maintenanceUrl: string | undefined;
    if (config.maintenance) {
      const staff = await startMaintenanceListener(config.maintenance, appDeps).catch((e: unknown) => {
        throw new StationStartError((e as { code?: string }).code ?? 'maintenance_listener_failed', (e as Error).message, { cause: e });
      });
      started('maintenance http', () => staff.close());
      maintenanceUrl = staff.url;
    }

    theJobs.start();
    started('jobs', () => theJobs.stop());

    // Which devices answered, once they had a moment to (issue 13: one line, not a log to read).
    const summaryTimer = setTimeout(() => {
      const s = startupSummary(health.all());
      if (s.silent.length) log.warn({ answered: s.answered, silent: s.silent }, `start-up: ${s.text}`);
      else log.info({ answered: s.answered }, `start-up: ${s.text}`);
      opts.onStartupSummary?.(s);
    }, opts.startupSummaryMs ?? 5000);
    summaryTimer.unref();
    started('start-up summary', () => clearTimeout(summaryTimer));

    const addr = app.server.address();
    const port = addr && typeof addr === 'object' ? addr.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const httpUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    log.info({ httpUrl, maintenanceUrl, mqttPort: mqtt.port, dispensers: config.dispensers.length, lockBuses: buses.length, scanner: !!scanner, cloud: !!config.cloud }, 'station started');

    let stopping: Promise<void> | undefined;
    return {
      httpUrl,
      maintenanceUrl,
      mqttPort: mqtt.port,
      config,
      ledger,
      quota,
      health,
      claims,
      lockers,
      jobs: theJobs,
      kiosk,
      trust,
      broker,
      dispensers: driver,
      lockBuses: buses,
      metrics,
      app,
      uploader,
      configPuller: puller,
      zoneFeed,
      zoneFacts,
      stop() {
        stopping ??= (async () => {
          log.info('station stopping');
          await unwind();
          log.info('station stopped');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

/** The health view of the zone feed (SPEC §13 `sync.zoneFeed {cursor, lagMs, lastOkAt}` and why). */
function zoneFeedHealth(s: ReturnType<ZoneFeedClient['status']>): Record<string, unknown> {
  return {
    cursor: s.cursor,
    lagMs: s.lagMs,
    lastOkAt: s.lastOkAt,
    active: s.active,
    zone: s.zone,
    entriesApplied: s.entriesApplied,
    consecutiveFailures: s.consecutiveFailures,
    lastError: s.lastError,
  };
}
