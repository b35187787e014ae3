/**
 * The claim service's decisions that only read: which dispenser serves a claim, what a settled
 * claim means to the API (the claim's own transitions are in claims/machine.ts).
 */
import type { Compartment } from '../../../protocol/index.ts';
import type { Claim } from '../../ledger/quota-ledger.ts';
import type { DeviceHealth } from '../health.ts';
import type { ClaimOutcome } from '../ports.ts';

/** Faults that make a dispenser a worse choice while another one is fine. */
const BLOCKING_FAULTS = new Set(['jam', 'drop_sensor', 'door_open', 'temp_sensor']);
const COMPARTMENT_FAULTS: Record<Compartment, string[]> = {
  hot: ['heater', 'out_of_stock_hot', 'temp_out_of_range_hot'],
  cold: ['compressor', 'out_of_stock_cold', 'temp_out_of_range_cold'],
};

export type DispenserPick = { kind: 'ok'; dispenserId: string } | { kind: 'refused'; outcome: ClaimOutcome };

/**
 * A usable dispenser with stock in the compartment: fewest relevant faults first, then most
 * stock, then by id.
 */
/** Where the claim service reads the dispensers and their stock (the core's, edge/core/dispensers.ts). */
export interface DispenserStocks {
  ids(): string[];
  /** Undefined before the first telemetry. */
  stockOf(id: string): Readonly<Record<Compartment, number>> | undefined;
}

export function pickDispenser(compartment: Compartment, stocks: DispenserStocks, health: Pick<DeviceHealth, 'usable' | 'get'>): DispenserPick {
  const usable = stocks.ids().filter((id) => health.usable(id));
  if (usable.length === 0) {
    return { kind: 'refused', outcome: { kind: 'dispenser_unavailable', reason: 'no dispenser is reachable and in service' } };
  }
  // Unknown stock (no telemetry yet) is worth a try: the device refuses `out_of_stock` itself.
  const stocked = usable.filter((id) => (stocks.stockOf(id)?.[compartment] ?? 1) > 0);
  if (stocked.length === 0) return { kind: 'refused', outcome: { kind: 'out_of_stock', compartment } };
  const penalty = (id: string): number => {
    const faults = health.get(id)?.faults ?? [];
    return faults.filter((f) => BLOCKING_FAULTS.has(f) || COMPARTMENT_FAULTS[compartment].includes(f)).length;
  };
  const stockOf = (id: string): number => stocks.stockOf(id)?.[compartment] ?? 0;
  stocked.sort((a, b) => penalty(a) - penalty(b) || stockOf(b) - stockOf(a) || a.localeCompare(b));
  return { kind: 'ok', dispenserId: stocked[0]! };
}

/** What the kiosk may offer (issue 12): `empty` and `unavailable` (offline, out of service, or every stocked one jammed) grey a button out. */
export type ServingState = 'ok' | 'empty' | 'unavailable';

export function servingState(compartment: Compartment, stocks: DispenserStocks, health: Pick<DeviceHealth, 'usable' | 'get'>): ServingState {
  const usable = stocks.ids().filter((id) => health.usable(id));
  if (usable.length === 0) return 'unavailable';
  const stocked = usable.filter((id) => (stocks.stockOf(id)?.[compartment] ?? 1) > 0);
  if (stocked.length === 0) return 'empty';
  const blocked = (id: string) => (health.get(id)?.faults ?? []).some((f) => BLOCKING_FAULTS.has(f) || COMPARTMENT_FAULTS[compartment].includes(f));
  return stocked.every(blocked) ? 'unavailable' : 'ok';
}

/** The API's outcome for a claim as the ledger holds it after a dispense (SPEC §8). */
export function outcomeOf(claim: Claim): ClaimOutcome {
  switch (claim.status) {
    case 'committed':
      return { kind: 'committed', claim, day: claim.day };
    case 'released':
      if (claim.reason === 'out_of_stock') return { kind: 'out_of_stock', compartment: claim.compartment };
      return { kind: 'dispense_failed', claim, reason: claim.reason ?? 'unspecified' };
    default:
      return { kind: 'dispense_unknown', claim };
  }
}
