/**
 * Sync ingest (SPEC §9): plan the batch against the stored head (pure), then store events and
 * rollups in one transaction. Uploads of one station are serialised in this process; across
 * processes (SPEC §12, N instances on one PostgreSQL) the store serialises each station's
 * appends and refuses one whose head moved, and the batch is planned again against the new
 * head — where its events are now replays, or continue the chain, or leave a gap.
 */
import type { Logger } from 'pino';
import { GENESIS_HASH, type Clock, type StationEvent } from '../../protocol/index.ts';
import type { AlertInput, CloudStore } from '../store/store.ts';
import { planBatch, replayRange, type ChainBreak } from './planBatch.ts';
import { rollupEffectsOf } from './rollupEffects.ts';
import { feedRowOf, type FeedRow } from '../zone/feedEntries.ts';

export type IngestResult =
  /** `conflictsFound`: zone conflicts (SPEC §13) this upload's claims made. */
  | { ok: true; ackedSeq: number; applied: number; replayed: number; conflictsFound: number }
  | { ok: false; error: 'gap'; expectedSeq: number; ackedSeq: number }
  | { ok: false; error: 'chain_broken'; seq: number; reason: ChainBreak; ackedSeq: number }
  /** The head kept moving under this batch (other instances writing the station): retry. */
  | { ok: false; error: 'busy'; ackedSeq: number };

/** Each retry means another writer stored part of the log, so progress is made; this bounds the wait. */
const MAX_HEAD_RETRIES = 10;

/** What ingest tells the alerts (SPEC §15); without it, log alerts go to the store as they are. */
export interface IngestAlerts {
  raise(a: AlertInput): Promise<void>;
  /** Fresh events of one station were stored. */
  ingested(stationId: string, events: readonly StationEvent[]): Promise<void>;
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

  /** Ingest one upload of `stationId`; expected outcomes (gap, broken chain) are results. */
  ingest(stationId: string, events: readonly StationEvent[]): Promise<IngestResult> {
    const prev = this.queues.get(stationId) ?? Promise.resolve();
    const next = prev.then(() => this.ingestNow(stationId, events));
    const settled = next.catch(() => undefined);
    this.queues.set(stationId, settled);
    void settled.then(() => {
      if (this.queues.get(stationId) === settled) this.queues.delete(stationId);
    });
    return next;
  }

  private async ingestNow(stationId: string, events: readonly StationEvent[]): Promise<IngestResult> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.store.syncHead(stationId);
      const head = { seq: row?.seq ?? 0, hash: row?.hash ?? GENESIS_HASH };
      const range = replayRange(head, events);
      const stored = range ? await this.store.eventHashes(stationId, range[0], range[1]) : new Map<number, string>();
      const plan = planBatch(head, events, (seq) => stored.get(seq));
      if (plan.kind === 'gap') return { ok: false, error: 'gap', expectedSeq: plan.expectedSeq, ackedSeq: head.seq };
      if (plan.kind === 'chain_broken') {
        await this.raiseChainAlert(stationId, plan.seq, plan.reason);
        return { ok: false, error: 'chain_broken', seq: plan.seq, reason: plan.reason, ackedSeq: head.seq };
      }
      if (plan.fresh.length === 0) return { ok: true, ackedSeq: head.seq, applied: 0, replayed: plan.replayed, conflictsFound: 0 };
      const effects = plan.fresh.map(rollupEffectsOf);
      // SPEC §13: the quota-relevant events also go to the station's zone feed. An event whose
      // data does not fit its type (an `invalid` effect) is stored but not fed to other stations.
      const feed: FeedRow[] = [];
      plan.fresh.forEach((e, i) => {
        if (effects[i]!.some((x) => x.kind === 'invalid')) return;
        const r = feedRowOf(stationId, e);
        if (r) feed.push(r);
      });
      const res = await this.store.appendEvents({
        stationId, prev: head, events: plan.fresh, effects, dataJson: plan.dataJson, receivedAt: this.clock.now(), feed,
        ...(this.zoneScope ? { zoneScope: this.zoneScope } : {}),
      });
      if (!res.ok) {
        // Another writer moved the head between planning and appending: plan again.
        if (attempt < MAX_HEAD_RETRIES) continue;
        this.logger.warn({ stationId, attempts: attempt + 1 }, 'the station head kept moving during ingest; answered busy');
        return { ok: false, error: 'busy', ackedSeq: res.seq };
      }
      await this.raiseDataAlerts(stationId, plan.fresh, effects);
      // The events are stored and acknowledged whatever the alerts do with them.
      await this.alerts?.ingested(stationId, plan.fresh).catch((e: Error) => this.logger.error({ err: e, stationId }, 'alert evaluation after ingest failed'));
      if (res.conflictsFound) this.logger.warn({ stationId, conflicts: res.conflictsFound }, 'zone conflicts found: a rider was granted claims at two stations of a zone on one day');
      return { ok: true, ackedSeq: res.seq, applied: plan.fresh.length, replayed: plan.replayed, conflictsFound: res.conflictsFound ?? 0 };
    }
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
