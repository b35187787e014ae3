/**
 * Seeded random fault profiles, shared by the simulators (lock board, dispenser, scanner).
 *
 * A simulator names its fault switches; a profile string from a test or the CLI `--faults`
 * option turns into a `FaultProfile` that says, at each opportunity, which fault (if any)
 * to inject. The same seed gives the same sequence, so a failing run can be replayed.
 *
 * Profile strings:
 * - `none`                       no faults
 * - `flaky` | `flaky@<seed>`     each opportunity has a 10 % chance of one random fault
 * - `random:<rate>[@<seed>]`     the same with another rate (0–1), e.g. `random:0.25@7`
 * - `a,b,c`                      these switches always on (a simulator decides what "always" means)
 * - `flaky+a,b`                  both: random faults plus switches that are always on
 */

/** mulberry32: a tiny, fast, seedable PRNG (plenty for fault injection; not for secrets). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultProfile<F extends string> {
  /** Switches that are always on. */
  readonly always: ReadonlySet<F>;
  /** Chance (0–1) that one opportunity gets a random fault. */
  readonly rate: number;
  readonly seed: number;
  /** One roll: a random fault out of `candidates` (default: every random-eligible one), or undefined. */
  roll(candidates?: readonly F[]): F | undefined;
  /** A uniform number in [0, 1) from the same seeded sequence (for sizes, delays). */
  random(): number;
}

export const DEFAULT_FLAKY_RATE = 0.1;
export const DEFAULT_SEED = 1;

export class FaultProfileError extends Error {
  readonly code = 'bad_fault_profile';
}

/**
 * Parse a profile string. `known` lists every switch of the simulator; `randomEligible` the
 * ones a random roll may pick (defaults to all of `known`).
 */
export function parseFaultProfile<F extends string>(
  spec: string,
  known: readonly F[],
  randomEligible: readonly F[] = known,
): FaultProfile<F> {
  const always = new Set<F>();
  let rate = 0;
  let seed = DEFAULT_SEED;
  const text = spec.trim();
  if (text !== '' && text !== 'none') {
    for (const part of text.split('+')) {
      const p = part.trim();
      const flaky = /^flaky(?:@(\d+))?$/.exec(p);
      const random = /^random:([0-9.]+)(?:@(\d+))?$/.exec(p);
      if (flaky) {
        rate = DEFAULT_FLAKY_RATE;
        if (flaky[1] !== undefined) seed = Number(flaky[1]);
      } else if (random) {
        rate = Number(random[1]);
        if (!(rate >= 0 && rate <= 1)) throw new FaultProfileError(`fault rate ${random[1]} is not between 0 and 1`);
        if (random[2] !== undefined) seed = Number(random[2]);
      } else {
        for (const name of p.split(',').map((s) => s.trim()).filter(Boolean)) {
          if (!(known as readonly string[]).includes(name))
            throw new FaultProfileError(`unknown fault "${name}"; known: none, flaky[@seed], random:<rate>[@seed], ${known.join(', ')}`);
          always.add(name as F);
        }
      }
    }
  }
  return makeProfile(always, rate, seed, randomEligible);
}

/** A profile built in code (tests). */
export function faultProfile<F extends string>(opts: {
  always?: readonly F[];
  rate?: number;
  seed?: number;
  randomEligible: readonly F[];
}): FaultProfile<F> {
  return makeProfile(new Set(opts.always ?? []), opts.rate ?? 0, opts.seed ?? DEFAULT_SEED, opts.randomEligible);
}

function makeProfile<F extends string>(always: Set<F>, rate: number, seed: number, eligible: readonly F[]): FaultProfile<F> {
  const rnd = seededRandom(seed);
  return {
    always,
    rate,
    seed,
    random: rnd,
    roll(candidates = eligible) {
      if (rate <= 0 || candidates.length === 0) return undefined;
      if (rnd() >= rate) return undefined;
      return candidates[Math.floor(rnd() * candidates.length)];
    },
  };
}
