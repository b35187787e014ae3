/**
 * The zone feed's long poll (SPEC §13): `poll` answers at once when the zone holds rows the
 * station lacks, else waits up to `waitMs` for the store's wake-up (an upload of another station
 * stored on any instance: in-process on SQLite, LISTEN/NOTIFY on PostgreSQL), looking at the
 * store again every `fallbackPollMs` in case a wake-up was lost. Bounded: entries per answer,
 * open polls per station (one more answers the oldest at once) and per process (past it, polls
 * do not wait). Rows older than `keepDays` service days are pruned hourly (`prune`).
 */
import { addDays, serviceDayOf, type Clock, type ZoneFeedEntry, type ZoneFeedResponse } from '../../protocol/index.ts';
import type { Logger } from 'pino';
import type { CloudConfig } from '../config.ts';
import { apiError } from '../errors.ts';
import type { CloudStore, StationRow, StoredFeedRow } from '../store/store.ts';
import { bootstrapCursor, liveCursor, parseCursor } from './cursor.ts';
import { feedEntryOf } from './feedEntries.ts';

/** Pages of only the asking station's own rows read in one answer before it answers anyway. */
const OWN_PAGES_PER_ANSWER = 20;
/** How often old feed rows are pruned, and how many one statement deletes. */
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_ROWS = 5000;
/** The zone furthest behind UTC: its service day is the earliest anywhere, so the cutoff holds for every station. */
const EARLIEST_ZONE = 'Etc/GMT+12';

/** Why a poll was answered (the metric's label). `closed`: the client went away or the cloud is stopping. */
/** `loaded`: a zone's load that found nothing to send (answered at once all the same). */
export type PollEnd = 'entries' | 'loaded' | 'timeout' | 'superseded' | 'closed';

/** One open poll, registered before the store is read (the "waitress": no wake-up is missed). */
class Waiter {
  private pending = false;
  private ended: PollEnd | null = null;
  private release: (() => void) | null = null;

  constructor(
    readonly stationId: string,
    readonly zone: string,
  ) {}

  /** Something may have changed: look again. */
  wake(): void {
    this.pending = true;
    this.release?.();
  }

  end(why: PollEnd): void {
    this.ended ??= why;
    this.release?.();
  }

  get endedBy(): PollEnd | null {
    return this.ended;
  }

  /** Clear the wake-up flag before reading the store. */
  arm(): void {
    this.pending = false;
  }

  /** Resolves on a wake-up, an end, or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.release = null;
        resolve();
      }
      this.release = done;
    });
  }
}

export interface ZoneFeedDeps {
  store: CloudStore;
  clock: Clock;
  config: CloudConfig['zoneFeed'];
  /** Told how each poll ended. */
  answered?: (why: PollEnd) => void;
  logger?: Logger;
}

export class ZoneFeed {
  private readonly byStation = new Map<string, Waiter[]>();
  private readonly byZone = new Map<string, Set<Waiter>>();
  private openCount = 0;
  private unsubscribe: (() => void) | null = null;
  private stopping = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<number> | null = null;

  constructor(private readonly deps: ZoneFeedDeps) {}

  start(): void {
    this.stopping = false;
    this.unsubscribe ??= this.deps.store.onZoneFeed((zone) => {
      for (const w of this.byZone.get(zone) ?? []) w.wake();
    });
    if (!this.pruneTimer) {
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.pruneTimer.unref();
      void this.prune();
    }
  }

  /**
   * Delete the feed rows of service days more than `keepDays` before today (in the zone furthest
   * behind UTC, so for every station), a bounded statement at a time; how many went. Such a row
   * can no longer decide anything at a station (its window ended, its claim's day is gone), and
   * a station loading the zone reads only open windows and the last two days' claims. Several
   * instances pruning at once delete each row once. Failures are logged, not thrown.
   */
  prune(): Promise<number> {
    this.pruning ??= (async () => {
      const before = addDays(serviceDayOf(this.deps.clock.now(), EARLIEST_ZONE), -this.deps.config.keepDays);
      let total = 0;
      try {
        for (;;) {
          const n = await this.deps.store.pruneZoneFeed(before, PRUNE_ROWS);
          total += n;
          if (n < PRUNE_ROWS || this.stopping) break;
        }
        if (total > 0) this.deps.logger?.info({ before, rows: total }, 'pruned old zone feed rows');
      } catch (e) {
        this.deps.logger?.error({ err: e, before }, 'pruning the zone feed failed; the next hour tries again');
      }
      return total;
    })().finally(() => {
      this.pruning = null;
    });
    return this.pruning;
  }

  /** Answer every open poll now (the cloud is stopping), stop listening, and let a prune under way finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const ws of this.byStation.values()) for (const w of ws) w.end('closed');
    await this.pruning;
  }

  /** Open long polls in this process. */
  get open(): number {
    return this.openCount;
  }

  /**
   * One answer of `GET /v1/stations/{id}/zone-feed`. `signal` aborts the wait when the client
   * goes away. Throws `bad_cursor` (400) and `zone_changed` (409).
   */
  async poll(station: Pick<StationRow, 'id' | 'zone' | 'timezone'>, after: string | undefined, waitMs: number, signal?: AbortSignal): Promise<ZoneFeedResponse> {
    const cur = parseCursor(after);
    if (cur === null) throw apiError('bad_cursor', 'after is not a cursor this cloud gave; send the cursor of the last answer as it is, or none to load the zone again');
    const zone = station.zone;
    if (cur.kind !== 'bootstrap_start' && cur.zone !== zone) {
      throw apiError('zone_changed', `station ${station.id} is now in zone ${zone}; drop the old zone's entries and load the zone again (after empty)`, { zone });
    }
    const max = this.deps.config.maxEntries;
    if (cur.kind === 'live') return this.live(station.id, zone, cur.zseq, waitMs, signal);
    // SPEC §13: a station joining a zone first learns its open windows and recent claims
    // (yesterday too: a day ends at different instants in different time zones).
    const today = serviceDayOf(this.deps.clock.now(), station.timezone);
    const page = await this.deps.store.zoneFeedBootstrap({
      zone,
      stationId: station.id,
      ...(cur.kind === 'bootstrap' ? { head: cur.head } : {}),
      afterZseq: cur.kind === 'bootstrap' ? cur.zseq : 0,
      windowsFrom: today,
      claimsFrom: addDays(today, -1),
      limit: max,
    });
    if (page.rows.length === max) return this.answer('entries', zone, bootstrapCursor(zone, page.head, page.rows.at(-1)!.zseq), page.rows);
    // The zone is loaded, even when there was nothing to load: answer at once, so a station
    // joining an empty zone knows it holds the zone now (its cursor goes live from the head
    // the bootstrap was taken at), instead of only when a wait of up to `waitMs` ends.
    return this.answer(page.rows.length > 0 ? 'entries' : 'loaded', zone, liveCursor(zone, page.head), page.rows);
  }

  private async live(stationId: string, zone: string, from: number, waitMs: number, signal?: AbortSignal): Promise<ZoneFeedResponse> {
    const max = this.deps.config.maxEntries;
    // Past the process bound a poll reads once and does not wait.
    const canWait = waitMs > 0 && !this.stopping && this.openCount < this.deps.config.maxPolls;
    const w = canWait ? this.register(stationId, zone) : null;
    const onAbort = () => w?.end('closed');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const deadline = performance.now() + waitMs;
      let zseq = from;
      let ownPages = 0;
      for (;;) {
        w?.arm();
        const rows = await this.deps.store.zoneFeedAfter(zone, zseq, max);
        if (rows.length > 0) zseq = rows.at(-1)!.zseq;
        // Rows of the station itself move the cursor on but are not sent back.
        const others = rows.filter((r) => r.stationId !== stationId);
        if (others.length > 0) return this.answer('entries', zone, liveCursor(zone, zseq), others);
        // A full page of its own rows (its backlog just synced): read on, a bounded number of
        // pages, then answer so the station stores the cursor.
        if (rows.length === max) {
          if (++ownPages < OWN_PAGES_PER_ANSWER) continue;
          return this.answer('entries', zone, liveCursor(zone, zseq), []);
        }
        const left = deadline - performance.now();
        if (!w || left <= 0) return this.answer('timeout', zone, liveCursor(zone, zseq), []);
        if (w.endedBy) return this.answer(w.endedBy, zone, liveCursor(zone, zseq), []);
        await w.wait(Math.min(left, this.deps.config.fallbackPollMs));
        if (w.endedBy) return this.answer(w.endedBy, zone, liveCursor(zone, zseq), []);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (w) this.unregister(w);
    }
  }

  private answer(why: PollEnd, zone: string, cursor: string, rows: readonly StoredFeedRow[]): ZoneFeedResponse {
    this.deps.answered?.(why);
    const entries: ZoneFeedEntry[] = rows.map(feedEntryOf);
    return { cursor, zone, entries };
  }

  private register(stationId: string, zone: string): Waiter {
    const w = new Waiter(stationId, zone);
    const list = this.byStation.get(stationId) ?? [];
    // One more than a station may hold open: its oldest poll answers at once (a station that
    // lost a connection and polls again is not left holding two slots).
    while (list.length >= this.deps.config.maxPollsPerStation) list.shift()!.end('superseded');
    list.push(w);
    this.byStation.set(stationId, list);
    let zs = this.byZone.get(zone);
    if (!zs) this.byZone.set(zone, (zs = new Set()));
    zs.add(w);
    this.openCount++;
    return w;
  }

  private unregister(w: Waiter): void {
    this.openCount--;
    const list = this.byStation.get(w.stationId);
    if (list) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byStation.delete(w.stationId);
    }
    const zs = this.byZone.get(w.zone);
    zs?.delete(w);
    if (zs?.size === 0) this.byZone.delete(w.zone);
  }
}
