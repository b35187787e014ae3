/**
 * What a hostile client on the station LAN can make the MQTT broker hold (issue 11): bytes before
 * CONNECT, the size of a packet, the number of connections, a silent socket, and two devices
 * fighting over one client id. Real TCP sockets and mqtt.js against the real broker.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttFrameGuard } from '../../edge/drivers/mqtt-guard.ts';
import { password, sleep, startStation, waitFor, type Station } from './harness.ts';
import { mqttHeader as header } from '../helpers/hostile.ts';

let station: Station | undefined;
const sockets: Socket[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await station?.stop();
  station = undefined;
});

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
    s.once('error', reject);
    sockets.push(s);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('MQTT frame guard', () => {
  it('passes any stream of packets within the limit, split anywhere, and refuses the first one over it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 50 }), (sizes, cut) => {
        const g = new MqttFrameGuard({ preConnectMaxBytes: 1 << 30, maxPacketBytes: 2000 });
        g.accept();
        const bytes = Buffer.concat(sizes.map((n) => Buffer.concat([header(0x30, n), Buffer.alloc(n)])));
        let refusedAt = -1;
        for (let i = 0; i < bytes.length && refusedAt < 0; i += cut) if (!g.feed(bytes.subarray(i, i + cut)).ok) refusedAt = i;
        expect(refusedAt >= 0).toBe(sizes.some((n) => n > 2000));
      }),
    );
  });

  it('refuses a declared size before its body arrives, and more than the pre-CONNECT budget in all', () => {
    const g = new MqttFrameGuard({ preConnectMaxBytes: 8192, maxPacketBytes: 65536 });
    expect(g.feed(header(0x10, 250_000_000))).toMatchObject({ ok: false });
    const h = new MqttFrameGuard({ preConnectMaxBytes: 100, maxPacketBytes: 65536 });
    expect(h.feed(Buffer.concat([header(0x10, 50), Buffer.alloc(50)])).ok).toBe(true);
    expect(h.feed(Buffer.alloc(60)).ok).toBe(false);
    expect(new MqttFrameGuard({ preConnectMaxBytes: 100, maxPacketBytes: 100 }).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]))).toMatchObject({ ok: false });
  });
});

describe('MQTT broker limits', () => {
  it('closes sockets that declare a huge CONNECT and stream megabytes, holding almost nothing', async () => {
    station = await startStation();
    const before = process.memoryUsage().rss;
    const floods = await Promise.all(Array.from({ length: 6 }, () => rawSocket(station!.port)));
    const chunk = Buffer.alloc(1 << 20);
    for (const s of floods) {
      s.write(header(0x10, 250_000_000));
      for (let i = 0; i < 30 && !s.destroyed; i++) s.write(chunk);
    }
    await Promise.all(floods.map(closed));
    const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(grownMb).toBeLessThan(20);
    expect(station.broker.refusals.connection).toBeGreaterThanOrEqual(6);
  });

  it('closes a device connection that sends a packet over maxPacketBytes, and counts it against the device', async () => {
    station = await startStation({ brokerLimits: { maxPacketBytes: 4096 } });
    const c = mqtt.connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1'), reconnectPeriod: 0 });
    clients.push(c);
    await new Promise<void>((r) => c.once('connect', () => r()));
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('dispensers/disp-1/telemetry', Buffer.alloc(10_000, 0x20));
    await gone;
    expect(station.broker.refusals.connection).toBe(1);
    expect(station.health.get('disp-1')?.counters.connection_refused).toBe(1);
  });

  it('closes connections over maxConnections at once, and a socket that never sends CONNECT after connectTimeoutMs', async () => {
    station = await startStation({ brokerLimits: { maxConnections: 4, connectTimeoutMs: 500 } });
    const socks = [];
    for (let i = 0; i < 7; i++) socks.push(await rawSocket(station.port));
    await Promise.all(socks.slice(4).map(closed));
    expect(station.broker.refusals.connection).toBe(3);
    const t0 = Date.now();
    await Promise.all(socks.slice(0, 4).map(closed));
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('stops two devices with one client id from taking the session from each other: the newcomer is refused, one fault, few events', async () => {
    station = await startStation({ brokerLimits: { takeoversPerMinute: 3, fightBackoffMs: 2000 } });
    const seq0 = station.ledger.head().seq;
    const twin = () => {
      const c = mqtt.connect(station!.url, {
        clientId: 'disp-1', username: 'disp-1', password: password('disp-1'), reconnectPeriod: 100,
        will: { topic: 'dispensers/disp-1/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      });
      c.on('connect', () => c.publish('dispensers/disp-1/status', '{"online":true}', { qos: 1, retain: true }));
      c.on('error', () => {});
      clients.push(c);
      return c;
    };
    twin();
    twin();
    await sleep(4000);
    await waitFor(() => (station!.health.get('disp-1')?.faults ?? []).includes('client_id_conflict'), 3000, 'client_id_conflict fault');
    expect(station.broker.refusals.client_id_conflict).toBeGreaterThanOrEqual(1);
    expect(clients.filter((c) => c.connected)).toHaveLength(1);
    expect(station.broker.connectedIds()).toEqual(['disp-1']);
    const events = station.ledger.eventsAfter(seq0, 10_000).filter((e) => e.type.startsWith('device.'));
    // Unbounded, this is ~4 online/offline events a second (~16 in 4 s); bounded, a few takeovers and one fault.
    expect(events.length).toBeLessThanOrEqual(12);
  }, 15_000);
});
