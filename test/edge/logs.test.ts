/**
 * The daemon's pino JSON logs (issue 4, Operations): a whole station logging at debug into
 * memory while riders, maintenance and devices use it with real secrets — valid and forged
 * credentials, maintenance tokens right and wrong, a dispenser password right and wrong. No
 * secret appears in any line; the lines are JSON with the module that wrote them.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../edge/log.ts';
import { call } from './http.ts';
import { DISPENSER_PASSWORD, MAINTENANCE_TOKEN, startHarness, waitFor, type Harness } from '../helpers/station.ts';

const lines: string[] = [];
let h: Harness;

beforeAll(async () => {
  const logger = createLogger({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  h = await startHarness({ station: { logger } });
});
afterAll(async () => {
  await h?.stop();
});

describe('logs', () => {
  it('never write a credential, a token or a device password, whatever the request', async () => {
    const base = h.station.httpUrl;
    const credential = await h.credential('rider-logs');
    const forged = `${credential.slice(0, -6)}AAAAAA`;
    const wrongToken = 'wrong-maintenance-token-5f2c9a';
    const wrongPassword = 'wrong-device-password-81d0';

    expect((await call(base, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    expect((await call(base, 'POST', '/v1/claims', { credential, compartment: 'cold' })).status).toBe(201);
    expect((await call(base, 'GET', `/v1/riders/status?credential=${encodeURIComponent(credential)}`)).status).toBe(200);
    expect((await call(base, 'POST', '/v1/checkins', { credential: forged })).status).toBe(401);
    expect((await call(base, 'POST', '/v1/claims', { credential: forged, compartment: 'hot', extra: credential })).status).toBe(400);
    expect((await call(base, 'GET', '/v1/health', undefined, { token: MAINTENANCE_TOKEN })).status).toBe(200);
    expect((await call(base, 'GET', '/v1/health', undefined, { token: wrongToken })).status).toBe(401);
    // A device with the right name and a wrong password is refused by the broker, and logged.
    const before = lines.length;
    const intruder = mqtt.connect(`mqtt://127.0.0.1:${h.station.mqttPort}`, {
      clientId: 'disp-1',
      username: 'disp-1',
      password: wrongPassword,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => {
      intruder.once('error', () => resolve());
      intruder.once('close', () => resolve());
    });
    intruder.end(true);
    await waitFor(() => lines.slice(before).some((l) => l.includes('wrong password')), 3000, 'the wrong password refused and logged');

    const text = lines.join('');
    for (const secret of [credential, forged, MAINTENANCE_TOKEN, wrongToken, DISPENSER_PASSWORD, wrongPassword]) {
      expect(text.includes(secret), `a secret in the log: ${secret.slice(0, 12)}…`).toBe(false);
    }
    // JSON lines, each with the module that wrote it.
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; module?: string; msg?: string });
    expect(parsed.length).toBeGreaterThan(10);
    expect(parsed.some((p) => p.module === 'http')).toBe(true);
    expect(parsed.some((p) => p.module === 'mqtt-broker')).toBe(true);
  });

  it('redacts secrets a caller passes in log fields', () => {
    const seen: string[] = [];
    const log = createLogger({ level: 'info' }, { write: (s: string) => void seen.push(s) });
    log.info(
      { credential: 'eyJ.secret.jwt', password: 'p4ss', token: 't0k', headers: { authorization: 'Bearer abc' }, body: { credential: 'eyJ.body' }, dispenser: { password: 'nested' } },
      'fields',
    );
    const line = JSON.parse(seen[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      credential: '[redacted]',
      password: '[redacted]',
      token: '[redacted]',
      headers: { authorization: '[redacted]' },
      body: { credential: '[redacted]' },
      dispenser: { password: '[redacted]' },
    });
  });
});
