/** Test helpers for the cloud: configs, tokens and hash-chained event logs. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { GENESIS_HASH, sealEvent, serviceDayOf, sha256Hex, type StationEvent } from '../../protocol/index.ts';
import { parseCloudConfig, type CloudConfig } from '../../cloud/config.ts';

export const silent = pino({ level: 'silent' });

export const TOKENS = {
  'dn-001': 'station-token-dn-001',
  'dn-002': 'station-token-dn-002',
  'jd-003': 'station-token-jd-003',
  admin: 'admin-token-street-office',
} as const;

export function tempDir(prefix = 'wc-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(dataDir = tempDir(), overrides: Record<string, unknown> = {}): CloudConfig {
  return parseCloudConfig({
    http: { host: '127.0.0.1', port: 0 },
    dataDir,
    stations: [
      { id: 'dn-001', tokenSha256: sha256Hex(TOKENS['dn-001']), zone: 'daning', maintenanceTokens: [{ name: 'ops-wang', sha256: sha256Hex('mt') }], devices: [{ id: 'disp-1', kind: 'dispenser' }] },
      { id: 'dn-002', tokenSha256: sha256Hex(TOKENS['dn-002']), zone: 'daning' },
      { id: 'jd-003', tokenSha256: sha256Hex(TOKENS['jd-003']), zone: 'jingan' },
    ],
    adminTokens: [{ name: 'street-office', sha256: sha256Hex(TOKENS.admin) }],
    logLevel: 'silent',
    ...overrides,
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface EventSpec {
  type: string;
  ts: number;
  data: Record<string, unknown>;
  day?: string;
}

/** A hash-chained log continuing from (`prevSeq`, `prevHash`). */
export function chain(specs: readonly EventSpec[], prevSeq = 0, prevHash = GENESIS_HASH, timezone = 'Asia/Shanghai'): StationEvent[] {
  const out: StationEvent[] = [];
  let seq = prevSeq;
  let hash = prevHash;
  for (const s of specs) {
    const e = sealEvent(hash, { seq: ++seq, type: s.type, ts: s.ts, day: s.day ?? serviceDayOf(s.ts, timezone), data: s.data });
    out.push(e);
    hash = e.hash;
  }
  return out;
}

/** Shanghai local noon of a service day, in ms. */
export function noonOf(day: string): number {
  return Date.parse(`${day}T12:00:00+08:00`);
}
