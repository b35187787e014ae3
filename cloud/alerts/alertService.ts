/**
 * The alert shell (SPEC §15): runs the pure rules (rules.ts) on every upload and on a timer —
 * "offline longer than" and "no heartbeat" fire on silence, when no upload comes — and writes
 * the outcome to the store, which fires and resolves idempotently by fingerprint and owes each
 * matching channel one message per fire and per resolve. Then it wakes the notifier.
 *
 * Several cloud instances may run this at once on one database: the state lives in the store,
 * and only the call that moved an alert to firing (or resolved) writes its notifications.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Clock, type MetricsRegistry, type StationEvent } from '../../protocol/index.ts';
import type { CloudConfig } from '../config.ts';
import type { AlertInput, AlertRow, CloudStore } from '../store/store.ts';
import { Notifier } from '../notify/notifier.ts';
import { channelsFor } from '../notify/plan.ts';
import type { StationInfo } from '../notify/message.ts';
import { StationDirectory } from '../stations/stationDirectory.ts';
import { diffAlerts, eventAlerts, fingerprintOf, fleetAlerts, type AlertCandidate, type AlertRules } from './rules.ts';

export interface AlertServiceOptions {
  store: CloudStore;
  clock: Clock;
  logger: Logger;
  config: CloudConfig;
  registry: MetricsRegistry;
  instanceId?: string;
}

/** Event types that move a station's devices, faults or lockers, which the rules read (rollupEffects.ts). */
const HEALTH_EVENT = /^(device\.|locker\.|dispenser\.restocked$)/;

/** Firing alerts read per evaluation; far above what a fleet has at once. */
const FIRING_LIMIT = 100_000;

export class AlertService {
  readonly notifier: Notifier;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | null = null;
  private evaluateAgain = false;
  private firingBySeverity: Record<string, number> = { critical: 0, warning: 0, info: 0 };
  private readonly fired: Counter;
  private readonly resolved: Counter;
  /** Station ids, zones and time zones from the store (issue 14), not from config.stations. */
  private readonly stations: StationDirectory;

  constructor(private readonly o: AlertServiceOptions) {
    this.log = o.logger.child({ module: 'alerts' });
    this.stations = new StationDirectory(o.store, o.clock);
    this.notifier = new Notifier({
      store: o.store,
      clock: o.clock,
      logger: o.logger,
      channels: o.config.notify,
      config: o.config.alerts,
      messages: { station: (id) => this.station(id), refresh: (ids) => this.stations.refresh(ids), publicUrl: o.config.publicUrl },
      registry: o.registry,
      ...(o.instanceId ? { instanceId: o.instanceId } : {}),
    });
    this.fired = o.registry.add(new Counter('waystation_cloud_alerts_fired_total', 'Alerts that started firing (counted by the instance that fired them), by kind and severity.'));
    this.resolved = o.registry.add(new Counter('waystation_cloud_alerts_resolved_total', 'Alerts that resolved, by kind.'));
    o.registry.add(
      new Gauge('waystation_cloud_alerts_firing', 'Alerts firing at the last evaluation, by severity.', () =>
        Object.entries(this.firingBySeverity).map(([severity, value]) => ({ labels: { severity }, value })),
      ),
    );
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluate(), this.o.config.alerts.evaluateIntervalMs);
    this.timer.unref();
    this.notifier.start();
    void this.evaluate();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.evaluating) await this.evaluating;
    await this.notifier.stop();
  }

  /** As last read from the store: call `this.stations.refresh` first where it matters. */
  station(id: string): StationInfo {
    return this.stations.info(id);
  }

  private channels(a: { stationId: string; severity: AlertRow['severity'] }): string[] {
    return channelsFor(a, this.station(a.stationId).zone, this.o.config.notify);
  }

  /** A log alert from ingest (hash chain, invalid event). */
  async raise(a: AlertInput): Promise<void> {
    const severity = a.kind === 'chain_broken' ? 'critical' : 'warning';
    await this.stations.refresh([a.stationId]);
    await this.o.store.raiseAlert({ ...a, channels: this.channels({ stationId: a.stationId, severity }) });
    this.notifier.kick();
  }

  /**
   * After an upload stored fresh events: the alerts they raise or clear. Only the uploading
   * station's alerts can change, so only its state is read — never the fleet's, which the timer
   * evaluates (silence fires there, when no upload comes). Check-ins and claims change no alert;
   * a fresh heartbeat only clears the station's `station_silent` (`silentFiring`: whether it was
   * firing, as the append read it; read here when the store did not say).
   */
  async ingested(stationId: string, events: readonly StationEvent[], silentFiring?: boolean): Promise<void> {
    const { fire, resolve } = eventAlerts(stationId, events);
    await this.apply(fire, resolve);
    if (events.some((e) => HEALTH_EVENT.test(e.type))) return this.evaluateStation(stationId);
    let beat = -Infinity;
    for (const e of events) if (e.type === 'station.heartbeat') beat = Math.max(beat, e.ts);
    if (beat === -Infinity) return;
    // A heartbeat from a backlog may be old enough that the station still counts as silent.
    if (this.o.clock.now() - beat > this.rules().stationSilentAfterMs) return this.evaluateStation(stationId);
    const firing = silentFiring ?? (await this.o.store.stationAlertState(stationId)).firing.some((a) => a.kind === 'station_silent');
    if (firing) await this.apply([], [fingerprintOf(stationId, '', 'station_silent')]);
  }

  private rules(): AlertRules {
    return { deviceOfflineAfterMs: this.o.config.alerts.deviceOfflineAfterMs, stationSilentAfterMs: this.o.config.health.stationOfflineAfterMs };
  }

  /** The level alerts of one station, from its own rows: the fleet rules over a fleet of one. */
  private async evaluateStation(stationId: string): Promise<void> {
    const { firing, ...state } = await this.o.store.stationAlertState(stationId);
    const candidates = fleetAlerts({ nowMs: this.o.clock.now(), stationIds: [stationId], ...state }, this.rules());
    const { fire, resolve } = diffAlerts(candidates, firing);
    await this.apply(fire, resolve);
  }

  /** Evaluate the whole fleet now; concurrent calls share one run (and one more after it). */
  evaluate(): Promise<void> {
    if (this.evaluating) {
      this.evaluateAgain = true;
      return this.evaluating;
    }
    this.evaluating = (async () => {
      do {
        this.evaluateAgain = false;
        await this.evaluateNow().catch((e: Error) => this.log.error({ err: e }, 'alert evaluation failed'));
      } while (this.evaluateAgain && this.timer);
    })().finally(() => {
      this.evaluating = null;
    });
    return this.evaluating;
  }

  private async evaluateNow(): Promise<void> {
    const { store } = this.o;
    const nowMs = this.o.clock.now();
    await this.stations.refresh([], true);
    const [heartbeats, devices, faults, overdue, firing] = await Promise.all([
      store.heartbeats(),
      store.devices(),
      store.openFaults(),
      store.overdueLockers(),
      store.listAlerts('firing', FIRING_LIMIT),
    ]);
    const candidates = fleetAlerts({ nowMs, stationIds: this.stations.ids(), heartbeats, devices, faults, overdue }, this.rules());
    const { fire, resolve } = diffAlerts(candidates, firing);
    await this.apply(fire, resolve);
    const counts: Record<string, number> = { critical: 0, warning: 0, info: 0 };
    const still = new Set(resolve);
    for (const a of firing) if (!still.has(a.fingerprint)) counts[a.severity] = (counts[a.severity] ?? 0) + 1;
    for (const c of fire) if (!firing.some((a) => a.fingerprint === c.fingerprint)) counts[c.severity] = (counts[c.severity] ?? 0) + 1;
    this.firingBySeverity = counts;
  }

  private async apply(fire: readonly AlertCandidate[], resolve: readonly string[]): Promise<void> {
    const now = this.o.clock.now();
    let changed = false;
    if (fire.length > 0) await this.stations.refresh(fire.map((c) => c.stationId));
    for (const c of fire) {
      const r = await this.o.store.fireAlert({ ...c, channels: this.channels(c) }, now);
      if (!r.fired) continue;
      changed = true;
      this.fired.inc({ kind: c.kind, severity: c.severity });
      this.log.warn({ fingerprint: c.fingerprint, severity: c.severity, since: c.since }, 'alert firing');
    }
    for (const fp of resolve) {
      if (!(await this.o.store.resolveAlert(fp, now))) continue;
      changed = true;
      this.resolved.inc({ kind: fp.slice(fp.lastIndexOf('/') + 1).split(':')[0]! });
      this.log.info({ fingerprint: fp }, 'alert resolved');
    }
    if (changed) this.notifier.kick();
  }
}
