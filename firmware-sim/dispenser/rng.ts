/** Seeded randomness for the simulator's readings, on the shared generator (firmware-sim/faults.ts). */
import { seededRandom } from '../faults.ts';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function seededRng(seed: number): Rng {
  return { next: seededRandom(seed) };
}
