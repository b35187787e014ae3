/**
 * Sync ingest (SPEC §9): plan the batch against the stored head (pure), then store events and
 * rollups in one transaction. Uploads of one station are serialised in this process; across
 * processes (SPEC §12, N instances on one PostgreSQL) the store serialises each station's
 * appends and refuses one whose head moved, and the batch is planned again against the new
 * head — where its events are now replays, or continue the chain, or leave a gap.
 *
 * The common upload continues the stored head: it is stored without reading the head first
 * (`appendNext`, one round trip on PostgreSQL), and planned against the head only when the store
 * says it does not continue it (a replay, a gap, a broken chain, another writer first).
 */
import type { Logger } from 'pino';
import { GENESIS_HASH, type Clock, type StationEvent } from '../../protocol/index.ts';
import type { AlertInput, AppendResult, CloudStore } from '../store/store.ts';
import { planBatch, planNext, replayRange, type ChainBreak, type SyncHead } from './planBatch.ts';
import { rollupEffectsOf } from './rollupEffects.ts';
import { feedRowOf, type FeedRow } from '../zone/feedEntries.ts';

export type IngestResult =
  /** `conflictsFound`: zone conflicts (SPEC §13) this upload's claims made. */
  | { ok: true; ackedSeq: number; applied: number; replayed: number; conflictsFound: number }
  | { ok: false; error: 'gap'; expectedSeq: number; ackedSeq: number }
  | { ok: false; error: 'chain_broken'; seq: number; reason: ChainBreak; ackedSeq: number }
  /** The head kept moving under this batch (other instances writing the station): retry. */
  | { ok: false; error: 'busy'; ackedSeq: number }
  /** The station's token was replaced while this upload was under way (a re-admit): nothing stored. */
  | { ok: false; error: 'token_replaced'; ackedSeq: number }
  /** The station was disabled while this upload was under way (SPEC §12): nothing stored. */
  | { ok: false; error: 'station_disabled'; ackedSeq: number };

/** Each retry means another writer stored part of the log, so progress is made; this bounds the wait. */
const MAX_HEAD_RETRIES = 10;

/** What ingest tells the alerts (SPEC §15); without it, log alerts go to the store as they are. */
export interface IngestAlerts {
  raise(a: AlertInput): Promise<void>;
  /** Fresh events of one station were stored; `silentFiring`: its station_silent alert was firing, if the append said. */
  ingested(stationId: string, events: readonly StationEvent[], silentFiring?: boolean): Promise<void>;
}

export class Ingestor {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: CloudStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly alerts?: IngestAlerts,
    /** The quota scope of a zone (SPEC §13): conflicts are looked for where it is `zone`. */
    private readonly zoneScope?: (zone: string) => 'station' | 'zone',
  ) {}

  private raiseAlert(a: AlertInput): Promise<void> {
    return this.alerts ? this.alerts.raise(a) : this.store.raiseAlert(a);
  }

  /**
   * Ingest one upload of `stationId`; expected outcomes (gap, broken chain) are results.
   * `tokenSha256`: the token the upload was let in with, checked again by the store (appendNext
   * and appendEvents). `recheckToken`: for an upload let in without a read (auth.ts), called
   * (and may throw) before a batch the store did not see is planned and answered.
   */
  ingest(stationId: string, events: readonly StationEvent[], tokenSha256?: string, recheckToken?: () => Promise<void>): Promise<IngestResult> {
    const prev = this.queues.get(stationId) ?? Promise.resolve();
    const next = prev.then(() => this.ingestNow(stationId, events, tokenSha256, recheckToken));
    const settled = next.catch(() => undefined);
    this.queues.set(stationId, settled);
    void settled.then(() => {
      if (this.queues.get(stationId) === settled) this.queues.delete(stationId);
    });
    return next;
  }

  private async ingestNow(stationId: string, events: readonly StationEvent[], tokenSha256: string | undefined, recheckToken?: () => Promise<void>): Promise<IngestResult> {
    let known: SyncHead | null = null;
    const next = planNext(events);
    if (!next) await recheckToken?.();
    else {
      const { effects, feed } = this.effectsOf(stationId, events);
      const res = await this.store.appendNext({ ...this.batchOf(stationId, events, effects, feed, tokenSha256), dataJson: next.dataJson, firstText: next.firstText });
      if (res.ok) return this.stored(stationId, events, effects, res, 0);
      if (res.reason === 'not_next') known = res.head;
      else if (res.reason !== 'head_moved') return this.refused(stationId, res.reason, res.seq);
    }
    for (let attempt = 0; ; attempt++) {
      let head = known;
      known = null;
      if (!head) {
        const row = await this.store.syncHead(stationId);
        head = { seq: row?.seq ?? 0, hash: row?.hash ?? GENESIS_HASH };
      }
      const range = replayRange(head, events);
      const stored = range ? await this.store.eventHashes(stationId, range[0], range[1]) : new Map<number, string>();
      const plan = planBatch(head, events, (seq) => stored.get(seq));
      if (plan.kind === 'gap') return { ok: false, error: 'gap', expectedSeq: plan.expectedSeq, ackedSeq: head.seq };
      if (plan.kind === 'chain_broken') {
        await this.raiseChainAlert(stationId, plan.seq, plan.reason);
        return { ok: false, error: 'chain_broken', seq: plan.seq, reason: plan.reason, ackedSeq: head.seq };
      }
      if (plan.fresh.length === 0) return { ok: true, ackedSeq: head.seq, applied: 0, replayed: plan.replayed, conflictsFound: 0 };
      const { effects, feed } = this.effectsOf(stationId, plan.fresh);
      const res = await this.store.appendEvents({ ...this.batchOf(stationId, plan.fresh, effects, feed, tokenSha256), prev: head, dataJson: plan.dataJson });
      if (!res.ok && res.reason !== 'head_moved') return this.refused(stationId, res.reason, res.seq);
      if (!res.ok) {
        // Another writer moved the head between planning and appending: plan again.
        if (attempt < MAX_HEAD_RETRIES) continue;
        this.logger.warn({ stationId, attempts: attempt + 1 }, 'the station head kept moving during ingest; answered busy');
        return { ok: false, error: 'busy', ackedSeq: res.seq };
      }
      return this.stored(stationId, plan.fresh, effects, res, plan.replayed);
    }
  }

  private effectsOf(stationId: string, fresh: readonly StationEvent[]): { effects: ReturnType<typeof rollupEffectsOf>[]; feed: FeedRow[] } {
    const effects = fresh.map(rollupEffectsOf);
    // SPEC §13: the quota-relevant events also go to the station's zone feed. An event whose
    // data does not fit its type (an `invalid` effect) is stored but not fed to other stations.
    const feed: FeedRow[] = [];
    fresh.forEach((e, i) => {
      if (effects[i]!.some((x) => x.kind === 'invalid')) return;
      const r = feedRowOf(stationId, e);
      if (r) feed.push(r);
    });
    return { effects, feed };
  }

  private batchOf(stationId: string, events: readonly StationEvent[], effects: ReturnType<typeof rollupEffectsOf>[], feed: FeedRow[], tokenSha256: string | undefined) {
    return {
      stationId,
      events,
      effects,
      receivedAt: this.clock.now(),
      feed,
      ...(this.zoneScope ? { zoneScope: this.zoneScope } : {}),
      ...(tokenSha256 !== undefined ? { tokenSha256 } : {}),
    };
  }

  private refused(stationId: string, reason: 'token_replaced' | 'station_disabled', seq: number): IngestResult {
    if (reason === 'station_disabled') {
      this.logger.warn({ stationId }, 'an upload let in before its station was disabled was not stored');
      return { ok: false, error: 'station_disabled', ackedSeq: seq };
    }
    this.logger.warn({ stationId }, 'an upload let in with a token replaced since was not stored');
    return { ok: false, error: 'token_replaced', ackedSeq: seq };
  }

  /** Stored: the log alerts of its data, then what the alerts make of it; then the answer. */
  private async stored(
    stationId: string,
    fresh: readonly StationEvent[],
    effects: ReturnType<typeof rollupEffectsOf>[],
    res: Extract<AppendResult, { ok: true }>,
    replayed: number,
  ): Promise<IngestResult> {
    await this.raiseDataAlerts(stationId, fresh, effects);
    // The events are stored and acknowledged whatever the alerts do with them.
    await this.alerts?.ingested(stationId, fresh, res.silentFiring).catch((e: Error) => this.logger.error({ err: e, stationId }, 'alert evaluation after ingest failed'));
    if (res.conflictsFound) this.logger.warn({ stationId, conflicts: res.conflictsFound }, 'zone conflicts found: a rider was granted claims at two stations of a zone on one day');
    return { ok: true, ackedSeq: res.seq, applied: fresh.length, replayed, conflictsFound: res.conflictsFound ?? 0 };
  }

  private async raiseChainAlert(stationId: string, seq: number, reason: ChainBreak): Promise<void> {
    this.logger.warn({ stationId, seq, reason }, 'refused an upload that breaks the hash chain');
    await this.raiseAlert({ stationId, kind: 'chain_broken', seq, detail: reason, at: this.clock.now() });
  }

  private async raiseDataAlerts(stationId: string, events: readonly StationEvent[], effects: ReturnType<typeof rollupEffectsOf>[]): Promise<void> {
    for (let i = 0; i < effects.length; i++) {
      for (const e of effects[i]!) {
        if (e.kind !== 'invalid') continue;
        this.logger.warn({ stationId, seq: events[i]!.seq, detail: e.detail }, 'stored an event whose data does not match its type');
        await this.raiseAlert({ stationId, kind: 'invalid_event', seq: events[i]!.seq, detail: e.detail, at: this.clock.now() });
      }
    }
  }
}
