/**
 * Claims: reserve → dispense → settle (SPEC §3 rule 4, §5 rule 4; docs/dispensers.md).
 *
 * 1. Pick a usable dispenser with stock in the compartment.
 * 2. Reserve in one durable transaction: the claim is `reserved` with its id (= the command id).
 * 3. `send`: `dispensing` is written, then `cmd/dispense` with that id; wait for the final
 *    event or the timeout.
 * 4. Settle: `dropped` → committed; `rejected` / `failed` → released (the quota goes back);
 *    `indeterminate` or no answer → unknown (the quota stays held).
 *
 * Every decision about a claim's status is the pure claim machine's (`claims/machine.ts`);
 * this service feeds it inputs and applies its effects in one ledger transaction (`apply`).
 * Unknown claims are asked about with `cmd/query` when their dispenser is back, and a late
 * final event settles them too. At start a claim left `reserved` by a crash (never sent) is
 * released, one left `dispensing` becomes unknown and is queried, never dispensed again under
 * a new id. An `indeterminate` claim (power lost mid-vend) waits for maintenance.
 *
 * Parts: the choice of dispenser and the API's outcome in `claims/model.ts`; resolving open
 * claims by query or late event in `claims/resolver.ts`; the sponsor table (migration 200) and
 * SQL in `claims/store.ts`; stock and the dispenser alerts in `dispensers.ts`.
 */
import type { Compartment } from '../../protocol/index.ts';
import type { DispenseAnswer, DispenserPort } from './device-ports.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { migrate } from '../ledger/migrations.ts';
import type { Claim, QuotaLedger } from '../ledger/quota-ledger.ts';
import type { Logger } from '../log.ts';
import type { DeviceHealth } from './health.ts';
import { writeAudit } from './audit.ts';
import type { AuditRecord, ClaimOutcome, ClaimPort } from './ports.ts';
import * as store from './claims/store.ts';
import { outcomeOf, pickDispenser, servingState, type ServingState } from './claims/model.ts';
import { INDETERMINATE, stepClaim, type ClaimInput, type DeviceWord } from './claims/machine.ts';
import { UnknownClaimResolver } from './claims/resolver.ts';
import { DispenserWatch, type DispenserAlertPolicy } from './dispensers.ts';

export { INDETERMINATE } from './claims/machine.ts';

export interface ClaimServiceOptions {
  quota: QuotaLedger;
  driver: DispenserPort;
  health: DeviceHealth;
  logger: Logger;
  /** How long a dispenser may still act on a command (SPEC §5 `expiresAt`); default: the driver's dispense timeout. */
  commandTtlMs?: number;
  /** Resolve unknown claims automatically when their dispenser comes back (default true). */
  resolveOnReconnect?: boolean;
  /**
   * An `unknown` claim the dispenser says it never saw is released this long after its command
   * expired (config `dispense.neverReceivedMarginMs`, a margin for the device's clock); see
   * `neverReceived` (claims/machine.ts).
   */
  neverReceivedMarginMs: number;
  /** Low stock and temperature alerts (config `lowStockThreshold`, `dispense.temperatureRangeC`). */
  alerts: DispenserAlertPolicy;
}

/** What applying one machine step did. */
interface Applied {
  /** The claim as the ledger holds it afterwards. */
  claim: Claim;
  settled: boolean;
  /** The step said to publish `cmd/dispense` (and `dispensing` is on disk). */
  publish: boolean;
}

export class ClaimService implements ClaimPort {
  private readonly ledger: Ledger;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<ClaimOutcome>>();
  /** One vend at a time per dispenser (SPEC §5 rule 3): our own riders queue instead of getting `busy`. */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly resolver: UnknownClaimResolver;
  /** Stock and the station's own dispenser alerts (the driver only reports telemetry). */
  readonly dispensers: DispenserWatch;
  private draining = false;

  constructor(private readonly opts: ClaimServiceOptions) {
    this.ledger = opts.quota.ledger;
    this.log = opts.logger.child({ module: 'claims' });
    this.dispensers = new DispenserWatch({ driver: opts.driver, health: opts.health, policy: opts.alerts, log: this.log });
    this.resolver = new UnknownClaimResolver({
      quota: opts.quota,
      driver: opts.driver,
      health: opts.health,
      log: this.log,
      resolveOnReconnect: opts.resolveOnReconnect,
      apply: (claimId, input) => this.apply(claimId, input)?.settled ?? false,
    });
  }

  /**
   * Feed one input to the claim machine and apply its effects: every ledger write of the step
   * in one transaction, then its log lines. Undefined when the claim is not in the ledger.
   */
  private apply(claimId: string, input: ClaimInput): Applied | undefined {
    const q = this.opts.quota;
    const r = this.ledger.tx((t) => {
      const before = q.getClaim(claimId);
      if (!before) return undefined;
      const step = stepClaim(before, input, { now: t.now, neverReceivedMarginMs: this.opts.neverReceivedMarginMs });
      let settled = false;
      let publish = false;
      for (const e of step.effects) {
        if (e.kind === 'publish') publish = q.markSentIn(t, claimId);
        else if (e.kind === 'settle') settled = q.settleIn(t, claimId, e.to, { reason: e.reason, by: e.by }).kind === 'settled' || settled;
        else if (e.kind === 'mark_indeterminate') store.setUnknownReason(t.db, claimId, INDETERMINATE, t.now);
      }
      return { before, step, settled, publish };
    });
    if (!r) return undefined;
    for (const e of r.step.effects) {
      if (e.kind === 'alert') this.log.error({ claimId, dispenserId: r.before.dispenserId }, e.message);
      else if (e.kind === 'contradiction') this.log.error({ claimId, status: r.before.status, answer: e.word }, 'dispenser report contradicts a settled claim');
    }
    return { claim: q.getClaim(claimId) ?? r.before, settled: r.settled, publish: r.publish };
  }

  get commandTtlMs(): number {
    return this.opts.commandTtlMs ?? this.opts.driver.dispenseTimeoutMs;
  }

  /**
   * Start after the driver. Claims a crash left in flight become `unknown` (reason `restart`)
   * and are queried once their dispenser is online.
   */
  async start(): Promise<void> {
    // The ledger may have been opened before claims/store.ts registered its migration.
    migrate(this.ledger.db);
    this.draining = false;
    this.dispensers.start();
    for (const c of this.opts.quota.claimsWithStatus('reserved')) {
      this.apply(c.id, { type: 'restart' });
      this.log.warn({ claimId: c.id, dispenserId: c.dispenserId }, 'claim reserved but never sent at the last stop is released; the quota is back');
    }
    for (const c of this.opts.quota.claimsWithStatus('dispensing')) {
      this.apply(c.id, { type: 'restart' });
      this.log.warn({ claimId: c.id, dispenserId: c.dispenserId }, 'claim in flight at the last stop is now unknown; it will be queried');
    }
    this.resolver.start();
  }

  async stop(): Promise<void> {
    this.dispensers.stop();
    await this.resolver.stop();
  }

  async claim(riderId: string, compartment: Compartment): Promise<ClaimOutcome> {
    if (this.draining) return { kind: 'dispenser_unavailable', reason: 'the station is shutting down' };
    const pick = pickDispenser(compartment, this.stocks(), this.opts.health);
    if (pick.kind !== 'ok') return pick.outcome;
    const p = this.inLane(pick.dispenserId, () => this.reserveAndDispense(riderId, compartment, pick.dispenserId));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private inLane<T>(dispenserId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.lanes.get(dispenserId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.lanes.set(dispenserId, tail);
    void tail.then(() => {
      if (this.lanes.get(dispenserId) === tail) this.lanes.delete(dispenserId);
    });
    return run;
  }

  private async reserveAndDispense(riderId: string, compartment: Compartment, dispenserId: string): Promise<ClaimOutcome> {
    if (this.draining) return { kind: 'dispenser_unavailable', reason: 'the station is shutting down' };
    if (!this.opts.health.usable(dispenserId)) {
      return { kind: 'dispenser_unavailable', reason: `dispenser ${dispenserId} went away` };
    }
    const r = this.opts.quota.reserve({
      riderId,
      compartment,
      dispenserId,
      sponsor: store.sponsorOf(this.ledger.db, dispenserId, compartment),
      commandTtlMs: this.commandTtlMs,
    });
    if (r.kind === 'not_checked_in') return { kind: 'not_checked_in', day: r.day };
    if (r.kind === 'already_claimed_today') return r;
    const claim = r.claim;
    // `dispensing` on disk before the command goes out (SPEC §5 rule 1); the machine sends once.
    const sent = this.apply(claim.id, { type: 'send' });
    if (!sent?.publish) return outcomeOf(sent?.claim ?? claim);
    let answer: DispenseAnswer;
    try {
      answer = await this.opts.driver.dispense({ id: claim.id, dispenserId, compartment, expiresAt: claim.expiresAt });
    } catch (err) {
      // Nothing is known about what the device did: hold the quota, never guess.
      this.log.error({ err, claimId: claim.id }, 'dispense failed before an answer');
      answer = { result: 'timeout' };
    }
    const word: DeviceWord = answer.result === 'rejected' || answer.result === 'failed' ? { result: answer.result, reason: answer.reason } : { result: answer.result };
    const settled = this.apply(claim.id, { type: 'device', word, source: 'dispenser' });
    if (answer.result === 'dropped') this.dispensers.dropped(dispenserId, compartment);
    // A late or duplicated event may have settled it first: answer with what the ledger holds.
    return outcomeOf(settled?.claim ?? claim);
  }

  private stocks() {
    return { ids: () => this.opts.driver.ids(), stockOf: (id: string) => this.dispensers.stockOf(id) };
  }

  /**
   * Query the dispensers that are reachable about their `unknown` claims (see
   * `UnknownClaimResolver.resolveUnknownClaims`); returns how many were settled.
   */
  resolveUnknownClaims(): Promise<number> {
    return this.resolver.resolveUnknownClaims();
  }

  resolveByMaintenance(claimId: string, outcome: 'committed' | 'released', by: string): Claim | undefined {
    const r = this.apply(claimId, { type: 'maintenance', outcome, by });
    if (r?.settled) this.log.info({ claimId, outcome, by }, 'claim resolved by maintenance');
    return r?.claim;
  }

  async restock(dispenserId: string, compartment: Compartment, count: number, sponsor: string | undefined, by: string, audit?: AuditRecord): Promise<{ deviceTold: boolean }> {
    if (!this.opts.driver.has(dispenserId)) throw Object.assign(new Error(`unknown dispenser ${dispenserId}`), { code: 'unknown_dispenser' });
    if (!Number.isInteger(count) || count < 0 || count > 10_000) {
      throw Object.assign(new RangeError('count must be an integer from 0 to 10000'), { code: 'bad_request' });
    }
    if (!this.opts.health.usable(dispenserId)) {
      this.log.warn({ dispenserId }, 'restocking an unreachable dispenser; it gets cmd/restock when it reconnects');
    }
    // The record first, as for every device action: a ledger that refuses it (full disk, an
    // audit that cannot be written) leaves the device untold, not a restock nobody recorded.
    this.ledger.tx((t) => {
      store.setSponsor(t.db, dispenserId, compartment, sponsor ?? null, t.now);
      t.append('dispenser.restocked', { dispenserId, compartment, count, ...(sponsor ? { sponsor } : {}), by });
      writeAudit(t, audit);
    });
    try {
      await this.opts.driver.restock(dispenserId, compartment, count);
      return { deviceTold: true };
    } catch (e) {
      // The bottles are in the machine and recorded; only the device's counter is behind.
      this.log.error({ err: e, dispenserId, compartment, count }, 'restock recorded, but cmd/restock could not be sent; the device under-counts its stock until restocked again');
      return { deviceTold: false };
    }
  }

  availability(): Array<{ dispenserId: string; usable: boolean; stock: Partial<Record<Compartment, number>> }> {
    return this.opts.driver.ids().map((id) => ({
      dispenserId: id,
      usable: this.opts.health.usable(id),
      stock: { ...(this.dispensers.stockOf(id) ?? {}) },
    }));
  }

  /** Whether a rider can be served from this compartment now (the kiosk greys out what cannot). */
  serving(compartment: Compartment): ServingState {
    return this.draining ? 'unavailable' : servingState(compartment, this.stocks(), this.opts.health);
  }

  /** Stop taking claims, let those in flight finish, then end their waits (they become `unknown`). */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const all = Promise.allSettled([...this.inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.opts.driver.cancelWaiting('shutdown');
      await Promise.allSettled([...this.inFlight]);
    }
  }
}

