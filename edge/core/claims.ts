/**
 * Claims: reserve → dispense → settle (SPEC §3 rule 4, §5 rule 4; ARCHITECTURE "One bottle").
 *
 * 1. Pick a usable dispenser with stock in the compartment.
 * 2. Reserve in one durable transaction: the claim is `dispensing` with its id (= the command
 *    id) on disk before anything is published.
 * 3. `cmd/dispense` with that id; wait for the final event or the timeout.
 * 4. Settle: `dropped` → committed; `rejected` / `failed` → released (the quota goes back);
 *    `indeterminate` or no answer → unknown (the quota stays held).
 *
 * Unknown claims are asked about with `cmd/query` when their dispenser is back, and a late
 * final event settles them too. A claim left `dispensing` by a crash becomes unknown at start
 * and is queried, never dispensed again under a new id. An `indeterminate` claim (power lost
 * mid-vend: the device itself cannot tell) waits for maintenance.
 */
import type { Compartment } from '../../protocol/index';
import { answerOf, type DispenseAnswer, type DispenserDriver, type QueryAnswer } from '../drivers/dispensers';
import type { Ledger, LedgerTx } from '../ledger/ledger';
import { migrate, registerMigration } from '../ledger/migrations';
import type { Claim, QuotaLedger } from '../ledger/quota-ledger';
import type { Logger } from '../log';
import type { DeviceHealth } from './health';
import type { ClaimOutcome, ClaimPort } from './ports';

registerMigration({
  version: 200,
  name: 'dispenser compartments: current sponsor',
  sql: `
    -- The sponsor of the bottles last restocked into a compartment (SPEC §10 claim.committed.sponsor).
    CREATE TABLE dispenser_compartments (
      dispenser_id  TEXT NOT NULL,
      compartment   TEXT NOT NULL CHECK (compartment IN ('hot','cold')),
      sponsor       TEXT,
      restocked_ts  INTEGER NOT NULL,
      PRIMARY KEY (dispenser_id, compartment)
    ) WITHOUT ROWID;
  `,
});

/** The reason an unknown claim carries when it waits for maintenance. */
export const INDETERMINATE = 'indeterminate';

/** Faults that make a dispenser a worse choice while another one is fine. */
const BLOCKING_FAULTS = new Set(['jam', 'drop_sensor', 'door_open', 'temp_sensor']);
const COMPARTMENT_FAULTS: Record<Compartment, string[]> = {
  hot: ['heater', 'out_of_stock_hot', 'temp_out_of_range_hot'],
  cold: ['compressor', 'out_of_stock_cold', 'temp_out_of_range_cold'],
};

export interface ClaimServiceOptions {
  quota: QuotaLedger;
  driver: DispenserDriver;
  health: DeviceHealth;
  logger: Logger;
  /** How long a dispenser may still act on a command (SPEC §5 `expiresAt`); default: the driver's dispense timeout. */
  commandTtlMs?: number;
  /** Resolve unknown claims automatically when their dispenser comes back (default true). */
  resolveOnReconnect?: boolean;
  /**
   * An `unknown` claim the dispenser says it never saw is released this long after its command
   * expired (default 10 min, a margin for the device's clock); see `neverReceived`.
   */
  neverReceivedMarginMs?: number;
}

/** How long a dispenser remembers a command id at least (SPEC §5 rule 2). */
const DEVICE_MEMORY_MS = 24 * 3_600_000;

export class ClaimService implements ClaimPort {
  private readonly ledger: Ledger;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<ClaimOutcome>>();
  /** One vend at a time per dispenser (SPEC §5 rule 3): our own riders queue instead of getting `busy`. */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly offs: Array<() => void> = [];
  private resolving: Promise<number> | undefined;
  private resolveAgain = false;
  private draining = false;

  constructor(private readonly opts: ClaimServiceOptions) {
    this.ledger = opts.quota.ledger;
    this.log = opts.logger.child({ module: 'claims' });
  }

  get commandTtlMs(): number {
    return this.opts.commandTtlMs ?? this.opts.driver.dispenseTimeoutMs;
  }

  /**
   * Start after the driver. Claims a crash left in flight become `unknown` (reason `restart`)
   * and are queried once their dispenser is online.
   */
  async start(): Promise<void> {
    // The ledger may have been opened before this module registered its migration.
    migrate(this.ledger.db);
    this.draining = false;
    for (const status of ['reserved', 'dispensing'] as const) {
      for (const c of this.opts.quota.claimsWithStatus(status)) {
        this.opts.quota.settle(c.id, 'unknown', { reason: 'restart' });
        this.log.warn({ claimId: c.id, dispenserId: c.dispenserId }, 'claim in flight at the last stop is now unknown; it will be queried');
      }
    }
    this.offs.push(this.opts.driver.onUnclaimedEvent((dispenserId, evt) => this.onLateEvent(dispenserId, evt.id, answerOf(evt) ?? { result: 'unknown' })));
    if (this.opts.resolveOnReconnect ?? true) {
      this.offs.push(this.opts.driver.onOnline(() => this.kickResolve()));
      this.kickResolve();
    }
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    await this.resolving?.catch(() => 0);
  }

  async claim(riderId: string, compartment: Compartment): Promise<ClaimOutcome> {
    if (this.draining) return { kind: 'dispenser_unavailable', reason: 'the station is shutting down' };
    const pick = this.pickDispenser(compartment);
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

  private pickDispenser(compartment: Compartment): { kind: 'ok'; dispenserId: string } | { kind: 'refused'; outcome: ClaimOutcome } {
    const { driver, health } = this.opts;
    const usable = driver.ids().filter((id) => health.usable(id));
    if (usable.length === 0) {
      return { kind: 'refused', outcome: { kind: 'dispenser_unavailable', reason: 'no dispenser is reachable and in service' } };
    }
    // Unknown stock (no telemetry yet) is worth a try: the device refuses `out_of_stock` itself.
    const stocked = usable.filter((id) => (driver.state(id)?.stock?.[compartment] ?? 1) > 0);
    if (stocked.length === 0) return { kind: 'refused', outcome: { kind: 'out_of_stock', compartment } };
    const penalty = (id: string): number => {
      const faults = health.get(id)?.faults ?? [];
      return faults.filter((f) => BLOCKING_FAULTS.has(f) || COMPARTMENT_FAULTS[compartment].includes(f)).length;
    };
    const stockOf = (id: string): number => driver.state(id)?.stock?.[compartment] ?? 0;
    stocked.sort((a, b) => penalty(a) - penalty(b) || stockOf(b) - stockOf(a) || a.localeCompare(b));
    return { kind: 'ok', dispenserId: stocked[0]! };
  }

  private sponsorOf(dispenserId: string, compartment: Compartment): string | undefined {
    const row = this.ledger.db
      .prepare('SELECT sponsor FROM dispenser_compartments WHERE dispenser_id = ? AND compartment = ?')
      .get(dispenserId, compartment) as { sponsor: string | null } | undefined;
    return row?.sponsor ?? undefined;
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
      sponsor: this.sponsorOf(dispenserId, compartment),
      commandTtlMs: this.commandTtlMs,
    });
    if (r.kind === 'not_checked_in') return { kind: 'not_checked_in', day: r.day };
    if (r.kind === 'already_claimed_today') return { kind: 'already_claimed_today', day: r.day, window: r.window };
    const claim = r.claim;
    let answer: DispenseAnswer;
    try {
      answer = await this.opts.driver.dispense({ id: claim.id, dispenserId, compartment, expiresAt: claim.expiresAt });
    } catch (err) {
      // Nothing is known about what the device did: hold the quota, never guess.
      this.log.error({ err, claimId: claim.id }, 'dispense failed before an answer');
      answer = { result: 'timeout' };
    }
    return this.settleWith(claim, answer);
  }

  /** Map the device's answer to the claim's settlement and the API's outcome (SPEC §5 rule 4, §8). */
  private settleWith(claim: Claim, answer: DispenseAnswer): ClaimOutcome {
    const q = this.opts.quota;
    switch (answer.result) {
      case 'dropped':
        q.settle(claim.id, 'committed', { by: 'dispenser' });
        break;
      case 'rejected':
      case 'failed':
        q.settle(claim.id, 'released', { reason: answer.reason, by: 'dispenser' });
        break;
      case 'indeterminate':
        q.settle(claim.id, 'unknown', { reason: INDETERMINATE });
        this.log.error({ claimId: claim.id, dispenserId: claim.dispenserId }, 'vend indeterminate (power lost mid-vend): maintenance must decide');
        break;
      case 'timeout':
        q.settle(claim.id, 'unknown', { reason: 'timeout' });
        break;
    }
    // A late or duplicated event may have settled it first: answer with what the ledger holds.
    const now = q.getClaim(claim.id) ?? claim;
    switch (now.status) {
      case 'committed':
        return { kind: 'committed', claim: now, day: now.day };
      case 'released':
        if (now.reason === 'out_of_stock') return { kind: 'out_of_stock', compartment: now.compartment };
        return { kind: 'dispense_failed', claim: now, reason: now.reason ?? 'unspecified' };
      default:
        return { kind: 'dispense_unknown', claim: now };
    }
  }

  /** A final event nobody waited for: settle the claim if it is still open. */
  private onLateEvent(dispenserId: string, claimId: string, answer: QueryAnswer): void {
    const claim = this.opts.quota.getClaim(claimId);
    if (!claim) {
      this.log.warn({ claimId, dispenserId }, 'event for a claim this station does not know');
      return;
    }
    if (claim.dispenserId !== dispenserId) {
      this.log.error({ claimId, dispenserId, expected: claim.dispenserId }, 'event from the wrong dispenser ignored');
      return;
    }
    this.apply(claim, answer, 'late_event');
  }

  /** Settle an open claim from a stored outcome (late event or query answer); true when it was settled. */
  private apply(claim: Claim, answer: QueryAnswer, by: string): boolean {
    const q = this.opts.quota;
    const open = claim.status === 'unknown' || claim.status === 'dispensing' || claim.status === 'reserved';
    if (!open) {
      const agrees =
        (claim.status === 'committed' && answer.result === 'dropped') ||
        (claim.status === 'released' && (answer.result === 'rejected' || answer.result === 'failed'));
      if (!agrees && answer.result !== 'unknown' && answer.result !== 'timeout') {
        this.log.error({ claimId: claim.id, status: claim.status, answer }, 'dispenser report contradicts a settled claim');
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
        if (by === 'query' && this.neverReceived(claim)) {
          return q.settle(claim.id, 'released', { reason: 'never_received', by }).kind === 'settled';
        }
        return false;
      case 'timeout':
        return false;
    }
  }

  /**
   * True when a device's `unknown` answer proves nothing can drop for this claim: the device
   * remembers every id it saw for 24 h and writes "dispensing" before the motor runs (SPEC §5
   * rule 2), and refuses a command whose `expiresAt` has passed (rule 3). So an id it does not
   * know, asked well after expiry but inside its memory, was never acted on and never will be —
   * typically a daemon killed between storing the claim and publishing it. The quota goes back.
   */
  private neverReceived(claim: Claim): boolean {
    const now = this.ledger.clock.now();
    const margin = this.opts.neverReceivedMarginMs ?? 600_000;
    return now > claim.expiresAt + margin && now < claim.createdTs + DEVICE_MEMORY_MS;
  }

  /** An unknown claim the device cannot decide: mark it for maintenance (the quota stays held). */
  private markIndeterminate(claim: Claim): void {
    if (claim.status === 'dispensing' || claim.status === 'reserved') {
      this.opts.quota.settle(claim.id, 'unknown', { reason: INDETERMINATE });
    } else if (claim.reason !== INDETERMINATE) {
      this.ledger.tx((t) => {
        t.db.prepare("UPDATE claims SET reason = ?, updated_ts = ? WHERE id = ? AND status = 'unknown'").run(INDETERMINATE, t.now, claim.id);
      });
    }
    this.log.error({ claimId: claim.id, dispenserId: claim.dispenserId }, 'vend indeterminate (power lost mid-vend): maintenance must decide');
  }

  private kickResolve(): void {
    this.resolveUnknownClaims().catch((err: unknown) => this.log.error({ err }, 'resolving unknown claims failed'));
  }

  /**
   * Query the dispensers that are reachable about their `unknown` claims; a stored final
   * outcome settles the claim (`claim.resolved`), silence leaves it, and `unknown` leaves it
   * unless the device provably never received it (`neverReceived`). Returns how
   * many were settled. Claims marked `indeterminate` wait for maintenance.
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
    const open = this.opts.quota
      .claimsWithStatus('unknown')
      .filter((c) => c.reason !== INDETERMINATE && this.opts.driver.has(c.dispenserId) && this.opts.health.usable(c.dispenserId));
    const byDispenser = new Map<string, Claim[]>();
    for (const c of open) byDispenser.set(c.dispenserId, [...(byDispenser.get(c.dispenserId) ?? []), c]);
    const counts = await Promise.all(
      [...byDispenser.entries()].map(async ([dispenserId, claims]) => {
        let n = 0;
        for (const c of claims) {
          const answer = await this.opts.driver.query(dispenserId, c.id);
          const fresh = this.opts.quota.getClaim(c.id);
          if (fresh && this.apply(fresh, answer, 'query')) {
            n++;
            this.log.info({ claimId: c.id, dispenserId, result: answer.result }, 'unknown claim resolved by query');
          }
          if (answer.result === 'timeout') break; // the device went away again; try later
        }
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  resolveByMaintenance(claimId: string, outcome: 'committed' | 'released', by: string): Claim | undefined {
    const claim = this.opts.quota.getClaim(claimId);
    if (!claim) return undefined;
    const r = this.opts.quota.settle(claimId, outcome, { by, reason: outcome === 'released' ? 'maintenance' : undefined });
    if (r.kind === 'settled') this.log.info({ claimId, outcome, by }, 'claim resolved by maintenance');
    return r.kind === 'not_found' ? undefined : r.claim;
  }

  async restock(dispenserId: string, compartment: Compartment, count: number, sponsor: string | undefined, by: string, inTx?: (t: LedgerTx) => void): Promise<void> {
    if (!this.opts.driver.has(dispenserId)) throw Object.assign(new Error(`unknown dispenser ${dispenserId}`), { code: 'unknown_dispenser' });
    if (!Number.isInteger(count) || count < 0 || count > 10_000) {
      throw Object.assign(new RangeError('count must be an integer from 0 to 10000'), { code: 'bad_request' });
    }
    if (!this.opts.health.usable(dispenserId)) {
      this.log.warn({ dispenserId }, 'restocking an unreachable dispenser; it gets cmd/restock when it reconnects');
    }
    await this.opts.driver.restock(dispenserId, compartment, count);
    this.ledger.tx((t) => {
      t.db
        .prepare(
          `INSERT INTO dispenser_compartments (dispenser_id, compartment, sponsor, restocked_ts) VALUES (?, ?, ?, ?)
           ON CONFLICT (dispenser_id, compartment) DO UPDATE SET sponsor = excluded.sponsor, restocked_ts = excluded.restocked_ts`,
        )
        .run(dispenserId, compartment, sponsor ?? null, t.now);
      t.append('dispenser.restocked', { dispenserId, compartment, count, ...(sponsor ? { sponsor } : {}), by });
      inTx?.(t);
    });
  }

  availability(): Array<{ dispenserId: string; usable: boolean; stock: Partial<Record<Compartment, number>> }> {
    return this.opts.driver.ids().map((id) => ({
      dispenserId: id,
      usable: this.opts.health.usable(id),
      stock: { ...(this.opts.driver.state(id)?.stock ?? {}) },
    }));
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

