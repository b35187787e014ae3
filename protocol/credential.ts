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
  decodeProtectedHeader,
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

/**
 * Why a credential that carries a valid signature is still refused (SPEC §4): stable strings,
 * logged and counted by the station; the error code stays `invalid_credential`.
 */
export type CredentialRefusal = 'no_kid' | 'bad_subject' | 'bad_times' | 'issued_in_future' | 'lifetime_too_long';

export type VerifyResult =
  | { ok: true; riderId: string; group?: string; expiresAtMs: number; kid: string; cnf?: DeviceJwk }
  | { ok: false; error: CredentialErrorCode; message: string; reason?: CredentialRefusal };

export interface VerifyOptions extends CredentialLimits {
  jwks: JSONWebKeySet;
  revokedRiders: ReadonlySet<string> | readonly string[];
  nowMs: number;
}

export const MAX_CREDENTIAL_LENGTH = 4096;
/** Longest `sub` (rider id) accepted; revocation lists hold ids of at most this length too. */
export const MAX_SUBJECT_LENGTH = 128;
/** The longest lifetime any cloud issues (its `credentials.ttlDays` schema maximum). */
export const MAX_LIFETIME_DAYS = 3660;
/** How far a credential's `iat` may be ahead of the station clock (clocks drift; SPEC §4). */
export const IAT_SKEW_SECONDS = 300;
const KID_MAX_LENGTH = 128;

export interface CredentialLimits {
  /** Refuse credentials whose `exp - iat` is longer than this (default MAX_LIFETIME_DAYS). */
  maxLifetimeDays?: number;
  /** Allowance for `iat` ahead of the station clock, in seconds (default IAT_SKEW_SECONDS). */
  iatSkewSeconds?: number;
}

type ClaimCheck = { ok: true } | { ok: false; reason: CredentialRefusal; message: string };

/**
 * The §4 claim rules jose does not apply: a string `sub` of 1–128 characters, `iat` not ahead
 * of `nowMs` by more than the skew, and a lifetime no longer than the cloud ever issues. Pure.
 */
export function checkClaims(
  payload: { sub?: unknown; iat?: unknown; exp?: unknown },
  nowMs: number,
  limits: CredentialLimits = {},
): ClaimCheck {
  const { sub, iat, exp } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
    return { ok: false, reason: 'bad_subject', message: `credential not valid (its rider id is not a string of 1–${MAX_SUBJECT_LENGTH} characters)` };
  }
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    // jose already refuses non-numeric dates; kept so this function is safe on its own.
    return { ok: false, reason: 'bad_times', message: 'credential not valid (iat and exp must be numbers)' };
  }
  const skew = limits.iatSkewSeconds ?? IAT_SKEW_SECONDS;
  if (iat > nowMs / 1000 + skew) {
    return { ok: false, reason: 'issued_in_future', message: 'credential not valid (issued in the future: check the station clock, or get a new code)' };
  }
  if (!(exp > iat)) return { ok: false, reason: 'bad_times', message: 'credential not valid (it expires before it was issued)' };
  const maxDays = limits.maxLifetimeDays ?? MAX_LIFETIME_DAYS;
  if (exp - iat > maxDays * 86_400) {
    return { ok: false, reason: 'lifetime_too_long', message: `credential not valid (its lifetime is longer than the ${maxDays} days the cloud issues)` };
  }
  return { ok: true };
}

/** A verifier bound to one key set and its limits; rebuild it when either changes. */
export function credentialVerifier(jwks: JSONWebKeySet, limits: CredentialLimits = {}) {
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
      // SPEC §4: the header names its key. Without a kid, a JWKS of one key would take any token.
      const kid = decodeProtectedHeader(token.trim()).kid;
      if (typeof kid !== 'string' || kid.length === 0 || kid.length > KID_MAX_LENGTH) {
        return { ok: false, error: 'invalid_credential', reason: 'no_kid', message: 'credential not valid (its header names no signing key, kid)' };
      }
      const { payload, protectedHeader } = await jwtVerify(token.trim(), keySet, {
        algorithms: ['EdDSA'],
        currentDate: new Date(nowMs),
        requiredClaims: ['sub', 'iat', 'exp'],
      });
      const claims = checkClaims(payload, nowMs, limits);
      if (!claims.ok) return { ok: false, error: 'invalid_credential', reason: claims.reason, message: claims.message };
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
        kid: protectedHeader.kid ?? kid,
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
  return credentialVerifier(opts.jwks, opts)(token, opts.revokedRiders, opts.nowMs);
}
