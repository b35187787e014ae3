/**
 * Alerts and the notification outbox of the SQLite backend (SPEC §15). Each method is one
 * IMMEDIATE transaction, so cloud processes sharing the file see one order: an alert fires once
 * per episode (the fingerprint is the unique key), and its notifications are written with it.
 */
import type { Database, Statement } from 'better-sqlite3';
import {
  ACK_RESOLVES_KINDS, type AlertFire, type AlertInput, type AlertRow, type AlertState,
  type NotificationOutcome, type NotificationPhase, type NotificationRow,
} from './store.ts';
import { alertOf, logAlertFire } from './alertRows.ts';

type Row = Record<string, unknown>;

export { logAlertFingerprint } from './alertRows.ts';

const ACK_KINDS_SQL = ACK_RESOLVES_KINDS.map((k) => `'${k}'`).join(', ');

export class SqliteAlerts {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      byFingerprint: p('SELECT * FROM alerts WHERE fingerprint = ?'),
      byId: p('SELECT * FROM alerts WHERE id = ?'),
      insert: p(`INSERT INTO alerts (station_id, kind, seq, detail, first_at, last_at, fingerprint, subject, severity, state, since, episode)
        VALUES (@stationId, @kind, @seq, @detail, @at, @at, @fingerprint, @subject, @severity, 'firing', @since, 1)`),
      refire: p(`UPDATE alerts SET state = 'firing', episode = episode + 1, count = count + 1, since = @since, last_at = @at,
        detail = @detail, severity = @severity, resolved_at = NULL, acked_at = NULL, acked_by = NULL WHERE id = @id AND state = 'resolved'`),
      touch: p('UPDATE alerts SET last_at = @at, detail = @detail, severity = @severity, count = count + @bump WHERE id = @id'),
      resolve: p(`UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'firing'`),
      owe: p(`INSERT INTO notifications (alert_id, episode, phase, channel, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (alert_id, episode, phase, channel) DO NOTHING`),
      toldOfFiring: p(`SELECT channel FROM notifications WHERE alert_id = ? AND episode = ? AND phase = 'firing'`),
      list: p(`SELECT * FROM alerts WHERE (@state = 'all' OR state = @state) ORDER BY last_at DESC, id DESC LIMIT @limit`),
      open: p('SELECT * FROM alerts WHERE (@openOnly = 0 OR acked_at IS NULL) ORDER BY last_at DESC, id DESC LIMIT @limit'),
      ack: p(`UPDATE alerts SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL`),
      ackResolves: p(`SELECT kind IN (${ACK_KINDS_SQL}) AS r FROM alerts WHERE id = ?`),
      leaseTake: p(`INSERT INTO notify_leases (channel, owner, until) VALUES (@channel, @owner, @until)
        ON CONFLICT (channel) DO UPDATE SET owner = excluded.owner, until = excluded.until
        WHERE notify_leases.owner = excluded.owner OR notify_leases.until < @now`),
      leaseOwner: p('SELECT owner FROM notify_leases WHERE channel = ?'),
      leaseRelease: p('DELETE FROM notify_leases WHERE channel = ? AND owner = ?'),
      due: p(`SELECT n.id AS n_id, n.alert_id, n.episode AS n_episode, n.phase, n.channel, n.attempts, n.created_at, n.next_at, a.*
        FROM notifications n JOIN alerts a ON a.id = n.alert_id
        WHERE n.channel = ? AND n.state = 'pending' AND n.next_at <= ? ORDER BY n.next_at, n.id LIMIT ?`),
      sendsSince: p('SELECT count(*) AS n FROM notify_sends WHERE channel = ? AND at > ?'),
      logSend: p('INSERT INTO notify_sends (channel, at, notifications, ok) VALUES (?, ?, ?, ?)'),
      pruneSends: p('DELETE FROM notify_sends WHERE at < ?'),
      sent: p(`UPDATE notifications SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'`),
      retry: p(`UPDATE notifications SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`),
      giveUp: p(`UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'`),
      counts: p('SELECT state, count(*) AS n FROM notifications GROUP BY state'),
    };
  }

  private owe(alert: AlertRow, phase: NotificationPhase, channels: readonly string[], at: number): void {
    for (const c of new Set(channels)) this.s.owe!.run(alert.id, alert.episode, phase, c, at, at);
  }

  fire(a: AlertFire, at: number): { fired: boolean; alert: AlertRow } {
    return this.db.transaction(() => {
      const params = { stationId: a.stationId, kind: a.kind, seq: a.seq, detail: a.detail, at, fingerprint: a.fingerprint, subject: a.subject, severity: a.severity, since: a.since };
      const cur = this.s.byFingerprint!.get(a.fingerprint) as Row | undefined;
      let fired = false;
      if (!cur) {
        this.s.insert!.run(params);
        fired = true;
      } else if (cur.state === 'resolved') {
        fired = this.s.refire!.run({ id: cur.id, since: a.since, at, detail: a.detail, severity: a.severity }).changes === 1;
      } else {
        this.s.touch!.run({ id: cur.id, at, detail: a.detail, severity: a.severity, bump: a.countRepeat ? 1 : 0 });
      }
      const alert = alertOf(this.s.byFingerprint!.get(a.fingerprint) as Row);
      if (fired) this.owe(alert, 'firing', a.channels, at);
      return { fired, alert };
    }).immediate();
  }

  /** Resolve by row; the channels told of this episode's firing are owed its resolution. */
  private resolveRow(row: Row, at: number): boolean {
    if (this.s.resolve!.run(at, row.id).changes !== 1) return false;
    const alert = alertOf(this.s.byId!.get(row.id) as Row);
    const told = (this.s.toldOfFiring!.all(alert.id, alert.episode) as { channel: string }[]).map((r) => r.channel);
    this.owe(alert, 'resolved', told, at);
    return true;
  }

  resolve(fingerprint: string, at: number): boolean {
    return this.db.transaction(() => {
      const row = this.s.byFingerprint!.get(fingerprint) as Row | undefined;
      return row ? this.resolveRow(row, at) : false;
    }).immediate();
  }

  /** SPEC §9 log alerts: the same (station, kind, seq) again bumps the count, and fires again once resolved. */
  raise(a: AlertInput): void {
    this.fire(logAlertFire(a), a.at);
  }

  list(state: AlertState | 'all', limit: number): AlertRow[] {
    return (this.s.list!.all({ state, limit }) as Row[]).map(alertOf);
  }

  open(limit: number, openOnly: boolean): AlertRow[] {
    return (this.s.open!.all({ limit, openOnly: openOnly ? 1 : 0 }) as Row[]).map(alertOf);
  }

  acknowledge(id: number, by: string, at: number): AlertRow | null {
    return this.db.transaction(() => {
      const row = this.s.byId!.get(id) as Row | undefined;
      if (!row) return null;
      if (this.s.ack!.run(at, by, id).changes === 1 && (this.s.ackResolves!.get(id) as { r: number }).r === 1) this.resolveRow(row, at);
      return alertOf(this.s.byId!.get(id) as Row);
    }).immediate();
  }

  leaseChannel(channel: string, owner: string, now: number, leaseMs: number): boolean {
    return this.db.transaction(() => {
      this.s.leaseTake!.run({ channel, owner, until: now + leaseMs, now });
      return (this.s.leaseOwner!.get(channel) as { owner: string } | undefined)?.owner === owner;
    }).immediate();
  }

  releaseChannel(channel: string, owner: string): void {
    this.s.leaseRelease!.run(channel, owner);
  }

  due(channel: string, now: number, limit: number): NotificationRow[] {
    return (this.s.due!.all(channel, now, limit) as Row[]).map((r) => ({
      id: r.n_id as number,
      alertId: r.alert_id as number,
      episode: r.n_episode as number,
      phase: r.phase as NotificationPhase,
      channel: r.channel as string,
      attempts: r.attempts as number,
      createdAt: r.created_at as number,
      nextAt: r.next_at as number,
      alert: alertOf(r),
    }));
  }

  sendsSince(channel: string, sinceMs: number): number {
    return (this.s.sendsSince!.get(channel, sinceMs) as { n: number }).n;
  }

  settle(channel: string, at: number, results: ReadonlyArray<{ id: number; outcome: NotificationOutcome }>): void {
    this.db.transaction(() => {
      this.s.logSend!.run(channel, at, results.length, results.every((r) => r.outcome.kind === 'sent') ? 1 : 0);
      // The log is only read for the last minute; an hour is kept for a look by hand.
      this.s.pruneSends!.run(at - 3_600_000);
      for (const { id, outcome: o } of results) {
        if (o.kind === 'sent') this.s.sent!.run(at, id);
        else if (o.nextAt === null) this.s.giveUp!.run(o.error, id);
        else this.s.retry!.run(o.nextAt, o.error, id);
      }
    }).immediate();
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = { pending: 0, sent: 0, failed: 0 };
    for (const r of this.s.counts!.all() as { state: string; n: number }[]) out[r.state] = r.n;
    return out;
  }
}
