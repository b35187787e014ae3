/** The simulated fleet's first day, 2026-11-23 00:00 in Asia/Shanghai (a Monday of ISO week 48). */
export const FLEET_START = Date.parse('2026-11-23T00:00:00+08:00');
