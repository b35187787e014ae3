/**
 * Rider credentials (SPEC §4, contract): compact JWS signed with Ed25519 (`alg: EdDSA`),
 * `kid` in the header, claims `sub` (rider id), `iat`, `exp`, optional `grp`, and — for a
 * credential bound to a rider's device (SPEC §14) — `cnf: {jwk}`, the device's public Ed25519
 * key. Stations verify offline against a synced JWKS and revocation list. The crypto is jose's;
 * the rotating code around a device-bound credential is in `rotating.ts`.
 */
import {
  SignJWT,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
} from 'jose';

export const RIDER_GROUPS = ['courier', 'food_delivery', 'outdoor_worker', 'other'] as const;

export interface SigningKey {
  kid: string;
  /** Private JWK (with `d`); kept by the cloud only. */
  privateJwk: JWK;
  /** Public JWK, published in the JWKS. */
  publicJwk: JWK;
}

export async function generateSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateJwk, publicJwk };
}

export function jwksOf(keys: readonly SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

export interface IssueOptions {
  riderId: string;
  group?: string;
  /** Issued-at, ms since the epoch. */
  issuedAtMs: number;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** The rider device's public Ed25519 JWK: binds the credential to it (`cnf`, SPEC §14). */
  deviceJwk?: DeviceJwk;
}

/** A device's public Ed25519 key as a JWK (RFC 8037): only these members are kept. */
export interface DeviceJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** Ed25519 public keys are 32 bytes: 43 base64url characters without padding. */
const ED25519_X = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The device key as the credential carries it, or null if `jwk` is not a public Ed25519 JWK. */
export function deviceJwkOf(jwk: unknown): DeviceJwk | null {
  if (typeof jwk !== 'object' || jwk === null) return null;
  const k = jwk as Record<string, unknown>;
  if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || !ED25519_X.test(k.x)) return null;
  if ('d' in k) return null; // a private key is never accepted, stored or signed into a credential
  return { kty: 'OKP', crv: 'Ed25519', x: k.x };
}

export async function issueCredential(key: SigningKey, opts: IssueOptions): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, 'EdDSA');
  const iat = Math.floor(opts.issuedAtMs / 1000);
  const payload: Record<string, unknown> = {};
  if (opts.group) payload.grp = opts.group;
  if (opts.deviceJwk) payload.cnf = { jwk: { kty: 'OKP', crv: 'Ed25519', x: opts.deviceJwk.x } };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setSubject(opts.riderId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.ttlSeconds)
    .sign(privateKey);
}

export type CredentialErrorCode = 'invalid_credential' | 'expired_credential' | 'revoked' | 'stale_code';

export type VerifyResult =
  | { ok: true; riderId: string; group?: string; expiresAtMs: number; kid: string; cnf?: DeviceJwk }
  | { ok: false; error: CredentialErrorCode; message: string };

export interface VerifyOptions {
  jwks: JSONWebKeySet;
  revokedRiders: ReadonlySet<string> | readonly string[];
  nowMs: number;
}

export const MAX_CREDENTIAL_LENGTH = 4096;

/** A verifier bound to one key set; rebuild it when the JWKS changes. */
export function credentialVerifier(jwks: JSONWebKeySet) {
  const keySet = createLocalJWKSet(jwks);
  return async function verify(
    token: string,
    revokedRiders: ReadonlySet<string> | readonly string[],
    nowMs: number,
  ): Promise<VerifyResult> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_CREDENTIAL_LENGTH) {
      return { ok: false, error: 'invalid_credential', message: 'credential missing or too long' };
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token.trim(), keySet, {
        algorithms: ['EdDSA'],
        currentDate: new Date(nowMs),
        requiredClaims: ['sub', 'iat', 'exp'],
      });
      const riderId = payload.sub!;
      const revoked =
        revokedRiders instanceof Set ? revokedRiders.has(riderId) : (revokedRiders as readonly string[]).includes(riderId);
      if (revoked) return { ok: false, error: 'revoked', message: 'this rider credential has been revoked' };
      const group = typeof payload.grp === 'string' ? payload.grp : undefined;
      let cnf: DeviceJwk | undefined;
      if (payload.cnf !== undefined) {
        // A cnf the station cannot use must not make a bound credential pass as a static one.
        const k = deviceJwkOf((payload.cnf as { jwk?: unknown } | null)?.jwk);
        if (!k) return { ok: false, error: 'invalid_credential', message: 'credential not valid (its device key is not an Ed25519 public key)' };
        cnf = k;
      }
      return {
        ok: true,
        riderId,
        ...(group ? { group } : {}),
        ...(cnf ? { cnf } : {}),
        expiresAtMs: payload.exp! * 1000,
        kid: protectedHeader.kid ?? '',
      };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) {
        return { ok: false, error: 'expired_credential', message: 'the credential has expired; get a new code' };
      }
      const why = e instanceof joseErrors.JOSEError ? e.code : 'ERR_UNKNOWN';
      return { ok: false, error: 'invalid_credential', message: `credential not valid (${why})` };
    }
  };
}

/** One-shot verification (builds the key set each call; use `credentialVerifier` on hot paths). */
export async function verifyCredential(token: string, opts: VerifyOptions): Promise<VerifyResult> {
  return credentialVerifier(opts.jwks)(token, opts.revokedRiders, opts.nowMs);
}
