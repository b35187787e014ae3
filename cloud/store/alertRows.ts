/** Row mapping and the log-alert fingerprint shared by both store backends (SPEC §15). */
import type { AlertFire, AlertInput, AlertRow, AlertSeverity, AlertState } from './store.ts';

type Row = Record<string, unknown>;

/** The fingerprint of a log alert (hash chain, invalid event): one per station, kind and seq. */
export function logAlertFingerprint(a: Pick<AlertInput, 'stationId' | 'kind' | 'seq'>): string {
  return `${a.stationId}/seq:${a.seq ?? '-'}/${a.kind}`;
}

/** `raiseAlert` as a fire: the same (station, kind, seq) again bumps the count, and fires again once resolved. */
export function logAlertFire(a: AlertInput): AlertFire {
  return {
    fingerprint: logAlertFingerprint(a),
    stationId: a.stationId,
    subject: a.seq === null ? '' : `seq:${a.seq}`,
    kind: a.kind,
    severity: a.kind === 'chain_broken' ? 'critical' : 'warning',
    since: a.at,
    detail: a.detail,
    seq: a.seq,
    channels: a.channels ?? [],
    countRepeat: true,
  };
}

export const alertOf = (r: Row): AlertRow => ({
  id: Number(r.id),
  stationId: r.station_id as string,
  kind: r.kind as string,
  seq: (r.seq as number | null) ?? null,
  detail: r.detail as string,
  at: r.last_at as number,
  firstAt: r.first_at as number,
  count: r.count as number,
  ackedAt: (r.acked_at as number | null) ?? null,
  ackedBy: (r.acked_by as string | null) ?? null,
  fingerprint: r.fingerprint as string,
  subject: r.subject as string,
  severity: r.severity as AlertSeverity,
  state: r.state as AlertState,
  since: (r.since as number | null) ?? (r.first_at as number),
  until: (r.resolved_at as number | null) ?? null,
  episode: r.episode as number,
});
