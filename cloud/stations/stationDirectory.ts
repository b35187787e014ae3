/**
 * The provisioned stations' zones and time zones as the alerts and notifications read them
 * (SPEC §12, §15; issue 14): from the store, not the config file, so a station added with
 * POST /v1/stations, or moved to another zone, is alerted and routed without a restart, on
 * every instance. Message formatting is synchronous, so this holds the last reading; callers
 * `refresh()` before they format: a station it does not know yet, or a reading older than
 * `maxAgeMs`, reads the store again (one query for the whole fleet).
 */
import { DEFAULT_TIMEZONE, type Clock } from '../../protocol/index.ts';
import type { StationInfo } from '../notify/message.ts';
import type { CloudStore } from '../store/store.ts';

/** How long a reading serves before the store is read again. */
export const STATION_DIRECTORY_MAX_AGE_MS = 5_000;

export class StationDirectory {
  private byId = new Map<string, StationInfo>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly store: CloudStore,
    private readonly clock: Clock,
    private readonly maxAgeMs = STATION_DIRECTORY_MAX_AGE_MS,
  ) {}

  /** Read the store again if forced, if the reading is old, or if one of `ids` is not in it. */
  async refresh(ids: readonly string[] = [], force = false): Promise<void> {
    const stale = this.clock.monotonic() - this.readAt > this.maxAgeMs;
    if (!force && !stale && ids.every((id) => this.byId.has(id))) return;
    // Concurrent callers share one read.
    this.reading ??= this.store
      .stations()
      .then((rows) => {
        this.byId = new Map(rows.map((s) => [s.id, { timezone: s.timezone, zone: s.zone }]));
        this.readAt = this.clock.monotonic();
      })
      .finally(() => {
        this.reading = null;
      });
    await this.reading;
  }

  /** Ids of the provisioned stations, as last read. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** A station's zone and time zone; one the store does not hold gets the defaults. */
  info(id: string): StationInfo {
    return this.byId.get(id) ?? { timezone: DEFAULT_TIMEZONE, zone: 'default' };
  }
}
