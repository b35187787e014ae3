/**
 * The `notify[]` and `alerts` keys of the cloud config (SPEC §15): one TypeBox schema each,
 * defaults in the schema, imported by cloud/config.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

const Severity = Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')]);
const Url = Type.String({ pattern: '^https?://', maxLength: 2048 });

/** What every channel has: a name (its key in the outbox and in metrics) and its filters. */
const common = {
  /** Unique; defaults to `{kind}-{index}` (index in `notify[]`). */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  /** Only alerts of stations in these zones (all zones when absent). */
  zones: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 256 })),
  /** Only alerts of these stations (all when absent). */
  stations: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 4096 })),
  minSeverity: Type.Optional(Severity),
  /** Messages a minute at most (SPEC §15: 20); the rest are folded into one digest. */
  maxPerMinute: Type.Integer({ minimum: 2, maximum: 20, default: 20 }),
};

export const NotifyChannelSchema = Type.Union([
  Type.Object({ kind: Type.Literal('webhook'), url: Url, ...common }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('wecom'), url: Url, ...common }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('dingtalk'), url: Url, secret: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), ...common }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('feishu'), url: Url, secret: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), ...common }, { additionalProperties: false }),
]);
export type NotifyChannelConfig = Static<typeof NotifyChannelSchema>;

export const AlertsConfigSchema = Type.Object(
  {
    /** SPEC §15: a device offline longer than this fires `device_offline`. */
    deviceOfflineAfterMs: Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, default: 300_000 }),
    /** The fleet is evaluated this often (and after every upload), for alerts that fire on silence. */
    evaluateIntervalMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
    /** The outbox is looked at this often (and at once after an alert fires or resolves). */
    notifyPollMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2000 }),
    /** First retry after a failed send; doubled each attempt, with jitter, up to 10 minutes. */
    notifyRetryBaseMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 5000 }),
    /** Attempts per notification before it is given up (and counted as failed). */
    notifyMaxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
    /** A send that has not answered in this long has failed. */
    notifyTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type AlertsConfig = Static<typeof AlertsConfigSchema>;

/** Each channel's name: its own, or `{kind}-{index}`. */
export function channelName(c: NotifyChannelConfig, index: number): string {
  return c.name ?? `${c.kind}-${index}`;
}
