/**
 * The notifier (SPEC §15): sends what the notification outbox owes each channel. One cloud
 * instance at a time sends for a channel (a lease in the store), so a message goes out once and
 * the channel's rate limit holds across instances; the plan (plan.ts) and the request formats
 * (formats.ts) are pure, this shell does the HTTP and the counting.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Clock, type MetricsRegistry } from '../../protocol/index.ts';
import type { CloudStore, NotificationOutcome, NotificationRow } from '../store/store.ts';
import { channelName, type AlertsConfig, type NotifyChannelConfig } from './channelConfig.ts';
import { acceptedBy, requestFor, type Message } from './formats.ts';
import { alertText, type MessageContext } from './message.ts';
import { RATE_WINDOW_MS, planRound, retryAt } from './plan.ts';

export interface NotifierOptions {
  store: CloudStore;
  clock: Clock;
  logger: Logger;
  channels: readonly NotifyChannelConfig[];
  config: AlertsConfig;
  messages: MessageContext;
  registry: MetricsRegistry;
  /** Who holds a channel's lease; one per process. */
  instanceId?: string;
}

/** Notifications read per channel per round. */
const DUE_LIMIT = 1000;
/** A channel's answer is read up to this many bytes. */
const ANSWER_BYTES = 4096;

export class Notifier {
  private readonly owner: string;
  private readonly log: Logger;
  private readonly byName: Map<string, NotifyChannelConfig>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  readonly sent: Counter;
  readonly failures: Counter;
  readonly retries: Counter;
  readonly givenUp: Counter;
  readonly folded: Counter;

  constructor(private readonly o: NotifierOptions) {
    this.owner = o.instanceId ?? `cloud-${randomUUID()}`;
    this.log = o.logger.child({ module: 'notify' });
    this.byName = new Map(o.channels.map((c, i) => [channelName(c, i), c]));
    const r = o.registry;
    this.sent = r.add(new Counter('waystation_cloud_notify_sent_total', 'Messages a notification channel accepted (a digest is one), by channel and kind.'));
    this.failures = r.add(new Counter('waystation_cloud_notify_failures_total', 'Messages a channel refused or did not answer, by channel, kind and error.'));
    this.retries = r.add(new Counter('waystation_cloud_notify_retries_total', 'Notifications scheduled to be sent again after a failure, by channel.'));
    this.givenUp = r.add(new Counter('waystation_cloud_notify_given_up_total', 'Notifications given up after their last attempt, by channel.'));
    this.folded = r.add(new Counter('waystation_cloud_notify_folded_total', 'Notifications folded into a digest by the rate limit, by channel.'));
  }

  start(): void {
    if (!this.stopped || this.byName.size === 0) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.o.config.notifyPollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    for (const name of this.byName.keys()) await this.o.store.releaseChannel(name, this.owner).catch(() => undefined);
  }

  /** Look at the outbox now (after an alert fired or resolved); one round at a time. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round().catch((e: Error) => this.log.error({ err: e }, 'notifier round failed'));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when the outbox has been looked at (tests and the bench). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async round(): Promise<void> {
    for (const [name, ch] of this.byName) {
      if (this.stopped) return;
      const now = this.o.clock.now();
      const leaseMs = Math.max(30_000, 3 * this.o.config.notifyTimeoutMs);
      if (!(await this.o.store.leaseChannel(name, this.owner, now, leaseMs))) continue;
      const due = await this.o.store.dueNotifications(name, now, DUE_LIMIT);
      if (due.length === 0) continue;
      const used = await this.o.store.channelSendsSince(name, now - RATE_WINDOW_MS);
      const plan = planRound(due, ch.maxPerMinute - used);
      for (const row of plan.singles) await this.send(name, ch, [row], false);
      if (plan.digest.length > 0) {
        this.folded.inc({ channel: name }, plan.digest.length);
        await this.send(name, ch, plan.digest, true);
      }
    }
  }

  private async send(name: string, ch: NotifyChannelConfig, rows: readonly NotificationRow[], digest: boolean): Promise<void> {
    await this.o.messages.refresh?.(rows.map((r) => r.alert.stationId));
    const now = this.o.clock.now();
    const message: Message = {
      channel: name,
      digest,
      items: rows.map((row) => ({ row, text: alertText(row.phase, row.alert, this.o.messages), zone: this.o.messages.station(row.alert.stationId).zone })),
    };
    const req = requestFor(ch, message, now, this.o.messages.publicUrl ?? '');
    const result = await this.post(req.url, req.body, ch.kind);
    const at = this.o.clock.now();
    const labels = { channel: name, kind: ch.kind };
    let results: Array<{ id: number; outcome: NotificationOutcome }>;
    if (result.ok) {
      this.sent.inc(labels);
      results = rows.map((r) => ({ id: r.id, outcome: { kind: 'sent' } }));
    } else {
      this.failures.inc({ ...labels, error: result.error });
      results = rows.map((r) => {
        const nextAt = retryAt(r.attempts + 1, at, this.o.config.notifyRetryBaseMs, this.o.config.notifyMaxAttempts, Math.random());
        if (nextAt === null) this.givenUp.inc({ channel: name });
        else this.retries.inc({ channel: name });
        return { id: r.id, outcome: { kind: 'failed', error: result.error, nextAt } };
      });
      this.log.warn({ channel: name, kind: ch.kind, error: result.error, notifications: rows.length, digest }, 'notification not delivered');
    }
    await this.o.store.settleNotifications(name, at, results);
    if (!result.ok && results.some((r) => r.outcome.kind === 'failed' && r.outcome.nextAt !== null)) this.scheduleRetry(results);
  }

  /** A retry due before the next poll gets its own wake-up. */
  private scheduleRetry(results: ReadonlyArray<{ outcome: NotificationOutcome }>): void {
    const next = Math.min(...results.map((r) => (r.outcome.kind === 'failed' && r.outcome.nextAt !== null ? r.outcome.nextAt : Infinity)));
    const wait = next - this.o.clock.now();
    if (!Number.isFinite(wait) || wait >= this.o.config.notifyPollMs) return;
    setTimeout(() => this.kick(), Math.max(0, wait) + 5).unref();
  }

  private async post(url: string, body: string, kind: NotifyChannelConfig['kind']): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.o.config.notifyTimeoutMs),
        redirect: 'error',
      });
      const answer = (await res.text()).slice(0, ANSWER_BYTES);
      return acceptedBy(kind, res.status, answer);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, error: err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code ?? 'network').toLowerCase() };
    }
  }
}
