/**
 * What the dispenser's sensors read and what it reports about itself (SPEC §5 telemetry), as
 * functions of the machine's state: temperature readings (forced, failed or nominal with a
 * little noise), the serving ranges the firmware enforces, the fault names that hold now, and
 * the same readings as the vend decision sees them (./vending.ts). The simulator shell owns the
 * state and publishes.
 */
import { COMPARTMENTS, type Compartment, type TelemetryPayload } from '../../protocol/index.ts';
import type { Rng } from './rng.ts';
import type { MachineView } from './vending.ts';

/** Conditions that last until cleared (`DispenserSimulator.setCondition`). */
export type Condition = 'heater' | 'compressor' | 'temp_sensor' | 'jam' | 'drop_sensor';

/** Serving ranges the firmware enforces (°C): outside them it refuses with `temperature`. */
export const SERVING_RANGE_C: Record<Compartment, { min: number; max: number }> = {
  hot: { min: 70, max: 98 },
  cold: { min: 1, max: 12 },
};
const NOMINAL_C: Record<Compartment, number> = { hot: 88, cold: 6 };

/** The physical state the sensors see (the simulator's public fields). */
export interface MachineState {
  readonly stock: Readonly<Record<Compartment, number>>;
  readonly door: 'open' | 'closed';
  /** Readings forced by a test or the console; undefined = nominal with a little noise. */
  readonly tempOverrideC: Readonly<Partial<Record<Compartment, number>>>;
  readonly conditions: ReadonlySet<Condition>;
}

/** One reading per compartment; each nominal one draws from `rng`, in COMPARTMENTS order. */
export function readTemperatures(m: MachineState, rng: Rng): Record<Compartment, number> {
  const out = {} as Record<Compartment, number>;
  for (const c of COMPARTMENTS) {
    const forced = m.tempOverrideC[c];
    if (forced !== undefined) out[c] = forced;
    else if (c === 'hot' && m.conditions.has('heater')) out[c] = 45; // cooling down without a heater
    else if (c === 'cold' && m.conditions.has('compressor')) out[c] = 22; // warming up to room temperature
    else out[c] = Math.round((NOMINAL_C[c] + (rng.next() - 0.5)) * 10) / 10;
  }
  return out;
}

export function temperatureOk(m: MachineState, c: Compartment, reading: number): boolean {
  if (m.conditions.has('temp_sensor')) return false;
  if (c === 'hot' && m.conditions.has('heater')) return false;
  if (c === 'cold' && m.conditions.has('compressor')) return false;
  return reading >= SERVING_RANGE_C[c].min && reading <= SERVING_RANGE_C[c].max;
}

/** What the vend decision reads: one fresh reading of the temperatures, with the vend under way. */
export function machineView(m: MachineState, vending: string | null, rng: Rng): MachineView {
  const temps = readTemperatures(m, rng);
  const stuck = new Set<'jam' | 'drop_sensor'>();
  if (m.conditions.has('jam')) stuck.add('jam');
  if (m.conditions.has('drop_sensor')) stuck.add('drop_sensor');
  return {
    vending,
    stock: { ...m.stock },
    door: m.door,
    temperatureOk: { hot: temperatureOk(m, 'hot', temps.hot), cold: temperatureOk(m, 'cold', temps.cold) },
    stuck,
  };
}

/** Fault names of SPEC §5 that hold now. */
export function activeFaults(m: MachineState, tempC: Record<Compartment, number>): string[] {
  const f = new Set<string>();
  for (const c of ['jam', 'drop_sensor', 'heater', 'compressor', 'temp_sensor'] as const) if (m.conditions.has(c)) f.add(c);
  if (m.door === 'open') f.add('door_open');
  if (!m.conditions.has('temp_sensor')) {
    for (const c of COMPARTMENTS) {
      if (tempC[c] > SERVING_RANGE_C[c].max) f.add('temp_high');
      if (tempC[c] < SERVING_RANGE_C[c].min) f.add('temp_low');
    }
  }
  for (const c of COMPARTMENTS) if (m.stock[c] === 0) f.add(`out_of_stock_${c}`);
  return [...f].sort();
}

/** The `telemetry` payload (SPEC §5), with one fresh reading of the temperatures. */
export function telemetryOf(m: MachineState, rng: Rng, nowMs: number): TelemetryPayload {
  const tempC = readTemperatures(m, rng);
  return { ts: nowMs, stock: { ...m.stock }, tempC, door: m.door, faults: activeFaults(m, tempC) };
}

/** What must be reported at once when it changes: the door, the faults and the empty compartments. */
export function faultKey(t: TelemetryPayload): string {
  return `${t.door}|${t.faults.join(',')}`;
}
