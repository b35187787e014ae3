/**
 * What the station core makes of the dispensers' telemetry (SPEC §6b): the stock it serves from
 * and the alerts it raises itself. The driver only reports facts through the port
 * (`DispenserPort.onTelemetry`); the policy — low stock at or below a threshold, a temperature
 * out of the configured range — and the stock decrement after a drop live here.
 *
 * Alerts are named like faults (`low_stock_hot`, `temp_out_of_range_cold`) and raised with
 * `addFault` (kept whatever the device reports next) and cleared with `clearFault`, so they
 * become `device.fault` / `device.recovered` events like the device's own.
 */
import { COMPARTMENTS, type Compartment, type TelemetryPayload } from '../../protocol/index.ts';
import type { DispenserPort } from './device-ports.ts';
import type { DeviceHealth } from './health.ts';
import type { Logger } from '../log.ts';

export type TemperatureRangesC = Readonly<Record<Compartment, { readonly min: number; readonly max: number }>>;

export interface DispenserAlertPolicy {
  /** A compartment at or below this many bottles (and not empty) raises `low_stock_{compartment}`. */
  lowStockThreshold: number;
  /** Outside these readings (°C) the edge raises `temp_out_of_range_{compartment}`. */
  temperatureRangeC: TemperatureRangesC;
}

/** Every alert name the policy may raise (so one that no longer holds is cleared). */
export const DISPENSER_ALERTS: readonly string[] = COMPARTMENTS.flatMap((c) => [`low_stock_${c}`, `temp_out_of_range_${c}`]);

/** The station's own alerts for one telemetry report (pure). */
export function dispenserAlerts(t: Pick<TelemetryPayload, 'stock' | 'tempC'>, policy: DispenserAlertPolicy): string[] {
  const out: string[] = [];
  for (const c of COMPARTMENTS) {
    if (t.stock[c] > 0 && t.stock[c] <= policy.lowStockThreshold) out.push(`low_stock_${c}`);
    const range = policy.temperatureRangeC[c];
    if (t.tempC[c] < range.min || t.tempC[c] > range.max) out.push(`temp_out_of_range_${c}`);
  }
  return out;
}

export interface DispenserWatchOptions {
  driver: Pick<DispenserPort, 'ids' | 'onTelemetry'>;
  health: Pick<DeviceHealth, 'addFault' | 'clearFault' | 'get'>;
  policy: DispenserAlertPolicy;
  log: Logger;
}

export class DispenserWatch {
  private readonly stock = new Map<string, Record<Compartment, number>>();
  private off: (() => void) | undefined;

  constructor(private readonly o: DispenserWatchOptions) {}

  start(): void {
    this.off ??= this.o.driver.onTelemetry((id, t) => this.onTelemetry(id, t));
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  /** Stock as last reported, less the drops since; undefined before the first telemetry. */
  stockOf(id: string): Readonly<Record<Compartment, number>> | undefined {
    return this.stock.get(id);
  }

  /** A bottle dropped: keep the stock we show current until the next telemetry says it exactly. */
  dropped(id: string, compartment: Compartment): void {
    const s = this.stock.get(id);
    if (s) s[compartment] = Math.max(0, s[compartment] - 1);
  }

  private onTelemetry(id: string, t: TelemetryPayload): void {
    this.stock.set(id, { ...t.stock });
    const raised = new Set(dispenserAlerts(t, this.o.policy));
    const current = this.o.health.get(id)?.faults ?? [];
    for (const alert of DISPENSER_ALERTS) {
      if (raised.has(alert) && !current.includes(alert)) {
        this.o.log.warn({ dispenserId: id, alert }, 'dispenser alert');
        this.o.health.addFault(id, alert);
      } else if (!raised.has(alert) && current.includes(alert)) this.o.health.clearFault(id, alert);
    }
  }
}
