/**
 * Dispenser MQTT topic map and payloads (SPEC §5, contract): malformed payloads are refused
 * with a reason and never crash the daemon.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  TOPICS,
  decodePayload,
  devicePrefix,
  encodePayload,
  parseTopic,
  topicFor,
  type PayloadOf,
  type TopicName,
} from '../../protocol/dispenser/topics.ts';

const NAMES = Object.keys(TOPICS) as TopicName[];
const deviceId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);

const VALID: { [N in TopicName]: PayloadOf<N> } = {
  status: { online: true, fw: '1.4.2' },
  telemetry: {
    ts: 1_795_000_000_000,
    stock: { hot: 12, cold: 0 },
    tempC: { hot: 85.5, cold: 4 },
    door: 'closed',
    faults: ['out_of_stock_cold'],
  },
  dispense: { id: 'c-1', compartment: 'hot', expiresAt: 1_795_000_010_000 },
  query: { id: 'c-1' },
  dispenseEvent: { id: 'c-1', result: 'failed', reason: 'jam' },
  restock: { compartment: 'cold', count: 24 },
};

describe('dispenser topics', () => {
  it.each([
    ['status', 'dispensers/d-1/status'],
    ['telemetry', 'dispensers/d-1/telemetry'],
    ['dispense', 'dispensers/d-1/cmd/dispense'],
    ['query', 'dispensers/d-1/cmd/query'],
    ['dispenseEvent', 'dispensers/d-1/evt/dispense'],
    ['restock', 'dispensers/d-1/cmd/restock'],
  ] as [TopicName, string][])('names the %s topic %s as in the SPEC §5 table', (name, topic) => {
    expect(topicFor('d-1', name)).toBe(topic);
    expect(parseTopic(topic)).toEqual({ deviceId: 'd-1', name });
  });

  it('parses every topic it builds back to the same device and name, under the device prefix', () => {
    fc.assert(
      fc.property(deviceId, fc.constantFrom(...NAMES), (id, name) => {
        const topic = topicFor(id, name);
        expect(topic.startsWith(devicePrefix(id))).toBe(true);
        expect(parseTopic(topic)).toEqual({ deviceId: id, name });
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    'dispenser/d-1/status',
    'lockers/d-1/status',
    '/dispensers/d-1/status',
    'dispensers/d-1',
    'dispensers//status',
    'dispensers/+/status',
    'dispensers/#',
    'dispensers/-d/status',
    'dispensers/d 1/status',
    `dispensers/${'a'.repeat(65)}/status`,
    'dispensers/d-1/cmd',
    'dispensers/d-1/cmd/unlock',
    'dispensers/d-1/status/extra',
    'dispensers/d-1/Status',
    'dispensers/d-1/',
  ])('refuses the topic %j', (topic) => {
    expect(parseTopic(topic)).toBeUndefined();
  });

  it('never throws on any topic string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `dispensers/${s}`)), (topic) => {
        const parsed = parseTopic(topic);
        if (parsed) expect(topicFor(parsed.deviceId, parsed.name)).toBe(topic);
      }),
      { numRuns: 300 },
    );
  });
});

describe('dispenser payloads', () => {
  it.each(NAMES)('encodes and decodes a valid %s payload', (name) => {
    const bytes = encodePayload(name, VALID[name]);
    expect(decodePayload(name, bytes)).toEqual({ ok: true, value: VALID[name] });
    expect(decodePayload(name, bytes.toString('utf8'))).toEqual({ ok: true, value: VALID[name] });
  });

  it('accepts a status without fw (the last will) and a dispense event without a reason', () => {
    expect(decodePayload('status', '{"online":false}')).toEqual({ ok: true, value: { online: false } });
    expect(decodePayload('dispenseEvent', '{"id":"c-1","result":"dropped"}').ok).toBe(true);
  });

  it.each([
    ['status', '{"online":', 'malformed JSON'],
    ['status', '', 'malformed JSON'],
    ['status', 'null', ''],
    ['status', '[]', ''],
    ['status', '{"online":"yes"}', '/online'],
    ['status', '{}', '/online'],
    ['telemetry', '{"ts":1,"stock":{"hot":-1,"cold":0},"tempC":{"hot":1,"cold":1},"door":"closed","faults":[]}', '/stock/hot'],
    ['telemetry', '{"ts":1,"stock":{"hot":1,"cold":0},"tempC":{"hot":1,"cold":1},"door":"ajar","faults":[]}', '/door'],
    ['telemetry', '{"ts":1,"stock":{"hot":1,"cold":0},"tempC":{"hot":1},"door":"open","faults":[]}', '/tempC/cold'],
    ['dispense', '{"id":"c-1","compartment":"warm","expiresAt":1}', '/compartment'],
    ['dispense', '{"id":"","compartment":"hot","expiresAt":1}', '/id'],
    ['dispense', '{"id":"c-1","compartment":"hot"}', '/expiresAt'],
    ['query', '{"id":7}', '/id'],
    ['dispenseEvent', '{"id":"c-1","result":"exploded"}', '/result'],
    ['restock', '{"compartment":"hot","count":1.5}', '/count'],
    ['restock', '{"compartment":"hot","count":"3"}', '/count'],
  ] as [TopicName, string, string][])('refuses a %s payload %s with an error naming %j', (name, text, where) => {
    const result = decodePayload(name, text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.length).toBeGreaterThan(0);
      expect(result.error).toContain(where);
    }
  });

  it('never throws on arbitrary text or bytes, and answers ok or an error string', () => {
    const payload = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      // Near-misses: a valid payload with one key replaced by a random JSON value.
      fc
        .tuple(fc.constantFrom(...NAMES), fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }))
        .map(([n, k, v]) => JSON.stringify({ ...(VALID[n] as object), [k]: v })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), payload, (name, p) => {
        const result = decodePayload(name, p);
        if (result.ok) expect(() => encodePayload(name, result.value)).not.toThrow();
        else expect(typeof result.error).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['status', { online: 'yes' }],
    ['dispense', { id: 'c-1', compartment: 'warm', expiresAt: 1 }],
    ['dispense', { id: 'c-1', compartment: 'hot', expiresAt: Number.NaN }],
    ['query', {}],
    ['restock', { compartment: 'cold', count: -1 }],
    ['dispenseEvent', { id: 'c-1', result: 'dropped', reason: 'x'.repeat(65) }],
  ] as [TopicName, unknown][])('refuses to encode an invalid %s payload %j', (name, value) => {
    expect(() => encodePayload(name, value as PayloadOf<typeof name>)).toThrow(TypeError);
  });
});
