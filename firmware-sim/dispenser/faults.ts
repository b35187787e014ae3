/**
 * Dispenser faults the simulator can produce (issue 3): one-shot faults for the next vend
 * (`DispenserSimulator.failNext`) and profiles in the grammar shared by every simulator
 * (`firmware-sim/faults.ts`), applied once per vend:
 *
 *   none                       no faults (default)
 *   flaky[@<seed>]             each vend has a 10 % chance of one random fault below
 *   random:<rate>[@<seed>]     the same with another rate (0–1), e.g. random:0.25@7
 *   a,b                        these faults on every vend, in turn (a jammed machine: `jam`)
 *   flaky+a                    both (the switches win when set)
 */
import { faultProfile, parseFaultProfile as parseSharedProfile, type FaultProfile as SharedProfile } from '../faults.ts';

/** Faults that apply to one vend. Each maps to a SPEC §5 outcome (see docs/dispensers.md, Simulator). */
export const VEND_FAULTS = [
  'out_of_stock', // rejected: out_of_stock
  'door_open', // rejected: door_open
  'temperature', // rejected: temperature
  'busy', // rejected: busy
  'jam', // failed: jam (motor ran, nothing dropped)
  'no_drop_detected', // failed: no_drop_detected
  'motor', // failed: motor
  'drop_sensor', // failed: drop_sensor
  'power_loss', // power lost with the motor running, bottle not out → `indeterminate` after the restart
  'power_loss_after_drop', // bottle dropped and recorded, power lost before the report → found by query
  'disconnect', // bottle dropped, network lost before the report → found by query after reconnecting
  'duplicate_event', // the final event is published twice
  'late_event', // the final event comes after the edge stopped waiting
] as const;
export type VendFault = (typeof VEND_FAULTS)[number];

export function isVendFault(s: string): s is VendFault {
  return (VEND_FAULTS as readonly string[]).includes(s);
}

export interface FaultProfile {
  /** The fault for the next vend, or undefined for a clean one. */
  nextVendFault(): VendFault | undefined;
  describe(): string;
}

export class NoFaults implements FaultProfile {
  nextVendFault(): undefined {
    return undefined;
  }
  describe(): string {
    return 'none';
  }
}

/** A queue of one-shot faults (`ok` = a clean vend), then clean vends. */
export class ScriptedFaults implements FaultProfile {
  private readonly queue: Array<VendFault | 'ok'>;
  constructor(faults: ReadonlyArray<VendFault | 'ok'>) {
    this.queue = [...faults];
  }
  push(...faults: Array<VendFault | 'ok'>): void {
    this.queue.push(...faults);
  }
  nextVendFault(): VendFault | undefined {
    const f = this.queue.shift();
    return f === 'ok' ? undefined : f;
  }
  describe(): string {
    return this.queue.join(',') || 'none';
  }
}

/** A shared-grammar profile, rolled once per vend. */
class VendProfile implements FaultProfile {
  private turn = 0;
  constructor(
    private readonly p: SharedProfile<VendFault>,
    private readonly text: string,
  ) {}
  nextVendFault(): VendFault | undefined {
    const always = [...this.p.always];
    if (always.length > 0) return always[this.turn++ % always.length];
    return this.p.roll();
  }
  describe(): string {
    return this.text;
  }
}

/** Each vend gets one random fault with probability `rate`, from a generator seeded by `seed`. */
export class RandomFaults extends VendProfile {
  constructor(rate: number, seed: number, faults: readonly VendFault[] = VEND_FAULTS) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('fault rate must be between 0 and 1');
    super(faultProfile<VendFault>({ rate, seed, randomEligible: faults }), `random:${rate}@${seed}`);
  }
}

/** Parse a profile string; throws naming what is wrong (FaultProfileError, code `bad_fault_profile`). */
export function parseFaultProfile(spec: string | undefined): FaultProfile {
  const text = (spec ?? 'none').trim() || 'none';
  if (text === 'none') return new NoFaults();
  return new VendProfile(parseSharedProfile<VendFault>(text, VEND_FAULTS), text);
}
