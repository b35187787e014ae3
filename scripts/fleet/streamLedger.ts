/**
 * A station's log made as time passes, behind the edge's SyncLedger interface
 * (edge/sync/syncLedger.ts): `release(ms)` draws the events that have happened by then from the
 * station's log stream (generate.ts), and an acknowledgement drops what the cloud holds — so a
 * station keeps only its unsent events, as the edge's pruning would, and a fleet of 10,000 fits
 * in memory (issue 14).
 */
import { GENESIS_HASH, type StationEvent } from '../../protocol/index.ts';
import type { SyncLedger } from '../../edge/sync/syncLedger.ts';
import { MemoryMeta } from './memoryLedger.ts';

export class StreamLedger extends MemoryMeta implements SyncLedger {
  /** Released events not yet acknowledged; `unsent[0].seq === acked + 1`. */
  private unsent: StationEvent[] = [];
  private acked = 0;
  private last: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  private pending: IteratorResult<StationEvent, void>;

  constructor(private readonly source: Iterator<StationEvent, void, undefined>) {
    super();
    this.pending = source.next();
  }

  /** Release every event with `ts <= ms`; returns how many, and wakes the uploader once. */
  release(ms: number): number {
    let n = 0;
    while (!this.pending.done && this.pending.value.ts <= ms) {
      const e = this.pending.value;
      this.unsent.push(e);
      this.last = { seq: e.seq, hash: e.hash };
      this.pending = this.source.next();
      n++;
    }
    if (n > 0) this.committed(this.unsent[this.unsent.length - 1]!);
    return n;
  }

  /** The ts of the next event to release (Infinity when there is none). */
  nextTs(): number {
    return this.pending.done ? Infinity : this.pending.value.ts;
  }

  /** The stream has nothing more to release. */
  exhausted(): boolean {
    return this.pending.done === true;
  }

  eventsAfter(seq: number, limit: number): StationEvent[] {
    // Anything at or below `acked` was dropped: the slice then starts above it and the
    // uploader reports the gap as unfillable, as it would for a pruned edge ledger.
    const from = Math.max(0, seq - this.acked);
    return this.unsent.slice(from, from + limit);
  }

  head(): { seq: number; hash: string } {
    return this.last;
  }

  ackedSeq(): number {
    return this.acked;
  }

  setAckedSeq(seq: number): void {
    if (seq <= this.acked) return;
    this.unsent.splice(0, Math.min(this.unsent.length, seq - this.acked));
    this.acked = seq;
  }

  backlog(): number {
    return this.unsent.length;
  }
}
