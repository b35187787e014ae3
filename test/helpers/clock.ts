/**
 * A simulated device's own wall clock beside a station whose clock a test accelerates or sets by
 * hand. On a real station both are NTP-synced wall clocks; in a test, the station's may run ×288
 * or jump a day while the devices run in real time. A device compares the station's timestamps
 * (a dispense command's `expiresAt`) with its own clock, so that clock must agree with the
 * station's, not with the machine's calendar: it starts at the station's time, runs at the real
 * rate, and is never ahead of the station (a command the station just sent is never already
 * expired, whatever the real date is).
 */
import type { Clock } from '../../protocol/index.ts';

export function deviceClockBeside(station: Clock): Clock {
  const anchor = station.now();
  const realStart = performance.now();
  return {
    now: () => Math.min(station.now(), anchor + Math.floor(performance.now() - realStart)),
    monotonic: () => performance.now(),
  };
}

/** Real time with a wall clock a test can jump (as a station's RTC or NTP would). */
export class JumpableClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  monotonic(): number {
    return performance.now();
  }
}
