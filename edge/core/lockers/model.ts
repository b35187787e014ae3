/**
 * The locker service's in-memory model of a compartment and its holding, and the pure
 * decisions about it: is an open door explained, is a timer due, what the view shows.
 */
import type { LockPort } from '../device-ports.ts';
import type { LockerView } from '../ports.ts';
import type { Phase } from './store.ts';

export interface Holding {
  id: number;
  riderId: string;
  depositedTs: number | null;
  /** Wall-clock start of storage (door seen closed after the deposit); null before. */
  storedTs: number | null;
  /** Monotonic start of storage, for the limit (rebuilt from `storedTs` after a restart). */
  storedMono: number | null;
  overdue: boolean;
}

export interface Compartment {
  name: string;
  bus: LockPort;
  board: number;
  lock: number;
  deviceId: string;
  inService: boolean;
  phase: Phase;
  holding: Holding | undefined;
  door: 'open' | 'closed' | 'unknown';
  doorOpenSinceMono: number | undefined;
  leftOpenReported: boolean;
  forced: boolean;
  /** An unlock of ours may have opened the door until then (monotonic ms). */
  expectOpenUntilMono: number;
}

export function newCompartment(bus: LockPort, board: number, lock: number, deviceId: string): Compartment {
  return {
    name: `${board}-${lock}`,
    bus,
    board,
    lock,
    deviceId,
    inService: true,
    phase: 'free',
    holding: undefined,
    door: 'unknown',
    doorOpenSinceMono: undefined,
    leftOpenReported: false,
    forced: false,
    expectOpenUntilMono: -Infinity,
  };
}

/** An open door is ours when a deposit or retrieve is under way, or an unconfirmed unlock of ours is recent. */
export function openExpected(c: Compartment, mono: number): boolean {
  return c.phase === 'opening' || c.phase === 'depositing' || c.phase === 'retrieving' || mono <= c.expectOpenUntilMono;
}

/**
 * Every door of a board (of at least 4) reading open at once, not all explained by our own
 * unlocks: inverted or broken feedback rather than a mass break-in.
 */
export function feedbackLooksWrong(comps: readonly Compartment[], open: readonly boolean[], mono: number): boolean {
  if (comps.length < 4 || !comps.every((c) => open[c.lock - 1] === true)) return false;
  return comps.some((c) => !openExpected(c, mono));
}

export function overdueDue(c: Compartment, mono: number, storageLimitMs: number): boolean {
  const h = c.holding;
  return !!h && c.phase === 'held' && h.storedMono !== null && !h.overdue && mono - h.storedMono >= storageLimitMs;
}

export function leftOpenDue(c: Compartment, mono: number, doorLeftOpenMs: number): boolean {
  return c.door === 'open' && c.doorOpenSinceMono !== undefined && !c.leftOpenReported && mono - c.doorOpenSinceMono >= doorLeftOpenMs;
}

export function viewOf(c: Compartment, boardUsable: boolean): LockerView {
  return {
    compartment: c.name,
    board: c.board,
    lock: c.lock,
    bus: c.bus.id,
    inService: c.inService,
    state: !c.inService ? 'out_of_service' : !boardUsable ? 'unavailable' : c.phase,
    door: c.door,
    riderId: c.holding?.riderId ?? null,
    heldSince: c.holding?.storedTs ?? null,
    overdue: c.holding?.overdue ?? false,
  };
}
