/**
 * Bad input, MQTT (issue 6, SPEC §5 "malformed payloads are dropped with a logged warning and
 * counted against the device's health; they never crash the daemon"): an authenticated device
 * (a raw mqtt.js client with its real credentials) publishes garbage and wrong-schema JSON on
 * its own status / telemetry / evt topics, and now and then on topics it may not use.
 *
 * What is compared, exactly:
 * - every payload sent on the device's own topics is one the contract schema refuses (the test
 *   checks each with `decodePayload` before sending, so none is accidentally valid), and all are
 *   sent QoS 1 (PUBACK before the next window), so the device's `malformed` counter
 *   (`waystation_device_errors_total{device="disp-fuzz",counter="malformed"}` in GET /metrics)
 *   must equal the number sent;
 * - every forbidden PUBLISH (another device's topic, a command topic, an unknown suffix, a
 *   retained telemetry) closes the connection (MQTT 3.1.1 has no other refusal); the test sends
 *   one per connection and waits for the close, so `acl_refused` must equal forbidden publishes
 *   plus forbidden SUBSCRIBEs (answered with SUBACK 128).
 * The real dispenser (disp-1) dispenses correctly afterwards, and heap growth stays bounded.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePayload, type TopicName } from '../../protocol/index.ts';
import { collectGarbage, DISPENSER_PASSWORD, metricSum, post, rng, startRig, waitFor, type Rig } from './rig.ts';
import { scaled, summary } from './scale.ts';

const FUZZ_ID = 'disp-fuzz';
const FUZZ_PASSWORD = 'fuzz-device-secret';
const OWN: TopicName[] = ['status', 'telemetry', 'dispenseEvent'];
const SUFFIX: Record<string, string> = { status: 'status', telemetry: 'telemetry', dispenseEvent: 'evt/dispense' };

/** A payload the schema of `name` refuses: random bytes, broken JSON, or valid JSON of the wrong shape. */
function garbage(r: () => number, name: TopicName): Buffer {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const valid: Record<string, Record<string, unknown>> = {
    status: { online: true, fw: '1.4.2' },
    telemetry: { ts: 1, stock: { hot: 3, cold: 4 }, tempC: { hot: 88, cold: 6 }, door: 'closed', faults: [] },
    dispenseEvent: { id: 'c-1', result: 'dropped' },
  };
  const wrong = [null, -1, 1.5, 'x', '', true, [], {}, 'y'.repeat(300), { nested: { deep: [1, 2] } }];
  for (;;) {
    const k = r();
    let out: Buffer;
    if (k < 0.25) out = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
    else if (k < 0.4) out = Buffer.from(JSON.stringify(valid[name]).slice(0, int(40)));
    else if (k < 0.55) out = Buffer.from(JSON.stringify(pick([null, 42, 'text', [1, 2, 3], true, {}])));
    else {
      // The valid shape with one field of the wrong type or missing (a firmware bug).
      const v = structuredClone(valid[name]!);
      const keys = Object.keys(v);
      const key = pick(keys);
      if (r() < 0.3) delete v[key];
      else if (key === 'stock' || key === 'tempC') (v[key] as Record<string, unknown>)[pick(['hot', 'cold'])] = pick(wrong);
      else v[key] = pick(wrong);
      out = Buffer.from(JSON.stringify(v));
    }
    if (!decodePayload(name, out).ok) return out;
  }
}

async function fuzzClient(port: number): Promise<MqttClient> {
  return connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: FUZZ_ID, username: FUZZ_ID, password: FUZZ_PASSWORD, clean: true, reconnectPeriod: 0 });
}

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({
    boards: 0,
    config: { dispensers: [{ id: 'disp-1', password: DISPENSER_PASSWORD }, { id: FUZZ_ID, password: FUZZ_PASSWORD }] },
  });
});
afterAll(async () => {
  await rig?.stop();
});

describe('dispenser MQTT payloads under fuzz', () => {
  it('drops and counts every malformed message from an authenticated device, refuses forbidden topics, and still dispenses', async () => {
    const total = scaled(100_000, 10_000);
    const forbiddenPublishes = scaled(300, 40);
    const forbiddenSubscribes = scaled(300, 40);
    const seed = 20261125;
    const r = rng(seed);
    const base = rig.station.httpUrl;
    const counters = () => rig.station.health.get(FUZZ_ID)!.counters;
    await collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;

    // 1. Garbage on the device's own topics, QoS 1, 200 in flight at a time.
    const client = await fuzzClient(rig.station.mqttPort);
    const perTopic: Record<string, number> = { status: 0, telemetry: 0, dispenseEvent: 0 };
    let sent = 0;
    let bytes = 0;
    while (sent < total) {
      const window: Array<Promise<unknown>> = [];
      for (let i = 0; i < 200 && sent < total; i++, sent++) {
        const name = OWN[Math.floor(r() * OWN.length)]!;
        const payload = garbage(r, name);
        perTopic[name]!++;
        bytes += payload.length;
        // Only the status may be retained (SPEC §5); a retained garbage status is allowed and refused by schema.
        window.push(client.publishAsync(`dispensers/${FUZZ_ID}/${SUFFIX[name]}`, payload, { qos: 1, retain: name === 'status' && r() < 0.1 }));
      }
      await Promise.all(window);
    }
    await waitFor(() => (counters().malformed ?? 0) >= total, 30_000, 'every malformed payload counted');

    // 2. Forbidden SUBSCRIBEs: refused with SUBACK 128, the connection stays up.
    const forbiddenFilters = ['#', 'dispensers/#', 'dispensers/disp-1/cmd/#', `dispensers/${FUZZ_ID}/telemetry`, `dispensers/${FUZZ_ID}/+`, '$SYS/#'];
    for (let i = 0; i < forbiddenSubscribes; i++) {
      // mqtt.js rejects a SUBACK with return code 128 (the refusal); the connection stays up.
      const answer = await client.subscribeAsync(forbiddenFilters[i % forbiddenFilters.length]!, { qos: 1 }).then(
        (granted) => `granted ${granted[0]?.qos}`,
        (e: Error) => e.message,
      );
      expect(answer).toMatch(/Subscribe error/);
      expect(client.connected).toBe(true);
    }
    await client.endAsync();

    // 3. Forbidden PUBLISHes: each closes the connection, so one per connection.
    const forbiddenTopics = [
      'dispensers/disp-1/telemetry',
      `dispensers/${FUZZ_ID}/cmd/dispense`,
      `dispensers/${FUZZ_ID}/nonsense`,
      'stations/dn-chaos/events',
      `dispensers/${FUZZ_ID}`,
    ];
    for (let i = 0; i < forbiddenPublishes; i++) {
      const c = await fuzzClient(rig.station.mqttPort);
      const closed = new Promise<void>((done) => c.once('close', () => done()));
      const retainedTelemetry = i % 6 === 5;
      const topic = retainedTelemetry ? `dispensers/${FUZZ_ID}/telemetry` : forbiddenTopics[i % forbiddenTopics.length]!;
      c.publish(topic, garbage(r, 'telemetry'), { qos: 1, retain: retainedTelemetry });
      await closed;
      await c.endAsync(true);
    }
    await waitFor(() => (counters().acl_refused ?? 0) >= forbiddenPublishes + forbiddenSubscribes, 10_000, 'every ACL refusal counted');

    await collectGarbage();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const malformedMetric = metricSum(metrics, 'waystation_device_errors_total', { key: 'counter', value: 'malformed' });
    const aclMetric = metricSum(metrics, 'waystation_device_errors_total', { key: 'counter', value: 'acl_refused' });

    // 4. The station still dispenses correctly from the real dispenser.
    const disp = rig.dispenser!;
    const droppedBefore = disp.droppedTotal;
    const okClaims: string[] = [];
    for (let i = 0; i < 5; i++) {
      const cred = await rig.credential(`rider-after-mqtt-fuzz-${i}`);
      expect((await post(base, '/v1/checkins', { credential: cred })).status).toBe(201);
      const c = await post(base, '/v1/claims', { credential: cred, compartment: i % 2 ? 'hot' : 'cold' });
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      okClaims.push(String(c.body.claimId));
    }
    for (const id of okClaims) expect(disp.droppedFor(id)).toBe(1);
    expect(disp.droppedTotal - droppedBefore).toBe(okClaims.length);
    expect(rig.station.health.get(FUZZ_ID)!.state).toBe('offline'); // never valid, never "seen"
    expect(rig.station.ledger.verifyStoredChain().ok).toBe(true);

    summary('mqtt fuzz', {
      malformedSent: total,
      'status/telemetry/evt': `${perTopic.status}/${perTopic.telemetry}/${perTopic.dispenseEvent}`,
      bytesSent: bytes,
      malformedCounted: counters().malformed ?? 0,
      forbiddenPublishes,
      forbiddenSubscribes,
      aclRefusedCounted: counters().acl_refused ?? 0,
      seed: String(seed),
      heapGrowthMb: heapGrowthMb.toFixed(1),
      rssGrowthMb: rssGrowthMb.toFixed(1),
      claimsAfter: `${okClaims.length}/5 dropped once`,
    });
    expect(counters().malformed).toBe(total);
    expect(malformedMetric).toBe(total);
    expect(counters().acl_refused).toBe(forbiddenPublishes + forbiddenSubscribes);
    expect(aclMetric).toBe(forbiddenPublishes + forbiddenSubscribes);
    expect(heapGrowthMb).toBeLessThan(50);
  });
});
