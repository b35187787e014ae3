/**
 * The config puller (SPEC §9): GET {cloud}/v1/stations/{id}/config with If-None-Match, keep the
 * document and its ETag in ledger meta (`cloud.config`, `cloud.config.etag`) so a restarted
 * station has its last JWKS and revocations without the cloud, and hand each new document to
 * `onConfig`. Periodic, with backoff on failures.
 */
import type { Logger } from 'pino';
import { StationConfigDoc, validator, type Clock } from '../../protocol/index.ts';
import { backoffDelayMs, Waiter } from './backoff.ts';
import { fetchWithTimeout, joinUrl, type CloudLink, type SyncError, type SyncLedger } from './syncLedger.ts';

export const CONFIG_META_KEY = 'cloud.config';
export const CONFIG_ETAG_META_KEY = 'cloud.config.etag';

const checkDoc = validator(StationConfigDoc);

export interface ConfigPullerOptions extends CloudLink {
  ledger: Pick<SyncLedger, 'getMeta' | 'setMeta'>;
  clock: Clock;
  logger: Logger;
  onConfig: (doc: StationConfigDoc) => void | Promise<void>;
  intervalMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  /** Hand the stored document to onConfig at start() (default true). */
  emitStoredOnStart?: boolean;
  random?: () => number;
  fetch?: typeof fetch;
}

export type PullResult = 'changed' | 'unchanged' | 'failed';

export interface ConfigPullerStatus {
  running: boolean;
  etag: string | null;
  lastSuccessAt: number | null;
  lastChangeAt: number | null;
  lastError: SyncError | null;
}

export class ConfigPuller {
  private readonly o: Required<Omit<ConfigPullerOptions, 'random' | 'fetch'>> & { random: () => number; fetch: typeof fetch };
  private readonly waiter = new Waiter();
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  private running = false;
  private failures = 0;
  private lastSuccessAt: number | null = null;
  private lastChangeAt: number | null = null;
  private lastError: SyncError | null = null;

  constructor(opts: ConfigPullerOptions) {
    this.o = {
      intervalMs: 60_000,
      initialBackoffMs: 1_000,
      maxBackoffMs: 300_000,
      requestTimeoutMs: 30_000,
      emitStoredOnStart: true,
      random: Math.random,
      fetch: globalThis.fetch.bind(globalThis),
      ...opts,
    };
  }

  /** The last document received (from the cloud or the ledger). */
  current(): StationConfigDoc | undefined {
    const text = this.o.ledger.getMeta(CONFIG_META_KEY);
    if (!text) return undefined;
    try {
      const doc = JSON.parse(text) as unknown;
      return checkDoc.check(doc) ? doc : undefined;
    } catch {
      return undefined;
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    const stored = this.o.emitStoredOnStart ? this.current() : undefined;
    if (stored) await this.deliver(stored);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort(new Error('config puller stopped'));
    this.waiter.wake();
    await this.loop;
    this.loop = null;
  }

  /** Pull now (ends the current wait). */
  pullSoon(): void {
    this.waiter.wake();
  }

  status(): ConfigPullerStatus {
    return {
      running: this.running,
      etag: this.o.ledger.getMeta(CONFIG_ETAG_META_KEY) ?? null,
      lastSuccessAt: this.lastSuccessAt,
      lastChangeAt: this.lastChangeAt,
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const r = await this.pullOnce();
      if (!this.running) break;
      await this.waiter.sleep(r === 'failed' ? backoffDelayMs(this.failures, this.o, this.o.random) : this.o.intervalMs);
    }
  }

  async pullOnce(): Promise<PullResult> {
    const etag = this.o.ledger.getMeta(CONFIG_ETAG_META_KEY);
    let res: Response;
    try {
      res = await fetchWithTimeout(
        this.o.fetch,
        joinUrl(this.o.cloudUrl, `/v1/stations/${encodeURIComponent(this.o.stationId)}/config`),
        { headers: { authorization: `Bearer ${this.o.token}`, ...(etag ? { 'if-none-match': etag } : {}) } },
        this.o.requestTimeoutMs,
        this.abort.signal,
      );
    } catch (e) {
      if (!this.running && this.abort.signal.aborted) return 'unchanged';
      return this.fail('unreachable', `cloud unreachable: ${(e as Error).message}`);
    }
    if (res.status === 304) {
      this.ok();
      return 'unchanged';
    }
    const body = (await res.json().catch(() => null)) as unknown;
    if (res.status !== 200) {
      const b = body as { error?: unknown; message?: unknown } | null;
      return this.fail(typeof b?.error === 'string' ? b.error : `http_${res.status}`, typeof b?.message === 'string' ? b.message : `cloud answered ${res.status}`);
    }
    if (!checkDoc.check(body)) return this.fail('bad_config', `the cloud sent a config that does not match the schema: ${checkDoc.errors(body).slice(0, 3).join('; ')}`);
    if (body.stationId !== this.o.stationId) return this.fail('bad_config', `the cloud sent the config of ${body.stationId}`);
    this.o.ledger.setMeta(CONFIG_META_KEY, JSON.stringify(body));
    const newTag = res.headers.get('etag');
    if (newTag) this.o.ledger.setMeta(CONFIG_ETAG_META_KEY, newTag);
    this.lastChangeAt = this.o.clock.now();
    this.lastError = null;
    this.ok();
    await this.deliver(body);
    return 'changed';
  }

  private async deliver(doc: StationConfigDoc): Promise<void> {
    try {
      await this.o.onConfig(doc);
    } catch (e) {
      this.lastError = { code: 'apply_failed', message: `applying the cloud config failed: ${(e as Error).message}`, at: this.o.clock.now() };
      this.o.logger.error({ err: e }, this.lastError.message);
    }
  }

  private ok(): void {
    this.failures = 0;
    this.lastSuccessAt = this.o.clock.now();
    // A config that failed to apply stays reported until a new one arrives.
    if (this.lastError?.code !== 'apply_failed') this.lastError = null;
  }

  private fail(code: string, message: string): PullResult {
    this.failures++;
    this.lastError = { code, message, at: this.o.clock.now() };
    this.o.logger[this.failures === 1 ? 'warn' : 'debug']({ code, failures: this.failures }, `config pull failed: ${message}`);
    return 'failed';
  }
}
