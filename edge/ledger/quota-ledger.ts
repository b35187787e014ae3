/**
 * Check-ins and claims in the ledger: the pure quota rule (protocol/quota) decides, this
 * records the decision and its event in one transaction (SPEC §3, §9).
 */
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import {
  DEFAULT_POLICY,
  decideCheckin,
  decideClaim,
  decideZoneCheckin,
  decideZoneClaim,
  holdsQuota,
  type ZoneCheckinOutcome,
  type ZoneClaimDecision,
  type ClaimOnDay,
  type ClaimStatus,
  type Compartment,
  type QuotaPolicy,
  type ServiceDay,
  type Window,
} from '../../protocol/index.ts';
import type { Ledger, LedgerTx } from './ledger.ts';
import type { ZoneFacts } from './zone-facts.ts';
// The claim's transition table is the core's (a pure leaf module); this class only writes.
import { mayMove } from '../core/claims/machine.ts';

export interface Claim {
  id: string;
  riderId: string;
  day: ServiceDay;
  /** Quota slot of the rider-day (0 with one bottle a day); null once released. */
  slot: number | null;
  compartment: Compartment;
  dispenserId: string;
  sponsor: string | null;
  status: ClaimStatus;
  reason: string | null;
  createdTs: number;
  updatedTs: number;
  /** Wall-clock ms after which the dispenser must refuse the command (SPEC §5 rule 3). */
  expiresAt: number;
}

interface ClaimRow {
  id: string;
  rider_id: string;
  day: string;
  slot: number | null;
  compartment: string;
  dispenser_id: string;
  sponsor: string | null;
  status: string;
  reason: string | null;
  created_ts: number;
  updated_ts: number;
  expires_at: number;
}

function toClaim(r: ClaimRow): Claim {
  return {
    id: r.id,
    riderId: r.rider_id,
    day: r.day,
    slot: r.slot,
    compartment: r.compartment as Compartment,
    dispenserId: r.dispenser_id,
    sponsor: r.sponsor,
    status: r.status as ClaimStatus,
    reason: r.reason,
    createdTs: r.created_ts,
    updatedTs: r.updated_ts,
    expiresAt: r.expires_at,
  };
}

export interface ReserveRequest {
  riderId: string;
  compartment: Compartment;
  dispenserId: string;
  sponsor?: string | undefined;
  /** How long the dispenser may still act on the command (SPEC §5 `expiresAt`). */
  commandTtlMs: number;
}

export type ReserveResult =
  | { kind: 'granted'; claim: Claim; window: Window }
  | { kind: 'not_checked_in'; day: ServiceDay }
  /** `station`: the other station of the zone where the day's bottle was taken (SPEC §13). */
  | { kind: 'already_claimed_today'; day: ServiceDay; window: Window; station?: string };

export type Settlement = 'committed' | 'released' | 'unknown';

export type SettleResult =
  | { kind: 'settled'; claim: Claim; from: ClaimStatus }
  | { kind: 'unchanged'; claim: Claim }
  | { kind: 'not_found' };


/** A rider's claim of one day as the rider status shows it (the kiosk quotes an unknown one's id). */
export interface ClaimOfDay extends ClaimOnDay {
  id: string;
  createdTs: number;
}

export class QuotaLedger {
  private readonly s: Record<string, Statement>;
  policy: QuotaPolicy;
  /**
   * The remote facts of the zone (SPEC §13); decisions read them only while the policy's scope
   * is "zone", so with scope "station" everything is exactly §3 per station.
   */
  zone: ZoneFacts | null = null;
  /** Ms since the zone feed's last successful answer (written into claim.committed in zone scope). */
  zoneFeedAgeMs: () => number | undefined = () => undefined;
  /** The feed's age when each claim in flight was granted (the grant is what the cloud judges). */
  private readonly grantedAge = new Map<string, number>();

  constructor(
    readonly ledger: Ledger,
    policy: QuotaPolicy = DEFAULT_POLICY,
  ) {
    this.policy = policy;
    const db = ledger.db;
    this.s = {
      windows: db.prepare('SELECT day_from AS "from", day_to AS "to" FROM windows WHERE rider_id = ? ORDER BY day_from'),
      windowAt: db.prepare(
        'SELECT day_from AS "from", day_to AS "to" FROM windows WHERE rider_id = ? AND day_from <= ? AND day_to >= ? LIMIT 1',
      ),
      insertWindow: db.prepare('INSERT INTO windows (rider_id, day_from, day_to, created_ts) VALUES (?, ?, ?, ?)'),
      claimsOn: db.prepare('SELECT id, day, status, slot, created_ts AS createdTs FROM claims WHERE rider_id = ? AND day = ?'),
      insertClaim: db.prepare(
        `INSERT INTO claims (id, rider_id, day, slot, compartment, dispenser_id, sponsor, status, created_ts, updated_ts, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?)`,
      ),
      markSent: db.prepare("UPDATE claims SET status = 'dispensing', updated_ts = ? WHERE id = ? AND status = 'reserved'"),
      getClaim: db.prepare('SELECT * FROM claims WHERE id = ?'),
      setStatus: db.prepare(
        "UPDATE claims SET status = @status, reason = @reason, updated_ts = @ts, slot = CASE WHEN @status = 'released' THEN NULL ELSE slot END WHERE id = @id",
      ),
      byStatus: db.prepare('SELECT * FROM claims WHERE status = ? ORDER BY created_ts'),
      countByStatus: db.prepare('SELECT status, COUNT(*) AS n FROM claims GROUP BY status'),
    };
  }

  /** Windows only overlapping `day` matter for decisions; one indexed lookup. */
  private windowsCovering(riderId: string, day: ServiceDay): Window[] {
    const w = this.s.windowAt!.get(riderId, day, day) as Window | undefined;
    return w ? [w] : [];
  }

  windowsOf(riderId: string): Window[] {
    return this.s.windows!.all(riderId) as Window[];
  }

  /**
   * When the rider's latest window that ended before `day` ended — at this station, or in scope
   * "zone" at any station of the zone whose check-in the station still holds — or null. The kiosk
   * says so and offers a new check-in.
   */
  lastWindowToBefore(riderId: string, day: ServiceDay): ServiceDay | null {
    let last = this.windowsOf(riderId).filter((w) => w.to < day).at(-1)?.to ?? null;
    const remote = this.zoneFacts()?.lastWindowToBefore(riderId, day) ?? null;
    if (remote !== null && (last === null || remote > last)) last = remote;
    return last;
  }

  claimsOn(riderId: string, day: ServiceDay): ClaimOfDay[] {
    return this.s.claimsOn!.all(riderId, day) as ClaimOfDay[];
  }

  /** The zone's facts when the policy is zone-scoped, else none (SPEC §13). */
  private zoneFacts(): ZoneFacts | null {
    return this.policy.scope === 'zone' ? this.zone : null;
  }

  /** SPEC §3 rules 1–2 (across the zone with scope "zone", §13): open a window or answer `already_checked_in`. */
  checkin(riderId: string): { outcome: ZoneCheckinOutcome; day: ServiceDay } {
    return this.ledger.tx((t) => {
      const local = this.windowsCovering(riderId, t.day);
      const zone = this.zoneFacts();
      const outcome = zone ? decideZoneCheckin(local, zone.view(riderId, t.day), t.day, this.policy) : decideCheckin(local, t.day, this.policy);
      if (outcome.kind === 'opened') {
        this.s.insertWindow!.run(riderId, outcome.window.from, outcome.window.to, t.now);
        t.append('checkin', { riderId, windowFrom: outcome.window.from, windowTo: outcome.window.to });
      }
      return { outcome, day: t.day };
    });
  }

  /**
   * SPEC §3 rules 3–4: decide and reserve in one durable transaction. The claim is stored as
   * `reserved` with its command id (= claim id): the quota is held, the dispenser not yet told.
   * `markSent` writes `dispensing` before the command is published (edge/core/claims/machine.ts).
   */
  reserve(req: ReserveRequest): ReserveResult {
    return this.ledger.tx((t) => {
      const day = t.day;
      const claims = this.s.claimsOn!.all(req.riderId, day) as Array<ClaimOnDay & { slot: number | null }>;
      const zone = this.zoneFacts();
      const local = this.windowsCovering(req.riderId, day);
      const decision: ZoneClaimDecision = zone
        ? decideZoneClaim(local, claims, zone.view(req.riderId, day), day, this.policy)
        : decideClaim(local, claims, day, this.policy);
      if (decision.kind === 'not_checked_in') return { kind: 'not_checked_in', day };
      if (decision.kind === 'already_claimed_today') {
        const { station } = decision;
        return { kind: 'already_claimed_today', day, window: decision.window, ...(station ? { station } : {}) };
      }
      const used = new Set(claims.filter((c) => holdsQuota(c.status)).map((c) => c.slot));
      let slot = 0;
      while (used.has(slot)) slot++;
      const id = randomUUID();
      const expiresAt = t.now + req.commandTtlMs;
      this.s.insertClaim!.run(id, req.riderId, day, slot, req.compartment, req.dispenserId, req.sponsor ?? null, t.now, t.now, expiresAt);
      if (zone) {
        const age = this.zoneFeedAgeMs();
        if (age !== undefined) this.grantedAge.set(id, Math.max(0, Math.round(age)));
      }
      const claim: Claim = {
        id,
        riderId: req.riderId,
        day,
        slot,
        compartment: req.compartment,
        dispenserId: req.dispenserId,
        sponsor: req.sponsor ?? null,
        status: 'reserved',
        reason: null,
        createdTs: t.now,
        updatedTs: t.now,
        expiresAt,
      };
      return { kind: 'granted', claim, window: decision.window };
    });
  }

  /**
   * `reserved` → `dispensing`, durably, right before `cmd/dispense` is published (SPEC §5 rule
   * 1): a claim still `reserved` after a crash was provably never sent. False when the claim
   * was not `reserved` (nothing is written then, and nothing may be published).
   */
  markSent(claimId: string): boolean {
    return this.ledger.tx((t) => this.markSentIn(t, claimId));
  }

  markSentIn(t: LedgerTx, claimId: string): boolean {
    return this.s.markSent!.run(t.now, claimId).changes === 1;
  }

  getClaim(id: string): Claim | undefined {
    const r = this.s.getClaim!.get(id) as ClaimRow | undefined;
    return r ? toClaim(r) : undefined;
  }

  claimsWithStatus(status: ClaimStatus): Claim[] {
    return (this.s.byStatus!.all(status) as ClaimRow[]).map(toClaim);
  }

  countByStatus(): Record<ClaimStatus, number> {
    const out: Record<ClaimStatus, number> = { reserved: 0, dispensing: 0, committed: 0, released: 0, unknown: 0 };
    for (const r of this.s.countByStatus!.all() as Array<{ status: ClaimStatus; n: number }>) out[r.status] = r.n;
    return out;
  }

  /**
   * Write a settlement (SPEC §3 rule 4, §5 rule 4) and its events, when the claim machine's
   * transition table allows it (`mayMove`): dispensing → committed | released | unknown,
   * reserved → released, unknown → committed | released (which also writes `claim.resolved`).
   * Final states never change: a second `dropped` for a committed claim is `unchanged`, so one
   * claim is never counted twice.
   */
  settle(claimId: string, to: Settlement, detail: { reason?: string; by?: string } = {}): SettleResult {
    return this.ledger.tx((t) => this.settleIn(t, claimId, to, detail));
  }

  settleIn(t: LedgerTx, claimId: string, to: Settlement, detail: { reason?: string; by?: string } = {}): SettleResult {
    const row = this.s.getClaim!.get(claimId) as ClaimRow | undefined;
    if (!row) return { kind: 'not_found' };
    const claim = toClaim(row);
    const from = claim.status;
    if (!mayMove(from, to)) return { kind: 'unchanged', claim };
    const reason = detail.reason ?? null;
    this.s.setStatus!.run({ status: to, reason, ts: t.now, id: claimId });
    const base = { claimId, riderId: claim.riderId };
    // Events keep the claim's own service day, so a late resolution counts on the day of the claim.
    const day = { day: claim.day };
    // The feed's age when this claim was granted (zone scope); a claim granted before a restart has none.
    const zoneFeedAgeMs = this.grantedAge.get(claimId);
    if (to !== 'unknown') this.grantedAge.delete(claimId);
    if (from === 'unknown' && to !== 'unknown') {
      t.append('claim.resolved', { ...base, outcome: to, ...(detail.by ? { by: detail.by } : {}) }, day);
    }
    if (to === 'committed') {
      t.append(
        'claim.committed',
        {
          ...base,
          compartment: claim.compartment,
          dispenserId: claim.dispenserId,
          ...(claim.sponsor ? { sponsor: claim.sponsor } : {}),
          ...(zoneFeedAgeMs !== undefined ? { zoneFeedAgeMs } : {}),
        },
        day,
      );
    } else if (to === 'released') {
      t.append('claim.released', { ...base, ...(reason ? { reason } : {}) }, day);
    } else {
      t.append('claim.unknown', { ...base, dispenserId: claim.dispenserId, ...(reason ? { reason } : {}), ...(zoneFeedAgeMs !== undefined ? { zoneFeedAgeMs } : {}) }, day);
    }
    return { kind: 'settled', claim: { ...claim, status: to, reason, updatedTs: t.now, slot: to === 'released' ? null : claim.slot }, from };
  }

  /** SPEC §8 rider status: the window covering today and whether today's quota is used. */
  riderStatus(riderId: string): {
    day: ServiceDay;
    window: Window | null;
    claimedToday: boolean;
    claimsToday: ClaimOfDay[];
    /** Zone scope: the other station where today's bottle was taken, if it was. */
    claimedAt: string | null;
  } {
    const day = this.ledger.serviceDay();
    const zone = this.zoneFacts();
    const view = zone?.view(riderId, day);
    const remoteWindow = view?.windows.slice().sort((a, b) => a.from.localeCompare(b.from) || a.stationId.localeCompare(b.stationId))[0];
    const window = this.windowsCovering(riderId, day)[0] ?? (remoteWindow ? { from: remoteWindow.from, to: remoteWindow.to } : null);
    const claimsToday = this.claimsOn(riderId, day);
    const remoteHeld = (view?.claims ?? []).filter((c) => holdsQuota(c.status)).sort((a, b) => a.ts - b.ts);
    const localHeld = claimsToday.filter((c) => holdsQuota(c.status)).length;
    const claimedToday = localHeld + remoteHeld.length >= this.policy.claimsPerDay;
    // Taken here: the kiosk says so as it always did; taken elsewhere: it names the station.
    const claimedAt = claimedToday && localHeld < this.policy.claimsPerDay ? (remoteHeld[0]?.stationId ?? null) : null;
    return { day, window, claimedToday, claimsToday, claimedAt };
  }
}
