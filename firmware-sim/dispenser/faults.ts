/**
 * Dispenser faults the simulator can produce (issue 3): one-shot faults that apply to the next
 * vend, and a seeded random profile that draws one for a share of the vends.
 *
 * Profile strings (CLI `--faults`, `DispenserSimulator` option `faults`):
 *   none                       no faults (default)
 *   random[:<rate>[:<seed>]]   each vend gets a random one-shot fault with probability
 *                              <rate> (default 0.1), drawn from a generator seeded by <seed>
 *   <fault>[,<fault>...]       these one-shot faults, in order, on the next vends
 *                              (`ok` leaves a vend alone)
 */
import { seededRng, type Rng } from './rng';

/** Faults that apply to one vend. Each maps to a SPEC §5 outcome (see `docs/readme/dispensers.md`). */
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

/** A fixed list of one-shot faults (`ok` = none), then clean vends. */
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

export class RandomFaults implements FaultProfile {
  private readonly rng: Rng;
  constructor(
    readonly rate: number,
    readonly seed: number,
    private readonly faults: readonly VendFault[] = VEND_FAULTS,
  ) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('fault rate must be between 0 and 1');
    this.rng = seededRng(seed);
  }
  nextVendFault(): VendFault | undefined {
    return this.rng.chance(this.rate) ? this.rng.pick(this.faults) : undefined;
  }
  describe(): string {
    return `random:${this.rate}:${this.seed}`;
  }
}

/** Parse a profile string; throws a RangeError naming what is wrong. */
export function parseFaultProfile(spec: string | undefined): FaultProfile {
  const s = (spec ?? 'none').trim();
  if (s === '' || s === 'none') return new NoFaults();
  if (s === 'random' || s.startsWith('random:')) {
    const [, rate = '0.1', seed = '1'] = s.split(':');
    const r = Number(rate);
    const sd = Number(seed);
    if (!Number.isFinite(r) || r < 0 || r > 1) throw new RangeError(`fault rate "${rate}" must be a number from 0 to 1`);
    if (!Number.isInteger(sd)) throw new RangeError(`fault seed "${seed}" must be an integer`);
    return new RandomFaults(r, sd);
  }
  const names = s.split(',').map((x) => x.trim());
  const bad = names.filter((n) => n !== 'ok' && !isVendFault(n));
  if (bad.length > 0) throw new RangeError(`unknown fault ${bad.join(', ')}; known: none, random[:rate[:seed]], ok, ${VEND_FAULTS.join(', ')}`);
  return new ScriptedFaults(names as Array<VendFault | 'ok'>);
}
