/**
 * Dispenser MQTT interface (SPEC §5, contract): the topic map, a TypeBox schema per topic,
 * and functions that build, parse and validate in both directions.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseJson, validator } from '../schema.ts';

export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const DEVICE_ID_RE = new RegExp(DEVICE_ID_PATTERN);

export const Compartment = Type.Union([Type.Literal('hot'), Type.Literal('cold')]);
export type Compartment = Static<typeof Compartment>;
export const COMPARTMENTS: readonly Compartment[] = ['hot', 'cold'];

export const FAULT_NAMES = [
  'jam',
  'drop_sensor',
  'door_open',
  'heater',
  'compressor',
  'temp_high',
  'temp_low',
  'temp_sensor',
  'out_of_stock_hot',
  'out_of_stock_cold',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export const StatusPayload = Type.Object({
  online: Type.Boolean(),
  fw: Type.Optional(Type.String({ maxLength: 64 })),
});

export const TelemetryPayload = Type.Object({
  ts: Type.Number(),
  stock: Type.Object({ hot: Type.Integer({ minimum: 0 }), cold: Type.Integer({ minimum: 0 }) }),
  tempC: Type.Object({ hot: Type.Number(), cold: Type.Number() }),
  door: Type.Union([Type.Literal('closed'), Type.Literal('open')]),
  faults: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 }),
});

export const ClaimId = Type.String({ minLength: 1, maxLength: 64 });

export const DispenseCommand = Type.Object({
  id: ClaimId,
  compartment: Compartment,
  expiresAt: Type.Number(),
});

export const QueryCommand = Type.Object({ id: ClaimId });

export const REJECT_REASONS = ['busy', 'out_of_stock', 'door_open', 'temperature', 'expired', 'bad_request'] as const;
export const FAIL_REASONS = ['jam', 'no_drop_detected', 'motor', 'drop_sensor'] as const;

export const DispenseResult = Type.Union([
  Type.Literal('accepted'),
  Type.Literal('rejected'),
  Type.Literal('dropped'),
  Type.Literal('failed'),
  Type.Literal('indeterminate'),
  Type.Literal('unknown'),
]);
export type DispenseResult = Static<typeof DispenseResult>;

export const DispenseEvent = Type.Object({
  id: ClaimId,
  result: DispenseResult,
  reason: Type.Optional(Type.String({ maxLength: 64 })),
});

export const RestockCommand = Type.Object({
  compartment: Compartment,
  count: Type.Integer({ minimum: 0, maximum: 10_000 }),
});

export type StatusPayload = Static<typeof StatusPayload>;
export type TelemetryPayload = Static<typeof TelemetryPayload>;
export type DispenseCommand = Static<typeof DispenseCommand>;
export type QueryCommand = Static<typeof QueryCommand>;
export type DispenseEvent = Static<typeof DispenseEvent>;
export type RestockCommand = Static<typeof RestockCommand>;

/** Topic suffix → schema, QoS, direction and retain flag (SPEC §5 table). */
export const TOPICS = {
  status: { suffix: 'status', schema: StatusPayload, qos: 1, from: 'device', retain: true },
  telemetry: { suffix: 'telemetry', schema: TelemetryPayload, qos: 0, from: 'device', retain: false },
  dispense: { suffix: 'cmd/dispense', schema: DispenseCommand, qos: 1, from: 'edge', retain: false },
  query: { suffix: 'cmd/query', schema: QueryCommand, qos: 1, from: 'edge', retain: false },
  dispenseEvent: { suffix: 'evt/dispense', schema: DispenseEvent, qos: 1, from: 'device', retain: false },
  restock: { suffix: 'cmd/restock', schema: RestockCommand, qos: 1, from: 'edge', retain: false },
} as const;

export type TopicName = keyof typeof TOPICS;
export type PayloadOf<N extends TopicName> = Static<(typeof TOPICS)[N]['schema']>;

const validators = Object.fromEntries(
  Object.entries(TOPICS).map(([k, t]) => [k, validator(t.schema)]),
) as { [N in TopicName]: ReturnType<typeof validator<(typeof TOPICS)[N]['schema']>> };

const bySuffix = new Map<string, TopicName>(Object.entries(TOPICS).map(([k, t]) => [t.suffix, k as TopicName]));

export const TOPIC_ROOT = 'dispensers';

export function isDeviceId(id: string): boolean {
  return DEVICE_ID_RE.test(id);
}

export function topicFor(deviceId: string, name: TopicName): string {
  return `${TOPIC_ROOT}/${deviceId}/${TOPICS[name].suffix}`;
}

/** The prefix a device may publish and subscribe under (SPEC §5). */
export function devicePrefix(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/`;
}

/** Parse `dispensers/{id}/...` into the device id and topic name; undefined when not ours. */
export function parseTopic(topic: string): { deviceId: string; name: TopicName } | undefined {
  const parts = topic.split('/');
  if (parts.length < 3 || parts[0] !== TOPIC_ROOT) return undefined;
  const deviceId = parts[1]!;
  if (!isDeviceId(deviceId)) return undefined;
  const name = bySuffix.get(parts.slice(2).join('/'));
  return name ? { deviceId, name } : undefined;
}

/** Decode and validate a payload received on a topic; never throws. */
export function decodePayload<N extends TopicName>(
  name: N,
  payload: string | Uint8Array,
): { ok: true; value: PayloadOf<N> } | { ok: false; error: string } {
  return parseJson(validators[name], payload) as { ok: true; value: PayloadOf<N> } | { ok: false; error: string };
}

/** Encode a payload after validating it, so we never send what we would refuse. */
export function encodePayload<N extends TopicName>(name: N, value: PayloadOf<N>): Buffer {
  if (!validators[name].check(value)) {
    throw new TypeError(`invalid ${name} payload: ${validators[name].errors(value).join('; ')}`);
  }
  return Buffer.from(JSON.stringify(value));
}
