/**
 * The document a station pulls from `GET /v1/stations/{id}/config` (SPEC §9), and its ETag.
 */
import { canonicalJson, sha256Hex, type StationConfigDoc } from '../protocol/index.ts';
import { maxCredentialDays, quotaPolicyOf, type CloudConfig } from './config.ts';
import type { RiderRegistry } from './riders/riderRegistry.ts';
import type { CloudStore, StationRow } from './store/store.ts';

export async function stationConfigDoc(
  station: Pick<StationRow, 'id' | 'zone' | 'maintenanceTokens' | 'devices'>,
  config: CloudConfig,
  store: CloudStore,
  riders: RiderRegistry,
  nowMs: number,
): Promise<StationConfigDoc> {
  return {
    stationId: station.id,
    // SPEC §13: the station's zone and the policy that holds there (its scope included).
    zone: station.zone,
    jwks: (await riders.jwks(nowMs)) as StationConfigDoc['jwks'],
    revokedRiders: await store.revokedRiders(nowMs),
    quota: quotaPolicyOf(config.quota, station.zone),
    credentials: { requireDeviceBound: config.credentials.requireDeviceBound, maxLifetimeDays: maxCredentialDays(config.credentials) },
    maintenanceTokens: station.maintenanceTokens.map((t) => ({ name: t.name, sha256: t.sha256 })),
    devices: station.devices.map((d) => ({ id: d.id, kind: d.kind })),
  };
}

/** A strong ETag over the canonical JSON, so equal documents always get equal tags. */
export function etagOf(doc: unknown): string {
  return `"${sha256Hex(canonicalJson(doc)).slice(0, 32)}"`;
}

/** RFC 9110 If-None-Match: `*` or a list of (possibly weak) tags. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
