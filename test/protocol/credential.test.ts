/**
 * Rider credentials (SPEC §4, contract): Ed25519 JWS with `kid`, verified offline against a
 * synced JWKS and revocation list, refused with a clear error code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeProtectedHeader } from 'jose';
import {
  credentialVerifier,
  generateSigningKey,
  issueCredential,
  jwksOf,
  verifyCredential,
  type SigningKey,
} from '../../protocol/credential.ts';

const NOW = Date.parse('2026-11-23T08:00:00+08:00');
const DAY_S = 86_400;

let k1: SigningKey;
let k2: SigningKey;
let stranger: SigningKey;

beforeAll(async () => {
  [k1, k2, stranger] = await Promise.all([
    generateSigningKey('cloud-2026-1'),
    generateSigningKey('cloud-2026-2'),
    generateSigningKey('not-ours'),
  ]);
});

const issue = (key: SigningKey, over: Partial<Parameters<typeof issueCredential>[1]> = {}) =>
  issueCredential(key, { riderId: 'r-42', group: 'courier', issuedAtMs: NOW - DAY_S * 1000, ttlSeconds: 30 * DAY_S, ...over });

describe('rider credential', () => {
  it('verifies a fresh credential and returns the rider id, group, expiry and kid', async () => {
    const token = await issue(k1);
    const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result).toEqual({
      ok: true,
      riderId: 'r-42',
      group: 'courier',
      expiresAtMs: (Math.floor((NOW - DAY_S * 1000) / 1000) + 30 * DAY_S) * 1000,
      kid: 'cloud-2026-1',
    });
  });

  it('names the signing key in the header and signs with EdDSA', async () => {
    const header = decodeProtectedHeader(await issue(k1));
    expect(header).toMatchObject({ alg: 'EdDSA', kid: 'cloud-2026-1' });
  });

  it('publishes only public keys in the JWKS', () => {
    for (const k of jwksOf([k1, k2]).keys) {
      expect(k).not.toHaveProperty('d');
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    }
  });

  it('leaves the group out when the credential has none', async () => {
    const token = await issue(k1, { group: undefined });
    const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result.ok).toBe(true);
    expect(result).not.toHaveProperty('group');
  });

  it('refuses an expired credential with expired_credential', async () => {
    const token = await issue(k1, { issuedAtMs: NOW - 10 * DAY_S * 1000, ttlSeconds: DAY_S });
    const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result).toMatchObject({ ok: false, error: 'expired_credential' });
  });

  it('refuses the credential at its expiry second but accepts it one second before', async () => {
    const token = await issueCredential(k1, { riderId: 'r-1', issuedAtMs: NOW, ttlSeconds: 60 });
    const verify = credentialVerifier(jwksOf([k1]));
    expect((await verify(token, [], NOW + 59_000)).ok).toBe(true);
    expect(await verify(token, [], NOW + 60_000)).toMatchObject({ ok: false, error: 'expired_credential' });
  });

  it('refuses a revoked rider with revoked, from a list or a set', async () => {
    const token = await issue(k1);
    const verify = credentialVerifier(jwksOf([k1]));
    expect(await verify(token, ['r-7', 'r-42'], NOW)).toMatchObject({ ok: false, error: 'revoked' });
    expect(await verify(token, new Set(['r-42']), NOW)).toMatchObject({ ok: false, error: 'revoked' });
    expect((await verify(token, new Set(['r-7']), NOW)).ok).toBe(true);
  });

  it('refuses a credential signed by a key not in the JWKS with invalid_credential', async () => {
    const verify = credentialVerifier(jwksOf([k1]));
    expect(await verify(await issue(stranger), [], NOW)).toMatchObject({ ok: false, error: 'invalid_credential' });
    // A stranger's key that claims a known kid does not pass either.
    const impostor: SigningKey = { ...stranger, kid: k1.kid };
    expect(await verify(await issue(impostor), [], NOW)).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('refuses a credential whose payload was changed with invalid_credential', async () => {
    const [h, , s] = (await issue(k1)).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'r-1', iat: NOW / 1000, exp: NOW / 1000 + DAY_S })).toString(
      'base64url',
    );
    const result = await verifyCredential(`${h}.${forged}.${s}`, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it.each(['', 'garbage', 'a.b.c', '....', 'x'.repeat(5000), '\u0000\u00ff'])(
    'refuses the garbage string %j with invalid_credential',
    async (token) => {
      const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
      expect(result).toMatchObject({ ok: false, error: 'invalid_credential' });
    },
  );

  it('refuses an HS256 token, even one keyed with a published key, with invalid_credential', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(k1.publicJwk));
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: k1.kid })
      .setSubject('r-42')
      .setIssuedAt(Math.floor(NOW / 1000))
      .setExpirationTime(Math.floor(NOW / 1000) + DAY_S)
      .sign(secret);
    const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('refuses a credential without an expiry with invalid_credential', async () => {
    const { importJWK } = await import('jose');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: k1.kid })
      .setSubject('r-42')
      .setIssuedAt(Math.floor(NOW / 1000))
      .sign(await importJWK(k1.privateJwk, 'EdDSA'));
    const result = await verifyCredential(token, { jwks: jwksOf([k1]), revokedRiders: [], nowMs: NOW });
    expect(result).toMatchObject({ ok: false, error: 'invalid_credential' });
  });

  it('verifies credentials of both keys while the JWKS holds two (key rotation)', async () => {
    const verify = credentialVerifier(jwksOf([k1, k2]));
    const a = await verify(await issue(k1, { riderId: 'r-a' }), [], NOW);
    const b = await verify(await issue(k2, { riderId: 'r-b' }), [], NOW);
    expect(a).toMatchObject({ ok: true, riderId: 'r-a', kid: 'cloud-2026-1' });
    expect(b).toMatchObject({ ok: true, riderId: 'r-b', kid: 'cloud-2026-2' });
    // Once the old key is retired, its credentials no longer pass.
    const retired = await credentialVerifier(jwksOf([k2]))(await issue(k1), [], NOW);
    expect(retired).toMatchObject({ ok: false, error: 'invalid_credential' });
  });
});
