/**
 * Canonical JSON (RFC 8785, JCS) and the event hash chain (SPEC §9). `canonicalJson` is the
 * `canonicalize` library (any value); `canonicalJsonOfParsed` is a faster serialiser for values
 * that came out of JSON.parse, which is what a stored or uploaded event is (the chain check's
 * hot path). A property test (test/protocol/canonical-parsed.test.ts) holds the two equal.
 */
import * as crypto from 'node:crypto';
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

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

export const sha256Hex: (text: string) => string = oneShot
  ? (text) => oneShot('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * True when every object in `v` already lists its keys in canonical order (UTF-16 code units,
 * what `<` and the default sort compare) — then JSON.stringify writes the RFC 8785 form, since
 * its number and string forms are the ones RFC 8785 prescribes. The edge stores event data in
 * canonical order, so its uploads take this path.
 */
function inCanonicalOrder(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return v !== undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!inCanonicalOrder(v[i])) return false;
    return true;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!inCanonicalOrder(o[keys[i]!])) return false;
  }
  return true;
}

function sortedJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + (v[i] === undefined ? 'null' : sortedJson(v[i]));
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${sortedJson(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** RFC 8785 for values parsed from JSON (no toJSON, no symbols): keys sorted by UTF-16 code units. */
export function canonicalJsonOfParsed(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  return inCanonicalOrder(v) ? JSON.stringify(v) : sortedJson(v);
}
