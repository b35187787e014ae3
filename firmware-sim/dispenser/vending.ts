/**
 * The dispenser's vend decision as a pure function (STYLE.md §2): given what the machine knows
 * and a `cmd/dispense`, what it does. The simulator shell runs the motor, the timers and MQTT.
 *
 * SPEC §5 rules: an id seen before never moves the motor (its stored outcome is sent again);
 * one vend at a time (`busy`); a command past `expiresAt` is `rejected: expired`.
 */
import type { Compartment, DispenseCommand } from '../../protocol/index.ts';
import type { VendFault } from './faults.ts';
import type { VendRecord } from './memory.ts';

export type RejectReason = 'busy' | 'out_of_stock' | 'door_open' | 'temperature' | 'expired' | 'bad_request';
export type FailReason = 'jam' | 'no_drop_detected' | 'motor' | 'drop_sensor';

/** What goes wrong after the motor started, or with the report. */
export type Interruption = 'power_loss' | 'power_loss_after_drop' | 'disconnect' | 'duplicate_event' | 'late_event';

export interface MachineView {
  /** The id being vended now, if any. */
  vending: string | null;
  stock: Record<Compartment, number>;
  door: 'open' | 'closed';
  /** True when the compartment is within its serving temperature and its heater/compressor works. */
  temperatureOk: Record<Compartment, boolean>;
  /** Faults that stop every vend until cleared (`jam`, `drop_sensor`). */
  stuck: ReadonlySet<'jam' | 'drop_sensor'>;
}

export type VendDecision =
  /** Seen before: send the stored outcome again, never move the motor. */
  | { kind: 'repeat'; record: VendRecord }
  /** Nothing moved. Remembered like every id (SPEC §5 rule 2), so a redelivered command is never vended later. */
  | { kind: 'reject'; reason: RejectReason }
  | { kind: 'run'; result: { dropped: true } | { dropped: false; reason: FailReason }; interruption?: Interruption };

export function decideVend(
  cmd: DispenseCommand,
  seen: VendRecord | undefined,
  m: MachineView,
  nowMs: number,
  fault: VendFault | undefined,
): VendDecision {
  if (seen) return { kind: 'repeat', record: seen };
  if (m.vending !== null || fault === 'busy') return { kind: 'reject', reason: 'busy' };
  if (nowMs > cmd.expiresAt) return { kind: 'reject', reason: 'expired' };
  if (m.door === 'open' || fault === 'door_open') return { kind: 'reject', reason: 'door_open' };
  if (!m.temperatureOk[cmd.compartment] || fault === 'temperature') return { kind: 'reject', reason: 'temperature' };
  if (m.stock[cmd.compartment] <= 0 || fault === 'out_of_stock') return { kind: 'reject', reason: 'out_of_stock' };
  if (m.stuck.has('jam') || fault === 'jam') return { kind: 'run', result: { dropped: false, reason: 'jam' } };
  if (m.stuck.has('drop_sensor') || fault === 'drop_sensor') return { kind: 'run', result: { dropped: false, reason: 'drop_sensor' } };
  if (fault === 'no_drop_detected') return { kind: 'run', result: { dropped: false, reason: 'no_drop_detected' } };
  if (fault === 'motor') return { kind: 'run', result: { dropped: false, reason: 'motor' } };
  const interruption: Interruption | undefined =
    fault === 'power_loss' ||
    fault === 'power_loss_after_drop' ||
    fault === 'disconnect' ||
    fault === 'duplicate_event' ||
    fault === 'late_event'
      ? fault
      : undefined;
  return interruption ? { kind: 'run', result: { dropped: true }, interruption } : { kind: 'run', result: { dropped: true } };
}
