/**
 * Rider credential claims (SPEC §4, issue 11 item 9): a validly signed credential is still
 * refused as `invalid_credential` when its header names no key, its `sub` is not a string of
 * 1–128 characters, its `iat` is ahead of the station clock by more than the skew, or its
 * lifetime is longer than the cloud ever issues (`maxLifetimeDays`).
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkClaims,
  codeVerifier,
  credentialVerifier,
  deviceJwkOf,
  generateSigningKey,
  IAT_SKEW_SECONDS,
  issueCredential,
  jwksOf,
  MAX_LIFETIME_DAYS,
  rotatingStep,
  signRotatingCode,
  verifyCredential,
  type SigningKey,
} from '../../protocol/index.ts';

const NOW = Date.parse('2026-11-23T08:00:00+08:00');
const NOW_S = Math.floor(NOW / 1000);
const DAY_S = 86_400;

let key: SigningKey;
let other: SigningKey;
beforeAll(async () => {
  [key, other] = await Promise.all([generateSigningKey('cloud-claims-1'), generateSigningKey('cloud-claims-2')]);
});

/** A credential signed by `key` with whatever header and claims a hostile issuer chooses. */
async function forge(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'EdDSA', kid: key.kid }) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(await importJWK(key.privateJwk, 'EdDSA'));
}
const good = { sub: 'r-42', iat: NOW_S - 60, exp: NOW_S + 30 * DAY_S };

describe('credential claims (SPEC §4)', () => {
  it('accepts a well-formed forged-by-us credential, so every refusal below is the rule under test', async () => {
    const v = credentialVerifier(jwksOf([key]));
    expect(await v(await forge(good), [], NOW)).toMatchObject({ ok: true, riderId: 'r-42', kid: key.kid });
  });

  it('refuses a credential whose header names no key, even against a JWKS of one key', async () => {
    const v = credentialVerifier(jwksOf([key]));
    for (const header of [{ alg: 'EdDSA' }, { alg: 'EdDSA', kid: '' }, { alg: 'EdDSA', kid: 7 }, { alg: 'EdDSA', kid: 'k'.repeat(129) }]) {
      expect(await v(await forge(good, header), [], NOW)).toMatchObject({ ok: false, error: 'invalid_credential', reason: 'no_kid' });
    }
  });

  it('refuses a sub that is not a string of 1–128 characters, and accepts one of 128', async () => {
    const v = credentialVerifier(jwksOf([key]));
    for (const sub of [42, { id: 'r-1' }, ['r-1'], '', 'x'.repeat(129), 'x'.repeat(2000)]) {
      const r = await v(await forge({ ...good, sub }), [], NOW);
      expect(r, JSON.stringify(sub).slice(0, 20)).toMatchObject({ ok: false, error: 'invalid_credential', reason: 'bad_subject' });
    }
    expect(await v(await forge({ ...good, sub: 'x'.repeat(128) }), [], NOW)).toMatchObject({ ok: true });
  });

  it('refuses iat more than five minutes ahead of the station clock, accepts it within', async () => {
    const v = credentialVerifier(jwksOf([key]));
    const ahead = (s: number) => forge({ ...good, iat: NOW_S + s, exp: NOW_S + s + DAY_S });
    expect(IAT_SKEW_SECONDS).toBe(300);
    expect(await v(await ahead(299), [], NOW)).toMatchObject({ ok: true });
    expect(await v(await ahead(301), [], NOW)).toMatchObject({ ok: false, error: 'invalid_credential', reason: 'issued_in_future' });
    expect(await v(await ahead(365 * DAY_S), [], NOW)).toMatchObject({ reason: 'issued_in_future' });
    // The allowance is the station's to set.
    expect(await credentialVerifier(jwksOf([key]), { iatSkewSeconds: 0 })(await ahead(1), [], NOW)).toMatchObject({ reason: 'issued_in_future' });
  });

  it('refuses a lifetime longer than maxLifetimeDays, and one longer than any cloud issues by default', async () => {
    const life = (s: number) => forge({ ...good, iat: NOW_S - 60, exp: NOW_S - 60 + s });
    const v30 = credentialVerifier(jwksOf([key]), { maxLifetimeDays: 30 });
    expect(await v30(await life(30 * DAY_S), [], NOW)).toMatchObject({ ok: true });
    expect(await v30(await life(30 * DAY_S + 1), [], NOW)).toMatchObject({ ok: false, error: 'invalid_credential', reason: 'lifetime_too_long' });
    const byDefault = credentialVerifier(jwksOf([key]));
    expect(await byDefault(await life(MAX_LIFETIME_DAYS * DAY_S), [], NOW)).toMatchObject({ ok: true });
    expect(await byDefault(await life(100 * 365 * DAY_S), [], NOW)).toMatchObject({ reason: 'lifetime_too_long' });
    expect(await verifyCredential(await life(31 * DAY_S), { jwks: jwksOf([key]), revokedRiders: [], nowMs: NOW, maxLifetimeDays: 30 })).toMatchObject({
      reason: 'lifetime_too_long',
    });
  });

  it('refuses a credential that expires before it was issued', async () => {
    const r = await credentialVerifier(jwksOf([key]))(await forge({ sub: 'r-1', iat: NOW_S + 100, exp: NOW_S + 50 }), [], NOW);
    expect(r).toMatchObject({ ok: false, error: 'invalid_credential', reason: 'bad_times' });
  });

  it('applies the limits to the credential inside a rotating code too (SPEC §14)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = deviceJwkOf(publicKey.export({ format: 'jwk' }))!;
    const cred = await issueCredential(other, { riderId: 'r-0123456789abcdef', issuedAtMs: NOW - 1000, ttlSeconds: 400 * DAY_S, deviceJwk: jwk });
    const code = signRotatingCode(cred, rotatingStep(NOW), privateKey);
    const open = { requireDeviceBound: false };
    expect(await codeVerifier(jwksOf([other]))(code, [], NOW, open)).toMatchObject({ ok: true });
    expect(await codeVerifier(jwksOf([other]), { maxLifetimeDays: 365 })(code, [], NOW, open)).toMatchObject({
      ok: false,
      error: 'invalid_credential',
      reason: 'lifetime_too_long',
    });
  });

  it('checkClaims: accepts exactly the claims within every rule (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant(null)),
        fc.integer({ min: -400 * DAY_S, max: 400 * DAY_S }),
        fc.integer({ min: -DAY_S, max: 400 * DAY_S }),
        fc.integer({ min: 1, max: 366 }),
        (sub, iatOffset, lifetime, maxDays) => {
          const iat = NOW_S + iatOffset;
          const r = checkClaims({ sub, iat, exp: iat + lifetime }, NOW, { maxLifetimeDays: maxDays });
          const within =
            typeof sub === 'string' && sub.length >= 1 && sub.length <= 128 && iatOffset <= IAT_SKEW_SECONDS && lifetime > 0 && lifetime <= maxDays * DAY_S;
          expect(r.ok).toBe(within);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
