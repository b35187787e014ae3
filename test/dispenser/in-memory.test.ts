/**
 * The dispenser contract (SPEC §5) over the broker's in-memory connection (issue 3): the same
 * aedes, authentication, topic ACL, last will and simulator faults as over TCP, without a socket.
 */
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttClient } from 'mqtt';
import { Broker } from '../../edge/drivers/broker.ts';
import { duplexPair } from '../../edge/drivers/duplex-pair.ts';
import { silentLogger } from '../../edge/log.ts';
import type { DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { connected, eventsOf, password, startStation, waitFor, type Station, type StationOptions } from './harness.ts';

let station: Station | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await station?.stop();
  station = undefined;
});

/** A station whose simulators connect in memory; `streams` are the device ends, one per connection. */
async function setup(o: StationOptions = {}, simOpts: Parameters<Station['addSim']>[1] = {}): Promise<{ s: Station; sim: DispenserSimulator; streams: Duplex[] }> {
  station = await startStation({ dispenseTimeoutMs: 800, queryTimeoutMs: 800, inMemory: true, ...o });
  const s = station;
  const streams: Duplex[] = [];
  const sim = await s.addSim('disp-1', {
    connect: () => {
      const stream = s.broker.connectInMemory();
      streams.push(stream);
      return stream;
    },
    ...simOpts,
  });
  return { s, sim, streams };
}

/** A bare MQTT client over an in-memory connection, no reconnects. */
function connectRaw(broker: Broker, opts: { clientId: string; username: string; password: string }): Promise<MqttClient> {
  const c = new MqttClient(() => broker.connectInMemory(), { ...opts, reconnectPeriod: 0, connectTimeout: 2000, clean: true, keepalive: 30 });
  clients.push(c);
  return connected(c);
}

describe('dispensers over the in-memory connection', () => {
  it('commits a claim when the dispenser reports the bottle dropped, and the dispenser dropped exactly one', async () => {
    const { s, sim, streams } = await setup();
    s.quota.checkin('rider-1');
    const out = await s.claims.claim('rider-1', 'hot');
    expect(out.kind).toBe('committed');
    if (out.kind !== 'committed') return;
    expect(sim.droppedFor(out.claim.id)).toBe(1);
    expect(sim.droppedTotal).toBe(1);
    expect(eventsOf(s.ledger, 'claim.committed')).toHaveLength(1);
    expect(streams).toHaveLength(1); // one in-memory connection, no socket
  });

  it('refuses a device with the wrong password, and counts it against the device', async () => {
    station = await startStation({ inMemory: true });
    await expect(connectRaw(station.broker, { clientId: 'disp-1', username: 'disp-1', password: 'nope' })).rejects.toThrow(/bad user ?name or password/i);
    expect(station.broker.refusals.auth).toBe(1);
    expect(station.health.get('disp-1')?.counters.auth_refused).toBe(1);
    expect(station.broker.connectedIds()).toEqual([]);
  });

  it('refuses a device that publishes as another device, and the edge never sees the message', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'], inMemory: true });
    const s = station;
    const sim2 = await s.addSim('disp-2', { telemetryIntervalMs: 0 });
    const refused: string[] = [];
    s.broker.onRefusal((r) => refused.push(`${r.kind}:${r.topic}`));
    const thief = await connectRaw(s.broker, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
    const closed = new Promise<void>((r) => thief.once('close', () => r()));
    thief.publish('dispensers/disp-2/evt/dispense', JSON.stringify({ id: 'whatever', result: 'failed', reason: 'jam' }), { qos: 1 });
    await closed; // MQTT 3.1.1 §3.3.5: the only refusal of a PUBLISH is closing the connection
    expect(refused).toEqual(['publish:dispensers/disp-2/evt/dispense']);
    expect(s.health.get('disp-1')?.counters.acl_refused).toBe(1);
    s.quota.checkin('rider-a');
    expect((await s.claims.claim('rider-a', 'hot')).kind).toBe('committed');
    expect(sim2.droppedTotal).toBe(1);
  });

  it('refuses a subscription to another device’s commands with granted QoS 128', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'], inMemory: true });
    const thief = await connectRaw(station.broker, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
    const granted = await thief.subscribeAsync({ 'dispensers/disp-2/cmd/#': { qos: 1 }, 'dispensers/disp-1/cmd/#': { qos: 1 } }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted,
    );
    expect(granted).toEqual([128, 1]);
    expect(thief.connected).toBe(true);
  });

  it('turns a lost connection into unknown and resolves the claim by query once the device is back on a fresh stream', async () => {
    const { s, sim, streams } = await setup({}, { offlineMs: 1300 });
    s.quota.checkin('rider-1');
    sim.failNext('disconnect');
    const out = await s.claims.claim('rider-1', 'hot');
    expect(out.kind).toBe('dispense_unknown');
    if (out.kind !== 'dispense_unknown') return;
    expect(s.health.get('disp-1')?.state).toBe('offline');
    await waitFor(() => s.quota.getClaim(out.claim.id)?.status === 'committed', 4000, 'resolved by query');
    expect(sim.droppedFor(out.claim.id)).toBe(1);
    expect(sim.motorRuns).toBe(1);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams.slice(0, -1).every((st) => st.destroyed)).toBe(true);
  });

  it('answers within the wait after a power loss once the device has dropped the bottle, by the same id', async () => {
    const { s, sim } = await setup({ dispenseTimeoutMs: 2000 }, { powerOffMs: 100 });
    const ids = new Set<string>();
    sim.on('command', (cmd: { id: string }) => ids.add(cmd.id));
    sim.failNext('power_loss_after_drop');
    s.quota.checkin('rider-1');
    expect((await s.claims.claim('rider-1', 'hot')).kind).toBe('committed');
    expect(ids.size).toBe(1);
    expect(sim.droppedTotal).toBe(1);
    expect(sim.boots).toBe(2);
  });

  it('marks the device offline by its last will when its in-memory connection is destroyed, and online when it reconnects', async () => {
    const { s, sim, streams } = await setup({ healthCheckIntervalMs: 1000 }, { telemetryIntervalMs: 0, reconnectPeriodMs: 300 });
    const t0 = Date.now();
    streams[0]!.destroy(); // a cable pull: no DISCONNECT, so the broker publishes the will
    await waitFor(() => s.health.get('disp-1')?.state === 'offline', 1000, 'offline by last will');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(eventsOf(s.ledger, 'device.offline')).toEqual([{ deviceId: 'disp-1', kind: 'dispenser', reason: 'status_offline' }]);
    await waitFor(() => s.health.get('disp-1')?.state === 'online', 3000, 'online after reconnect');
    expect(streams).toHaveLength(2);
    expect(sim.connected).toBe(true);
  });

  it('closes in-memory connections when the broker stops and refuses new ones until it starts, as a closed port would', async () => {
    const broker = new Broker({ port: 0, devices: [{ id: 'disp-1', password: password('disp-1') }], logger: silentLogger() });
    const refused = broker.connectInMemory();
    const err = await new Promise<NodeJS.ErrnoException>((r) => refused.once('error', r));
    expect(err.code).toBe('ECONNREFUSED');
    await broker.start();
    try {
      const c = await connectRaw(broker, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
      await waitFor(() => broker.connectedIds().includes('disp-1'), 1000, 'registered');
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      await broker.stop();
      await closed;
    } finally {
      await broker.stop();
    }
  });
});

describe('the in-memory stream pair', () => {
  it('carries everything one end writes to the other, with backpressure, then the end', async () => {
    const [a, b] = duplexPair();
    let received = 0;
    b.on('data', (chunk: Buffer) => (received += chunk.length));
    const ended = new Promise<void>((r) => b.once('end', () => r()));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let refusedWrites = 0;
    for (let i = 0; i < 64; i++) if (!a.write(chunk)) refusedWrites++;
    a.end();
    await ended;
    expect(received).toBe(64 * chunk.length);
    expect(refusedWrites).toBeGreaterThan(0); // the writer was told to wait
  });

  it('still delivers what was written before an end is destroyed, then closes the other end', async () => {
    const [a, b] = duplexPair();
    a.write(Buffer.from('connack'));
    a.destroy();
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((r) => b.once('close', () => r()));
    expect(Buffer.concat(chunks).toString()).toBe('connack');
  });
});
