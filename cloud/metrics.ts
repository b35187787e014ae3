/**
 * The cloud's metrics for `GET /metrics` (Prometheus text, `protocol/metrics-text.ts`): what the
 * API counts as it answers — refusals by code, uploads by outcome, fresh events — plus gauges
 * read from the store at scrape time.
 *
 * The registry renders synchronously and the store is async, so `render()` reads the sync heads
 * and the provisioned stations first and the gauges read that snapshot; a store that cannot be
 * read shows as a comment in the exposition, not as a failed scrape. Stations come from the
 * store (SPEC §12, issue 14): one added with POST /v1/stations shows at the next scrape.
 */
import { Counter, Gauge, Histogram, HTTP_DURATION_BUCKETS_S, MetricsRegistry, type Clock } from '../protocol/index.ts';
import type { CloudStore, StationRow, SyncHeadRow } from './store/store.ts';

export type UploadOutcome = 'ok' | 'gap' | 'chain_broken' | 'busy' | 'token_replaced' | 'station_disabled';

export interface CloudMetricsSources {
  store: CloudStore;
  clock: Clock;
}

/** `stationIds`: the provisioned stations; one that has never synced shows synced seq 0. */
type HeadsSnapshot = { ok: true; heads: SyncHeadRow[]; stationIds: string[]; stations: StationRow[]; nowMs: number } | { ok: false; error: Error };

export class CloudMetrics {
  readonly registry = new MetricsRegistry();
  readonly refusals: Counter;
  readonly uploads: Counter;
  readonly eventsIngested: Counter;
  readonly httpDuration: Histogram;
  /** SPEC §13: zone conflicts found at ingest; zone-feed polls answered, by why. */
  readonly conflictsFound: Counter;
  readonly zoneFeedAnswers: Counter;
  /** Open zone-feed polls of this process (set by the feed once built). */
  zoneFeedOpen: () => number = () => 0;
  private snapshot: HeadsSnapshot = { ok: false, error: new Error('not read yet') };

  constructor(private readonly src: CloudMetricsSources) {
    const r = this.registry;
    this.refusals = r.add(new Counter('waystation_cloud_http_refusals_total', 'Answers >= 400, by error code.'));
    this.uploads = r.add(new Counter('waystation_cloud_uploads_total', 'Sync uploads by station and outcome (ok, gap, chain_broken).'));
    this.eventsIngested = r.add(new Counter('waystation_cloud_events_ingested_total', 'Fresh events stored from sync uploads (replays not counted), by station.'));
    this.httpDuration = r.add(
      new Histogram('waystation_cloud_http_request_duration_seconds', 'HTTP request latency by method, route and status code.', HTTP_DURATION_BUCKETS_S),
    );
    r.add(
      new Gauge('waystation_cloud_station_synced_seq', 'Highest contiguous seq held per station (its ackedSeq).', () => {
        const { heads, stationIds } = this.heads();
        const seqs = new Map<string, number>(stationIds.map((id) => [id, 0]));
        for (const h of heads) seqs.set(h.stationId, h.seq);
        return [...seqs].map(([station, value]) => ({ labels: { station }, value }));
      }),
    );
    r.add(
      new Gauge('waystation_cloud_station_sync_age_seconds', 'Seconds since the ts of the newest synced event, per station that has synced.', () => {
        const { heads, nowMs } = this.heads();
        return heads.map((h) => ({ labels: { station: h.stationId }, value: Math.round((nowMs - h.ts) / 1000) }));
      }),
    );
    r.add(
      new Gauge('waystation_cloud_station_info', 'One per provisioned station (value 1), with its zone, time zone and whether it is enabled.', () =>
        this.heads().stations.map((s) => ({ labels: { station: s.id, zone: s.zone, timezone: s.timezone, enabled: String(s.enabled) }, value: 1 })),
      ),
    );
    this.conflictsFound = r.add(new Counter('waystation_cloud_zone_conflicts_found_total', 'Zone conflicts found at ingest (one rider granted claims at two stations of a zone on one day).'));
    this.zoneFeedAnswers = r.add(
      new Counter('waystation_cloud_zone_feed_polls_answered_total', 'Zone-feed polls answered, by reason (entries, loaded, timeout, superseded, closed).'),
    );
    r.add(new Gauge('waystation_cloud_zone_feed_polls_open', 'Zone-feed long polls open in this process.', () => [{ value: this.zoneFeedOpen() }]));
    r.add(new Gauge('waystation_cloud_process_resident_bytes', 'Resident memory of the cloud process.', () => [{ value: process.memoryUsage().rss }]));
  }

  /** Count one upload's outcome; `applied` is the number of fresh events it stored. */
  upload(station: string, outcome: UploadOutcome, applied = 0): void {
    this.uploads.inc({ station, outcome });
    if (outcome === 'ok') this.eventsIngested.inc({ station }, applied);
  }

  /** The whole exposition, with the store read now. */
  async render(): Promise<string> {
    try {
      const [heads, stations] = await Promise.all([this.src.store.syncHeads(), this.src.store.stations()]);
      this.snapshot = { ok: true, heads, stationIds: stations.map((s) => s.id), stations, nowMs: this.src.clock.now() };
    } catch (e) {
      this.snapshot = { ok: false, error: e as Error };
    }
    // No await between taking the snapshot and rendering it: concurrent scrapes cannot mix.
    return this.registry.render();
  }

  private heads(): { heads: SyncHeadRow[]; stationIds: string[]; stations: StationRow[]; nowMs: number } {
    if (!this.snapshot.ok) throw new Error(`sync heads: ${this.snapshot.error.message}`);
    return this.snapshot;
  }
}
