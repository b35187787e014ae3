/**
 * Resolution of claims left open (SPEC §3 rule 4, §5 rule 2): `unknown` claims are asked about
 * with `cmd/query` when their dispenser is back, and a late final event settles a claim too. A
 * stored final outcome settles the claim; `indeterminate` (power lost mid-vend: the device
 * itself cannot tell) marks it for maintenance, the quota stays held.
 */
import { answerOf } from '../../../protocol/index.ts';
import type { DispenserPort, QueryAnswer } from '../device-ports.ts';
import type { Claim, QuotaLedger } from '../../ledger/quota-ledger.ts';
import type { Logger } from '../../log.ts';
import type { DeviceHealth } from '../health.ts';
import { INDETERMINATE, type ClaimInput, type DeviceWord } from './machine.ts';

export interface UnknownClaimResolverDeps {
  quota: QuotaLedger;
  driver: DispenserPort;
  health: DeviceHealth;
  log: Logger;
  /** Resolve unknown claims automatically when their dispenser comes back (default true). */
  resolveOnReconnect?: boolean;
  /** The claim service's machine step (claims/machine.ts, applied in one transaction); true when it settled the claim. */
  apply(claimId: string, input: ClaimInput): boolean;
}

function wordOf(answer: QueryAnswer): DeviceWord {
  return answer.result === 'rejected' || answer.result === 'failed' ? { result: answer.result, reason: answer.reason } : { result: answer.result };
}

export class UnknownClaimResolver {
  private readonly offs: Array<() => void> = [];
  private resolving: Promise<number> | undefined;
  private resolveAgain = false;

  constructor(private readonly d: UnknownClaimResolverDeps) {}

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
    this.d.apply(claim.id, { type: 'device', word: wordOf(answer), source: 'late_event' });
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
          if (this.d.apply(c.id, { type: 'device', word: wordOf(answer), source: 'query' })) {
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
