import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { createServer } from 'node:net';
import { Broker, allowedSubscription, publishRefusal } from '../../edge/drivers/broker.ts';
import { silentLogger } from '../../edge/log.ts';
import { connected, password, sleep, startStation, waitFor, type Station } from './harness.ts';

let station: Station | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await station?.stop();
  station = undefined;
});

function connect(url: string, opts: { clientId: string; username?: string; password?: string; will?: mqtt.IClientOptions['will'] }): Promise<MqttClient> {
  const c = mqtt.connect(url, { ...opts, reconnectPeriod: 0, connectTimeout: 2000, clean: true });
  clients.push(c);
  return connected(c);
}

describe('dispenser broker authentication', () => {
  it('accepts a device whose clientId and username are its id, with its own password', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    const c = await connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
    expect(c.connected).toBe(true);
  });

  it('refuses a wrong password, another device’s password and an unknown device', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    await expect(connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: 'nope' })).rejects.toThrow(/bad user ?name or password/i);
    await expect(connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-2') })).rejects.toThrow(/bad user ?name or password/i);
    await expect(connect(station.url, { clientId: 'disp-9', username: 'disp-9', password: password('disp-9') })).rejects.toThrow(/bad user ?name or password/i);
    await expect(connect(station.url, { clientId: 'disp-1', username: 'disp-1' })).rejects.toThrow(/bad user ?name or password/i);
    expect(station.broker.refusals.auth).toBe(4);
    expect(station.health.get('disp-1')?.counters.auth_refused).toBe(3);
  });

  it('refuses a clientId that differs from the username, even with valid credentials', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    await expect(connect(station.url, { clientId: 'disp-2', username: 'disp-1', password: password('disp-1') })).rejects.toThrow(/identifier rejected/i);
  });

  it('refuses a last will on another device’s status topic', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    await expect(
      connect(station.url, {
        clientId: 'disp-1',
        username: 'disp-1',
        password: password('disp-1'),
        will: { topic: 'dispensers/disp-2/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      }),
    ).rejects.toThrow(/not authori[sz]ed/i);
  });

  it('refuses a last will that is not its own status saying online: false', async () => {
    const s = await startStation({ dispensers: ['disp-1'] });
    station = s;
    const as = (will: NonNullable<mqtt.IClientOptions['will']>) =>
      connect(s.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1'), will });
    await expect(as({ topic: 'dispensers/disp-1/status', payload: Buffer.from('{"online":true}'), qos: 1, retain: true })).rejects.toThrow(/not authori[sz]ed/i);
    await expect(as({ topic: 'dispensers/disp-1/evt/dispense', payload: Buffer.from('{"id":"c-1","result":"dropped"}'), qos: 1, retain: false })).rejects.toThrow(
      /not authori[sz]ed/i,
    );
    await expect(as({ topic: 'dispensers/disp-1/status', payload: Buffer.from('not json'), qos: 1, retain: true })).rejects.toThrow(/not authori[sz]ed/i);
    expect(s.broker.refusals.will).toBe(3);
    const ok = await as({ topic: 'dispensers/disp-1/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true });
    ok.end(true);
  });

  it('says clearly that the MQTT port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const b = new Broker({ port, devices: [], logger: silentLogger() });
    await expect(b.start()).rejects.toThrow(`MQTT port ${port} is in use; set mqtt.port in the config`);
    await new Promise<void>((r) => blocker.close(() => r()));
  });
});

describe('dispenser topic ACL (SPEC §5)', () => {
  it('refuses a device that subscribes to another device’s commands, so it never reads them', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    const thief = await connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
    // mqtt.js turns a SUBACK with 128 into an error that carries the packet.
    const suback = await thief
      .subscribeAsync({
      'dispensers/disp-2/cmd/#': { qos: 1 },
      'dispensers/+/cmd/dispense': { qos: 1 },
      '#': { qos: 1 },
      'dispensers/disp-2/evt/dispense': { qos: 1 },
      'dispensers/disp-1/cmd/#': { qos: 1 },
      })
      .then(
        () => undefined,
        (e: { packet?: { granted?: number[] } }) => e.packet?.granted,
      );
    expect(suback).toEqual([128, 128, 128, 128, 1]);
    const seen: string[] = [];
    thief.on('message', (t) => seen.push(t));
    await station.broker.publish('dispensers/disp-2/cmd/dispense', Buffer.from('{"id":"x","compartment":"hot","expiresAt":1}'), { qos: 1 });
    await station.broker.publish('dispensers/disp-1/cmd/query', Buffer.from('{"id":"y"}'), { qos: 1 });
    await waitFor(() => seen.length > 0);
    await sleep(50);
    expect(seen).toEqual(['dispensers/disp-1/cmd/query']);
    expect(station.health.get('disp-1')?.counters.acl_refused).toBe(4);
    expect(thief.connected).toBe(true);
  });

  it('refuses a device that publishes as another device, and the edge never sees the message', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    const sim2 = await station.addSim('disp-2', { telemetryIntervalMs: 0 });
    const rider = 'rider-a';
    station.quota.checkin(rider);
    // A forged "failed" for disp-2's claims would give riders their quota back after a real drop.
    const forged: string[] = [];
    station.broker.onRefusal((r) => forged.push(`${r.kind}:${r.topic}`));
    const thief = await connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
    const closed = new Promise<void>((r) => thief.once('close', () => r()));
    thief.publish('dispensers/disp-2/evt/dispense', JSON.stringify({ id: 'whatever', result: 'failed', reason: 'jam' }), { qos: 1 });
    await closed; // MQTT 3.1.1 §3.3.5: the only refusal of a PUBLISH is closing the connection
    const outcome = await station.claims.claim(rider, 'hot');
    expect(outcome.kind).toBe('committed');
    expect(sim2.droppedTotal).toBe(1);
    expect(forged).toEqual(['publish:dispensers/disp-2/evt/dispense']);
    expect(station.health.get('disp-1')?.counters.acl_refused).toBe(1);
  });

  it('refuses a device that publishes commands, unknown topics or retained telemetry under its own prefix', async () => {
    station = await startStation({ dispensers: ['disp-1'] });
    for (const [topic, retain] of [
      ['dispensers/disp-1/cmd/dispense', false],
      ['dispensers/disp-1/other', false],
      ['dispensers/disp-1/telemetry', true],
      ['$SYS/x/heartbeat', false],
    ] as const) {
      const c = await connect(station.url, { clientId: 'disp-1', username: 'disp-1', password: password('disp-1') });
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      c.publish(topic, '{}', { qos: 1, retain });
      await closed;
    }
    expect(station.broker.refusals.publish).toBe(4);
  });

  it('allows exactly the device→edge topics and the device’s own command filters', () => {
    expect(publishRefusal('d1', 'dispensers/d1/status', true)).toBeUndefined();
    expect(publishRefusal('d1', 'dispensers/d1/telemetry', false)).toBeUndefined();
    expect(publishRefusal('d1', 'dispensers/d1/evt/dispense', false)).toBeUndefined();
    expect(publishRefusal('d1', 'dispensers/d1/evt/dispense', true)).toBeDefined();
    expect(publishRefusal('d1', 'dispensers/d10/status', false)).toBeDefined();
    expect(publishRefusal('d1', 'dispensers/d1/cmd/query', false)).toBeDefined();
    expect(allowedSubscription('d1', 'dispensers/d1/cmd/#')).toBe(true);
    expect(allowedSubscription('d1', 'dispensers/d1/cmd/+')).toBe(true);
    expect(allowedSubscription('d1', 'dispensers/d1/cmd/restock')).toBe(true);
    expect(allowedSubscription('d1', 'dispensers/d1/#')).toBe(false);
    expect(allowedSubscription('d1', 'dispensers/d1/telemetry')).toBe(false);
    expect(allowedSubscription('d1', 'dispensers/d1x/cmd/#')).toBe(false);
  });
});
