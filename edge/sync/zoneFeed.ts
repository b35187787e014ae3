/**
 * The zone feed client (SPEC §13): while the cloud's policy says scope "zone", long-poll
 * `GET {cloud}/v1/stations/{id}/zone-feed?after=<cursor>&waitMs=<n>` and apply each answer to
 * the ledger's remote facts (edge/ledger/zone-facts.ts) in one transaction with its cursor.
 * With no cursor, or once the station's zone changed, the request has no `after`: the cloud
 * answers what a station needs to decide from then on (the zone's open windows and recent
 * claims) and the head cursor. Failures back off with jitter (backoff.ts); stop() ends the poll
 * in flight. Decisions never wait for this (SPEC §13 "decisions stay local").
 */
import type { Logger } from 'pino';
import { MAX_ZONE_FEED_WAIT_MS, ZoneFact, ZoneFeedAnswer, validator, type Clock, type QuotaScope } from '../../protocol/index.ts';
import type { ApplyResult, FeedState } from '../ledger/zone-facts.ts';
import { backoffDelayMs, Waiter } from './backoff.ts';
import { fetchWithTimeout, joinUrl, type CloudLink, type SyncError } from './syncLedger.ts';

const checkAnswer = validator(ZoneFeedAnswer);
const checkFact = validator(ZoneFact);
/** An answer this long probably stopped at the cloud's cap (more is waiting). */
const FULL_ANSWER = 100;

/** What the feed client needs of the ledger's remote facts (ZoneFacts implements it). */
export interface ZoneFeedStore {
  state(): FeedState | null;
  useZone(zone: string): boolean;
  resetCursor(): void;
  apply(zone: string, cursor: string, entries: readonly ZoneFact[]): ApplyResult | 'zone_changed';
}

/** The part of the cloud's config the feed follows: the station's zone and the policy's scope. */
export interface ZoneSetting {
  zone: string | undefined;
  scope: QuotaScope;
}

export interface ZoneFeedOptions extends CloudLink {
  store: ZoneFeedStore;
  clock: Clock;
  logger: Logger;
  /** The current zone and scope (from the config pull); read before every request. */
  setting: () => ZoneSetting | undefined;
  /** How long the cloud may hold a poll (0–25000 ms, SPEC §13). */
  waitMs?: number;
  /** On top of waitMs, how long to wait for the answer before calling the cloud unreachable. */
  requestTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** With scope "station" or no zone, look at the setting again after this long (a config change also wakes it). */
  idleCheckMs?: number;
  random?: () => number;
  fetch?: typeof fetch;
  /** Metrics hooks (edge/metrics.ts). */
  onApplied?: (r: ApplyResult) => void;
  onError?: (code: string) => void;
  /** The cloud has this station in another zone than its config says: pull the config now. */
  onZoneMoved?: () => void;
  /** Entries skipped because they do not match ZoneFact (counted, logged, never stored). */
  onInvalid?: (n: number) => void;
}

export interface ZoneFeedStatus {
  running: boolean;
  /** True while the policy is zone-scoped and the station has a zone. */
  active: boolean;
  zone: string | null;
  cursor: string | null;
  /**
   * How far the station's view of the zone trails the cloud: while the feed answers, the
   * propagation delay of the newest entry of the last answer that carried any (0 once an answer
   * came back empty: caught up); while it fails, ms since the last successful answer. Null before
   * the first answer.
   */
  lagMs: number | null;
  lastOkAt: number | null;
  lastError: SyncError | null;
  consecutiveFailures: number;
  entriesApplied: number;
}

export class ZoneFeedClient {
  private readonly o: Required<Omit<ZoneFeedOptions, 'random' | 'fetch' | 'onApplied' | 'onError' | 'onInvalid' | 'onZoneMoved'>> &
    Pick<ZoneFeedOptions, 'onApplied' | 'onError' | 'onInvalid' | 'onZoneMoved'> & { random: () => number; fetch: typeof fetch };
  private readonly waiter = new Waiter();
  private abort = new AbortController();
  private poll: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private running = false;
  private failures = 0;
  private lastError: SyncError | null = null;
  private lastOkAt: number | null = null;
  private lastPropagationMs: number | null = null;
  private applied = 0;
  private active = false;
  private behind = false;

  constructor(opts: ZoneFeedOptions) {
    this.o = {
      waitMs: 20_000,
      requestTimeoutMs: 10_000,
      initialBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      idleCheckMs: 60_000,
      random: Math.random,
      fetch: globalThis.fetch.bind(globalThis),
      ...opts,
    };
    if (!Number.isInteger(this.o.waitMs) || this.o.waitMs < 0 || this.o.waitMs > MAX_ZONE_FEED_WAIT_MS) {
      throw new RangeError(`waitMs must be an integer 0–${MAX_ZONE_FEED_WAIT_MS}`);
    }
    this.lastOkAt = this.o.store.state()?.lastOkAt ?? null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort(new Error('zone feed stopped'));
    this.waiter.wake();
    await this.loop;
    this.loop = null;
  }

  /**
   * The cloud's config changed: look at the zone and scope now. A poll in flight for a zone the
   * station has left, or in a scope that no longer needs it, is cut short.
   */
  settingChanged(): void {
    const s = this.o.setting();
    const st = this.o.store.state();
    const wanted = s?.scope === 'zone' && s.zone ? s.zone : null;
    if (this.poll && (wanted === null || wanted !== st?.zone)) this.poll.abort(new Error('zone setting changed'));
    // The old zone's facts must not decide a moment longer: drop them now, bootstrap next.
    if (wanted !== null) this.follow(wanted);
    this.waiter.wake();
  }

  private follow(zone: string): void {
    if (!this.o.store.useZone(zone)) return;
    this.lastOkAt = null;
    this.lastPropagationMs = null;
    this.behind = false;
    this.o.logger.info({ zone }, 'station is in zone; loading the zone’s open windows and recent claims');
  }

  /** Ms since the last successful answer; undefined before the first or when the feed is not in use. */
  ageMs(): number | undefined {
    if (!this.active || this.lastOkAt === null) return undefined;
    return Math.max(0, this.o.clock.now() - this.lastOkAt);
  }

  status(): ZoneFeedStatus {
    const st = this.o.store.state();
    const failing = this.failures > 0 && this.lastOkAt !== null;
    return {
      running: this.running,
      active: this.active,
      zone: st?.zone ?? null,
      cursor: st?.cursor ?? null,
      lagMs: this.lastOkAt === null ? null : failing ? Math.max(0, this.o.clock.now() - this.lastOkAt) : (this.lastPropagationMs ?? 0),
      lastOkAt: this.lastOkAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      entriesApplied: this.applied,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const s = this.o.setting();
      if (s?.scope !== 'zone' || !s.zone) {
        this.active = false;
        await this.waiter.sleep(this.o.idleCheckMs);
        continue;
      }
      this.active = true;
      this.follow(s.zone);
      const ok = await this.pollOnce(s.zone);
      if (!this.running) break;
      if (!ok) await this.waiter.sleep(backoffDelayMs(this.failures, this.o, this.o.random));
    }
    this.active = false;
  }

  /** One request and, on success, its answer applied. Public so tests can step it. */
  async pollOnce(zone: string): Promise<boolean> {
    const cursor = this.o.store.state()?.cursor ?? null;
    // Only an answer to a poll that was already caught up measures propagation: a bootstrap or a
    // catch-up after an outage carries old entries that say nothing about the delay.
    const caughtUp = cursor !== null && this.failures === 0 && this.lastOkAt !== null && !this.behind;
    // A bootstrap is asked not to wait: the station then knows at once that it holds the zone.
    const q = new URLSearchParams({ waitMs: String(cursor === null ? 0 : this.o.waitMs) });
    if (cursor !== null) q.set('after', cursor);
    const url = joinUrl(this.o.cloudUrl, `/v1/stations/${encodeURIComponent(this.o.stationId)}/zone-feed?${q.toString()}`);
    const poll = new AbortController();
    this.poll = poll;
    const onStop = () => poll.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let res: Response;
    let body: unknown;
    try {
      res = await fetchWithTimeout(
        this.o.fetch,
        url,
        { headers: { authorization: `Bearer ${this.o.token}` } },
        this.o.waitMs + this.o.requestTimeoutMs,
        poll.signal,
      );
      body = await res.json().catch(() => null);
    } catch (e) {
      if (!this.running) return true;
      if (poll.signal.aborted) return true; // the setting changed: the loop looks at it again
      return this.fail('unreachable', `cloud unreachable: ${(e as Error).message}`);
    } finally {
      this.abort.signal.removeEventListener('abort', onStop);
      if (this.poll === poll) this.poll = null;
    }
    const code = (body as { error?: unknown } | null)?.error;
    if ((res.status === 409 && code === 'zone_changed') || (res.status === 400 && code === 'bad_cursor' && cursor !== null)) {
      // The cursor is of a zone the cloud no longer has this station in (or one it cannot read):
      // drop the facts it brought and start over with a bootstrap.
      this.o.logger.info({ zone, code }, 'the cloud refused the stored zone-feed cursor; loading the zone afresh');
      this.o.store.resetCursor();
      this.lastOkAt = null;
      this.behind = false;
      if (code === 'zone_changed') this.o.onZoneMoved?.();
      return true;
    }
    if (res.status !== 200) {
      const b = body as { error?: unknown; message?: unknown } | null;
      return this.fail(typeof b?.error === 'string' ? b.error : `http_${res.status}`, typeof b?.message === 'string' ? b.message : `cloud answered ${res.status}`);
    }
    if (!checkAnswer.check(body)) {
      return this.fail('bad_feed', `the cloud sent a zone feed answer that does not match the schema: ${checkAnswer.errors(body).slice(0, 3).join('; ')}`);
    }
    const answeredZone = (body as { zone?: unknown }).zone;
    if (typeof answeredZone === 'string' && answeredZone !== zone) {
      // The cloud moved the station before its config said so: nothing of that zone is applied
      // under this one; the config pull brings the new zone and the feed follows it.
      this.o.onZoneMoved?.();
      return this.fail('zone_changed', `the cloud answered for zone ${answeredZone}, the station's config says ${zone}`);
    }
    const facts: ZoneFact[] = [];
    let invalid = 0;
    for (const e of body.entries) {
      if (checkFact.check(e)) facts.push(e);
      else invalid++;
    }
    if (invalid > 0) {
      this.o.onInvalid?.(invalid);
      this.o.logger.warn({ invalid, example: checkFact.errors(body.entries.find((e) => !checkFact.check(e))).slice(0, 3) }, 'zone feed entries the station cannot read were skipped');
    }
    const r = this.o.store.apply(zone, body.cursor, facts);
    if (r === 'zone_changed') return true; // the zone moved while the poll was out: its answer is not ours
    const now = this.o.clock.now();
    this.lastOkAt = now;
    this.failures = 0;
    this.lastError = null;
    const newest = facts.reduce((m, e) => Math.max(m, e.ts), -Infinity);
    this.lastPropagationMs = facts.length === 0 || !caughtUp ? 0 : Math.max(0, now - newest);
    // A full answer means more is waiting: the next one is a catch-up too.
    this.behind = body.entries.length >= FULL_ANSWER;
    this.applied += r.applied;
    this.o.onApplied?.(r);
    if (r.applied > 0) this.o.logger.debug({ applied: r.applied, replayed: r.replayed, cursor: body.cursor }, 'zone feed applied');
    return true;
  }

  private fail(code: string, message: string): false {
    this.failures++;
    this.lastError = { code, message, at: this.o.clock.now() };
    this.o.onError?.(code);
    const level = this.failures === 1 || this.failures % 20 === 0 ? 'warn' : 'debug';
    this.o.logger[level]({ code, failures: this.failures }, `zone feed failed: ${message}`);
    return false;
  }
}
