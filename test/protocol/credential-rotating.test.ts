/**
 * Rotating rider codes (SPEC §14, contract): `<credential>.<step>.<sig>`, the device's Ed25519
 * signature over `<credential>.<step>`, the step within two behind and one ahead of the
 * station's clock; static codes per policy. Bad input of every kind is refused with a code.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  codeVerifier,
  deviceJwkOf,
  generateSigningKey,
  issueCredential,
  jwksOf,
  MAX_CODE_LENGTH,
  parseCode,
  ROTATING_STEP_MS,
  rotatingStep,
  secondsLeftInStep,
  signRotatingCode,
  type DeviceJwk,
  type SigningKey,
} from '../../protocol/index.ts';

const NOW = Date.parse('2026-11-23T08:00:10+08:00');
const OWN = rotatingStep(NOW);
const OPEN = { requireDeviceBound: false };
const STRICT = { requireDeviceBound: true };

interface Device {
  privateKey: KeyObject;
  jwk: DeviceJwk;
}

function device(): Device {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, jwk: deviceJwkOf(publicKey.export({ format: 'jwk' }))! };
}

let cloud: SigningKey;
let phone: Device;
let otherPhone: Device;
let bound: string;
let unbound: string;
let verify: ReturnType<typeof codeVerifier>;

beforeAll(async () => {
  cloud = await generateSigningKey('k-test');
  phone = device();
  otherPhone = device();
  const base = { riderId: 'r-0123456789abcdef', group: 'courier', issuedAtMs: NOW - 86_400_000, ttlSeconds: 30 * 86_400 };
  bound = await issueCredential(cloud, { ...base, deviceJwk: phone.jwk });
  unbound = await issueCredential(cloud, base);
  verify = codeVerifier(jwksOf([cloud]));
});

const at = (step: number, key: KeyObject = phone.privateKey, credential = bound) => signRotatingCode(credential, step, key);

describe('rotating code', () => {
  it('verifies a code of the station’s own step and names the rider and the device key', async () => {
    const r = await verify(at(OWN), [], NOW, OPEN);
    expect(r).toMatchObject({ ok: true, riderId: 'r-0123456789abcdef', group: 'courier', cnf: phone.jwk });
  });

  it('has the decided shape: credential, decimal step, 86 base64url characters of signature', () => {
    const code = at(OWN);
    const parts = code.split('.');
    expect(parts).toHaveLength(5);
    expect(parts.slice(0, 3).join('.')).toBe(bound);
    expect(parts[3]).toBe(String(Math.floor(NOW / 30_000)));
    expect(parts[4]).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  it('accepts steps from two behind to one ahead and refuses the rest as stale_code (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -12, max: 12 }), async (offset) => {
        const r = await verify(at(OWN + offset), [], NOW, OPEN);
        if (offset >= -2 && offset <= 1) expect(r.ok).toBe(true);
        else expect(r).toMatchObject({ ok: false, error: 'stale_code' });
      }),
      { numRuns: 60 },
    );
  });

  it('is refused about 90 s after it was shown, wherever in its 30 s it was read', async () => {
    for (const within of [0, 1, 15_000, 29_999]) {
      const shownAt = OWN * ROTATING_STEP_MS + within;
      const code = at(rotatingStep(shownAt));
      expect((await verify(code, [], shownAt + 60_000, OPEN)).ok).toBe(true);
      expect(await verify(code, [], shownAt + 90_000 + (ROTATING_STEP_MS - within), OPEN)).toMatchObject({ error: 'stale_code' });
    }
  });

  it('refuses a step far in the future', async () => {
    expect(await verify(at(OWN + 2880), [], NOW, OPEN)).toMatchObject({ ok: false, error: 'stale_code' });
    expect(await verify(at(999_999_999_999_999), [], NOW, OPEN)).toMatchObject({ ok: false, error: 'stale_code' });
  });

  it('refuses a code signed by another device than the credential names (bound to another key)', async () => {
    expect(await verify(at(OWN, otherPhone.privateKey), [], NOW, OPEN)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('refuses a forged device signature: any changed bit of it, or of the step under it (property)', async () => {
    const good = at(OWN);
    const sigAt = good.lastIndexOf('.') + 1;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 7 }), async (byte, bit) => {
        const sig = Buffer.from(good.slice(sigAt), 'base64url');
        sig[byte]! ^= 1 << bit;
        const forged = good.slice(0, sigAt) + sig.toString('base64url');
        expect(await verify(forged, [], NOW, OPEN)).toMatchObject({ ok: false, error: 'invalid_credential' });
      }),
      { numRuns: 80 },
    );
    // The signature of one step does not carry over to the next.
    const moved = `${bound}.${OWN - 1}.${good.slice(sigAt)}`;
    expect(await verify(moved, [], NOW, OPEN)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('refuses a device-bound credential shown bare, under either policy', async () => {
    for (const policy of [OPEN, STRICT]) expect(await verify(bound, [], NOW, policy)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('accepts a static credential unless the policy asks for device-bound codes', async () => {
    expect(await verify(unbound, [], NOW, OPEN)).toMatchObject({ ok: true, riderId: 'r-0123456789abcdef' });
    expect(await verify(unbound, [], NOW, STRICT)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('refuses a rotating code around a credential that names no device', async () => {
    expect(await verify(at(OWN, phone.privateKey, unbound), [], NOW, OPEN)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('keeps the credential’s own refusals: expired, revoked, unknown key', async () => {
    const old = await issueCredential(cloud, { riderId: 'r-1111111111111111', issuedAtMs: NOW - 10_000_000, ttlSeconds: 60, deviceJwk: phone.jwk });
    expect(await verify(signRotatingCode(old, OWN, phone.privateKey), [], NOW, OPEN)).toMatchObject({ error: 'expired_credential' });
    expect(await verify(at(OWN), ['r-0123456789abcdef'], NOW, OPEN)).toMatchObject({ error: 'revoked' });
    const stranger = await generateSigningKey('k-stranger');
    const foreign = await issueCredential(stranger, { riderId: 'r-2222222222222222', issuedAtMs: NOW, ttlSeconds: 60, deviceJwk: phone.jwk });
    expect(await verify(signRotatingCode(foreign, OWN, phone.privateKey), [], NOW, OPEN)).toMatchObject({ error: 'invalid_credential' });
  });

  it('refuses every truncation of a good code (property)', async () => {
    const good = at(OWN);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length - 1 }), async (cut) => {
        const r = await verify(good.slice(0, cut), [], NOW, OPEN);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(['invalid_credential']).toContain(r.error);
      }),
      { numRuns: 120 },
    );
  });

  it('refuses oversized input before parsing it, and odd shapes with a message', async () => {
    const huge = `${at(OWN)}${'A'.repeat(MAX_CODE_LENGTH)}`;
    const started = performance.now();
    expect(await verify(huge, [], NOW, OPEN)).toMatchObject({ ok: false, error: 'invalid_credential', message: expect.stringContaining('longer') });
    expect(performance.now() - started).toBeLessThan(50);
    for (const odd of ['', 'a.b', 'a.b.c.d', `${bound}.01.${'A'.repeat(86)}`, `${bound}.-1.${'A'.repeat(86)}`, `${bound}.1e3.${'A'.repeat(86)}`, `${bound}.${OWN}.${'A'.repeat(85)}`, `${bound}.${OWN}.${'B'.repeat(86)}`, `${bound}.${OWN}.x.y`]) {
      const r = await verify(odd, [], NOW, OPEN);
      expect(r, odd.slice(-40)).toMatchObject({ ok: false, error: 'invalid_credential' });
    }
    expect(parseCode(`${bound}.${OWN}.${'A'.repeat(86)}`)).toMatchObject({ kind: 'rotating', step: OWN });
  });

  it('verifies a code signed with a non-extractable WebCrypto Ed25519 key, as the rider page makes it', async () => {
    const { subtle } = globalThis.crypto;
    const pair = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = deviceJwkOf(await subtle.exportKey('jwk', pair.publicKey))!;
    expect(jwk).not.toBeNull();
    await expect(subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
    const cred = await issueCredential(cloud, { riderId: 'r-3333333333333333', issuedAtMs: NOW, ttlSeconds: 3600, deviceJwk: jwk });
    const signed = `${cred}.${OWN}`;
    const sig = Buffer.from(await subtle.sign('Ed25519', pair.privateKey, new TextEncoder().encode(signed))).toString('base64url');
    expect(await verify(`${signed}.${sig}`, [], NOW, OPEN)).toMatchObject({ ok: true, riderId: 'r-3333333333333333' });
  });

  it('takes only public Ed25519 keys as device keys', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(deviceJwkOf(privateKey.export({ format: 'jwk' }))).toBeNull();
    expect(deviceJwkOf({ kty: 'OKP', crv: 'X25519', x: phone.jwk.x })).toBeNull();
    expect(deviceJwkOf({ kty: 'OKP', crv: 'Ed25519', x: phone.jwk.x.slice(1) })).toBeNull();
    expect(deviceJwkOf({ kty: 'EC', crv: 'P-256', x: phone.jwk.x })).toBeNull();
    expect(deviceJwkOf(null)).toBeNull();
  });

  it('counts down the seconds left in a step', () => {
    expect(secondsLeftInStep(OWN * ROTATING_STEP_MS)).toBe(30);
    expect(secondsLeftInStep(OWN * ROTATING_STEP_MS + 29_001)).toBe(1);
  });
});
