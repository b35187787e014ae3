/**
 * The station's embedded MQTT broker (aedes) for the dispensers (SPEC §5, contract).
 *
 * - Every connection is a TCP socket with Nagle's algorithm off: a dispense is a small
 *   request and a small reply, and with Nagle on either side a delayed ACK adds ~40–90 ms
 *   to every bottle (issue 3, bench/dispenser.bench.ts) — or, for in-process simulators and
 *   tests, an in-memory stream from `connectInMemory()` (issue 3). Both go through the same
 *   `aedes.handle`, so authentication, the ACL and the last will are the same.
 * - A device connects with `clientId` = `username` = its id and its own password from the
 *   station config; passwords are compared in constant time.
 * - Topic ACL: a device publishes only its own device → edge topics (status, telemetry,
 *   evt/dispense) and subscribes only to its own `cmd/…`; anything else is refused, logged and
 *   counted against the device's health. An unauthorised SUBSCRIBE is answered with granted
 *   QoS 128 (MQTT 3.1.1 §3.9.3); an unauthorised PUBLISH closes the connection, the only
 *   refusal MQTT 3.1.1 has for it (§3.3.5, MQTT-3.3.5-2).
 * - The edge itself does not log in over MQTT: it publishes and subscribes in-process through
 *   `publish()` / `subscribe()` below, so there is no edge credential to leak.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { TOPICS, decodePayload, devicePrefix, isDeviceId, topicFor, type TopicName } from '../../protocol/index.ts';
import type { DeviceHealthReporter } from '../core/device-ports.ts';
import type { Logger } from '../log.ts';
import { Emitter } from '../emitter.ts';
import { duplexPair } from './duplex-pair.ts';
import { BROKER_LIMITS, MqttFrameGuard, type BrokerLimits } from './mqtt-guard.ts';

// aedes writes every packet with mqtt-packet, whose default is a table of all 65,536 two-byte
// numbers as Buffers, built on the first packet: ~7 MB of heap (6 % of the daemon's resident
// memory) to save one 2-byte allocation per packet id and topic length. Off, it writes them as
// it goes (same bytes; docs/performance.md).
mqttPacket.writeToStream.cacheNumbers = false;

export interface BrokerDevice {
  id: string;
  password: string;
}

export interface BrokerOptions {
  /** Interface to listen on (config `mqtt.host`); default 127.0.0.1. */
  host?: string;
  /** TCP port (config `mqtt.port`); 0 picks a free one, read it back from `start()`. */
  port: number;
  /** Devices allowed to connect (config `dispensers`). */
  devices: readonly BrokerDevice[];
  logger: Logger;
  /** Refusals are counted against the device (`acl_refused`, `auth_refused`) when it is registered here. */
  health?: DeviceHealthReporter;
  /** Only for the Nagle comparison in the bench; the station always runs with no-delay. */
  noDelay?: boolean;
  /** What one client may make the broker hold (issue 11); config `mqtt.*`, defaults `BROKER_LIMITS`. */
  limits?: Partial<BrokerLimits>;
}

/** One client id's takeovers (a second connection with an id that is connected). */
interface Fight {
  takeovers: number[];
  blockedUntil: number;
  backoffMs: number;
}

export type RefusalKind = 'auth' | 'publish' | 'subscribe' | 'will' | 'connection' | 'client_id_conflict';

export interface Refusal {
  kind: RefusalKind;
  clientId: string;
  topic?: string;
  reason: string;
  /** The client's address (`in-memory` for in-process simulators). */
  address?: string;
}

/** What the edge drivers need from a broker: in-process publish and subscribe. */
export interface MqttBus {
  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  /** `handler` gets every message on `filter` (MQTT wildcards); resolves to an unsubscribe function. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer, fromClientId: string | undefined) => void): Promise<() => Promise<void>>;
}

const DEVICE_PUBLISH: readonly TopicName[] = (Object.keys(TOPICS) as TopicName[]).filter((n) => TOPICS[n].from === 'device');
const EDGE_COMMANDS: readonly TopicName[] = (Object.keys(TOPICS) as TopicName[]).filter((n) => TOPICS[n].from === 'edge');
/** The device → edge topics by their suffix: every message a device sends is checked against it. */
const DEVICE_PUBLISH_BY_SUFFIX: ReadonlyMap<string, TopicName> = new Map(DEVICE_PUBLISH.map((n) => [TOPICS[n].suffix, n]));

function digest(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}

function authError(message: string, returnCode: 2 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** The topic filters a device may subscribe to: its `cmd/#`, `cmd/+` or one command topic. */
export function allowedSubscription(deviceId: string, filter: string): boolean {
  const prefix = devicePrefix(deviceId);
  if (!filter.startsWith(prefix)) return false;
  const rest = filter.slice(prefix.length);
  return rest === 'cmd/#' || rest === 'cmd/+' || EDGE_COMMANDS.some((n) => TOPICS[n].suffix === rest);
}

/**
 * Why a device may not leave this last will, or undefined when it may: only its own retained
 * `status` saying `online: false` (SPEC §5), so a dropped connection can never announce
 * anything else — a device that is online, or another device's state.
 */
export function willRefusal(deviceId: string, topic: string, payload: string | Buffer | undefined): string | undefined {
  if (topic !== topicFor(deviceId, 'status')) return 'the last will must be the device’s own status topic';
  const status = decodePayload('status', payload ?? Buffer.alloc(0));
  if (!status.ok || status.value.online !== false) return 'the last will must be {"online": false}';
  return undefined;
}

/** Why a device may not publish `packet`, or undefined when it may. */
export function publishRefusal(deviceId: string, topic: string, retain: boolean): string | undefined {
  const prefix = devicePrefix(deviceId);
  if (!topic.startsWith(prefix)) return 'outside the device prefix';
  const name = DEVICE_PUBLISH_BY_SUFFIX.get(topic.slice(prefix.length));
  if (!name) return 'not a device → edge topic';
  // Only the status is retained (SPEC §5); a retained telemetry or event would be replayed stale.
  if (retain && !TOPICS[name].retain) return 'retain not allowed on this topic';
  return undefined;
}

export class Broker implements MqttBus {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  /** Open connections, TCP sockets and in-memory streams alike, destroyed at `stop()`. */
  private readonly connections = new Set<Duplex>();
  private readonly passwords: Map<string, Buffer>;
  private readonly connectPackets = new WeakMap<Client, ConnectPacket>();
  private readonly refused: Emitter<[Refusal]>;
  private readonly log: Logger;
  /** Refusals since start, by kind (also in health for registered devices). */
  readonly refusals: Record<RefusalKind, number> = { auth: 0, publish: 0, subscribe: 0, will: 0, connection: 0, client_id_conflict: 0 };
  private readonly limits: BrokerLimits;
  /** The guard and address of each connection as aedes sees it (the guarded stream). */
  private readonly guards = new WeakMap<Duplex, { guard: MqttFrameGuard; address: string }>();
  private readonly fights = new Map<string, Fight>();

  constructor(private readonly opts: BrokerOptions) {
    this.passwords = new Map(opts.devices.map((d) => [d.id, digest(d.password)]));
    this.log = opts.logger.child({ module: 'mqtt-broker' });
    this.limits = { ...BROKER_LIMITS, ...opts.limits };
    this.refused = new Emitter('mqtt-refusal', this.log);
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** The connected client ids (devices), for health and tests. */
  connectedIds(): string[] {
    const clients = (this.aedes as unknown as { clients?: Record<string, Client> } | undefined)?.clients ?? {};
    return Object.values(clients).filter((c) => c.connected).map((c) => c.id);
  }

  onRefusal(listener: (r: Refusal) => void): () => void {
    return this.refused.on(listener);
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.server) throw new Error('broker already started');
    const host = this.opts.host ?? '127.0.0.1';
    const noDelay = this.opts.noDelay ?? true;
    const aedes = await Aedes.createBroker({
      connectTimeout: this.limits.connectTimeoutMs,
      preConnect: (client, packet, cb) => {
        this.connectPackets.set(client, packet);
        cb(null, true);
      },
      authenticate: (client, username, password, cb) => this.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client, sub, cb),
    });
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client error'));
    aedes.on('connectionError', (client, err) => this.log.debug({ clientId: client?.id, err: err.message }, 'connection error'));
    aedes.on('clientReady', (client) => this.log.info({ clientId: client.id }, 'device connected'));
    aedes.on('clientDisconnect', (client) => this.log.info({ clientId: client.id }, 'device disconnected'));
    const server = createServer({ noDelay }, (socket) => {
      // `noDelay` on the server is inherited by accepted sockets on Node ≥ 17.7; set it anyway.
      socket.setNoDelay(noDelay);
      this.handle(aedes, socket, socket.remoteAddress ?? 'unknown');
    });
    this.aedes = aedes;
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.server = undefined;
      this.aedes = undefined;
      await new Promise<void>((r) => aedes.close(() => r()));
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw Object.assign(new Error(`MQTT port ${this.opts.port} is in use; set mqtt.port in the config`), {
          code: 'mqtt_port_in_use',
          cause: e,
        });
      }
      throw e;
    }
    const port = this.port!;
    this.log.info({ host, port, noDelay }, 'MQTT broker listening');
    return { host, port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    if (server) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
      for (const c of this.connections) c.destroy();
      this.connections.clear();
      await closed;
    }
  }

  /**
   * A connection to this broker without a socket, for simulators in the same process (issue 3):
   * the device end of an in-memory stream pair whose other end aedes handles exactly like an
   * accepted TCP socket (same authentication, ACL, last will). Destroying the returned stream
   * is a cable pull: the broker sees the end of the stream and publishes the device's will.
   * Call it once per connection attempt (an mqtt.js stream builder is called again on every
   * reconnect). While the broker is stopped the stream fails at once with `ECONNREFUSED`,
   * as a TCP dial would, so a client's reconnect loop keeps trying instead of throwing.
   */
  connectInMemory(): Duplex {
    const [device, station] = duplexPair();
    const aedes = this.aedes;
    if (!aedes) {
      const refused = Object.assign(new Error('MQTT broker not running (in-memory connection refused)'), { code: 'ECONNREFUSED' });
      // On the next tick, as a socket would, so the caller can attach its 'error' listener first.
      process.nextTick(() => device.destroy(refused));
      return device;
    }
    this.handle(aedes, station, 'in-memory');
    return device;
  }

  /**
   * Hand a connection to aedes through a guard (issue 11): aedes reads a stream that gets the
   * connection's bytes only while their fixed headers stay within the limits, so a client can
   * never make it buffer more than one allowed packet. Over the connection cap it is closed at once.
   */
  private handle(aedes: Aedes, connection: Duplex, address: string): void {
    if (this.connections.size >= this.limits.maxConnections) {
      this.refuse({ kind: 'connection', clientId: '', address, reason: `more than ${this.limits.maxConnections} connections` });
      connection.destroy();
      return;
    }
    this.connections.add(connection);
    const guard = new MqttFrameGuard(this.limits);
    // Writes pass straight through to the connection, waiting only when it asks to (backpressure),
    // and a corked batch goes on as one: mqtt-packet writes a packet's header, topic and payload
    // separately, corked, and a socket handed to aedes directly sends them in one writev, where
    // one write per piece, each after the last one's callback, made each its own syscall and segment.
    const pass = (ok: boolean, cb: (err?: Error | null) => void): void => {
      if (ok) cb();
      else connection.once('drain', () => cb());
    };
    const inner = new Duplex({
      read: () => void connection.resume(),
      write: (chunk, encoding, cb) => (connection.destroyed ? cb() : pass(connection.write(chunk, encoding), cb)),
      writev: (chunks, cb) => {
        if (connection.destroyed) return cb();
        connection.cork();
        let ok = true;
        for (const { chunk, encoding } of chunks) ok = connection.write(chunk, encoding as BufferEncoding);
        connection.uncork();
        pass(ok, cb);
      },
      final: (cb) => {
        connection.end();
        cb();
      },
      destroy: (err, cb) => {
        connection.destroy();
        cb(err);
      },
    });
    this.guards.set(inner, { guard, address });
    connection.on('data', (chunk: Buffer) => {
      const verdict = guard.feed(chunk);
      if (!verdict.ok) {
        const client = this.clientOn(inner);
        this.refuse({ kind: 'connection', clientId: client ?? '', address, reason: verdict.reason });
        connection.destroy();
        return;
      }
      if (!inner.push(chunk)) connection.pause();
    });
    connection.on('end', () => inner.push(null));
    connection.on('error', () => inner.destroy());
    connection.on('close', () => {
      this.connections.delete(connection);
      inner.destroy();
    });
    aedes.handle(inner);
  }

  private clientOn(conn: Duplex): string | undefined {
    const clients = (this.aedes as unknown as { clients?: Record<string, Client> } | undefined)?.clients ?? {};
    return Object.values(clients).find((c) => (c as unknown as { conn: Duplex }).conn === conn)?.id;
  }

  private addressOf(client: Client): string {
    return this.guards.get((client as unknown as { conn: Duplex }).conn)?.address ?? 'unknown';
  }

  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.reject(new Error('broker not started'));
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain ?? false, dup: false };
    return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  async subscribe(
    filter: string,
    handler: (topic: string, payload: Buffer, fromClientId: string | undefined) => void,
  ): Promise<() => Promise<void>> {
    const aedes = this.aedes;
    if (!aedes) throw new Error('broker not started');
    const deliver = (packet: AedesPublishPacket, cb: () => void): void => {
      try {
        // The bytes aedes parsed, not a copy of them: handlers only read them.
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        handler(packet.topic, payload, (packet as { clientId?: string }).clientId);
      } catch (err) {
        // A handler bug must not stall the broker's delivery queue.
        this.log.error({ err, topic: packet.topic }, 'subscriber failed');
      }
      cb();
    };
    await new Promise<void>((r) => aedes.subscribe(filter, deliver, () => r()));
    return () => new Promise<void>((r) => (this.aedes ? this.aedes.unsubscribe(filter, deliver, () => r()) : r()));
  }

  private refuse(r: Refusal): void {
    this.refusals[r.kind]++;
    this.log.warn(r, 'MQTT request refused');
    if (r.clientId && this.opts.health?.has(r.clientId)) {
      const counter = r.kind === 'auth' ? 'auth_refused' : r.kind === 'connection' ? 'connection_refused' : r.kind === 'client_id_conflict' ? 'client_id_conflict' : 'acl_refused';
      this.opts.health.count(r.clientId, counter);
    }
    this.refused.emit(r);
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const id = client.id;
    const address = this.addressOf(client);
    const expected = this.passwords.get(id);
    if (!isDeviceId(id) || username !== id) {
      this.refuse({ kind: 'auth', clientId: id, address, reason: 'clientId must equal username' });
      return cb(authError('clientId must equal username', 2), false);
    }
    // Compare digests so the comparison is constant-time whatever the lengths.
    const given = digest(password ?? Buffer.alloc(0));
    const ok = expected !== undefined && timingSafeEqual(given, expected);
    if (!ok) {
      this.refuse({ kind: 'auth', clientId: id, address, reason: expected ? 'wrong password' : 'unknown device' });
      return cb(authError('bad user name or password', 4), false);
    }
    // The last will is the device's `online: false` status (SPEC §5); refuse any other will.
    const will = this.connectPackets.get(client)?.will;
    const whyNot = will ? willRefusal(id, will.topic, will.payload) : undefined;
    if (will && whyNot) {
      this.refuse({ kind: 'will', clientId: id, address, topic: will.topic, reason: whyNot });
      return cb(authError('not authorized', 5), false);
    }
    const fight = this.fightRefusal(id);
    if (fight) {
      this.refuse({ kind: 'client_id_conflict', clientId: id, address, reason: fight });
      return cb(authError('identifier rejected: another connection holds this client id', 2), false);
    }
    this.guards.get((client as unknown as { conn: Duplex }).conn)?.guard.accept();
    cb(null, true);
  }

  /**
   * Two devices with one client id take the session from each other forever (MQTT 3.1.1 §3.1.4:
   * the server disconnects the existing client). A few takeovers a minute are a reconnect; more
   * are a fight: while the id is held, a newcomer is refused for a back-off that doubles while it
   * goes on, and the device gets a `client_id_conflict` fault — a bounded number of events instead
   * of a flood. An id nobody holds is never refused, so the real device gets back in at once.
   */
  private fightRefusal(id: string): string | undefined {
    const now = Date.now();
    const f = this.fights.get(id) ?? { takeovers: [], blockedUntil: 0, backoffMs: this.limits.fightBackoffMs };
    this.fights.set(id, f);
    f.takeovers = f.takeovers.filter((t) => now - t < 60_000);
    // Nobody holds the id: whoever comes is welcome (the real device after the impostor left).
    if (!this.connectedIds().includes(id)) {
      if (f.takeovers.length === 0 && now >= f.blockedUntil) {
        f.backoffMs = this.limits.fightBackoffMs;
        if (this.opts.health?.get(id)?.faults.includes('client_id_conflict')) this.opts.health.clearFault(id, 'client_id_conflict');
      }
      return undefined;
    }
    if (now < f.blockedUntil) return `client id ${id} is fought over; a second connection is refused for ${Math.ceil((f.blockedUntil - now) / 1000)} s more`;
    f.takeovers.push(now);
    if (f.takeovers.length <= this.limits.takeoversPerMinute) return undefined;
    f.blockedUntil = now + f.backoffMs;
    const refusedS = Math.round(f.backoffMs / 1000);
    f.backoffMs = Math.min(f.backoffMs * 2, 600_000);
    if (this.opts.health?.has(id)) this.opts.health.addFault(id, 'client_id_conflict');
    return `${f.takeovers.length} takeovers of client id ${id} within a minute: two devices share it; a second connection is refused for ${refusedS} s`;
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (error?: Error | null) => void): void {
    // `client` is null only for a will aedes re-publishes after a restart; the will was checked at CONNECT.
    if (!client) return cb(null);
    const why = publishRefusal(client.id, packet.topic, packet.retain ?? false);
    if (why) {
      this.refuse({ kind: 'publish', clientId: client.id, address: this.addressOf(client), topic: packet.topic, reason: why });
      return cb(new Error(`publish to ${packet.topic} refused: ${why}`));
    }
    cb(null);
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    if (!allowedSubscription(client.id, sub.topic)) {
      this.refuse({ kind: 'subscribe', clientId: client.id, address: this.addressOf(client), topic: sub.topic, reason: 'not the device’s own commands' });
      // null negates the subscription: SUBACK 128, the connection stays up.
      return cb(null, null);
    }
    cb(null, sub);
  }
}
