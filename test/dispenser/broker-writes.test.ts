/**
 * How the broker's guarded connection writes to a device (issue 10, the dispense round trip):
 * every MQTT packet leaves in one piece — mqtt-packet writes a packet's header, topic and
 * payload separately, corked, and the guard used to hand them to the socket one write per
 * piece — and a device that stops reading holds the broker back (backpressure) without a
 * message lost or reordered once it reads again. mqtt.js over real TCP and over the broker's
 * in-memory connection.
 */
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { password, startStation, waitFor, type Station } from './harness.ts';

let station: Station | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await station?.stop();
  station = undefined;
});

/** Where each whole packet of `buf` ends (MQTT 3.1.1 §2.2); `rest` is the bytes of an unfinished one. */
function packetsIn(buf: Buffer): { packets: number; rest: number } {
  let i = 0;
  let packets = 0;
  while (i < buf.length) {
    let length = 0;
    let multiplier = 1;
    let j = i + 1;
    for (;;) {
      if (j >= buf.length) return { packets, rest: buf.length - i };
      const b = buf[j++]!;
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if (!(b & 0x80)) break;
    }
    if (j + length > buf.length) return { packets, rest: buf.length - i };
    i = j + length;
    packets++;
  }
  return { packets, rest: 0 };
}

/**
 * A device client on a connection the test also reads, chunk by chunk as it is delivered: a
 * TCP socket, or the broker's in-memory stream, where every write of the broker's connection is
 * one chunk (a corked batch one, as a socket's writev) — so a packet written in pieces shows.
 */
async function device(station: Station, over: 'tcp' | 'in-memory'): Promise<{ client: MqttClient; stream: () => Duplex; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  let stream: Duplex | undefined;
  const client = new MqttClient(
    () => {
      stream = over === 'tcp' ? tcpConnect({ host: '127.0.0.1', port: station.port, noDelay: true }) : station.broker.connectInMemory();
      stream.on('data', (c: Buffer) => chunks.push(c));
      return stream;
    },
    { clientId: 'disp-1', username: 'disp-1', password: password('disp-1'), reconnectPeriod: 0 },
  );
  clients.push(client);
  await new Promise<void>((r) => client.once('connect', () => r()));
  await client.subscribeAsync('dispensers/disp-1/cmd/#', { qos: 1 });
  return { client, stream: () => stream!, chunks };
}

describe('broker writes to a device', () => {
  it('sends every packet in one piece: no chunk the device reads ends inside a packet', async () => {
    station = await startStation();
    const d = await device(station, 'in-memory');
    const got: string[] = [];
    d.client.on('message', (_t, p) => got.push(p.toString()));
    d.chunks.length = 0;
    for (let i = 0; i < 50; i++) {
      const payload = JSON.stringify({ id: `claim-${i}`, compartment: i % 2 ? 'hot' : 'cold', expiresAt: 1_800_000_000_000 });
      await station.broker.publish('dispensers/disp-1/cmd/dispense', Buffer.from(payload), { qos: 1 });
      await waitFor(() => got.length === i + 1);
    }
    // Each chunk is whole packets (a PUBLISH, maybe with the SUBACK or PUBACKs): never a split one.
    for (const c of d.chunks) expect(packetsIn(c).rest).toBe(0);
    expect(d.chunks.reduce((n, c) => n + packetsIn(c).packets, 0)).toBeGreaterThanOrEqual(50);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `claim-${i}`, compartment: i % 2 ? 'hot' : 'cold', expiresAt: 1_800_000_000_000 })));
  });

  it('waits for a device that stops reading and delivers everything, in order, once it reads again', async () => {
    station = await startStation();
    const d = await device(station, 'tcp');
    const got: number[] = [];
    d.client.on('message', (_t, p) => got.push(Number(p.subarray(0, 8).toString())));
    d.stream().pause();
    // 200 packets of 40 KB: far more than the socket buffers hold, so the broker's writes meet backpressure.
    const body = Buffer.alloc(40_000, 0x20);
    const sent = Array.from({ length: 200 }, (_, i) =>
      station!.broker.publish('dispensers/disp-1/cmd/dispense', Buffer.concat([Buffer.from(String(i).padStart(8, '0')), body]), { qos: 0 }),
    );
    // aedes answers a publish once every subscriber's connection took it: held back, they wait.
    let settled = 0;
    for (const p of sent) void p.then(() => settled++);
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBeLessThan(200);
    expect(got.length).toBeLessThan(200);
    d.stream().resume();
    await Promise.all(sent);
    await waitFor(() => got.length === 200, 20_000);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
  }, 30_000);
});
