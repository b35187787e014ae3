/**
 * The dispenser's MQTT session (SPEC §5): one mqtt.js client over a TCP socket (or, in tests
 * and in-process stations, an in-memory stream from the broker's `connectInMemory()`), with the
 * retained `status` as its last will, the `cmd/#` subscription and `online: true` on every
 * CONNACK. The simulator decides when it connects, drops (as a power cut or a cable pull would:
 * the broker then publishes the will) or closes cleanly; events of a client it replaced are
 * ignored.
 */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { MqttClient } from 'mqtt';
import { encodePayload, topicFor, type PayloadOf, type TopicName } from '../../protocol/index.ts';

export interface MqttLinkOptions {
  /** Broker URL, `mqtt://host:port`; or `connect` instead. */
  url?: string | undefined;
  /** Opens a fresh connection to the broker (in-memory); called again on every reconnect. */
  connect?: (() => Duplex) | undefined;
  /** Device id: client id, user name and topic prefix. */
  id: string;
  password: string;
  /** Firmware version in `status`. */
  fw: string;
  clean: boolean;
  reconnectPeriodMs: number;
  noDelay: boolean;
}

/** What the link tells its owner, always about its current client. */
export interface MqttLinkEvents {
  /** After each CONNACK, once subscribed and `online: true` is published. */
  connected(): void;
  message(topic: string, payload: Buffer): void;
  disconnected(): void;
  error(err: Error): void;
}

export class MqttLink {
  private client: MqttClient | undefined;

  constructor(
    private readonly opts: MqttLinkOptions,
    private readonly on: MqttLinkEvents,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** A new client (mqtt.js reconnects it by itself and queues QoS 1 publishes until CONNACK). */
  connect(): void {
    const client = new MqttClient(this.streamBuilder(), {
      clientId: this.opts.id,
      username: this.opts.id,
      password: this.opts.password,
      clean: this.opts.clean,
      reconnectPeriod: this.opts.reconnectPeriodMs,
      // An appliance keeps trying after a refused CONNACK too (a broker busy with a client-id
      // fight refuses a second connection for a while; issue 11).
      reconnectOnConnackError: true,
      connectTimeout: 5000,
      keepalive: 30,
      will: {
        topic: topicFor(this.opts.id, 'status'),
        payload: encodePayload('status', { online: false, fw: this.opts.fw }),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      client.subscribe(`dispensers/${this.opts.id}/cmd/#`, { qos: 1 });
      client.publish(topicFor(this.opts.id, 'status'), encodePayload('status', { online: true, fw: this.opts.fw }), { qos: 1, retain: true });
      this.on.connected();
    });
    client.on('message', (topic, payload) => {
      if (this.client === client) this.on.message(topic, payload);
    });
    client.on('error', (err) => this.on.error(err));
    client.on('close', () => {
      if (this.client === client) this.on.disconnected();
    });
  }

  /** A fresh stream per connection attempt: mqtt.js calls this again on every reconnect. */
  private streamBuilder(): () => Duplex {
    const { connect, url } = this.opts;
    if (connect) return () => connect();
    const u = new URL(url ?? '');
    const host = u.hostname || '127.0.0.1';
    const port = Number(u.port || 1883);
    const noDelay = this.opts.noDelay;
    return () => {
      const s = netConnect({ host, port, noDelay });
      s.setNoDelay(noDelay);
      return s;
    };
  }

  /** Drop the connection (TCP or in-memory) without a DISCONNECT, as a power cut or a cable pull would. */
  drop(): void {
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.end(true);
      this.on.disconnected();
    }
  }

  /** Clean shutdown: `online: false` status (waited for at most 500 ms), then DISCONNECT. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    let clean = false;
    if (c.connected) {
      const said = c
        .publishAsync(topicFor(this.opts.id, 'status'), encodePayload('status', { online: false, fw: this.opts.fw }), { qos: 1, retain: true })
        .then(() => true, () => false);
      clean = await Promise.race([said, new Promise<boolean>((r) => setTimeout(() => r(false), 500).unref())]);
    }
    // Without a clean goodbye, drop the socket: the broker then publishes the last will.
    await c.endAsync(!clean).catch(() => {});
  }

  /** Publish on one of the device's topics; nothing without a client (power or network lost). */
  publish<N extends TopicName>(name: N, value: PayloadOf<N>, qos: 0 | 1): void {
    const c = this.client;
    if (!c) return;
    c.publish(topicFor(this.opts.id, name), encodePayload(name, value), { qos });
  }

  /** Publish any bytes under `dispensers/{id}/` (malformed-payload tests). */
  publishRaw(suffix: string, payload: string | Buffer, qos: 0 | 1): Promise<void> {
    const c = this.client;
    if (!c) return Promise.reject(new Error('not connected'));
    return c.publishAsync(`dispensers/${this.opts.id}/${suffix}`, payload, { qos }).then(() => undefined);
  }
}
