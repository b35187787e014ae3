/**
 * The station's metrics for `GET /metrics`; the Prometheus text registry itself is shared with
 * the cloud (`protocol/metrics-text.ts`).
 */
import { Counter, DEVICE_STATES, Gauge, Histogram, HTTP_DURATION_BUCKETS_S, MetricsRegistry } from '../protocol/index.ts';
import type { Ledger } from './ledger/ledger.ts';
import type { QuotaLedger } from './ledger/quota-ledger.ts';
import type { DeviceHealth } from './core/health.ts';

export interface StationMetricsSources {
  ledger: Ledger;
  quota: QuotaLedger;
  health: DeviceHealth;
  /** Seconds since start (monotonic). */
  uptimeS: () => number;
  /** Clock jumps seen since start (SPEC §6c). */
  clockJumps?: () => number;
  /** The zone feed's status (SPEC §13), when a cloud is configured. */
  zoneFeed?: () => { active: boolean; lagMs: number | null } | undefined;
}

/** The station's metrics: what the API counts as it answers, plus gauges read from the parts. */
export class StationMetrics {
  readonly registry = new MetricsRegistry();
  readonly claimOutcomes: Counter;
  readonly checkins: Counter;
  readonly refusals: Counter;
  readonly mqttRefusals: Counter;
  readonly events: Counter;
  readonly httpDuration: Histogram;
  readonly zoneFeedApplied: Counter;
  readonly zoneFeedErrors: Counter;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly src: StationMetricsSources) {
    const r = this.registry;
    this.claimOutcomes = r.add(new Counter('waystation_claim_requests_total', 'Claim requests answered, by outcome (committed or the refusal code).'));
    this.checkins = r.add(new Counter('waystation_checkins_total', 'Check-in requests answered, by result (opened, already_checked_in).'));
    this.refusals = r.add(new Counter('waystation_http_refusals_total', 'Requests refused, by error code.'));
    this.mqttRefusals = r.add(new Counter('waystation_mqtt_refusals_total', 'MQTT connections and requests refused, by kind (auth, publish, subscribe, will, connection, client_id_conflict).'));
    this.events = r.add(new Counter('waystation_events_total', 'Events written to the station log since start, by type.'));
    this.httpDuration = r.add(
      new Histogram('waystation_http_request_duration_seconds', 'HTTP request latency by method, route and status code.', HTTP_DURATION_BUCKETS_S),
    );
    this.zoneFeedApplied = r.add(new Counter('waystation_zone_feed_entries_applied_total', 'Zone-feed entries of other stations applied to the ledger (replays not counted; SPEC §13).'));
    this.zoneFeedErrors = r.add(new Counter('waystation_zone_feed_errors_total', 'Zone-feed requests that failed, by code (unreachable, bad_feed, http_… or the cloud’s error).'));
    r.add(
      new Gauge('waystation_zone_feed_lag_seconds', 'How far the station’s view of its zone trails the cloud (SPEC §13; absent in scope "station").', () => {
        const s = src.zoneFeed?.();
        return s?.active && s.lagMs !== null ? [{ value: s.lagMs / 1000 }] : [];
      }),
    );
    r.add(
      new Gauge(
        'waystation_events_refused_total',
        'Events not written because they would be larger than the cloud takes (16 KiB of JSON), by type; each change was rolled back.',
        () => src.ledger.refusedOversized().map(({ type, count }) => ({ labels: { type, reason: 'too_large' }, value: count })),
        'counter',
      ),
    );
    r.add(
      new Gauge('waystation_claims', 'Claims in the ledger by status (unknown ones await a late report or maintenance).', () =>
        Object.entries(src.quota.countByStatus()).map(([status, value]) => ({ labels: { status }, value })),
      ),
    );
    r.add(
      new Gauge('waystation_device_state', 'Device state (1 for the current state of each device).', () =>
        src.health.all().flatMap((d) =>
          DEVICE_STATES.map((state) => ({
            labels: { device: d.id, kind: d.kind, state },
            value: d.state === state ? 1 : 0,
          })),
        ),
      ),
    );
    r.add(
      new Gauge(
        'waystation_device_errors_total',
        'Device error counters (timeouts, bad checksums, malformed payloads …) since start.',
        () => src.health.all().flatMap((d) => Object.entries(d.counters).map(([counter, value]) => ({ labels: { device: d.id, kind: d.kind, counter }, value }))),
        'counter',
      ),
    );
    r.add(
      new Gauge('waystation_event_listener_errors_total', 'Ledger event listeners that threw since start (logged; the committed change stands).', () => [{ value: src.ledger.listenerErrors }], 'counter'),
    );
    r.add(new Gauge('waystation_sync_backlog_events', 'Events not yet acknowledged by the cloud.', () => [{ value: src.ledger.backlog() }]));
    r.add(new Gauge('waystation_ledger_head_seq', 'Sequence number of the newest event.', () => [{ value: src.ledger.head().seq }]));
    r.add(new Gauge('waystation_db_bytes', 'Size of the station database.', () => [{ value: src.ledger.sizeBytes() }]));
    r.add(new Gauge('waystation_uptime_seconds', 'Seconds since the daemon started.', () => [{ value: Math.round(src.uptimeS()) }]));
    r.add(new Gauge('waystation_clock_jumps_total', 'Wall-clock jumps detected since start (SPEC §6c).', () => [{ value: src.clockJumps?.() ?? 0 }], 'counter'));
    r.add(new Gauge('waystation_process_resident_bytes', 'Resident memory of the daemon.', () => [{ value: process.memoryUsage().rss }]));
  }

  start(): void {
    this.unsubscribe = this.src.ledger.onEvent((e) => this.events.inc({ type: e.type }));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  render(): string {
    return this.registry.render();
  }
}
