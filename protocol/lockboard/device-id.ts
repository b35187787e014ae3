/**
 * A lock board's device id in health, events and the cloud's device list (SPEC §6b). Addresses
 * are unique per station (compartments are "{board}-{lock}"), so the address alone names it.
 */
export function boardDeviceId(address: number): string {
  return `lockboard-${address}`;
}
