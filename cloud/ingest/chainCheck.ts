/**
 * A faster check of the SPEC §9 hash chain for the ingest hot path. Same rule as protocol's
 * verifyChain — sha256(prevHash ‖ RFC 8785 canonical JSON of the event without `hash`) — with
 * three shortcuts: a one-shot `crypto.hash` over the concatenation (equal to two updates), a
 * canonical serialiser specialised to parsed JSON (no toJSON, no symbols), which is what an
 * upload body is, and plain JSON.stringify for data whose keys are already in canonical order. A property test (test/cloud/chainCheck.test.ts) holds it equal to protocol's.
 */
import * as crypto from 'node:crypto';
import type { ChainCheck, StationEvent } from '../../protocol/index';

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

const sha256Hex: (s: string) => string = oneShot
  ? (s) => oneShot('sha256', s, 'hex')
  : (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * True when every object in `v` already lists its keys in canonical order (UTF-16 code units,
 * what `<` and the default sort compare) — then JSON.stringify writes the RFC 8785 form, since
 * its number and string forms are the ones RFC 8785 prescribes. The edge stores event data in
 * canonical order, so its uploads take this path; anything else takes the sorting one.
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

/** RFC 8785 for values parsed from JSON: keys sorted by UTF-16 code units, ES number and string forms. */
export function canonicalJsonOfParsed(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  return inCanonicalOrder(v) ? JSON.stringify(v) : sortedJson(v);
}

function sortedJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + (v[i] === undefined ? 'null' : sortedJson(v[i]));
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${sortedJson(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** Top-level keys in canonical order: data, day, seq, ts, type. */
function eventHash(prevHash: string, e: StationEvent, data: string): string {
  const canon = `{"data":${data},"day":${JSON.stringify(e.day)},"seq":${canonicalJsonOfParsed(e.seq)},"ts":${canonicalJsonOfParsed(e.ts)},"type":${JSON.stringify(e.type)}}`;
  return sha256Hex(prevHash + canon);
}

/**
 * Check the chain; with `dataJson`, also hand back each event's canonical `data` JSON (the
 * store keeps that string, so ingest serialises every event once).
 */
export function verifyChainFast(events: readonly StationEvent[], prevSeq: number, prevHash: string, dataJson?: string[]): ChainCheck {
  let seq = prevSeq;
  let hash = prevHash;
  for (const e of events) {
    if (e.seq !== seq + 1) return { ok: false, seq: e.seq, reason: 'seq_not_contiguous' };
    const data = canonicalJsonOfParsed(e.data);
    dataJson?.push(data);
    if (eventHash(hash, e, data) !== e.hash) return { ok: false, seq: e.seq, reason: 'hash_mismatch' };
    seq = e.seq;
    hash = e.hash;
  }
  return { ok: true, lastHash: hash, lastSeq: seq };
}
