/** A cloud app on a fresh SQLite store for the enrolment tests, with a phone's device key. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { deviceJwkOf, ManualClock, rotatingStep, signRotatingCode, type DeviceJwk } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { bearer, silent, tempDir, testConfig, TOKENS } from '../cloud/helpers.ts';

export const START = Date.parse('2026-11-25T04:00:00Z');

export interface Phone {
  key: KeyObject;
  jwk: DeviceJwk;
  /** The public key as WebCrypto exports it (extra members the cloud ignores). */
  exported: Record<string, unknown>;
}

export function phone(): Phone {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = deviceJwkOf(publicKey.export({ format: 'jwk' }))!;
  return { key: privateKey, jwk, exported: { ...jwk, key_ops: ['verify'], ext: true, alg: 'Ed25519' } };
}

export async function enrolHarness(overrides: Record<string, unknown> = {}) {
  const config = testConfig(tempDir('wc-enrol-'), { riders: { publicUrl: 'https://ws.example.org' }, ...overrides });
  const store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
  const clock = new ManualClock(START);
  const app = buildApp({ config, store, clock, logger: silent });
  await app.ready();
  const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, headers: bearer(TOKENS.admin), ...(payload ? { payload } : {}) });
  const invite = async (body: object = {}) => {
    const r = await admin('POST', '/v1/invites', { uses: 5, expiresAt: START + 86_400_000, ...body });
    if (r.statusCode !== 201) throw new Error(`invite: ${r.statusCode} ${r.body}`);
    return r.json() as { code: string; url: string };
  };
  const enrol = (body: object, remoteAddress = '203.0.113.7') => app.inject({ method: 'POST', url: '/v1/enrol', payload: body, remoteAddress });
  const codeOf = (credential: string, p: Phone, atMs = clock.now()) => signRotatingCode(credential, rotatingStep(atMs), p.key);
  return {
    config,
    store,
    clock,
    app,
    admin,
    invite,
    enrol,
    codeOf,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
