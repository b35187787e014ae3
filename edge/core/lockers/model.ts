/**
 * The locker service's in-memory compartment: where it is on the buses, the pure machine's
 * state (lockers/machine.ts) and the ledger row ids its effects write to; plus the read-only
 * decisions about a board and the view.
 */
import type { LockPort } from '../device-ports.ts';
import type { LockerView } from '../ports.ts';
import { newCompartmentState, openExpected, type CompartmentState } from './machine.ts';

export interface Compartment {
  name: string;
  bus: LockPort;
  board: number;
  lock: number;
  deviceId: string;
  /** The machine's state; only `LockerService.step` replaces it. */
  s: CompartmentState;
  /** The open holding's row (`locker_holdings.id`). */
  holdingId: number | undefined;
  /** The unlock in flight's journal row (`locker_unlocks.id`). */
  journalId: number | undefined;
}

export function newCompartment(bus: LockPort, board: number, lock: number, deviceId: string): Compartment {
  const name = `${board}-${lock}`;
  return { name, bus, board, lock, deviceId, s: newCompartmentState(name), holdingId: undefined, journalId: undefined };
}

/**
 * Every door of a board (of at least 4) reading open at once, not all explained by our own
 * unlocks: inverted or broken feedback rather than a mass break-in.
 */
export function feedbackLooksWrong(comps: readonly Compartment[], open: readonly boolean[], mono: number): boolean {
  if (comps.length < 4 || !comps.every((c) => open[c.lock - 1] === true)) return false;
  return comps.some((c) => !openExpected(c.s, mono));
}

export function viewOf(c: Compartment, boardUsable: boolean): LockerView {
  const s = c.s;
  return {
    compartment: c.name,
    board: c.board,
    lock: c.lock,
    bus: c.bus.id,
    inService: s.inService,
    state: !s.inService ? 'out_of_service' : !boardUsable ? 'unavailable' : s.phase,
    door: s.door,
    riderId: s.holding?.riderId ?? null,
    heldSince: s.holding?.storedTs ?? null,
    overdue: s.holding?.overdue ?? false,
  };
}
