/**
 * The notifier's decisions, pure (SPEC §15): which channels an alert goes to, what one round
 * sends to a channel under its rate limit, and when a failed send is tried again.
 */
import { severityAtLeast } from '../alerts/rules.ts';
import type { AlertSeverity, NotificationRow } from '../store/store.ts';
import { channelName, type NotifyChannelConfig } from './channelConfig.ts';

/** The rate limit's window (SPEC §15: "at most 20 messages a minute"). */
export const RATE_WINDOW_MS = 60_000;
/** Longest wait between two attempts of one notification. */
export const MAX_RETRY_DELAY_MS = 600_000;

/** Names of the channels whose filters let this alert through. */
export function channelsFor(alert: { stationId: string; severity: AlertSeverity }, zone: string | undefined, channels: readonly NotifyChannelConfig[]): string[] {
  const out: string[] = [];
  channels.forEach((c, i) => {
    if (c.stations && !c.stations.includes(alert.stationId)) return;
    if (c.zones && (zone === undefined || !c.zones.includes(zone))) return;
    if (c.minSeverity && !severityAtLeast(alert.severity, c.minSeverity)) return;
    out.push(channelName(c, i));
  });
  return out;
}

/**
 * One round for one channel: `budget` messages may still go out in this window. Everything due
 * fits: one message each. It does not: budget − 1 single messages and one digest of the rest,
 * so a burst reaches people within the minute and the channel still gets at most its limit.
 */
export function planRound(due: readonly NotificationRow[], budget: number): { singles: NotificationRow[]; digest: NotificationRow[] } {
  if (budget <= 0 || due.length === 0) return { singles: [], digest: [] };
  if (due.length <= budget) return { singles: [...due], digest: [] };
  if (budget === 1) return { singles: [], digest: [...due] };
  return { singles: due.slice(0, budget - 1), digest: due.slice(budget - 1) };
}

/** When to try again after the `attempts`-th failed attempt, or null to give up. Jitter in [0.5, 1). */
export function retryAt(attempts: number, nowMs: number, baseMs: number, maxAttempts: number, random: number): number | null {
  if (attempts >= maxAttempts) return null;
  const delay = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** (attempts - 1));
  return nowMs + Math.round(delay * (0.5 + random / 2));
}
