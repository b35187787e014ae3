/**
 * Rotating rider codes (SPEC §14, contract). The QR text on the rider's page is
 * `<credential JWS>.<step>.<sig>`: `step` = floor(unixMs / 30000) in decimal, `sig` the
 * base64url (no padding) Ed25519 signature by the rider's device key over the ASCII bytes
 * `<credential JWS>.<step>`. The credential names that key in `cnf.jwk`. A station accepts
 * steps from two behind to one ahead of its own clock, so a screenshot stops working after
 * about 90 s while a phone whose clock is a little off still gets in.
 *
 * Verification is offline, on WebCrypto (the same Ed25519 the rider page signs with), both
 * signatures at once; device keys are imported once and cached.
 */
import { sign as edSign, webcrypto, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { credentialVerifier, deviceJwkOf, MAX_CREDENTIAL_LENGTH, type CredentialLimits, type DeviceJwk, type VerifyResult } from './credential.ts';

export const ROTATING_STEP_MS = 30_000;
/** Steps behind and ahead of the station's own that are still accepted. */
export const STEPS_BEHIND = 2;
export const STEPS_AHEAD = 1;
/** Longest code text looked at: a credential of the §4 limit plus the step and signature. */
export const MAX_CODE_LENGTH = MAX_CREDENTIAL_LENGTH + 1 + 16 + 1 + 86;

/** A 64-byte Ed25519 signature is 86 base64url characters (no padding). */
const SIG = /^[A-Za-z0-9_-]{85}[AQgw]$/;
/** Up to 15 digits, no leading zero: exact in a double, and one spelling per step. */
const STEP = /^(0|[1-9][0-9]{0,14})$/;

export function rotatingStep(unixMs: number): number {
  return Math.floor(unixMs / ROTATING_STEP_MS);
}

/** Seconds until the code of `unixMs` is replaced by the next one (what the page counts down). */
export function secondsLeftInStep(unixMs: number): number {
  return Math.ceil((ROTATING_STEP_MS - (unixMs % ROTATING_STEP_MS)) / 1000);
}

export type ParsedCode =
  | { kind: 'static'; credential: string }
  | { kind: 'rotating'; credential: string; step: number; signedText: string; sig: Buffer }
  | { kind: 'bad'; message: string };

/** Split a scanned or typed code; bounds the length before looking at it. */
export function parseCode(text: string): ParsedCode {
  if (typeof text !== 'string' || text.length === 0) return { kind: 'bad', message: 'no code given' };
  if (text.length > MAX_CODE_LENGTH) return { kind: 'bad', message: `code longer than ${MAX_CODE_LENGTH} characters` };
  const code = text.trim();
  const parts = code.split('.');
  if (parts.length === 3) return { kind: 'static', credential: code };
  if (parts.length !== 5) return { kind: 'bad', message: 'not a rider code (expected a credential, or a credential with a step and a signature)' };
  const [h, p, s, stepText, sigText] = parts as [string, string, string, string, string];
  if (!STEP.test(stepText)) return { kind: 'bad', message: 'the time step of the code is not a decimal number' };
  if (!SIG.test(sigText)) return { kind: 'bad', message: 'the device signature of the code is not 64 bytes of base64url' };
  const credential = `${h}.${p}.${s}`;
  return { kind: 'rotating', credential, step: Number(stepText), signedText: `${credential}.${stepText}`, sig: Buffer.from(sigText, 'base64url') };
}

/** The rotating code for `credential` at `step`, signed with the device's private key (Node). */
export function signRotatingCode(credential: string, step: number, devicePrivateKey: KeyObject): string {
  const signed = `${credential}.${step}`;
  return `${signed}.${edSign(null, Buffer.from(signed, 'ascii'), devicePrivateKey).toString('base64url')}`;
}

export interface CodePolicy {
  /** Refuse static (unbound) credentials: only the rider page's rotating code is accepted. */
  requireDeviceBound: boolean;
}

const KEY_CACHE_MAX = 4096;

/** The device key an (as yet unverified) credential names, read only to pick the key early. */
function claimedDeviceKey(credential: string): DeviceJwk | null {
  try {
    const payload = JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString('utf8')) as { cnf?: { jwk?: unknown } };
    return deviceJwkOf(payload?.cnf?.jwk);
  } catch {
    return null;
  }
}

/**
 * A verifier for what a scanner or the kiosk hands the station: a static credential (§4) or a
 * rotating code (§14). Rebuild it when the JWKS or the limits change.
 */
export function codeVerifier(jwks: JSONWebKeySet, limits: CredentialLimits = {}) {
  const verifyCredential = credentialVerifier(jwks, limits);
  // Device keys seen recently; bounded, so codes naming many keys cannot grow it without limit.
  const keys = new Map<string, Promise<CryptoKey>>();
  const keyOf = (jwk: DeviceJwk): Promise<CryptoKey> => {
    let k = keys.get(jwk.x);
    if (!k) {
      k = webcrypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
      if (keys.size >= KEY_CACHE_MAX) keys.delete(keys.keys().next().value!);
      keys.set(jwk.x, k);
    }
    return k;
  };
  const deviceSigned = async (code: { signedText: string; sig: Buffer }, jwk: DeviceJwk): Promise<boolean> => {
    try {
      return await webcrypto.subtle.verify('Ed25519', await keyOf(jwk), code.sig, Buffer.from(code.signedText, 'ascii'));
    } catch {
      return false;
    }
  };

  return async function verify(
    text: string,
    revokedRiders: ReadonlySet<string> | readonly string[],
    nowMs: number,
    policy: CodePolicy,
  ): Promise<VerifyResult> {
    const code = parseCode(text);
    if (code.kind === 'bad') return { ok: false, error: 'invalid_credential', message: code.message };
    // Both signatures are checked at once on WebCrypto (off the main thread): the credential's
    // by jose, the device's against the key the credential claims. That claim counts only once
    // jose has verified the credential and its cnf names the same key.
    const claimed = code.kind === 'rotating' ? claimedDeviceKey(code.credential) : null;
    const [v, good] = await Promise.all([
      verifyCredential(code.credential, revokedRiders, nowMs),
      code.kind === 'rotating' && claimed ? deviceSigned(code, claimed) : Promise.resolve(false),
    ]);
    if (!v.ok) return v;
    if (code.kind === 'static') {
      if (v.cnf) return { ok: false, error: 'invalid_credential', message: 'this code belongs to a phone: show the changing code from your code page, not a copy of it' };
      if (policy.requireDeviceBound) return { ok: false, error: 'invalid_credential', message: 'this station takes only the changing code from the rider code page' };
      return v;
    }
    if (!v.cnf) return { ok: false, error: 'invalid_credential', message: 'the credential in this code is not bound to a device' };
    if (!good || claimed?.x !== v.cnf.x) return { ok: false, error: 'invalid_credential', message: 'the code was not signed by the device its credential names' };
    const own = rotatingStep(nowMs);
    if (code.step < own - STEPS_BEHIND || code.step > own + STEPS_AHEAD) {
      return { ok: false, error: 'stale_code', message: 'this code is out of date: show the code on your phone again (check its clock if this repeats)' };
    }
    return v;
  };
}
