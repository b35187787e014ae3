/**
 * Device health (SPEC §6b): one registry for every device of the station. A device is
 * `online`, `degraded` (answering, with faults), `offline` (no answer, no telemetry or a last
 * will) or `out_of_service` (set by maintenance). State changes are events in the ledger, so
 * the cloud sees the fleet's health; counters and details are kept in memory and snapshotted.
 */
import type { Clock, DeviceState, EventDataOf } from '../../protocol/index.ts';
import type { Ledger, LedgerTx } from '../ledger/ledger.ts';
import type { Logger } from '../log.ts';
import { Emitter } from '../emitter.ts';
import type { DeviceHealthReporter, DeviceKind } from './device-ports.ts';

export type { DeviceKind };
export type { DeviceState };

/**
 * How many health events one device may cause per window (issue 11: 41 telemetry messages with
 * alternating fault names wrote 2,565 events in 0.8 s). Past it the device is `flapping`: one
 * fault event says so, further changes are counted (`suppressedEvents`) but not written, and
 * once a whole window passes calmly one event ends it with the state as it is then.
 * The config's `deviceEventBudget` defaults come from here.
 */
export const DEVICE_EVENT_BUDGET = { events: 30, windowMs: 600_000 } as const;
export const FLAPPING = 'flapping';

/**
 * Hysteresis of reachability (issue 11): the reported state — the one events, the devices row,
 * health and so the cloud's alerts follow — moves between up and offline at once for a single
 * outage and its end (so SPEC §6b's "offline within two heartbeat intervals" and a last will
 * still report at once, and so does the device coming back). A device whose reported state
 * changed twice within this time is flapping: its next change is reported only once the new
 * state has held this long, so it stays in the state last reported until it settles. The
 * changes in between are counted (`heldFlaps`); whether a rider can use the device follows the
 * real state at once. The config's `deviceStateHoldMs` default; 0 reports every change.
 */
export const DEVICE_STATE_HOLD_MS = 2_000;

type DeviceEventType = 'device.online' | 'device.offline' | 'device.fault' | 'device.recovered' | 'device.service';
/** A device event with its data checked against that event type's schema (SPEC §10). */
type DeviceEvent = { [K in DeviceEventType]: { type: K; data: EventDataOf<K> } }[DeviceEventType];
type HealthEvent = DeviceEvent;

function appendDeviceEvent(t: LedgerTx, ev: DeviceEvent): void {
  // Each member was checked where it was built; TypeScript cannot follow the pairing through the union.
  t.append(ev.type, ev.data as never);
}

export interface DeviceHealthView {
  id: string;
  kind: DeviceKind;
  state: DeviceState;
  inService: boolean;
  lastSeen: number | null;
  faults: string[];
  counters: Record<string, number>;
  detail: Record<string, unknown>;
}

interface Entry {
  id: string;
  kind: DeviceKind;
  reachable: boolean;
  inService: boolean;
  lastSeenWall: number | null;
  lastSeenMono: number | null;
  /** Silence longer than this (monotonic ms) makes the device offline. */
  offlineAfterMs: number;
  faults: string[];
  /** Faults the station raised itself (`addFault`): kept when the device reports its own set. */
  stationFaults: Set<string>;
  /** The event budget's window: its start (monotonic), events written in it, changes in it. */
  budget: { windowStart: number; written: number; changes: number; flapping: boolean };
  /**
   * Hysteresis (DEVICE_STATE_HOLD_MS): `reachable` is the real state, `reported` what the state
   * derives from; when `reported` changed before its last change (-Infinity: not since start),
   * and last; when `reachable` last changed, and how often since the last report.
   */
  hold: { reported: boolean; reportedBefore: number; reportedAt: number; actualSince: number; flips: number; reason: string | undefined; timer: NodeJS.Timeout | undefined };
  counters: Record<string, number>;
  detail: Record<string, unknown>;
  state: DeviceState;
}

export interface DeviceHealthOptions {
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  /** How often silence is checked. */
  checkIntervalMs?: number;
  /** Health events per device per window (default DEVICE_EVENT_BUDGET). */
  eventBudget?: { events: number; windowMs: number };
  /** How long a change of reachability must hold before a flapping device reports it (default DEVICE_STATE_HOLD_MS). */
  stateHoldMs?: number;
}

export class DeviceHealth implements DeviceHealthReporter {
  private readonly devices = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changes: Emitter<[DeviceHealthView]>;

  constructor(private readonly opts: DeviceHealthOptions) {
    this.changes = new Emitter('device-health', opts.logger);
  }

  start(): void {
    const every = this.opts.checkIntervalMs ?? 1000;
    this.timer = setInterval(() => this.checkSilence(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const e of this.devices.values()) {
      if (e.hold.timer) clearTimeout(e.hold.timer);
      e.hold.timer = undefined;
    }
  }

  private get holdMs(): number {
    return this.opts.stateHoldMs ?? DEVICE_STATE_HOLD_MS;
  }

  /**
   * Add a device. `heartbeatMs` is how often it is expected to be heard from; it is offline
   * within two heartbeat intervals of going silent (SPEC §6b). Restores service flag and
   * faults from the ledger so a restart does not re-announce them.
   */
  register(id: string, kind: DeviceKind, heartbeatMs: number): void {
    if (this.devices.has(id)) return;
    const row = this.opts.ledger.db
      .prepare('SELECT state, in_service, faults, last_seen FROM devices WHERE id = ?')
      .get(id) as { state: DeviceState; in_service: number; faults: string; last_seen: number | null } | undefined;
    const e: Entry = {
      id,
      kind,
      reachable: false,
      inService: row ? row.in_service === 1 : true,
      lastSeenWall: row?.last_seen ?? null,
      lastSeenMono: null,
      offlineAfterMs: 2 * heartbeatMs,
      faults: row ? (JSON.parse(row.faults) as string[]) : [],
      stationFaults: new Set(),
      budget: { windowStart: this.opts.clock.monotonic(), written: 0, changes: 0, flapping: false },
      hold: { reported: false, reportedBefore: Number.NEGATIVE_INFINITY, reportedAt: Number.NEGATIVE_INFINITY, actualSince: this.opts.clock.monotonic(), flips: 0, reason: undefined, timer: undefined },
      counters: {},
      detail: {},
      state: row?.state ?? 'offline',
    };
    // A device that was up before a restart gets the usual grace: heard from again within two
    // heartbeats, or `device.offline` is written, so the cloud never keeps a stale `online`.
    if (e.state === 'online' || e.state === 'degraded') {
      e.reachable = true;
      e.lastSeenMono = this.opts.clock.monotonic();
    }
    e.hold.reported = e.reachable;
    this.devices.set(id, e);
    if (!row) this.persist(e, undefined);
  }

  has(id: string): boolean {
    return this.devices.has(id);
  }

  onChange(listener: (v: DeviceHealthView) => void): () => void {
    return this.changes.on(listener);
  }

  private entry(id: string): Entry {
    const e = this.devices.get(id);
    if (!e) throw new Error(`unknown device ${id}`);
    return e;
  }

  private derive(e: Entry): DeviceState {
    if (!e.inService) return 'out_of_service';
    if (!e.hold.reported) return 'offline';
    return e.faults.length > 0 ? 'degraded' : 'online';
  }

  /** Write the device row and, when the state changed, its event — in one transaction. */
  private persist(e: Entry, event: DeviceEvent[] | undefined): void {
    this.opts.ledger.tx((t) => {
      t.db
        .prepare(
          `INSERT INTO devices (id, kind, state, in_service, last_seen, faults, counters, detail, updated_ts)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, state = excluded.state, in_service = excluded.in_service,
             last_seen = excluded.last_seen, faults = excluded.faults, counters = excluded.counters,
             detail = excluded.detail, updated_ts = excluded.updated_ts`,
        )
        .run(e.id, e.kind, e.state, e.inService ? 1 : 0, e.lastSeenWall, JSON.stringify(e.faults), JSON.stringify(e.counters), JSON.stringify(e.detail), t.now);
      for (const ev of event ?? []) appendDeviceEvent(t, ev);
    });
  }

  private transition(e: Entry, extra: DeviceEvent[] = [], reason?: string): void {
    const before = e.state;
    e.state = this.derive(e);
    const events: DeviceEvent[] = [...extra];
    const wasUp = before === 'online' || before === 'degraded';
    const isUp = e.state === 'online' || e.state === 'degraded';
    if (!wasUp && isUp && e.hold.reported) events.unshift({ type: 'device.online', data: { deviceId: e.id, kind: e.kind } });
    if (wasUp && e.state === 'offline') events.unshift({ type: 'device.offline', data: { deviceId: e.id, kind: e.kind, reason: reason ?? 'silent' } });
    if (events.length > 0 || before !== e.state) {
      this.persist(e, this.withinBudget(e, events));
      this.opts.logger.info({ deviceId: e.id, from: before, to: e.state, reason }, 'device state');
      const view = this.view(e);
      this.changes.emit(view);
    }
  }

  /** The device answered or published: it is reachable now. */
  seen(id: string): void {
    const e = this.entry(id);
    e.lastSeenMono = this.opts.clock.monotonic();
    e.lastSeenWall = this.opts.clock.now();
    if (!e.reachable) this.reach(e, true, undefined);
  }

  /** The device is known unreachable (last will, status offline, board silent). */
  markOffline(id: string, reason: string): void {
    const e = this.entry(id);
    if (!e.reachable) return;
    this.reach(e, false, reason);
  }

  /** The real reachability changed; the reported one follows by the hysteresis rule (DEVICE_STATE_HOLD_MS). */
  private reach(e: Entry, reachable: boolean, reason: string | undefined): void {
    const h = e.hold;
    e.reachable = reachable;
    h.actualSince = this.opts.clock.monotonic();
    h.flips++;
    h.reason = reason;
    // Back to what is reported before it was reported: a flap that never reached the log.
    if (reachable === h.reported) e.counters.heldFlaps = (e.counters.heldFlaps ?? 0) + 1;
    this.settle(e);
  }

  /** Report the real reachability if the hysteresis rule allows it now; else wake up when it may. */
  private settle(e: Entry): void {
    const h = e.hold;
    const now = this.opts.clock.monotonic();
    const hold = this.holdMs;
    if (h.timer) clearTimeout(h.timer);
    h.timer = undefined;
    if (e.reachable === h.reported) {
      // Settled where it was: a later change counts as the first one again.
      if (now - h.actualSince >= hold) h.flips = 0;
      else this.wakeAt(e, h.actualSince + hold);
      return;
    }
    // One change since the last report, and not the third report within the hold: at once.
    const steady = h.flips <= 1 && now - h.reportedBefore >= hold;
    if (!steady && now - h.actualSince < hold) {
      this.wakeAt(e, Math.min(h.flips <= 1 ? h.reportedBefore + hold : Number.POSITIVE_INFINITY, h.actualSince + hold));
      return;
    }
    const first = h.reportedAt === Number.NEGATIVE_INFINITY && e.reachable;
    h.reported = e.reachable;
    h.flips = 0;
    // A device's first appearance after start is not a change of state: it counts for nothing.
    if (!first) {
      h.reportedBefore = h.reportedAt;
      h.reportedAt = now;
    }
    this.transition(e, [], e.reachable ? undefined : h.reason);
  }

  private wakeAt(e: Entry, atMono: number): void {
    if (!this.timer) return; // not started (a test drives checkSilence itself)
    e.hold.timer = setTimeout(() => this.settle(e), Math.max(0, atMono - this.opts.clock.monotonic()) + 1);
    e.hold.timer.unref();
  }

  /**
   * Replace the device's own fault set (telemetry); the faults the station raised stay. New
   * faults raise `device.fault`, cleared ones `device.recovered`.
   */
  setFaults(id: string, faults: readonly string[]): void {
    const e = this.entry(id);
    const next = [...new Set([...faults, ...e.stationFaults])].sort();
    const added = next.filter((f) => !e.faults.includes(f));
    const cleared = e.faults.filter((f) => !next.includes(f));
    if (added.length === 0 && cleared.length === 0) return;
    e.faults = next;
    this.transition(e, [
      ...added.map((fault) => ({ type: 'device.fault' as const, data: { deviceId: e.id, kind: e.kind, fault } })),
      ...cleared.map((fault) => ({ type: 'device.recovered' as const, data: { deviceId: e.id, kind: e.kind, fault } })),
    ]);
  }

  /** A fault the station itself found (a stuck door, a client-id fight): kept until `clearFault`. */
  addFault(id: string, fault: string): void {
    const e = this.entry(id);
    e.stationFaults.add(fault);
    if (!e.faults.includes(fault)) this.setFaults(id, e.faults);
  }

  clearFault(id: string, fault: string): void {
    const e = this.entry(id);
    e.stationFaults.delete(fault);
    if (e.faults.includes(fault)) this.setFaults(id, e.faults.filter((f) => f !== fault));
  }

  /** Maintenance takes a device out of service or back (SPEC §8). */
  setService(id: string, inService: boolean, by: string): void {
    const e = this.entry(id);
    if (e.inService === inService) return;
    e.inService = inService;
    this.transition(e, [{ type: 'device.service', data: { deviceId: e.id, kind: e.kind, inService, by } }]);
  }

  /** Error counters (timeouts, bad checksums, malformed payloads …), kept in memory. */
  count(id: string, counter: string, by = 1): void {
    const e = this.entry(id);
    e.counters[counter] = (e.counters[counter] ?? 0) + by;
  }

  /** Stock, temperatures, door states … shown in health; not events by themselves. */
  setDetail(id: string, patch: Record<string, unknown>): void {
    const e = this.entry(id);
    Object.assign(e.detail, patch);
  }

  /** True when the device can be used for a rider now (its real state, whatever the hysteresis reports). */
  usable(id: string): boolean {
    const e = this.devices.get(id);
    return !!e && e.inService && e.reachable;
  }

  get(id: string): DeviceHealthView | undefined {
    const e = this.devices.get(id);
    return e ? this.view(e) : undefined;
  }

  all(): DeviceHealthView[] {
    return [...this.devices.values()].map((e) => this.view(e));
  }

  private view(e: Entry): DeviceHealthView {
    return {
      id: e.id,
      kind: e.kind,
      state: e.state,
      inService: e.inService,
      lastSeen: e.lastSeenWall,
      faults: [...e.faults],
      counters: { ...e.counters },
      detail: structuredClone(e.detail),
    };
  }

  /**
   * The events of one change that the device's budget allows: all of them normally; when this
   * change would exceed the budget, one `device.fault` `flapping` instead; while flapping, none
   * (counted in `suppressedEvents`; the devices row still follows every change).
   */
  private withinBudget(e: Entry, all: HealthEvent[]): HealthEvent[] {
    const b = e.budget;
    const limit = this.opts.eventBudget ?? DEVICE_EVENT_BUDGET;
    // What maintenance does is always written: only the device's own changes are budgeted.
    const service = all.filter((ev) => ev.type === 'device.service');
    const events = all.filter((ev) => ev.type !== 'device.service');
    if (events.length === 0) return service;
    b.changes++;
    if (b.flapping) {
      e.counters.suppressedEvents = (e.counters.suppressedEvents ?? 0) + events.length;
      return service;
    }
    if (b.written + events.length <= limit.events) {
      b.written += events.length;
      return all;
    }
    b.flapping = true;
    e.counters.suppressedEvents = (e.counters.suppressedEvents ?? 0) + events.length;
    e.stationFaults.add(FLAPPING);
    if (!e.faults.includes(FLAPPING)) e.faults = [...e.faults, FLAPPING].sort();
    e.state = this.derive(e);
    this.opts.logger.warn({ deviceId: e.id, budget: limit.events, windowMs: limit.windowMs }, 'device flapping: further health changes are counted, not written');
    return [...service, { type: 'device.fault', data: { deviceId: e.id, kind: e.kind, fault: FLAPPING } }];
  }

  /** A new budget window; a flapping device whose last window was calm ends its flapping. */
  private rollBudgets(now: number): void {
    const limit = this.opts.eventBudget ?? DEVICE_EVENT_BUDGET;
    for (const e of this.devices.values()) {
      const b = e.budget;
      if (now - b.windowStart < limit.windowMs) continue;
      const calm = b.changes <= Math.floor(limit.events / 2);
      b.windowStart = now;
      b.written = 0;
      b.changes = 0;
      if (b.flapping && calm) {
        b.flapping = false;
        e.stationFaults.delete(FLAPPING);
        e.faults = e.faults.filter((f) => f !== FLAPPING);
        e.state = this.derive(e);
        b.written = 1;
        // One event ends it, with the state and faults as they are now (the changes meanwhile were not written).
        this.persist(e, [{ type: 'device.recovered', data: { deviceId: e.id, kind: e.kind, fault: FLAPPING, state: e.state, faults: [...e.faults], suppressedEvents: e.counters.suppressedEvents ?? 0 } }]);
        this.changes.emit(this.view(e));
      }
    }
  }

  /** Offline within two heartbeat intervals of going silent (SPEC §6b). */
  checkSilence(): void {
    const now = this.opts.clock.monotonic();
    this.rollBudgets(now);
    for (const e of this.devices.values()) {
      if (e.reachable && e.lastSeenMono !== null && now - e.lastSeenMono > e.offlineAfterMs) this.reach(e, false, 'silent');
      else if (e.reachable !== e.hold.reported || e.hold.flips > 0) this.settle(e);
    }
  }
}
