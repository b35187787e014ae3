/**
 * The uploader (SPEC §9): sends the station's events to the cloud in seq order, in batches,
 * from the cloud's last acknowledgement; resends from `expectedSeq` on a gap; backs off with
 * jitter on failures; wakes promptly when a new event is committed. It never deletes anything
 * (pruning acknowledged events is another job), so a cloud outage of any length only grows the
 * backlog, and a restart of either side resumes from `ackedSeq`.
 */
import type { Logger } from 'pino';
import { MAX_UPLOAD_BATCH, type Clock } from '../../protocol/index.ts';
import { backoffDelayMs, Waiter } from './backoff.ts';
import { fetchWithTimeout, joinUrl, type CloudLink, type SyncError, type SyncLedger } from './syncLedger.ts';

export interface UploaderOptions extends CloudLink {
  ledger: SyncLedger;
  clock: Clock;
  logger: Logger;
  /** Events per upload (the cloud takes up to 1000). */
  batchSize?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** With nothing to send, look again after this long even without a nudge. */
  idlePollMs?: number;
  requestTimeoutMs?: number;
  random?: () => number;
  fetch?: typeof fetch;
}

export interface UploaderStatus {
  running: boolean;
  ackedSeq: number;
  headSeq: number;
  backlog: number;
  lastSuccessAt: number | null;
  lastError: SyncError | null;
  consecutiveFailures: number;
  uploadedEvents: number;
}

export type SyncStep = 'idle' | 'more' | 'failed';

export class Uploader {
  private readonly o: Required<Omit<UploaderOptions, 'random' | 'fetch'>> & { random: () => number; fetch: typeof fetch };
  private readonly waiter = new Waiter();
  private loop: Promise<void> | null = null;
  private abort = new AbortController();
  private running = false;
  private nudged = false;
  private unsubscribe: (() => void) | null = null;
  /** Highest seq the cloud is believed to hold; below ackedSeq only after a gap answer. */
  private cursor = 0;
  private batchSize: number;
  private failures = 0;
  private lastSuccessAt: number | null = null;
  private lastError: SyncError | null = null;
  private uploaded = 0;

  constructor(opts: UploaderOptions) {
    this.o = {
      batchSize: 500,
      initialBackoffMs: 1_000,
      maxBackoffMs: 300_000,
      idlePollMs: 10_000,
      requestTimeoutMs: 30_000,
      random: Math.random,
      fetch: globalThis.fetch.bind(globalThis),
      ...opts,
    };
    this.batchSize = Math.max(1, Math.min(MAX_UPLOAD_BATCH, this.o.batchSize));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.cursor = this.o.ledger.ackedSeq();
    this.unsubscribe = this.o.ledger.onEvent?.(() => this.nudge()) ?? null;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.abort.abort(new Error('uploader stopped'));
    this.waiter.wake();
    await this.loop;
    this.loop = null;
  }

  /** New events were committed: upload now, unless waiting out a backoff. */
  nudge(): void {
    this.nudged = true;
    if (this.failures === 0) this.waiter.wake();
  }

  status(): UploaderStatus {
    const head = this.o.ledger.head().seq;
    const acked = this.o.ledger.ackedSeq();
    return {
      running: this.running,
      ackedSeq: acked,
      headSeq: head,
      backlog: Math.max(0, head - acked),
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      uploadedEvents: this.uploaded,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.nudged = false;
      const step = await this.syncOnce();
      if (!this.running) break;
      if (step === 'more') continue;
      if (step === 'failed') await this.waiter.sleep(backoffDelayMs(this.failures, this.o, this.o.random));
      else if (!this.nudged) await this.waiter.sleep(this.o.idlePollMs);
    }
  }

  /** One upload attempt. Public so a CLI or test can push once without the loop. */
  async syncOnce(): Promise<SyncStep> {
    const events = this.o.ledger.eventsAfter(this.cursor, this.batchSize);
    if (events.length === 0) return 'idle';
    const first = events[0]!.seq;
    if (first !== this.cursor + 1) {
      // The events the cloud needs were pruned here: only an operator can fix that.
      return this.fail('gap_unfillable', `the cloud needs seq ${this.cursor + 1} but the station log starts at ${first}`);
    }
    let res: Response;
    try {
      res = await fetchWithTimeout(
        this.o.fetch,
        joinUrl(this.o.cloudUrl, `/v1/stations/${encodeURIComponent(this.o.stationId)}/events`),
        {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        },
        this.o.requestTimeoutMs,
        this.abort.signal,
      );
    } catch (e) {
      if (!this.running) return 'idle';
      return this.fail('unreachable', `cloud unreachable: ${(e as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.status === 200 && typeof body?.ackedSeq === 'number') return this.acked(body.ackedSeq, events[events.length - 1]!.seq);
    if (res.status === 409 && body?.error === 'gap' && typeof body.expectedSeq === 'number') {
      this.o.logger.info({ expectedSeq: body.expectedSeq, sentFrom: first }, 'cloud asked to resend from an earlier seq');
      if (body.expectedSeq - 1 >= this.cursor) return this.fail('bad_gap', `cloud answered gap with expectedSeq ${body.expectedSeq} for a batch from ${first}`);
      this.cursor = Math.max(0, body.expectedSeq - 1);
      return 'more';
    }
    if (res.status === 413 && this.batchSize > 1) {
      this.batchSize = Math.max(1, Math.floor(this.batchSize / 2));
      return 'more';
    }
    const code = typeof body?.error === 'string' ? body.error : `http_${res.status}`;
    const message = typeof body?.message === 'string' ? body.message : `cloud answered ${res.status}`;
    return this.fail(code, message);
  }

  private acked(ackedSeq: number, lastSent: number): SyncStep {
    const head = this.o.ledger.head().seq;
    if (ackedSeq > head) {
      return this.fail('cloud_ahead', `the cloud holds seq ${ackedSeq} but this station's log ends at ${head}; was the station database restored?`);
    }
    if (ackedSeq <= this.cursor && lastSent > this.cursor) {
      return this.fail('no_progress', `the cloud acknowledged ${ackedSeq} after a batch up to ${lastSent}`);
    }
    this.o.ledger.setAckedSeq(ackedSeq);
    this.uploaded += Math.max(0, ackedSeq - this.cursor);
    this.cursor = ackedSeq;
    this.failures = 0;
    this.lastError = null;
    this.lastSuccessAt = this.o.clock.now();
    return this.o.ledger.eventsAfter(this.cursor, 1).length > 0 ? 'more' : 'idle';
  }

  private fail(code: string, message: string): SyncStep {
    this.failures++;
    this.lastError = { code, message, at: this.o.clock.now() };
    const log = this.failures === 1 || this.failures % 20 === 0 ? 'warn' : 'debug';
    this.o.logger[log]({ code, failures: this.failures, backlog: this.o.ledger.backlog() }, `upload failed: ${message}`);
    return 'failed';
  }
}
