/**
 * Resolution of claims left open (SPEC §3 rule 4, §5 rule 2): `unknown` claims are asked about
 * with `cmd/query` when their dispenser is back, and a late final event settles a claim too. A
 * stored final outcome settles the claim; `indeterminate` (power lost mid-vend: the device
 * itself cannot tell) marks it for maintenance, the quota stays held.
 */
import { answerOf } from '../../../protocol/index.ts';
import type { DispenserPort, QueryAnswer } from '../device-ports.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { Claim, QuotaLedger } from '../../ledger/quota-ledger.ts';
import type { Logger } from '../../log.ts';
import type { DeviceHealth } from '../health.ts';
import { INDETERMINATE, neverReceived } from './model.ts';
import * as store from './store.ts';

export interface UnknownClaimResolverDeps {
  quota: QuotaLedger;
  driver: DispenserPort;
  health: DeviceHealth;
  log: Logger;
  /** Resolve unknown claims automatically when their dispenser comes back (default true). */
  resolveOnReconnect?: boolean;
  /** See `ClaimServiceOptions.neverReceivedMarginMs` (default 10 min). */
  neverReceivedMarginMs?: number;
}

export class UnknownClaimResolver {
  private readonly ledger: Ledger;
  private readonly offs: Array<() => void> = [];
  private resolving: Promise<number> | undefined;
  private resolveAgain = false;

  constructor(private readonly d: UnknownClaimResolverDeps) {
    this.ledger = d.quota.ledger;
  }

  /** Follow late final events and, unless turned off, query as soon as dispensers come back. */
  start(): void {
    this.offs.push(this.d.driver.onUnclaimedEvent((dispenserId, evt) => this.onLateEvent(dispenserId, evt.id, answerOf(evt) ?? { result: 'unknown' })));
    if (this.d.resolveOnReconnect ?? true) {
      this.offs.push(this.d.driver.onOnline(() => this.kickResolve()));
      this.kickResolve();
    }
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    await this.resolving?.catch(() => 0);
  }

  /** A final event nobody waited for: settle the claim if it is still open. */
  private onLateEvent(dispenserId: string, claimId: string, answer: QueryAnswer): void {
    const claim = this.d.quota.getClaim(claimId);
    if (!claim) {
      this.d.log.warn({ claimId, dispenserId }, 'event for a claim this station does not know');
      return;
    }
    if (claim.dispenserId !== dispenserId) {
      this.d.log.error({ claimId, dispenserId, expected: claim.dispenserId }, 'event from the wrong dispenser ignored');
      return;
    }
    this.apply(claim, answer, 'late_event');
  }

  /** Settle an open claim from a stored outcome (late event or query answer); true when it was settled. */
  private apply(claim: Claim, answer: QueryAnswer, by: string): boolean {
    const q = this.d.quota;
    const open = claim.status === 'unknown' || claim.status === 'dispensing' || claim.status === 'reserved';
    if (!open) {
      const agrees =
        (claim.status === 'committed' && answer.result === 'dropped') ||
        (claim.status === 'released' && (answer.result === 'rejected' || answer.result === 'failed'));
      if (!agrees && answer.result !== 'unknown' && answer.result !== 'timeout') {
        this.d.log.error({ claimId: claim.id, status: claim.status, answer }, 'dispenser report contradicts a settled claim');
      }
      return false;
    }
    switch (answer.result) {
      case 'dropped':
        return q.settle(claim.id, 'committed', { by }).kind === 'settled';
      case 'rejected':
      case 'failed':
        return q.settle(claim.id, 'released', { reason: answer.reason, by }).kind === 'settled';
      case 'indeterminate':
        this.markIndeterminate(claim);
        return false;
      case 'unknown':
        if (by === 'query' && neverReceived(claim, this.ledger.clock.now(), this.d.neverReceivedMarginMs ?? 600_000)) {
          return q.settle(claim.id, 'released', { reason: 'never_received', by }).kind === 'settled';
        }
        return false;
      case 'timeout':
        return false;
    }
  }

  /** An unknown claim the device cannot decide: mark it for maintenance (the quota stays held). */
  private markIndeterminate(claim: Claim): void {
    if (claim.status === 'dispensing' || claim.status === 'reserved') {
      this.d.quota.settle(claim.id, 'unknown', { reason: INDETERMINATE });
    } else if (claim.reason !== INDETERMINATE) {
      this.ledger.tx((t) => {
        store.setUnknownReason(t.db, claim.id, INDETERMINATE, t.now);
      });
    }
    this.d.log.error({ claimId: claim.id, dispenserId: claim.dispenserId }, 'vend indeterminate (power lost mid-vend): maintenance must decide');
  }

  private kickResolve(): void {
    this.resolveUnknownClaims().catch((err: unknown) => this.d.log.error({ err }, 'resolving unknown claims failed'));
  }

  /**
   * Query the dispensers that are reachable about their `unknown` claims; a stored final
   * outcome settles the claim (`claim.resolved`), silence leaves it, and `unknown` leaves it
   * unless the device provably never received it (`neverReceived`). Returns how
   * many were settled. Claims marked `indeterminate` wait for maintenance. A call while a
   * round runs joins it, and the round goes once more.
   */
  resolveUnknownClaims(): Promise<number> {
    if (this.resolving) {
      this.resolveAgain = true;
      return this.resolving;
    }
    const run = (async () => {
      let settled = 0;
      do {
        this.resolveAgain = false;
        settled += await this.resolveOnce();
      } while (this.resolveAgain);
      return settled;
    })();
    this.resolving = run;
    void run.finally(() => {
      if (this.resolving === run) this.resolving = undefined;
    }).catch(() => {});
    return run;
  }

  private async resolveOnce(): Promise<number> {
    const open = this.d.quota
      .claimsWithStatus('unknown')
      .filter((c) => c.reason !== INDETERMINATE && this.d.driver.has(c.dispenserId) && this.d.health.usable(c.dispenserId));
    const byDispenser = new Map<string, Claim[]>();
    for (const c of open) byDispenser.set(c.dispenserId, [...(byDispenser.get(c.dispenserId) ?? []), c]);
    const counts = await Promise.all(
      [...byDispenser.entries()].map(async ([dispenserId, claims]) => {
        let n = 0;
        for (const c of claims) {
          const answer = await this.d.driver.query(dispenserId, c.id);
          const fresh = this.d.quota.getClaim(c.id);
          if (fresh && this.apply(fresh, answer, 'query')) {
            n++;
            this.d.log.info({ claimId: c.id, dispenserId, result: answer.result }, 'unknown claim resolved by query');
          }
          if (answer.result === 'timeout') break; // the device went away again; try later
        }
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
}
