/**
 * A station's log in memory behind the edge's SyncLedger interface (edge/sync/syncLedger.ts), so
 * the edge's own Uploader sends a generated fleet exactly as a station would (batches, resend
 * from expectedSeq on a gap, backoff with jitter on failures). `release(n)` lets events "happen"
 * over time: the uploader sees only the first `n`.
 */
import type { StationEvent } from '../../protocol/index.ts';
import type { SyncLedger } from '../../edge/sync/syncLedger.ts';

/** The meta keys and event listeners of a SyncLedger kept in memory (shared with streamLedger.ts). */
export abstract class MemoryMeta {
  private readonly meta = new Map<string, string>();
  private readonly listeners = new Set<(e: StationEvent) => void>();

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }

  onEvent(listener: (e: StationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tell the listeners (the uploader) that `e` was committed. */
  protected committed(e: StationEvent): void {
    for (const l of this.listeners) l(e);
  }
}

export class MemoryLedger extends MemoryMeta implements SyncLedger {
  private acked = 0;
  private visible: number;

  constructor(
    readonly events: readonly StationEvent[],
    visible = events.length,
  ) {
    super();
    this.visible = visible;
  }

  /** Make the first `n` events visible, and wake the uploader. */
  release(n: number): void {
    const next = Math.min(n, this.events.length);
    if (next <= this.visible) return;
    this.visible = next;
    this.committed(this.events[next - 1]!);
  }

  eventsAfter(seq: number, limit: number): StationEvent[] {
    return this.events.slice(seq, Math.min(this.visible, seq + limit));
  }

  head(): { seq: number; hash: string } {
    const e = this.events[this.visible - 1];
    return e ? { seq: e.seq, hash: e.hash } : { seq: 0, hash: '0'.repeat(64) };
  }

  ackedSeq(): number {
    return this.acked;
  }

  setAckedSeq(seq: number): void {
    if (seq > this.acked) this.acked = seq;
  }

  backlog(): number {
    return this.visible - this.acked;
  }
}
