/**
 * The dispenser driver (SPEC §5, §6b): the edge side of the MQTT contract.
 *
 * - Listens to every configured dispenser's status, telemetry and dispense events through the
 *   embedded broker; every payload is validated by its schema, a malformed one is dropped with
 *   a warning and counted against the device (`malformed`), never thrown.
 * - Status, last will and telemetry silence drive online/offline in DeviceHealth (heartbeat =
 *   the telemetry period, so a silent device is offline within two periods); telemetry gives
 *   stock, temperatures, door and the device's faults, and goes to `onTelemetry` listeners as
 *   it came: the edge's own alerts and the stock it serves from are the core's
 *   (edge/core/dispensers.ts). This driver decides nothing about them.
 * - `dispense()` registers its waiter *before* publishing `cmd/dispense` (QoS 1), waits for the
 *   final `evt/dispense` (`accepted` is only progress) or the timeout, and re-publishes the same
 *   command — same id — when the device comes back online meanwhile (SPEC §5 rule 1).
 * - A final event nobody waits for (late, duplicated, or reported after a device restart) goes
 *   to `onUnclaimedEvent` listeners: the claim service settles `unknown` claims with it.
 */
import {
  decodePayload,
  encodePayload,
  parseTopic,
  topicFor,
  answerOf,
  type Compartment,
  type DispenseAnswer,
  type DispenseEvent,
  type QueryAnswer,
  type TelemetryPayload,
} from '../../protocol/index.ts';
import type { DeviceHealthReporter, DispenseRequest, DispenserPort, DispenserState, FinalDispenseEvent } from '../core/device-ports.ts';
import type { Logger } from '../log.ts';
import { Emitter } from '../emitter.ts';
import type { MqttBus } from './broker.ts';

export interface DispenserDriverOptions {
  bus: MqttBus;
  health: DeviceHealthReporter;
  logger: Logger;
  /** Configured dispensers (config `dispensers`); others are ignored. */
  dispensers: ReadonlyArray<{ id: string }>;
  /** The devices' telemetry period = their heartbeat (config `heartbeatIntervalMs`). */
  telemetryIntervalMs: number;
  /** How long to wait for the final `evt/dispense` (config `dispense.timeoutMs`). */
  dispenseTimeoutMs: number;
  /** How long to wait for the answer to `cmd/query` (config `dispense.queryTimeoutMs`). */
  queryTimeoutMs: number;
}

interface Waiter {
  kind: 'dispense' | 'query';
  dispenserId: string;
  finish(answer: QueryAnswer): void;
  /** The command to send again when the device reconnects (dispense only). */
  resend?: () => void;
}

export class DispenserDriver implements DispenserPort {
  private readonly states = new Map<string, DispenserState>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly unsubscribes: Array<() => Promise<void>> = [];
  private readonly unclaimed: Emitter<[dispenserId: string, evt: FinalDispenseEvent]>;
  private readonly online: Emitter<[dispenserId: string]>;
  private readonly telemetry: Emitter<[dispenserId: string, telemetry: TelemetryPayload]>;
  private readonly log: Logger;
  readonly telemetryIntervalMs: number;
  readonly dispenseTimeoutMs: number;
  readonly queryTimeoutMs: number;
  private started = false;

  constructor(private readonly opts: DispenserDriverOptions) {
    this.log = opts.logger.child({ module: 'dispensers' });
    this.unclaimed = new Emitter('dispenser-unclaimed-event', this.log);
    this.online = new Emitter('dispenser-online', this.log);
    this.telemetry = new Emitter('dispenser-telemetry', this.log);
    this.telemetryIntervalMs = opts.telemetryIntervalMs;
    this.dispenseTimeoutMs = opts.dispenseTimeoutMs;
    this.queryTimeoutMs = opts.queryTimeoutMs;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const d of this.opts.dispensers) {
      this.opts.health.register(d.id, 'dispenser', this.telemetryIntervalMs);
      this.states.set(d.id, { id: d.id, online: false, deviceFaults: [] });
    }
    const handler = (topic: string, payload: Buffer, fromClientId: string | undefined): void => this.onMessage(topic, payload, fromClientId);
    for (const suffix of ['status', 'telemetry', 'evt/dispense']) {
      this.unsubscribes.push(await this.opts.bus.subscribe(`dispensers/+/${suffix}`, handler));
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    this.cancelWaiting('stopped');
    const subs = this.unsubscribes.splice(0);
    await Promise.all(subs.map((u) => u().catch(() => {})));
  }

  ids(): string[] {
    return [...this.states.keys()];
  }

  has(id: string): boolean {
    return this.states.has(id);
  }

  state(id: string): DispenserState | undefined {
    const s = this.states.get(id);
    return s ? structuredClone(s) : undefined;
  }

  /** Final `evt/dispense` that no dispense or query was waiting for. */
  onUnclaimedEvent(listener: (dispenserId: string, evt: FinalDispenseEvent) => void): () => void {
    return this.unclaimed.on(listener);
  }

  /** The device announced itself online (connect, reconnect, restart). */
  onOnline(listener: (dispenserId: string) => void): () => void {
    return this.online.on(listener);
  }

  /** Every valid telemetry report, as it came (the core's stock and alerts). */
  onTelemetry(listener: (dispenserId: string, telemetry: TelemetryPayload) => void): () => void {
    return this.telemetry.on(listener);
  }

  /** Dispense waits in progress (for drain and tests). */
  pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) for (const w of set) if (w.kind === 'dispense') n++;
    return n;
  }

  /**
   * Publish `cmd/dispense` and wait for its final event. The waiter is registered before the
   * publish, so an answer can never arrive unheard; a reconnect meanwhile re-sends the same id.
   */
  dispense(req: DispenseRequest, timeoutMs: number = this.dispenseTimeoutMs): Promise<DispenseAnswer> {
    this.requireDevice(req.dispenserId);
    const topic = topicFor(req.dispenserId, 'dispense');
    const payload = encodePayload('dispense', { id: req.id, compartment: req.compartment, expiresAt: req.expiresAt });
    const send = (): void => {
      this.opts.bus.publish(topic, payload, { qos: 1 }).catch((err: unknown) => this.log.error({ err, claimId: req.id }, 'cmd/dispense not published'));
    };
    const answer = this.wait(req.id, req.dispenserId, 'dispense', timeoutMs, send);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ claimId: req.id, dispenserId: req.dispenserId, compartment: req.compartment }, 'cmd/dispense');
    send();
    // `unknown` only answers queries, so a dispense waiter never resolves with it.
    return answer as Promise<DispenseAnswer>;
  }

  /** Ask the device for the stored outcome of `claimId` (SPEC §5 `cmd/query`). */
  query(dispenserId: string, claimId: string, timeoutMs: number = this.queryTimeoutMs): Promise<QueryAnswer> {
    this.requireDevice(dispenserId);
    const answer = this.wait(claimId, dispenserId, 'query', timeoutMs);
    this.opts.bus
      .publish(topicFor(dispenserId, 'query'), encodePayload('query', { id: claimId }), { qos: 1 })
      .catch((err: unknown) => this.log.error({ err, claimId }, 'cmd/query not published'));
    return answer;
  }

  /** Tell the device `count` bottles were added to a compartment (SPEC §5 `cmd/restock`). */
  async restock(dispenserId: string, compartment: Compartment, count: number): Promise<void> {
    this.requireDevice(dispenserId);
    await this.opts.bus.publish(topicFor(dispenserId, 'restock'), encodePayload('restock', { compartment, count }), { qos: 1 });
  }

  /** End every wait now with `timeout` (shutdown); the claims become `unknown`, never lost. */
  cancelWaiting(reason: string): void {
    for (const [claimId, set] of this.waiters) {
      for (const w of set) {
        this.log.warn({ claimId, dispenserId: w.dispenserId, reason }, 'wait cancelled');
        w.finish({ result: 'timeout' });
      }
    }
  }

  private requireDevice(id: string): void {
    if (!this.states.has(id)) throw new Error(`unknown dispenser ${id}`);
  }

  private wait(claimId: string, dispenserId: string, kind: Waiter['kind'], timeoutMs: number, resend?: () => void): Promise<QueryAnswer> {
    return new Promise<QueryAnswer>((resolve) => {
      let set = this.waiters.get(claimId);
      if (!set) this.waiters.set(claimId, (set = new Set()));
      const waiters = set;
      const waiter: Waiter = {
        kind,
        dispenserId,
        finish: (answer) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.waiters.get(claimId) === waiters) this.waiters.delete(claimId);
          resolve(answer);
        },
      };
      if (resend) waiter.resend = resend;
      const timer = setTimeout(() => {
        this.log.warn({ claimId, dispenserId, kind, timeoutMs }, 'no answer from the dispenser in time');
        waiter.finish({ result: 'timeout' });
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  private malformed(deviceId: string, topic: string, error: string): void {
    this.log.warn({ deviceId, topic, error }, 'malformed payload dropped');
    this.opts.health.count(deviceId, 'malformed');
  }

  private onMessage(topic: string, payload: Buffer, fromClientId: string | undefined): void {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    const { deviceId, name } = parsed;
    const state = this.states.get(deviceId);
    if (!state) return; // not one of ours (the broker refuses unknown devices anyway)
    // Defence in depth: the broker ACL already refuses publishing under another device's prefix.
    if (fromClientId !== undefined && fromClientId !== deviceId) {
      this.log.error({ deviceId, fromClientId, topic }, 'message under another device’s topic ignored');
      return;
    }
    if (name === 'status') this.onStatus(state, payload, topic);
    else if (name === 'telemetry') this.handleTelemetry(state, payload, topic);
    else if (name === 'dispenseEvent') this.onDispenseEvent(state, payload, topic);
  }

  private onStatus(state: DispenserState, payload: Buffer, topic: string): void {
    const d = decodePayload('status', payload);
    if (!d.ok) return this.malformed(state.id, topic, d.error);
    if (d.value.fw !== undefined) {
      state.fw = d.value.fw;
      this.opts.health.setDetail(state.id, { fw: d.value.fw });
    }
    if (d.value.online) {
      state.online = true;
      this.opts.health.seen(state.id);
      this.resendPending(state.id);
      this.online.emit(state.id);
    } else {
      // Either a clean shutdown or the broker publishing the last will: both mean gone.
      state.online = false;
      this.opts.health.markOffline(state.id, 'status_offline');
    }
  }

  private handleTelemetry(state: DispenserState, payload: Buffer, topic: string): void {
    const d = decodePayload('telemetry', payload);
    if (!d.ok) return this.malformed(state.id, topic, d.error);
    const t = d.value;
    const wasOnline = state.online;
    state.online = true;
    state.stock = { ...t.stock };
    state.tempC = { ...t.tempC };
    state.door = t.door;
    state.deviceFaults = [...t.faults];
    state.telemetryTs = t.ts;
    this.opts.health.seen(state.id);
    this.opts.health.setDetail(state.id, { stock: t.stock, tempC: t.tempC, door: t.door, telemetryTs: t.ts });
    this.opts.health.setFaults(state.id, t.faults);
    this.telemetry.emit(state.id, t);
    if (!wasOnline) this.resendPending(state.id);
  }

  private onDispenseEvent(state: DispenserState, payload: Buffer, topic: string): void {
    const d = decodePayload('dispenseEvent', payload);
    if (!d.ok) return this.malformed(state.id, topic, d.error);
    const evt = d.value;
    this.opts.health.seen(state.id);
    const answer = answerOf(evt);
    if (!answer) return; // `accepted`: progress only
    const waiters = [...(this.waiters.get(evt.id) ?? [])].filter((w) => w.dispenserId === state.id);
    if (answer.result === 'unknown') {
      for (const w of waiters) if (w.kind === 'query') w.finish(answer);
      return;
    }
    for (const w of waiters) w.finish(answer);
    if (waiters.length === 0) {
      this.log.info({ claimId: evt.id, dispenserId: state.id, result: evt.result }, 'final event with nobody waiting');
      this.unclaimed.emit(state.id, evt as FinalDispenseEvent);
    }
  }

  /** The device is back: send the commands still waiting again, with their own ids (SPEC §5 rule 1). */
  private resendPending(dispenserId: string): void {
    for (const [claimId, set] of this.waiters) {
      for (const w of set) {
        if (w.dispenserId === dispenserId && w.resend) {
          this.log.info({ claimId, dispenserId }, 'device back: cmd/dispense sent again with the same id');
          w.resend();
        }
      }
    }
  }
}
