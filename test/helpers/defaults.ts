/**
 * The config schema's defaults, for tests and benches that build a part of the station by hand
 * (the defaults live only in edge/config.ts; components take every value from config).
 */
import { tuningDefaults } from '../../edge/config.ts';
import type { LockBusTimeouts } from '../../edge/drivers/lockbus.ts';
import { lockBusTimeoutsOf } from '../../edge/station.ts';

export const TUNING = tuningDefaults();

/** A lock bus's timings: the config defaults with a test's overrides. */
export function busTimeouts(over: Partial<LockBusTimeouts> = {}): LockBusTimeouts {
  return { ...lockBusTimeoutsOf(TUNING), ...over };
}

/** The dispenser driver's timings from the config defaults, with overrides. */
export function driverTimings(over: Partial<{ telemetryIntervalMs: number; dispenseTimeoutMs: number; queryTimeoutMs: number }> = {}) {
  return {
    telemetryIntervalMs: TUNING.heartbeatIntervalMs,
    dispenseTimeoutMs: TUNING.dispense.timeoutMs,
    queryTimeoutMs: TUNING.dispense.queryTimeoutMs,
    ...over,
  };
}

/** The claim service's policy values from the config defaults. */
export function claimPolicy(over: { lowStockThreshold?: number } = {}) {
  return {
    neverReceivedMarginMs: TUNING.dispense.neverReceivedMarginMs,
    alerts: { lowStockThreshold: over.lowStockThreshold ?? TUNING.lowStockThreshold, temperatureRangeC: TUNING.dispense.temperatureRangeC },
  };
}

/** The locker service's timings from the config defaults. */
export function lockerTimings() {
  const l = TUNING.lockers;
  return {
    storageLimitMs: l.storageLimitMs,
    doorLeftOpenMs: l.doorLeftOpenMs,
    unlockAttempts: l.unlockAttempts,
    maxCompartmentsPerDeposit: l.maxCompartmentsPerDeposit,
    unlockGraceMs: l.unlockGraceMs,
  };
}

/** A serial port's reopen backoff from the config defaults. */
export const serialReopen = () => ({ reopenInitialMs: TUNING.serialReopenInitialMs, reopenMaxMs: TUNING.serialReopenMaxMs });
