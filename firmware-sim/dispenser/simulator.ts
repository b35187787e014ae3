/**
 * A simulated hot/cold drink dispenser that speaks the real MQTT contract (SPEC §5) to any
 * broker: retained status with a last will, telemetry, idempotent `cmd/dispense` by id,
 * `cmd/query`, `cmd/restock`. It counts every bottle it really dropped, per command id, so
 * tests compare that with the station ledger.
 *
 * Faults: one-shot per vend (`failNext`, or a seeded random profile: see ./faults.ts) and
 * conditions that last until cleared (door, temperatures, heater, compressor, temperature
 * sensor, jam, drop sensor, stock). A power loss keeps the vend memory (the "flash") and
 * restarts the firmware, which reports a vend it found half done as `indeterminate`.
 *
 * This class is the shell; the pieces live beside it: the MQTT session (./link.ts), what the
 * sensors read and telemetry reports (./telemetry.ts), `cmd/*` parsing and the answers for a
 * remembered vend (./commands.ts), the vend decision (./vending.ts), the options and their
 * defaults (./options.ts), the timers (./timers.ts).
 */
import { EventEmitter } from 'node:events';
import {
  COMPARTMENTS,
  type Compartment,
  type DispenseCommand,
  type DispenseEvent,
  type RestockCommand,
  type TelemetryPayload,
} from '../../protocol/index.ts';
import { outcomeOf, parseCommand } from './commands.ts';
import { NoFaults, ScriptedFaults, parseFaultProfile, type FaultProfile, type VendFault } from './faults.ts';
import { MqttLink } from './link.ts';
import { InMemoryStore, VendMemory, type MemoryStore, type VendRecord } from './memory.ts';
import { initialStock, withDefaults, type DispenserSimOptions, type SimLog, type SimSettings } from './options.ts';
import { seededRng, type Rng } from './rng.ts';
import { activeFaults, faultKey, machineView, readTemperatures, telemetryOf, type Condition } from './telemetry.ts';
import { nextEvent, Timers } from './timers.ts';
import { decideVend, type Interruption } from './vending.ts';

export { SERVING_RANGE_C, type Condition } from './telemetry.ts';
export type { DispenserSimOptions, SimLog } from './options.ts';

export class DispenserSimulator extends EventEmitter {
  readonly id: string;
  readonly stock: Record<Compartment, number>;
  door: 'open' | 'closed' = 'closed';
  /** Readings forced by a test or the console; undefined = nominal with a little noise. */
  readonly tempOverrideC: Partial<Record<Compartment, number>> = {};
  readonly conditions = new Set<Condition>();
  /** Bottles that really left the machine, per command id. */
  readonly dropped = new Map<string, number>();
  droppedTotal = 0;
  /** Motor starts (a vend that failed still ran the motor). */
  motorRuns = 0;
  boots = 0;

  private readonly opts: SimSettings;
  private readonly store: MemoryStore;
  private memory: VendMemory;
  private profile: FaultProfile;
  private readonly oneShots = new ScriptedFaults([]);
  private readonly rng: Rng;
  private readonly log: SimLog;
  private readonly link: MqttLink;
  private vending: string | null = null;
  private powered = false;
  private readonly timers = new Timers();
  private lastFaultKey = '';

  constructor(options: DispenserSimOptions) {
    super();
    this.id = options.id;
    this.opts = withDefaults(options);
    this.stock = initialStock(options.stock);
    this.store = options.memory ?? new InMemoryStore();
    this.memory = new VendMemory(this.store, this.opts.memoryRetainMs);
    this.profile = typeof options.faults === 'string' || options.faults === undefined ? parseFaultProfile(options.faults) : options.faults;
    this.rng = seededRng(options.seed ?? 7);
    this.log = options.log ?? (() => {});
    this.link = new MqttLink(this.opts, {
      connected: () => {
        this.publishTelemetry();
        this.log('info', 'connected', { id: this.id });
        this.emit('connected');
      },
      message: (topic, payload) => this.onMessage(topic, payload),
      disconnected: () => this.emit('disconnected'),
      error: (err) => this.log('warn', 'mqtt error', { id: this.id, err: err.message }),
    });
  }

  get connected(): boolean {
    return this.link.connected;
  }

  get isVending(): boolean {
    return this.vending !== null;
  }

  /** The vend memory as the firmware sees it (tests). */
  record(id: string): VendRecord | undefined {
    return this.memory.get(id);
  }

  /** Bottles really dropped for one command id (0 or 1, or a bug). */
  droppedFor(id: string): number {
    return this.dropped.get(id) ?? 0;
  }

  /** Power on and connect; resolves on the first CONNACK. */
  async start(): Promise<void> {
    this.boot();
    await this.waitConnected();
  }

  /** Clean shutdown: `online: false` status, DISCONNECT, timers off. */
  async stop(): Promise<void> {
    this.powered = false;
    this.timers.clear();
    await this.link.close();
  }

  waitConnected(timeoutMs = 5000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return nextEvent(this, 'connected', timeoutMs, `dispenser ${this.id} did not connect within ${timeoutMs} ms`);
  }

  // ---- faults and conditions -------------------------------------------------------------

  /** One-shot faults for the next vends, in order (before the profile's own draw). */
  failNext(...faults: Array<VendFault | 'ok'>): void {
    this.oneShots.push(...faults);
  }

  setProfile(profile: string | FaultProfile): void {
    this.profile = typeof profile === 'string' ? parseFaultProfile(profile) : profile;
  }

  setDoor(door: 'open' | 'closed'): void {
    this.door = door;
    this.telemetryIfFaultsChanged();
  }

  /** Force a compartment's reading (°C); undefined goes back to nominal. */
  setTemperature(compartment: Compartment, c: number | undefined): void {
    if (c === undefined) delete this.tempOverrideC[compartment];
    else this.tempOverrideC[compartment] = c;
    this.telemetryIfFaultsChanged();
  }

  setCondition(condition: Condition, on: boolean): void {
    if (on) this.conditions.add(condition);
    else this.conditions.delete(condition);
    this.telemetryIfFaultsChanged();
  }

  setStock(compartment: Compartment, n: number): void {
    this.stock[compartment] = Math.max(0, Math.floor(n));
    this.telemetryIfFaultsChanged();
  }

  /** Close the door, clear every condition, one-shot fault and forced reading. */
  clearFaults(): void {
    this.door = 'closed';
    this.conditions.clear();
    for (const c of COMPARTMENTS) delete this.tempOverrideC[c];
    while (this.oneShots.nextVendFault() !== undefined);
    this.profile = new NoFaults();
    this.telemetryIfFaultsChanged();
  }

  /** Pull the plug now; the firmware boots again after `powerOffMs` (or never, with `restartAfterMs: null`). */
  powerLoss(restartAfterMs: number | null = this.opts.powerOffMs): void {
    this.log('warn', 'power lost', { id: this.id, vending: this.vending });
    this.powered = false;
    this.vending = null;
    this.timers.clear();
    this.link.drop();
    if (restartAfterMs !== null) this.timers.later(restartAfterMs, () => this.boot());
  }

  /** Lose the network (the broker sees the socket die and sends the last will), back after `offlineMs`. */
  disconnectNetwork(offlineMs: number = this.opts.offlineMs): void {
    this.log('warn', 'network lost', { id: this.id });
    this.link.drop();
    this.timers.later(offlineMs, () => {
      if (this.powered) this.link.connect();
    });
  }

  /** Publish any bytes on one of this device's topics (malformed-payload tests). */
  publishRaw(suffix: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    return this.link.publishRaw(suffix, payload, qos);
  }

  // ---- firmware ----------------------------------------------------------------------------

  /** Firmware start: read the flash, turn half-done vends into `indeterminate`, connect. */
  private boot(): void {
    this.boots++;
    this.powered = true;
    this.vending = null;
    this.memory = new VendMemory(this.store, this.opts.memoryRetainMs);
    const now = this.opts.clock.now();
    const halfDone = this.memory.all().filter((r) => r.state === 'dispensing');
    for (const r of halfDone) this.memory.put({ ...r, state: 'indeterminate' }, now);
    this.link.connect();
    // Report them once connected (mqtt.js queues QoS 1 publishes until CONNACK).
    for (const r of halfDone) this.report(r.id, { result: 'indeterminate' });
    if (this.opts.telemetryIntervalMs > 0) this.timers.every(this.opts.telemetryIntervalMs, () => this.publishTelemetry());
    this.log('info', 'booted', { id: this.id, boots: this.boots, indeterminate: halfDone.map((r) => r.id) });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!this.powered) return;
    const c = parseCommand(this.id, topic, payload);
    if (!c) return;
    if (!c.ok) {
      this.log('warn', `bad ${c.name} command`, { id: this.id, error: c.error });
      if (c.id) this.rememberAndReport({ id: c.id, compartment: null, state: 'rejected', reason: 'bad_request', ts: this.opts.clock.now() });
      return;
    }
    if (c.name === 'dispense') this.onDispense(c.value);
    else if (c.name === 'query') this.onQuery(c.value.id);
    else this.onRestock(c.value);
  }

  private onDispense(cmd: DispenseCommand): void {
    const seen = this.memory.get(cmd.id);
    const fault = seen ? undefined : (this.oneShots.nextVendFault() ?? this.profile.nextVendFault());
    const decision = decideVend(cmd, seen, machineView(this, this.vending, this.rng), this.opts.clock.now(), fault);
    this.emit('command', cmd, decision);
    switch (decision.kind) {
      case 'repeat':
        // SPEC §5 rule 2: never move the motor again; say what happened (or that it is under way).
        this.report(cmd.id, outcomeOf(decision.record));
        return;
      case 'reject':
        this.rememberAndReport({ id: cmd.id, compartment: cmd.compartment, state: 'rejected', reason: decision.reason, ts: this.opts.clock.now() });
        return;
      case 'run':
        this.run(cmd, decision.result, decision.interruption);
        return;
    }
  }

  private run(cmd: DispenseCommand, result: { dropped: true } | { dropped: false; reason: string }, interruption: Interruption | undefined): void {
    const now = this.opts.clock.now();
    // Written (and durable) before the motor gets power: SPEC §5 rule 2.
    this.memory.put({ id: cmd.id, compartment: cmd.compartment, state: 'dispensing', ts: now }, now);
    this.vending = cmd.id;
    this.motorRuns++;
    this.report(cmd.id, { result: 'accepted' });
    if (interruption === 'power_loss') {
      // The plug is pulled while the motor turns: the bottle has not come out.
      this.timers.later(Math.floor(this.opts.motorMs / 2), () => this.powerLoss());
      return;
    }
    const finish = (): void => {
      if (!this.powered || this.vending !== cmd.id) return;
      this.vending = null;
      let record: VendRecord;
      if (result.dropped) {
        this.stock[cmd.compartment] = Math.max(0, this.stock[cmd.compartment] - 1);
        this.dropped.set(cmd.id, (this.dropped.get(cmd.id) ?? 0) + 1);
        this.droppedTotal++;
        record = { id: cmd.id, compartment: cmd.compartment, state: 'dropped', ts: now };
      } else {
        record = { id: cmd.id, compartment: cmd.compartment, state: 'failed', reason: result.reason, ts: now };
      }
      this.memory.put(record, this.opts.clock.now());
      this.emit('vended', record);
      if (interruption === 'power_loss_after_drop') return this.powerLoss();
      if (interruption === 'disconnect') return this.disconnectNetwork();
      const evt = outcomeOf(record);
      if (interruption === 'late_event') {
        this.timers.later(this.opts.lateEventMs, () => this.report(cmd.id, evt));
      } else {
        this.report(cmd.id, evt);
        if (interruption === 'duplicate_event') this.report(cmd.id, evt);
      }
      this.telemetryIfFaultsChanged();
    };
    if (this.opts.motorMs <= 0) finish();
    else this.timers.later(this.opts.motorMs, finish);
  }

  private onQuery(id: string): void {
    const r = this.memory.get(id);
    this.report(id, r ? outcomeOf(r) : { result: 'unknown' });
  }

  private onRestock(restock: RestockCommand): void {
    // `count` bottles were added to the compartment (docs/dispensers.md, Simulator).
    this.stock[restock.compartment] += restock.count;
    this.log('info', 'restocked', { id: this.id, ...restock, stock: this.stock[restock.compartment] });
    this.publishTelemetry();
  }

  private rememberAndReport(record: VendRecord): void {
    this.memory.put(record, this.opts.clock.now());
    this.report(record.id, outcomeOf(record));
  }

  private report(id: string, evt: Omit<DispenseEvent, 'id'>): void {
    if (this.powered) this.link.publish('dispenseEvent', { id, ...evt }, 1);
  }

  telemetry(): TelemetryPayload {
    return telemetryOf(this, this.rng, this.opts.clock.now());
  }

  /** Fault names of SPEC §5 that hold now. */
  faults(tempC: Record<Compartment, number> = readTemperatures(this, this.rng)): string[] {
    return activeFaults(this, tempC);
  }

  publishTelemetry(): void {
    if (!this.link.connected || !this.powered) return;
    const t = this.telemetry();
    this.lastFaultKey = faultKey(t);
    this.link.publish('telemetry', t, 0);
  }

  /** Report a change of faults, door or empty compartments at once, not at the next period. */
  private telemetryIfFaultsChanged(): void {
    const t = this.telemetry();
    if (faultKey(t) !== this.lastFaultKey) this.publishTelemetry();
  }
}
