/**
 * Canonical JSON (RFC 8785, JCS) and the event hash chain (SPEC §9).
 */
import { createHash } from 'node:crypto';
import canonicalizeImpl from 'canonicalize';

const canonicalizeFn = canonicalizeImpl as unknown as (v: unknown) => string | undefined;

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  const s = canonicalizeFn(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalized');
  return s;
}

/** sha256(prevHash ‖ canonical JSON of the event without `hash`), lowercase hex. */
export function chainHash(prevHash: string, eventWithoutHash: object): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(eventWithoutHash), 'utf8').digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
