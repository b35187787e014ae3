/**
 * Hostile devices, riders, pages and stations (issue 11): every attack of the hardening issue
 * that the station or the cloud must refuse, replayed against a real station (the rig: ledger,
 * broker, drivers, API, lock-board and dispenser simulators) and a real cloud on port 0. Each
 * must hold — memory growth under 20 MB, events bounded, every refusal counted — and the run
 * prints one `chaos:` line of figures.
 */
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPENSER_PASSWORD, metricSum, post, settledMemory, sha256, sleep, startRig, waitFor, type Rig } from './rig.ts';
import { summary } from './scale.ts';
import { getWithHost, mqttHeader as header } from '../helpers/hostile.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { Uploader } from '../../edge/sync/uploader.ts';
import { silentLogger } from '../../edge/log.ts';
import { sealEvent, systemClock, type StationEvent } from '../../protocol/index.ts';
import { bearer, silent, testConfig, TOKENS } from '../cloud/helpers.ts';

const KIOSK_TOKEN = 'chaos-kiosk-screen-token-0123456789';
const figures: Record<string, number | string> = {};

async function metrics(rig: Rig): Promise<string> {
  return (await fetch(`${rig.station.httpUrl}/metrics`)).text();
}

let rig: Rig;

beforeAll(async () => {
  // The kiosk is a separate screen with a device token; this process is "another address".
  rig = await startRig({
    config: {
      kiosk: { allowedAddresses: ['10.9.9.9'], tokenSha256: sha256(KIOSK_TOKEN) },
      lockers: { pollIntervalMs: 100, riderCooldownMs: 2000 },
      rateLimit: { perCredentialPerMinute: 30, perAddressPerMinute: 1_000_000 },
    },
  });
});

afterAll(async () => {
  await rig?.stop();
  summary('hostile', figures);
});

const kiosk = (path: string, body: unknown) =>
  fetch(`${rig.station.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-kiosk-token': KIOSK_TOKEN }, body: JSON.stringify(body) }).then(
    async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> }),
  );

describe('hostile devices on the station LAN', () => {
  it('a pre-CONNECT flood (6 sockets declaring 250 MB CONNECTs, 30 MB each) leaves memory where it was', async () => {
    const before = await settledMemory();
    const sockets: Socket[] = [];
    const chunk = Buffer.alloc(1 << 20);
    await Promise.all(
      Array.from({ length: 6 }, () => new Promise<void>((resolve) => {
        const s = tcpConnect(rig.station.mqttPort, '127.0.0.1', () => {
          s.write(header(0x10, 250_000_000));
          for (let i = 0; i < 30 && !s.destroyed; i++) s.write(chunk);
        });
        s.on('error', () => {});
        s.on('close', () => resolve());
        sockets.push(s);
      })),
    );
    const after = await settledMemory();
    const grown = after.rssMb - before.rssMb;
    figures['memory growth after the pre-CONNECT flood MB'] = Math.round(grown * 10) / 10;
    expect(grown).toBeLessThan(20);
    expect(metricSum(await metrics(rig), 'waystation_mqtt_refusals_total', { key: 'kind', value: 'connection' })).toBeGreaterThanOrEqual(6);
  });

  it('two clients with one client id: the newcomer is refused, events stay bounded, one fault', async () => {
    const seq0 = rig.station.ledger.head().seq;
    const clients: MqttClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = mqtt.connect(`mqtt://127.0.0.1:${rig.station.mqttPort}`, {
        clientId: 'disp-1', username: 'disp-1', password: DISPENSER_PASSWORD, reconnectPeriod: 100,
        will: { topic: 'dispensers/disp-1/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      });
      c.on('error', () => {});
      clients.push(c);
    }
    await sleep(5000);
    const events = rig.station.ledger.eventsAfter(seq0, 100_000).filter((e) => e.type.startsWith('device.')).length;
    await Promise.all(clients.map((c) => c.endAsync(true)));
    figures['events from a 5 s client-id fight'] = events;
    expect(events).toBeLessThanOrEqual(12);
    expect(rig.station.health.get('disp-1')?.faults).toContain('client_id_conflict');
    expect(metricSum(await metrics(rig), 'waystation_mqtt_refusals_total', { key: 'kind', value: 'client_id_conflict' })).toBeGreaterThanOrEqual(1);
    // The real dispenser simulator gets its session back once the impostors are gone.
    await waitFor(() => rig.station.health.usable('disp-1'), 60_000, 'dispenser back');
  }, 90_000);
});

describe('a flapping device', () => {
  it('41 telemetry messages with alternating faults write at most the budget and one `flapping` fault', async () => {
    const sim = rig.dispenser!;
    const seq0 = rig.station.ledger.head().seq;
    for (let i = 0; i < 41; i++) {
      sim.setCondition('jam', i % 2 === 0);
      sim.setCondition('heater', i % 2 === 1);
      sim.publishTelemetry();
      await sleep(5);
    }
    await waitFor(() => (rig.station.health.get('disp-1')?.counters.suppressedEvents ?? 0) > 0, 10_000, 'changes suppressed');
    const events = rig.station.ledger.eventsAfter(seq0, 100_000).filter((e) => e.type.startsWith('device.')).length;
    figures['events written by the flapping device'] = events;
    figures['changes counted, not written'] = rig.station.health.get('disp-1')?.counters.suppressedEvents ?? 0;
    expect(events).toBeLessThanOrEqual(rig.config.deviceEventBudget.events + 1);
    expect(rig.station.health.get('disp-1')?.faults).toContain('flapping');
    sim.clearFaults();
  });
});

describe('hostile riders and pages', () => {
  it('a code with spaces around it gets no fresh answers after a 429', async () => {
    const credential = await rig.credential('rider-padded');
    let ok = 0;
    for (let i = 0; i < 30; i++) if ((await kiosk('/v1/checkins', { credential })).status < 300) ok++;
    expect(ok).toBe(30);
    let fresh = 0;
    for (const padded of [`  ${credential}`, `${credential} `, `\n${credential}`, `\t${credential}\t`]) {
      for (let i = 0; i < 3; i++) if ((await kiosk('/v1/checkins', { credential: padded })).status !== 429) fresh++;
    }
    figures['answers to the padded code after a 429'] = fresh;
    expect(fresh).toBe(0);
  });

  it('a retrieve from an address that is not the kiosk opens nothing', async () => {
    const credential = await rig.credential('rider-victim');
    expect((await kiosk('/v1/lockers/deposit', { credential })).status).toBe(201);
    const r = await post(rig.station.httpUrl, '/v1/lockers/retrieve', { credential });
    figures['non-kiosk retrieve'] = r.status;
    expect([r.status, r.body.error]).toEqual([403, 'forbidden']);
    expect(rig.station.lockers.holdingOf('rider-victim')).not.toBeNull();
  });

  it('one code cannot cycle doors: 9 locker actions in 1.25 s open one door', async () => {
    const credential = await rig.credential('rider-cycler');
    let opened = 0;
    let tooSoon = 0;
    const t0 = Date.now();
    for (let i = 0; i < 9; i++) {
      const r = await kiosk(i % 2 === 0 ? '/v1/lockers/deposit' : '/v1/lockers/retrieve', { credential });
      if (r.status === 200 || r.status === 201) opened++;
      if (r.body.error === 'too_soon') tooSoon++;
      await sleep(Math.max(0, 1250 / 9 - 5));
    }
    expect(Date.now() - t0).toBeLessThan(2000);
    figures['doors opened by 9 locker actions in 1.25 s'] = opened;
    expect(opened).toBe(1);
    expect(tooSoon).toBe(8);
  });

  it('a page under another host name (DNS rebinding) gets neither the scan stream nor the rider API', async () => {
    const port = new URL(rig.station.httpUrl).port;
    const statuses = [];
    for (const path of ['/v1/kiosk/events', '/v1/kiosk/info', '/']) statuses.push((await getWithHost(`${rig.station.httpUrl}${path}`, `attacker.example:${port}`)).status);
    figures['answers to a rebound host'] = statuses.join('/');
    expect(statuses).toEqual([403, 403, 403]);
    const m = await metrics(rig);
    expect(metricSum(m, 'waystation_http_refusals_total', { key: 'code', value: 'forbidden_host' })).toBe(3);
    expect(metricSum(m, 'waystation_http_refusals_total', { key: 'code', value: 'forbidden' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(m, 'waystation_http_refusals_total', { key: 'code', value: 'too_soon' })).toBeGreaterThanOrEqual(8);
  });
});

/** A POST that declares `declaredBytes` and sends only `sendBytes` of it, then waits for the answer. */
function postUnfinished(url: string, token: string, declaredBytes: number, sendBytes: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = httpRequest(url, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json', 'content-length': String(declaredBytes) } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
      req.destroy();
    });
    req.on('error', (e) => (sent > 0 ? undefined : reject(e)));
    const chunk = Buffer.alloc(sendBytes, 0x20);
    chunk[0] = 0x7b; // '{', then spaces: a body that never ends
    req.write(chunk, () => (sent += chunk.length));
  });
}

describe('hostile stations on the internet (the cloud)', () => {
  const STATION_TOKEN = 'chaos-station-token-0123456789abcdef';
  let cloud: RunningCloud;
  const cloudUrl = (path: string) => `${cloud.url}${path}`;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(cloudUrl(path), { method, headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(
      async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> }),
    );
  const upload = (events: unknown[], token = STATION_TOKEN) =>
    fetch(cloudUrl(`/v1/stations/${rig.config.stationId}/events`), { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ events }) }).then(
      async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> }),
    );
  const uploaderOf = (token: string) =>
    new Uploader({ ledger: rig.station.ledger, clock: systemClock, logger: silentLogger(), stationId: rig.config.stationId, cloudUrl: cloud.url, token, initialBackoffMs: 50, maxBackoffMs: 200, idlePollMs: 100 });

  beforeAll(async () => {
    cloud = await startCloud(
      testConfig(undefined, { stations: [{ id: rig.config.stationId, tokenSha256: sha256(STATION_TOKEN), zone: 'chaos' }], alerts: { evaluateIntervalMs: 500 } }),
      { logger: silent },
    );
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('refuses an upload with a wrong token before reading its body: an 8 MB body, answered after 16 KiB', async () => {
    const r = await postUnfinished(cloudUrl(`/v1/stations/${rig.config.stationId}/events`), 'not-the-token', 8_000_000, 16_384);
    figures['bytes sent before a wrong-token upload was refused'] = r.sent;
    expect(r.status).toBe(401);
    expect(r.sent).toBeLessThanOrEqual(16_384);
    const other = await postUnfinished(cloudUrl('/v1/stations/dn-002/events'), STATION_TOKEN, 8_000_000, 16_384);
    expect(other.status).toBe(403); // a real token, another station's log
  });

  it('refuses a string seq and stores nothing', async () => {
    const [e] = rig.station.ledger.eventsAfter(0, 1);
    const r = await upload([{ ...e!, seq: String(e!.seq) }]);
    figures['answer to seq as a string'] = r.status;
    expect([r.status, r.body.error]).toEqual([400, 'bad_request']);
    expect((await admin('GET', `/v1/stations/${rig.config.stationId}`)).body).toMatchObject({ sync: { ackedSeq: 0 } });
  });

  it('refuses a rider credential issued in the future at the kiosk', async () => {
    const credential = await rig.credential('rider-from-the-future', { issuedAtMs: Date.now() + 3_600_000 });
    const r = await kiosk('/v1/checkins', { credential });
    figures['answer to a credential issued an hour ahead'] = r.status;
    expect([r.status, r.body.error]).toEqual([401, 'invalid_credential']);
  });

  it('a stolen token: the impostor uploads first, the real station is refused, an alert goes out, and re-admitting lets the real log in', async () => {
    const { ledger } = rig.station;
    const real = uploaderOf(STATION_TOKEN);
    real.start();
    await waitFor(() => real.status().ackedSeq === ledger.head().seq, 20_000, 'the real log synced');
    await real.stop();
    const from = ledger.head().seq + 1;
    // The impostor continues the chain with four events of its own (riders who were never there).
    let prev = ledger.head().hash;
    const forged: StationEvent[] = [];
    for (let i = 0; i < 4; i++) {
      const ts = Date.now() + i;
      const day = rig.station.ledger.serviceDay(ts);
      const e = sealEvent(prev, { seq: from + i, type: 'checkin', ts, day, data: { riderId: `impostor-${i}`, windowFrom: day, windowTo: day } });
      forged.push(e);
      prev = e.hash;
    }
    expect((await upload(forged)).body).toEqual({ ackedSeq: from + 3 });
    // The real station goes on: four check-ins, then its uploader runs into the impostor's log.
    for (let i = 0; i < 4; i++) expect((await kiosk('/v1/checkins', { credential: await rig.credential(`rider-real-${i}`) })).status).toBeLessThan(300);
    real.start();
    await waitFor(() => real.status().lastError?.code === 'chain_broken', 20_000, 'the real upload refused');
    await real.stop();
    const alerts = async () => ((await admin('GET', '/v1/alerts?state=firing')).body.alerts as Array<{ kind: string; stationId: string; severity: string; detail: string }>).filter((a) => a.kind === 'chain_broken');
    await expect.poll(alerts, { timeout: 10_000 }).toMatchObject([{ stationId: rig.config.stationId, severity: 'critical', detail: 'replay_mismatch' }]);

    const readmit = await admin('POST', `/v1/stations/${rig.config.stationId}/readmit`, { fromSeq: from });
    expect([readmit.status, readmit.body.dropped, readmit.body.ackedSeq]).toEqual([200, 4, from - 1]);
    expect((await upload(forged)).status).toBe(401); // the stolen token is dead
    const again = uploaderOf(readmit.body.token as string); // the station's config now holds the new token
    again.start();
    await waitFor(() => again.status().ackedSeq === ledger.head().seq, 20_000, 'the real log re-admitted');
    await again.stop();
    const held = new Map((await cloud.store.eventsAfter(rig.config.stationId, 0, 1_000_000)).map((e) => [e.seq, e.hash]));
    const mine = ledger.eventsAfter(0, 1_000_000);
    expect(held.size).toBe(mine.length);
    expect(mine.every((e) => held.get(e.seq) === e.hash)).toBe(true);
    expect(await alerts()).toEqual([]);
    figures['stolen token: impostor events dropped'] = readmit.body.dropped as number;
    figures['real events accepted after re-admitting'] = ledger.head().seq - from + 1;
    const m = await (await fetch(cloudUrl('/metrics'), { headers: bearer(TOKENS.admin) })).text();
    expect(metricSum(m, 'waystation_cloud_http_refusals_total', { key: 'code', value: 'unauthorized' })).toBeGreaterThanOrEqual(2);
    expect(metricSum(m, 'waystation_cloud_http_refusals_total', { key: 'code', value: 'chain_broken' })).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
