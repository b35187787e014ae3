/**
 * Alerts and the notification outbox on PostgreSQL (SPEC §15), the same rules as the SQLite
 * backend (sqliteAlerts.ts): firing is idempotent by fingerprint (a unique index), and only the
 * transaction that moved an alert to firing or resolved writes its notifications. Concurrent
 * fires of one fingerprint meet on the row lock (`FOR UPDATE`) or the unique index.
 */
import type pg from 'pg';
import { alertOf, logAlertFire } from './alertRows.ts';
import {
  ACK_RESOLVES_KINDS, type AlertFire, type AlertInput, type AlertRow, type AlertState,
  type NotificationOutcome, type NotificationPhase, type NotificationRow,
} from './store.ts';

type Row = Record<string, unknown>;
type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

async function owe(c: pg.PoolClient, alert: AlertRow, phase: NotificationPhase, channels: readonly string[], at: number): Promise<void> {
  const names = [...new Set(channels)];
  if (names.length === 0) return;
  await c.query(
    `INSERT INTO notifications (alert_id, episode, phase, channel, created_at, next_at)
     SELECT $1, $2, $3, ch, $4, $4 FROM unnest($5::text[]) AS ch
     ON CONFLICT (alert_id, episode, phase, channel) DO NOTHING`,
    [alert.id, alert.episode, phase, at, names],
  );
}

async function resolveById(c: pg.PoolClient, id: number, at: number): Promise<boolean> {
  const r = await c.query<Row>(`UPDATE alerts SET state = 'resolved', resolved_at = $2 WHERE id = $1 AND state = 'firing' RETURNING *`, [id, at]);
  const row = r.rows[0];
  if (!row) return false;
  const alert = alertOf(row);
  // The channels told of this episode's firing are owed its resolution.
  await c.query(
    `INSERT INTO notifications (alert_id, episode, phase, channel, created_at, next_at)
     SELECT alert_id, episode, 'resolved', channel, $3, $3 FROM notifications WHERE alert_id = $1 AND episode = $2 AND phase = 'firing'
     ON CONFLICT (alert_id, episode, phase, channel) DO NOTHING`,
    [alert.id, alert.episode, at],
  );
  return true;
}

export class PgAlerts {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: Tx,
  ) {}

  fire(a: AlertFire, at: number): Promise<{ fired: boolean; alert: AlertRow }> {
    return this.tx(async (c) => {
      const lock = () => c.query<Row>('SELECT * FROM alerts WHERE fingerprint = $1 FOR UPDATE', [a.fingerprint]);
      let cur = (await lock()).rows[0];
      let fired = false;
      if (!cur) {
        const ins = await c.query<Row>(
          `INSERT INTO alerts (station_id, kind, seq, detail, first_at, last_at, fingerprint, subject, severity, state, since, episode)
           VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, 'firing', $9, 1) ON CONFLICT (fingerprint) DO NOTHING RETURNING *`,
          [a.stationId, a.kind, a.seq, a.detail, at, a.fingerprint, a.subject, a.severity, a.since],
        );
        if (ins.rows[0]) {
          cur = ins.rows[0];
          fired = true;
        } else {
          cur = (await lock()).rows[0]; // another instance inserted it first
        }
      }
      if (!fired && cur!.state === 'resolved') {
        await c.query(
          `UPDATE alerts SET state = 'firing', episode = episode + 1, count = count + 1, since = $2, last_at = $3, detail = $4,
             severity = $5, resolved_at = NULL, acked_at = NULL, acked_by = NULL WHERE id = $1`,
          [cur!.id, a.since, at, a.detail, a.severity],
        );
        fired = true;
      } else if (!fired) {
        await c.query('UPDATE alerts SET last_at = $2, detail = $3, severity = $4, count = count + $5 WHERE id = $1', [cur!.id, at, a.detail, a.severity, a.countRepeat ? 1 : 0]);
      }
      const alert = alertOf((await c.query<Row>('SELECT * FROM alerts WHERE id = $1', [cur!.id])).rows[0]!);
      if (fired) await owe(c, alert, 'firing', a.channels, at);
      return { fired, alert };
    });
  }

  resolve(fingerprint: string, at: number): Promise<boolean> {
    return this.tx(async (c) => {
      const row = (await c.query<Row>('SELECT id FROM alerts WHERE fingerprint = $1 FOR UPDATE', [fingerprint])).rows[0];
      return row ? resolveById(c, Number(row.id), at) : false;
    });
  }

  async raise(a: AlertInput): Promise<void> {
    await this.fire(logAlertFire(a), a.at);
  }

  async list(state: AlertState | 'all', limit: number): Promise<AlertRow[]> {
    const r = await this.pool.query<Row>(`SELECT * FROM alerts WHERE ($1 = 'all' OR state = $1) ORDER BY last_at DESC, id DESC LIMIT $2`, [state, limit]);
    return r.rows.map(alertOf);
  }

  acknowledge(id: number, by: string, at: number): Promise<AlertRow | null> {
    return this.tx(async (c) => {
      const row = (await c.query<Row>('SELECT * FROM alerts WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row) return null;
      const acked = await c.query('UPDATE alerts SET acked_at = $1, acked_by = $2 WHERE id = $3 AND acked_at IS NULL', [at, by, id]);
      if (acked.rowCount === 1 && ACK_RESOLVES_KINDS.includes(row.kind as string)) await resolveById(c, id, at);
      return alertOf((await c.query<Row>('SELECT * FROM alerts WHERE id = $1', [id])).rows[0]!);
    });
  }

  async leaseChannel(channel: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO notify_leases (channel, owner, until) VALUES ($1, $2, $3)
       ON CONFLICT (channel) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE notify_leases.owner = excluded.owner OR notify_leases.until < $4 RETURNING owner`,
      [channel, owner, now + leaseMs, now],
    );
    return r.rowCount === 1;
  }

  async releaseChannel(channel: string, owner: string): Promise<void> {
    await this.pool.query('DELETE FROM notify_leases WHERE channel = $1 AND owner = $2', [channel, owner]);
  }

  async due(channel: string, now: number, limit: number): Promise<NotificationRow[]> {
    const r = await this.pool.query<Row>(
      `SELECT n.id AS n_id, n.alert_id, n.episode AS n_episode, n.phase, n.channel, n.attempts, n.created_at, n.next_at, a.*
       FROM notifications n JOIN alerts a ON a.id = n.alert_id
       WHERE n.channel = $1 AND n.state = 'pending' AND n.next_at <= $2 ORDER BY n.next_at, n.id LIMIT $3`,
      [channel, now, limit],
    );
    return r.rows.map((x) => ({
      id: Number(x.n_id),
      alertId: Number(x.alert_id),
      episode: x.n_episode as number,
      phase: x.phase as NotificationPhase,
      channel: x.channel as string,
      attempts: x.attempts as number,
      createdAt: x.created_at as number,
      nextAt: x.next_at as number,
      alert: alertOf(x),
    }));
  }

  async sendsSince(channel: string, sinceMs: number): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM notify_sends WHERE channel = $1 AND at > $2', [channel, sinceMs]);
    return Number(r.rows[0]!.n);
  }

  settle(channel: string, at: number, results: ReadonlyArray<{ id: number; outcome: NotificationOutcome }>): Promise<void> {
    return this.tx(async (c) => {
      await c.query('INSERT INTO notify_sends (channel, at, notifications, ok) VALUES ($1, $2, $3, $4)', [channel, at, results.length, results.every((r) => r.outcome.kind === 'sent')]);
      // The log is only read for the last minute; an hour is kept for a look by hand.
      await c.query('DELETE FROM notify_sends WHERE at < $1', [at - 3_600_000]);
      for (const { id, outcome: o } of results) {
        if (o.kind === 'sent') await c.query(`UPDATE notifications SET state = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2 AND state = 'pending'`, [at, id]);
        else if (o.nextAt === null) await c.query(`UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2 AND state = 'pending'`, [o.error, id]);
        else await c.query(`UPDATE notifications SET attempts = attempts + 1, next_at = $1, last_error = $2 WHERE id = $3 AND state = 'pending'`, [o.nextAt, o.error, id]);
      }
    });
  }

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = { pending: 0, sent: 0, failed: 0 };
    const r = await this.pool.query<{ state: string; n: number }>('SELECT state, count(*) AS n FROM notifications GROUP BY state');
    for (const x of r.rows) out[x.state] = Number(x.n);
    return out;
  }
}
