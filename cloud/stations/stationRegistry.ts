/**
 * Stations provisioned at run time (SPEC §12). Records and token hashes live in the store, so
 * every instance sees a new station, a new token or a disabled station on its next request;
 * the token itself appears once, in the answer that made it. `stations[]` of the config file is
 * applied at start (created or updated), so small deployments keep working as before.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { canonicalJson, sha256Hex, type Clock } from '../../protocol/index.ts';
import type { StationConfig } from '../config.ts';
import { apiError } from '../errors.ts';
import { rollupEffectsOf } from '../ingest/rollupEffects.ts';
import type { CloudStore, StationPatch, StationRow, SyncHeadRow } from '../store/store.ts';

export interface StationView {
  id: string;
  timezone: string;
  zone: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Sync state: the highest contiguous seq held, the `ts` it covers, the last upload. */
  sync: { ackedSeq: number; completeThrough: number | null; lastUploadAt: number | null };
  config: { etag: string | null; pulledAt: number | null };
}

export const viewOf = (s: StationRow, head: SyncHeadRow | null | undefined): StationView => ({
  id: s.id,
  timezone: s.timezone,
  zone: s.zone,
  enabled: s.enabled,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
  sync: { ackedSeq: head?.seq ?? 0, completeThrough: head?.ts ?? null, lastUploadAt: head?.updatedAt ?? null },
  config: { etag: s.configEtag, pulledAt: s.configPulledAt },
});

/** A station token: 192 random bits, URL-safe. */
export const newStationToken = (): string => `wst_${randomBytes(24).toString('base64url')}`;

export class StationRegistry {
  constructor(
    private readonly store: CloudStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** The quota scope of a zone (SPEC §13), for the conflicts a re-admit recomputes. */
    private readonly zoneScope?: (zone: string) => 'station' | 'zone',
  ) {}

  /**
   * Create or update the config file's stations (at start; idempotent across instances). Only
   * what the file changed since it was last applied is written: a token replaced or a zone
   * changed through the API stays so across restarts until the file itself changes that key.
   */
  async applyConfig(stations: readonly StationConfig[]): Promise<void> {
    for (const s of stations) {
      const entry = { tokenSha256: s.tokenSha256, timezone: s.timezone, zone: s.zone, maintenanceTokens: s.maintenanceTokens, devices: s.devices };
      const applied = canonicalJson(entry);
      let cur = await this.store.station(s.id);
      if (!cur) {
        if (await this.store.createStation({ id: s.id, ...entry, configApplied: applied }, this.clock.now())) continue;
        cur = await this.store.station(s.id); // another instance created it just now
        if (!cur) continue;
      }
      if (cur.configApplied === applied) continue;
      const last = cur.configApplied ? (JSON.parse(cur.configApplied) as Record<string, unknown>) : null;
      const patch: Record<string, unknown> = { configApplied: applied };
      for (const [k, v] of Object.entries(entry)) if (!last || canonicalJson(last[k] ?? null) !== canonicalJson(v)) patch[k] = v;
      await this.store.updateStation(s.id, patch as StationPatch, this.clock.now());
    }
  }

  async provision(p: { id: string; timezone: string; zone: string }, by: string): Promise<{ station: StationRow; token: string }> {
    const token = newStationToken();
    const station = await this.store.createStation({ ...p, tokenSha256: sha256Hex(token) }, this.clock.now());
    if (!station) throw apiError('station_exists', `a station ${p.id} exists already; give another id, or POST /v1/stations/${p.id}/token for a new token`);
    this.logger.info({ stationId: p.id, by }, 'station provisioned');
    return { station, token };
  }

  /** A new token; the old one stops at once, on every instance (they all read the store). */
  async rotateToken(id: string, by: string): Promise<string> {
    const token = newStationToken();
    const s = await this.store.updateStation(id, { tokenSha256: sha256Hex(token) }, this.clock.now());
    if (!s) throw apiError('unknown_station', `no station ${id}`);
    this.logger.info({ stationId: id, by }, 'station token replaced');
    return token;
  }

  /**
   * Re-admit a station's real log after a stolen token (issue 11; docs/security.md): a new token
   * first (the impostor's stops at once, on every instance), then the events from `fromSeq` on
   * are dropped and the station's rollups rebuilt from the events that stay, so its next upload
   * from `fromSeq` is accepted. The station's firing chain alerts are acknowledged by `by`. Audited.
   */
  async readmit(id: string, fromSeq: number, by: string): Promise<{ token: string; dropped: number; ackedSeq: number }> {
    const station = await this.store.station(id);
    if (!station) throw apiError('unknown_station', `no station ${id}`);
    const head = await this.store.syncHead(id);
    const headSeq = head?.seq ?? 0;
    const beyond = () =>
      apiError(
        'nothing_to_drop',
        headSeq === 0
          ? `the cloud holds no event of ${id}; there is nothing to drop`
          : `the cloud holds ${id} up to seq ${headSeq}; give fromSeq (--from-seq) from 1 to ${headSeq}: the first seq of the events to drop`,
        { ackedSeq: headSeq },
      );
    if (fromSeq > headSeq) throw beyond();
    const token = await this.rotateToken(id, by);
    const r = await this.store.dropEventsFrom({
      stationId: id,
      fromSeq,
      effectsOf: rollupEffectsOf,
      at: this.clock.now(),
      ...(this.zoneScope ? { zoneScope: this.zoneScope } : {}),
    });
    if (!r.ok) {
      // Another re-admit moved the head back meanwhile: nothing left to drop, but the new token
      // is in force and is only ever shown here, so it is answered, not lost in an error.
      this.logger.info({ audit: 'station.readmit', stationId: id, by, fromSeq, dropped: 0, ackedSeq: r.seq }, 'station log re-admitted: nothing left to drop, token replaced');
      return { token, dropped: 0, ackedSeq: r.seq };
    }
    const now = this.clock.now();
    for (const a of await this.store.listAlerts('firing', 10_000)) {
      if (a.stationId === id && a.kind === 'chain_broken') await this.store.acknowledgeAlert(a.id, by, now);
    }
    // The audit line: who, which station, from where, how much went.
    this.logger.info({ audit: 'station.readmit', stationId: id, by, fromSeq, dropped: r.dropped, ackedSeq: r.head.seq }, 'station log re-admitted: events dropped, rollups rebuilt, token replaced');
    return { token, dropped: r.dropped, ackedSeq: r.head.seq };
  }

  async update(id: string, patch: { zone?: string; timezone?: string; enabled?: boolean }, by: string): Promise<StationRow> {
    const s = await this.store.updateStation(id, patch, this.clock.now());
    if (!s) throw apiError('unknown_station', `no station ${id}`);
    this.logger.info({ stationId: id, by, patch }, 'station changed');
    return s;
  }

  async list(): Promise<StationView[]> {
    const [stations, heads] = await Promise.all([this.store.stations(), this.store.syncHeads()]);
    const byId = new Map(heads.map((h) => [h.stationId, h]));
    return stations.map((s) => viewOf(s, byId.get(s.id)));
  }

  async get(id: string): Promise<StationView> {
    const s = await this.store.station(id);
    if (!s) throw apiError('unknown_station', `no station ${id}`);
    return viewOf(s, await this.store.syncHead(id));
  }
}
