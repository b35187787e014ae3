/** A device's health state (SPEC §6b), as the edge reports it and the cloud's fleet view reads it. */
import { Type, type Static } from '@sinclair/typebox';

export const DEVICE_STATES = ['online', 'degraded', 'offline', 'out_of_service'] as const;
export const DeviceState = Type.Union(DEVICE_STATES.map((s) => Type.Literal(s)));
export type DeviceState = (typeof DEVICE_STATES)[number];
