/** Station rows of both backends (SPEC §12): one mapping from the shared column names. */
import type { StationInput, StationPatch, StationRow } from './store.ts';

type Row = Record<string, unknown>;

export function stationOf(r: Row): StationRow {
  return {
    id: r.id as string,
    tokenSha256: r.token_sha256 as string,
    timezone: r.timezone as string,
    zone: r.zone as string,
    enabled: r.enabled === true || r.enabled === 1,
    maintenanceTokens: JSON.parse(r.maintenance_tokens as string) as StationRow['maintenanceTokens'],
    devices: JSON.parse(r.devices as string) as StationRow['devices'],
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    configEtag: (r.config_etag as string | null) ?? null,
    configPulledAt: (r.config_pulled_at as number | null) ?? null,
    configApplied: (r.config_applied as string | null) ?? null,
  };
}

/** The station as it is after `patch` (an absent key keeps its value). */
export function patched(cur: StationRow, patch: StationPatch | StationInput, at: number): StationRow {
  return {
    ...cur,
    ...(patch.tokenSha256 !== undefined ? { tokenSha256: patch.tokenSha256 } : {}),
    ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
    ...(patch.zone !== undefined ? { zone: patch.zone } : {}),
    ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    ...(patch.maintenanceTokens !== undefined ? { maintenanceTokens: patch.maintenanceTokens } : {}),
    ...(patch.devices !== undefined ? { devices: patch.devices } : {}),
    ...(patch.configApplied !== undefined ? { configApplied: patch.configApplied } : {}),
    updatedAt: at,
  };
}

export function newStation(s: StationInput, at: number): StationRow {
  return {
    id: s.id,
    tokenSha256: s.tokenSha256,
    timezone: s.timezone,
    zone: s.zone,
    enabled: s.enabled ?? true,
    maintenanceTokens: s.maintenanceTokens ?? [],
    devices: s.devices ?? [],
    createdAt: at,
    updatedAt: at,
    configEtag: null,
    configPulledAt: null,
    configApplied: s.configApplied ?? null,
  };
}

/** Column values in the order of STATION_COLUMNS. */
export const STATION_COLUMNS = 'id, token_sha256, timezone, zone, enabled, maintenance_tokens, devices, created_at, updated_at, config_applied';
export function stationValues(s: StationRow, enabledAs: (b: boolean) => unknown): unknown[] {
  return [s.id, s.tokenSha256, s.timezone, s.zone, enabledAs(s.enabled), JSON.stringify(s.maintenanceTokens), JSON.stringify(s.devices), s.createdAt, s.updatedAt, s.configApplied];
}
