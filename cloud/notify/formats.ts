/**
 * The request each channel kind gets (SPEC §15), pure apart from the clock reading passed in:
 * - webhook: Prometheus Alertmanager's webhook JSON, version 4;
 * - wecom: group robot `{"msgtype":"markdown","markdown":{"content"}}`;
 * - dingtalk: custom robot markdown `{title, text}`; with a secret, `&timestamp=<ms>&sign=` is
 *   added to the URL, sign = urlencoded base64 HMAC-SHA256(secret, timestamp + "\n" + secret);
 * - feishu: bot text `{"msg_type":"text","content":{"text"}}`; with a secret, `timestamp`
 *   (seconds) and `sign` = base64 HMAC-SHA256 keyed with timestamp + "\n" + secret over "".
 * And how each answers: the robots say 200 with an error code in the body when they refuse.
 */
import { createHash, createHmac } from 'node:crypto';
import type { NotifyChannelConfig } from './channelConfig.ts';
import { alertLines, type AlertText } from './message.ts';
import type { NotificationRow } from '../store/store.ts';

export interface OutgoingRequest {
  url: string;
  body: string;
}

/** One message: a single alert, or a digest of many (the rate limit's fold). */
export interface Message {
  channel: string;
  items: ReadonlyArray<{ row: NotificationRow; text: AlertText; zone: string }>;
  digest: boolean;
}

/** Lines a digest lists one by one; the rest are counted (robots cap a message at a few KB). */
export const DIGEST_LINES = 25;
/** Alerts a webhook digest carries in `alerts[]`; the rest go to `truncatedAlerts`. */
export const WEBHOOK_ALERTS = 200;
const FIELD_CHARS = 300;

const clip = (s: string, n = FIELD_CHARS) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('', 'utf8').digest('base64');
}

function digestTitle(m: Message): string {
  const firing = m.items.filter((i) => i.row.phase === 'firing').length;
  return `【告警汇总 DIGEST】${m.items.length} 条：${firing} 条告警、${m.items.length - firing} 条恢复 / ${m.items.length} alerts: ${firing} firing, ${m.items.length - firing} resolved`;
}

function digestLine(t: AlertText): string {
  return `${t.phase === 'firing' ? '🔴' : '✅'} ${clip(t.title, 120)} · ${t.since}`;
}

const MORE = (n: number) => `…另有 ${n} 条，请到看板查看 / …and ${n} more: see the dashboard`;

/** The text body shared by the robots: markdown (`**label**`) or plain. */
function textOf(m: Message, markdown: boolean): { title: string; text: string } {
  const b = (s: string) => (markdown ? `**${s}**` : s);
  if (!m.digest) {
    const t = m.items[0]!.text;
    const lines = alertLines(t).map(([k, v]) => `${b(k)}: ${clip(v)}`);
    return { title: clip(t.title, 120), text: [markdown ? `### ${clip(t.title)}` : clip(t.title), ...lines].join('\n') };
  }
  const shown = m.items.slice(0, DIGEST_LINES).map((i) => `${markdown ? '- ' : ''}${digestLine(i.text)}`);
  const rest = m.items.length - shown.length;
  const link = m.items[0]!.text.link;
  const title = digestTitle(m);
  const body = [markdown ? `### ${title}` : title, ...shown, ...(rest > 0 ? [MORE(rest)] : []), `${b('看板 Dashboard')}: ${link}`];
  return { title: clip(title, 120), text: body.join('\n') };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Alertmanager's 16-hex-digit fingerprint form, from our readable one. */
const amFingerprint = (fp: string) => createHash('sha256').update(fp).digest('hex').slice(0, 16);

function webhookBody(m: Message, receiver: string, externalUrl: string): string {
  const items = m.items.slice(0, WEBHOOK_ALERTS);
  const alerts = items.map(({ row, text, zone }) => {
    const a = row.alert;
    return {
      status: row.phase,
      labels: { alertname: a.kind, station: a.stationId, zone, subject: a.subject, severity: a.severity },
      annotations: { summary: clip(text.title), description: clip(text.what), since: text.since, todo: clip(text.todo), dashboard: text.link },
      startsAt: new Date(a.since).toISOString(),
      endsAt: row.phase === 'resolved' && a.until !== null ? new Date(a.until).toISOString() : ZERO_TIME,
      generatorURL: text.link.startsWith('http') ? text.link : externalUrl,
      fingerprint: amFingerprint(a.fingerprint),
    };
  });
  const common: Record<string, string> = { ...alerts[0]!.labels };
  for (const a of alerts) for (const [k, v] of Object.entries(common)) if ((a.labels as Record<string, string>)[k] !== v) delete common[k];
  const groupLabels: Record<string, string> = {};
  for (const k of ['alertname', 'station']) if (common[k] !== undefined) groupLabels[k] = common[k]!;
  const commonAnnotations: Record<string, string> = m.digest ? {} : alerts[0]!.annotations;
  return JSON.stringify({
    version: '4',
    groupKey: m.digest ? `{}:{receiver="${receiver}",digest="true"}` : `{}:{fingerprint="${alerts[0]!.fingerprint}"}`,
    truncatedAlerts: m.items.length - items.length,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver,
    groupLabels,
    commonLabels: common,
    commonAnnotations,
    externalURL: externalUrl,
    alerts,
  });
}

/** The request for one message to one channel at `nowMs`. */
export function requestFor(ch: NotifyChannelConfig, m: Message, nowMs: number, externalUrl: string): OutgoingRequest {
  switch (ch.kind) {
    case 'webhook':
      return { url: ch.url, body: webhookBody(m, m.channel, externalUrl) };
    case 'wecom': {
      const { text } = textOf(m, true);
      // WeCom caps markdown content at 4096 bytes.
      return { url: ch.url, body: JSON.stringify({ msgtype: 'markdown', markdown: { content: clipBytes(text, 4000) } }) };
    }
    case 'dingtalk': {
      const { title, text } = textOf(m, true);
      let url = ch.url;
      if (ch.secret) url += `${url.includes('?') ? '&' : '?'}timestamp=${nowMs}&sign=${encodeURIComponent(dingtalkSign(ch.secret, nowMs))}`;
      return { url, body: JSON.stringify({ msgtype: 'markdown', markdown: { title, text: clipBytes(text, 18_000) } }) };
    }
    case 'feishu': {
      const { text } = textOf(m, false);
      const content = { text: clipBytes(text, 18_000) };
      if (!ch.secret) return { url: ch.url, body: JSON.stringify({ msg_type: 'text', content }) };
      const ts = Math.floor(nowMs / 1000);
      return { url: ch.url, body: JSON.stringify({ timestamp: String(ts), sign: feishuSign(ch.secret, ts), msg_type: 'text', content }) };
    }
  }
}

function clipBytes(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let out = s;
  while (Buffer.byteLength(out, 'utf8') > maxBytes - 3) out = out.slice(0, Math.floor(out.length * 0.9));
  return `${out}…`;
}

/** Did the channel take the message? The robots answer 200 with `errcode`/`code` 0 when they did. */
export function acceptedBy(kind: NotifyChannelConfig['kind'], status: number, body: string): { ok: true } | { ok: false; error: string } {
  if (status < 200 || status >= 300) return { ok: false, error: `http_${status}` };
  if (kind === 'webhook') return { ok: true };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { ok: false, error: 'bad_answer' };
  }
  const code = kind === 'feishu' ? (j.code ?? j.StatusCode) : j.errcode;
  return code === 0 || code === undefined && kind === 'feishu' && j.StatusMessage === 'success' ? { ok: true } : { ok: false, error: `refused_${String(code)}` };
}
