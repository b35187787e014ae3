/**
 * The ingest rule of SPEC §9 as a pure decision (STYLE.md, after replicache push):
 * `seq <= last` → skip (an idempotent replay, checked against the stored hash),
 * `seq == last + 1` → apply (the hash chain must continue from the stored head),
 * first new `seq > last + 1` → refuse as a gap with `expectedSeq`.
 */
import { canonicalJsonOfParsed, chainTextOf, verifyChain, type StationEvent } from '../../protocol/index.ts';

export interface SyncHead {
  seq: number;
  hash: string;
}

export type ChainBreak = 'seq_not_contiguous' | 'hash_mismatch' | 'replay_mismatch';

export type BatchPlan =
  /** `dataJson`: the canonical JSON of each fresh event's `data`, computed by the chain check. */
  | { kind: 'apply'; fresh: StationEvent[]; dataJson: string[]; replayed: number; head: SyncHead }
  | { kind: 'gap'; expectedSeq: number }
  | { kind: 'chain_broken'; seq: number; reason: ChainBreak };

/** Seqs of `events` at or below the head: their stored hashes are needed to check a replay. */
export function replayRange(head: SyncHead, events: readonly StationEvent[]): [number, number] | null {
  const first = events[0];
  if (!first || first.seq > head.seq) return null;
  const last = events[events.length - 1]!;
  return [first.seq, Math.min(last.seq, head.seq)];
}

export function planBatch(
  head: SyncHead,
  events: readonly StationEvent[],
  storedHash: (seq: number) => string | undefined,
): BatchPlan {
  // A batch is one contiguous run of the station's log; anything else is reordered or forged.
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.seq !== events[i - 1]!.seq + 1) return { kind: 'chain_broken', seq: events[i]!.seq, reason: 'seq_not_contiguous' };
  }
  let replayed = 0;
  let i = 0;
  for (; i < events.length && events[i]!.seq <= head.seq; i++) {
    const e = events[i]!;
    if (storedHash(e.seq) !== e.hash) return { kind: 'chain_broken', seq: e.seq, reason: 'replay_mismatch' };
    replayed++;
  }
  const fresh = events.slice(i);
  if (fresh.length === 0) return { kind: 'apply', fresh, dataJson: [], replayed, head };
  if (fresh[0]!.seq > head.seq + 1) return { kind: 'gap', expectedSeq: head.seq + 1 };
  const dataJson: string[] = [];
  const check = verifyChain(fresh, head.seq, head.hash, dataJson);
  if (!check.ok) return { kind: 'chain_broken', seq: check.seq, reason: check.reason };
  return { kind: 'apply', fresh, dataJson, replayed, head: { seq: check.lastSeq, hash: check.lastHash } };
}

/**
 * The common upload, planned without reading the head: a batch that should continue the stored
 * head (its first event is the next one). The batch's own chain is checked here; whether its
 * first event follows the head — `seq` is the head's + 1 and `hash` is sha256(head hash +
 * `firstText`) — is checked by the store in the step that stores it (`appendNext`). `null` when
 * the batch does not hold together by itself: `planBatch` against the head gives the answer.
 */
export function planNext(events: readonly StationEvent[]): { dataJson: string[]; firstText: string } | null {
  const first = events[0];
  if (!first) return null;
  const data0 = canonicalJsonOfParsed(first.data);
  const dataJson = [data0];
  if (!verifyChain(events.slice(1), first.seq, first.hash, dataJson).ok) return null;
  return { dataJson, firstText: chainTextOf(first, data0) };
}
