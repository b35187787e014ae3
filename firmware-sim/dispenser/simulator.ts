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
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import { MqttClient } from 'mqtt';
import {
  COMPARTMENTS,
  decodePayload,
  encodePayload,
  parseTopic,
  systemClock,
  topicFor,
  type Clock,
  type Compartment,
  type DispenseCommand,
  type DispenseEvent,
  type TelemetryPayload,
  type TopicName,
} from '../../protocol/index';
import { NoFaults, ScriptedFaults, parseFaultProfile, type FaultProfile, type VendFault } from './faults';
import { InMemoryStore, VendMemory, type MemoryStore, type VendRecord } from './memory';
import { seededRng, type Rng } from './rng';
import { decideVend, type Interruption, type MachineView } from './vending';

export type Condition = 'heater' | 'compressor' | 'temp_sensor' | 'jam' | 'drop_sensor';
export type SimLog = (level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>) => void;

export interface DispenserSimOptions {
  /** Broker URL, `mqtt://host:port`. */
  url: string;
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

/** Serving ranges the firmware enforces (°C): outside them it refuses with `temperature`. */
export const SERVING_RANGE_C: Record<Compartment, { min: number; max: number }> = {
  hot: { min: 70, max: 98 },
  cold: { min: 1, max: 12 },
};
const NOMINAL_C: Record<Compartment, number> = { hot: 88, cold: 6 };

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

  private readonly opts: Required<Omit<DispenserSimOptions, 'faults' | 'memory' | 'stock' | 'log' | 'seed'>>;
  private readonly store: MemoryStore;
  private memory: VendMemory;
  private profile: FaultProfile;
  private readonly oneShots = new ScriptedFaults([]);
  private readonly rng: Rng;
  private readonly log: SimLog;
  private client: MqttClient | undefined;
  private vending: string | null = null;
  private powered = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private telemetryTimer: NodeJS.Timeout | undefined;
  private lastFaultKey = '';

  constructor(options: DispenserSimOptions) {
    super();
    this.id = options.id;
    this.opts = {
      url: options.url,
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
    const s = options.stock ?? 40;
    this.stock = typeof s === 'number' ? { hot: s, cold: s } : { hot: s.hot ?? 40, cold: s.cold ?? 40 };
    this.store = options.memory ?? new InMemoryStore();
    this.memory = new VendMemory(this.store, this.opts.memoryRetainMs);
    this.profile = typeof options.faults === 'string' || options.faults === undefined ? parseFaultProfile(options.faults) : options.faults;
    this.rng = seededRng(options.seed ?? 7);
    this.log = options.log ?? (() => {});
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
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
    this.clearTimers();
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    let clean = false;
    if (c.connected) {
      const said = c
        .publishAsync(this.topic('status'), encodePayload('status', { online: false, fw: this.opts.fw }), { qos: 1, retain: true })
        .then(() => true, () => false);
      clean = await Promise.race([said, new Promise<boolean>((r) => setTimeout(() => r(false), 500).unref())]);
    }
    // Without a clean goodbye, drop the socket: the broker then publishes the last will.
    await c.endAsync(!clean).catch(() => {});
  }

  waitConnected(timeoutMs = 5000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', done);
        reject(new Error(`dispenser ${this.id} did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.once('connected', done);
    });
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
    this.clearTimers();
    this.killConnection();
    if (restartAfterMs !== null) this.later(restartAfterMs, () => this.boot());
  }

  /** Lose the network (the broker sees the socket die and sends the last will), back after `offlineMs`. */
  disconnectNetwork(offlineMs: number = this.opts.offlineMs): void {
    this.log('warn', 'network lost', { id: this.id });
    this.killConnection();
    this.later(offlineMs, () => {
      if (this.powered) this.connect();
    });
  }

  /** Publish any bytes on one of this device's topics (malformed-payload tests). */
  publishRaw(suffix: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    const c = this.client;
    if (!c) return Promise.reject(new Error('not connected'));
    return c.publishAsync(`dispensers/${this.id}/${suffix}`, payload, { qos }).then(() => undefined);
  }

  // ---- firmware ----------------------------------------------------------------------------

  private topic(name: TopicName): string {
    return topicFor(this.id, name);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.telemetryTimer = undefined;
  }

  /** Firmware start: read the flash, turn half-done vends into `indeterminate`, connect. */
  private boot(): void {
    this.boots++;
    this.powered = true;
    this.vending = null;
    this.memory = new VendMemory(this.store, this.opts.memoryRetainMs);
    const now = this.opts.clock.now();
    const halfDone = this.memory.all().filter((r) => r.state === 'dispensing');
    for (const r of halfDone) this.memory.put({ ...r, state: 'indeterminate' }, now);
    this.connect();
    // Report them once connected (mqtt.js queues QoS 1 publishes until CONNACK).
    for (const r of halfDone) this.report(r.id, { result: 'indeterminate' });
    if (this.opts.telemetryIntervalMs > 0) {
      this.telemetryTimer = setInterval(() => this.publishTelemetry(), this.opts.telemetryIntervalMs);
    }
    this.log('info', 'booted', { id: this.id, boots: this.boots, indeterminate: halfDone.map((r) => r.id) });
  }

  private connect(): void {
    const url = new URL(this.opts.url);
    const host = url.hostname || '127.0.0.1';
    const port = Number(url.port || 1883);
    const noDelay = this.opts.noDelay;
    const client = new MqttClient(
      () => {
        const s = netConnect({ host, port, noDelay });
        s.setNoDelay(noDelay);
        return s;
      },
      {
        clientId: this.id,
        username: this.id,
        password: this.opts.password,
        clean: this.opts.clean,
        reconnectPeriod: this.opts.reconnectPeriodMs,
        connectTimeout: 5000,
        keepalive: 30,
        will: {
          topic: this.topic('status'),
          payload: encodePayload('status', { online: false, fw: this.opts.fw }),
          qos: 1,
          retain: true,
        },
      },
    );
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      client.subscribe(`dispensers/${this.id}/cmd/#`, { qos: 1 });
      client.publish(this.topic('status'), encodePayload('status', { online: true, fw: this.opts.fw }), { qos: 1, retain: true });
      this.publishTelemetry();
      this.log('info', 'connected', { id: this.id });
      this.emit('connected');
    });
    client.on('message', (topic, payload) => {
      if (this.client === client) this.onMessage(topic, payload);
    });
    client.on('error', (err) => this.log('warn', 'mqtt error', { id: this.id, err: err.message }));
    client.on('close', () => {
      if (this.client === client) this.emit('disconnected');
    });
  }

  /** Drop the TCP connection without a DISCONNECT, as a power cut or a cable pull would. */
  private killConnection(): void {
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.end(true);
      this.emit('disconnected');
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!this.powered) return;
    const parsed = parseTopic(topic);
    if (!parsed || parsed.deviceId !== this.id) return;
    if (parsed.name === 'dispense') this.onDispense(payload);
    else if (parsed.name === 'query') this.onQuery(payload);
    else if (parsed.name === 'restock') this.onRestock(payload);
  }

  private onDispense(payload: Buffer): void {
    const decoded = decodePayload('dispense', payload);
    if (!decoded.ok) {
      const id = idOf(payload);
      this.log('warn', 'bad dispense command', { id: this.id, error: decoded.error });
      if (id) this.rememberAndReport({ id, compartment: null, state: 'rejected', reason: 'bad_request', ts: this.opts.clock.now() });
      return;
    }
    const cmd = decoded.value;
    const seen = this.memory.get(cmd.id);
    const fault = seen ? undefined : (this.oneShots.nextVendFault() ?? this.profile.nextVendFault());
    const decision = decideVend(cmd, seen, this.view(), this.opts.clock.now(), fault);
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
      this.later(Math.floor(this.opts.motorMs / 2), () => this.powerLoss());
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
        this.later(this.opts.lateEventMs, () => this.report(cmd.id, evt));
      } else {
        this.report(cmd.id, evt);
        if (interruption === 'duplicate_event') this.report(cmd.id, evt);
      }
      this.telemetryIfFaultsChanged();
    };
    if (this.opts.motorMs <= 0) finish();
    else this.later(this.opts.motorMs, finish);
  }

  private onQuery(payload: Buffer): void {
    const decoded = decodePayload('query', payload);
    if (!decoded.ok) {
      this.log('warn', 'bad query command', { id: this.id, error: decoded.error });
      return;
    }
    const r = this.memory.get(decoded.value.id);
    this.report(decoded.value.id, r ? outcomeOf(r) : { result: 'unknown' });
  }

  private onRestock(payload: Buffer): void {
    const decoded = decodePayload('restock', payload);
    if (!decoded.ok) {
      this.log('warn', 'bad restock command', { id: this.id, error: decoded.error });
      return;
    }
    // `count` bottles were added to the compartment (the README's Dispensers section).
    this.stock[decoded.value.compartment] += decoded.value.count;
    this.log('info', 'restocked', { id: this.id, ...decoded.value, stock: this.stock[decoded.value.compartment] });
    this.publishTelemetry();
  }

  private rememberAndReport(record: VendRecord): void {
    this.memory.put(record, this.opts.clock.now());
    this.report(record.id, outcomeOf(record));
  }

  private report(id: string, evt: Omit<DispenseEvent, 'id'>): void {
    const c = this.client;
    if (!c || !this.powered) return;
    c.publish(this.topic('dispenseEvent'), encodePayload('dispenseEvent', { id, ...evt }), { qos: 1 });
  }

  private view(): MachineView {
    const temps = this.readTemperatures();
    const stuck = new Set<'jam' | 'drop_sensor'>();
    if (this.conditions.has('jam')) stuck.add('jam');
    if (this.conditions.has('drop_sensor')) stuck.add('drop_sensor');
    return {
      vending: this.vending,
      stock: { ...this.stock },
      door: this.door,
      temperatureOk: { hot: this.temperatureOk('hot', temps.hot), cold: this.temperatureOk('cold', temps.cold) },
      stuck,
    };
  }

  private temperatureOk(c: Compartment, reading: number): boolean {
    if (this.conditions.has('temp_sensor')) return false;
    if (c === 'hot' && this.conditions.has('heater')) return false;
    if (c === 'cold' && this.conditions.has('compressor')) return false;
    return reading >= SERVING_RANGE_C[c].min && reading <= SERVING_RANGE_C[c].max;
  }

  private readTemperatures(): Record<Compartment, number> {
    const out = {} as Record<Compartment, number>;
    for (const c of COMPARTMENTS) {
      const forced = this.tempOverrideC[c];
      if (forced !== undefined) out[c] = forced;
      else if (c === 'hot' && this.conditions.has('heater')) out[c] = 45; // cooling down without a heater
      else if (c === 'cold' && this.conditions.has('compressor')) out[c] = 22; // warming up to room temperature
      else out[c] = Math.round((NOMINAL_C[c] + (this.rng.next() - 0.5)) * 10) / 10;
    }
    return out;
  }

  telemetry(): TelemetryPayload {
    const tempC = this.readTemperatures();
    return { ts: this.opts.clock.now(), stock: { ...this.stock }, tempC, door: this.door, faults: this.faults(tempC) };
  }

  /** Fault names of SPEC §5 that hold now. */
  faults(tempC: Record<Compartment, number> = this.readTemperatures()): string[] {
    const f = new Set<string>();
    for (const c of ['jam', 'drop_sensor', 'heater', 'compressor', 'temp_sensor'] as const) if (this.conditions.has(c)) f.add(c);
    if (this.door === 'open') f.add('door_open');
    if (!this.conditions.has('temp_sensor')) {
      for (const c of COMPARTMENTS) {
        if (tempC[c] > SERVING_RANGE_C[c].max) f.add('temp_high');
        if (tempC[c] < SERVING_RANGE_C[c].min) f.add('temp_low');
      }
    }
    for (const c of COMPARTMENTS) if (this.stock[c] === 0) f.add(`out_of_stock_${c}`);
    return [...f].sort();
  }

  publishTelemetry(): void {
    const c = this.client;
    if (!c?.connected || !this.powered) return;
    const t = this.telemetry();
    this.lastFaultKey = faultKey(t);
    c.publish(this.topic('telemetry'), encodePayload('telemetry', t), { qos: 0 });
  }

  /** Report a change of faults, door or empty compartments at once, not at the next period. */
  private telemetryIfFaultsChanged(): void {
    const t = this.telemetry();
    if (faultKey(t) !== this.lastFaultKey) this.publishTelemetry();
  }
}

function faultKey(t: TelemetryPayload): string {
  return `${t.door}|${t.faults.join(',')}`;
}

function outcomeOf(r: VendRecord): Omit<DispenseEvent, 'id'> {
  switch (r.state) {
    case 'dispensing':
      return { result: 'accepted' };
    case 'dropped':
      return { result: 'dropped' };
    case 'indeterminate':
      return { result: 'indeterminate' };
    case 'failed':
    case 'rejected':
      return r.reason ? { result: r.state, reason: r.reason } : { result: r.state };
  }
}

/** The `id` of a command that failed validation, when there is a usable one. */
function idOf(payload: Buffer): string | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64 ? v.id : undefined;
  } catch {
    return undefined;
  }
}
