/**
 * Canonical JSON (RFC 8785) and the tamper-evident event log (SPEC §9–10).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GENESIS_HASH, canonicalJson, chainHash } from '../../protocol/canonical.ts';
import {
  EVENT_DATA,
  EVENT_DATA_SCHEMAS,
  EVENT_TYPES,
  eventErrors,
  hashEvent,
  sealEvent,
  verifyChain,
  type EventType,
  type StationEvent,
  type UnhashedEvent,
} from '../../protocol/events.ts';

function chainOf(events: Omit<UnhashedEvent, 'seq'>[], firstSeq = 1, prevHash = GENESIS_HASH): StationEvent[] {
  const out: StationEvent[] = [];
  let prev = prevHash;
  events.forEach((e, i) => {
    const sealed = sealEvent(prev, { ...e, seq: firstSeq + i });
    out.push(sealed);
    prev = sealed.hash;
  });
  return out;
}

const checkin = (riderId: string, day: string): Omit<UnhashedEvent, 'seq'> => ({
  type: 'checkin',
  ts: Date.parse(`${day}T01:00:00Z`),
  day,
  data: { riderId, windowFrom: day, windowTo: day },
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys and formats numbers like ECMAScript', () => {
    expect(canonicalJson({ b: 1, a: [1e21, 0.1, -0] })).toBe('{"a":[1e+21,0.1,0],"b":1}');
  });

  it('reproduces the RFC 8785 §3.2.2 example', () => {
    const input = {
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Read the order from the text: JSON.parse would move the integer-like key "1" first.
    const order = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(order).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [9007199254740992, '9007199254740992'],
    [1e21, '1e+21'],
    [9.999999999999997e22, '9.999999999999997e+22'],
    [0.000001, '0.000001'],
    [9.999999999999997e-7, '9.999999999999997e-7'],
    [333333333.3333333, '333333333.3333333'],
  ])('formats the number %s as %s (RFC 8785 appendix B)', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
  });

  it.each([NaN, Infinity, -Infinity])('refuses %s', (n) => {
    expect(() => canonicalJson({ n })).toThrow();
  });

  it('does not depend on the order keys were inserted in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('event hash chain (SPEC §9)', () => {
  it('hashes the first event over 64 zeros followed by its canonical JSON without `hash`', () => {
    const e: UnhashedEvent = {
      seq: 1,
      type: 'checkin',
      ts: 1_795_000_000_000,
      day: '2026-11-23',
      data: { windowTo: '2026-11-29', riderId: 'r-1', windowFrom: '2026-11-23' },
    };
    const canonical =
      '{"data":{"riderId":"r-1","windowFrom":"2026-11-23","windowTo":"2026-11-29"},' +
      '"day":"2026-11-23","seq":1,"ts":1795000000000,"type":"checkin"}';
    expect(canonicalJson(e)).toBe(canonical);
    const expected = createHash('sha256')
      .update(Buffer.from('0'.repeat(64) + canonical, 'utf8'))
      .digest('hex');
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(hashEvent(GENESIS_HASH, e)).toBe(expected);
    expect(sealEvent(GENESIS_HASH, e).hash).toMatch(/^[0-9a-f]{64}$/);
    expect(sealEvent(GENESIS_HASH, e).hash).toBe(expected);
  });

  it('chains the second event on the first event’s hash, with non-ASCII data hashed as UTF-8', () => {
    const [first, second] = chainOf([
      checkin('r-1', '2026-11-23'),
      { type: 'device.fault', ts: 1, day: '2026-11-23', data: { note: '饮水机 卡住 ☕' } },
    ]);
    const { hash, ...unhashed } = second!;
    const expected = createHash('sha256')
      .update(Buffer.from(first!.hash + canonicalJson(unhashed), 'utf8'))
      .digest('hex');
    expect(hash).toBe(expected);
    expect(chainHash(first!.hash, unhashed)).toBe(expected);
  });

  it('accepts a sealed chain and continues it from a given seq and hash', () => {
    const chain = chainOf([checkin('r-1', '2026-11-23'), checkin('r-2', '2026-11-23'), checkin('r-3', '2026-11-24')]);
    expect(verifyChain(chain)).toEqual({ ok: true, lastSeq: 3, lastHash: chain[2]!.hash });
    expect(verifyChain(chain.slice(1), 1, chain[0]!.hash)).toEqual({ ok: true, lastSeq: 3, lastHash: chain[2]!.hash });
    expect(verifyChain([])).toEqual({ ok: true, lastSeq: 0, lastHash: GENESIS_HASH });
  });

  it('rejects a changed data field as hash_mismatch', () => {
    const chain = chainOf([checkin('r-1', '2026-11-23'), checkin('r-2', '2026-11-23')]);
    chain[1] = { ...chain[1]!, data: { ...chain[1]!.data, riderId: 'r-9' } };
    expect(verifyChain(chain)).toEqual({ ok: false, seq: 2, reason: 'hash_mismatch' });
  });

  it('rejects swapped events as seq_not_contiguous', () => {
    const chain = chainOf([checkin('r-1', '2026-11-23'), checkin('r-2', '2026-11-23'), checkin('r-3', '2026-11-23')]);
    expect(verifyChain([chain[0]!, chain[2]!, chain[1]!])).toEqual({ ok: false, seq: 3, reason: 'seq_not_contiguous' });
  });

  it('rejects a gap in the sequence', () => {
    const chain = chainOf([checkin('r-1', '2026-11-23'), checkin('r-2', '2026-11-23'), checkin('r-3', '2026-11-23')]);
    expect(verifyChain([chain[0]!, chain[2]!])).toEqual({ ok: false, seq: 3, reason: 'seq_not_contiguous' });
    expect(verifyChain(chain.slice(1))).toEqual({ ok: false, seq: 2, reason: 'seq_not_contiguous' });
  });

  it('rejects a forged hash, even one that is a valid hash of the forged content', () => {
    const chain = chainOf([checkin('r-1', '2026-11-23'), checkin('r-2', '2026-11-23'), checkin('r-3', '2026-11-23')]);
    const forged = [...chain];
    forged[1] = { ...chain[1]!, hash: 'f'.repeat(64) };
    expect(verifyChain(forged)).toEqual({ ok: false, seq: 2, reason: 'hash_mismatch' });
    // Rewriting event 2 and resealing it breaks the link to event 3.
    const { hash: _h, ...e2 } = chain[1]!;
    forged[1] = sealEvent(chain[0]!.hash, { ...e2, data: { ...e2.data, riderId: 'r-9' } });
    expect(verifyChain(forged)).toEqual({ ok: false, seq: 3, reason: 'hash_mismatch' });
  });

  it('detects any single-field tampering of a random chain', () => {
    const event = fc.record({
      type: fc.constantFrom(...EVENT_TYPES),
      ts: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      day: fc.integer({ min: 0, max: 20_000 }).map((n) => new Date(n * 86_400_000).toISOString().slice(0, 10)),
      data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    });
    const field = fc.constantFrom('seq', 'type', 'ts', 'day', 'data', 'hash');
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), fc.nat(), field, fc.string(), (events, at, which, salt) => {
        const chain = chainOf(events as Omit<UnhashedEvent, 'seq'>[]);
        expect(verifyChain(chain).ok).toBe(true);
        const i = at % chain.length;
        const e = { ...chain[i]! };
        switch (which) {
          case 'seq':
            e.seq += 1 + (at % 3);
            break;
          case 'type':
            e.type = e.type === 'checkin' ? 'claim.committed' : 'checkin';
            break;
          case 'ts':
            e.ts += 1;
            break;
          case 'day':
            e.day = e.day === '2026-11-23' ? '2026-11-24' : '2026-11-23';
            break;
          case 'data':
            e.data = { ...e.data, ['\u0000tampered' + salt]: true };
            break;
          case 'hash':
            e.hash = (e.hash[0] === '0' ? '1' : '0') + e.hash.slice(1);
            break;
        }
        const tampered = [...chain];
        tampered[i] = e;
        const check = verifyChain(tampered);
        expect(check.ok).toBe(false);
        if (!check.ok) expect(check.reason).toBe(which === 'seq' ? 'seq_not_contiguous' : 'hash_mismatch');
      }),
      { numRuns: 300 },
    );
  });
});

describe('event schema (SPEC §10)', () => {
  const valid: StationEvent = sealEvent(GENESIS_HASH, {
    seq: 1,
    type: 'checkin',
    ts: 1_795_000_000_000,
    day: '2026-11-23',
    data: { riderId: 'r-1', windowFrom: '2026-11-23', windowTo: '2026-11-29' },
  });

  it('accepts valid events, with extra data keys', () => {
    expect(eventErrors(valid)).toEqual([]);
    expect(eventErrors({ ...valid, data: { ...valid.data, via: 'kiosk' } })).toEqual([]);
    const committed = sealEvent(GENESIS_HASH, {
      seq: 2,
      type: 'claim.committed',
      ts: 1,
      day: '2026-11-23',
      data: { claimId: 'c-1', riderId: 'r-1', compartment: 'cold', dispenserId: 'd-1', sponsor: 'bank-a' },
    });
    expect(eventErrors(committed)).toEqual([]);
  });

  it('reports a check-in whose data has no riderId', () => {
    const { riderId: _r, ...data } = valid.data as Record<string, unknown>;
    const errs = eventErrors({ ...valid, data });
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.join('\n')).toContain('/data/riderId');
  });

  it.each(['2026/11/23', '26-11-23', '2026-11-23T00:00', ''])('reports the day format %j', (day) => {
    expect(eventErrors({ ...valid, day }).join('\n')).toContain('/day');
  });

  it('reports an extra top-level property', () => {
    expect(eventErrors({ ...valid, stationId: 'dn-001' }).length).toBeGreaterThan(0);
  });

  it('reports a bad hash, seq and ts, a claim with an unknown compartment, and non-objects', () => {
    expect(eventErrors({ ...valid, hash: 'ABC' }).join('\n')).toContain('/hash');
    expect(eventErrors({ ...valid, seq: 0 }).join('\n')).toContain('/seq');
    expect(eventErrors({ ...valid, ts: 1.5 }).join('\n')).toContain('/ts');
    expect(
      eventErrors({
        ...valid,
        type: 'claim.committed',
        data: { claimId: 'c-1', riderId: 'r-1', compartment: 'warm', dispenserId: 'd-1' },
      }).join('\n'),
    ).toContain('/data/compartment');
    expect(eventErrors(null).length).toBeGreaterThan(0);
    expect(eventErrors('event').length).toBeGreaterThan(0);
  });
});

/** One event's data per type, as the edge's call sites write it (see test/edge/event-schemas.test.ts for the real station). */
const SAMPLES: Record<EventType, Record<string, unknown>> = {
  checkin: { riderId: 'r-1', windowFrom: '2026-11-23', windowTo: '2026-11-29' },
  'claim.committed': { claimId: 'c-1', riderId: 'r-1', compartment: 'hot', dispenserId: 'disp-1', sponsor: 'Bank of Daning' },
  'claim.released': { claimId: 'c-1', riderId: 'r-1', reason: 'jam' },
  'claim.unknown': { claimId: 'c-1', riderId: 'r-1', dispenserId: 'disp-1', reason: 'timeout' },
  'claim.resolved': { claimId: 'c-1', riderId: 'r-1', outcome: 'committed', by: 'ops-wang' },
  'locker.deposited': { riderId: 'r-1', compartment: '1-2', bus: 'bus-1' },
  'locker.retrieved': { riderId: 'r-1', compartment: '1-2', storedSince: 1_795_000_000_000 },
  'locker.overdue': { riderId: 'r-1', compartment: '1-2', storedSince: 1_795_000_000_000, limitMs: 86_400_000 },
  'locker.forced_open': { compartment: '1-2', reason: 'overdue', by: 'ops-wang', riderId: 'r-1', overdue: true },
  'locker.door_left_open': { compartment: '1-2', openForMs: 120_500, riderId: null, state: 'free' },
  'device.online': { deviceId: 'disp-1', kind: 'dispenser' },
  'device.offline': { deviceId: 'disp-1', kind: 'dispenser', reason: 'silent' },
  'device.fault': { deviceId: 'disp-1', kind: 'dispenser', fault: 'door_open' },
  'device.recovered': { deviceId: 'disp-1', kind: 'dispenser', fault: 'door_open' },
  'device.service': { deviceId: 'lockboard-1', kind: 'lockboard', compartment: '1-2', inService: false, by: 'station', reason: 'door_never_opened' },
  'dispenser.restocked': { dispenserId: 'disp-1', compartment: 'cold', count: 12, by: 'ops-wang' },
  'station.heartbeat': { uptimeS: 60, diskFreeBytes: 10_000_000, dbBytes: 4096, backlog: 3, devices: { online: 2, degraded: 0, offline: 0, out_of_service: 0 } },
  'maintenance.audit': { by: 'ops-wang', method: 'POST', route: '/v1/maintenance/lockers/:compartment/open', path: '/v1/maintenance/lockers/1-2/open', outcome: 'ok', compartment: '1-2', reason: 'overdue' },
  'station.clock_jump': { fromTs: 1_795_000_000_000, toTs: 1_794_996_400_000, deltaMs: -3_600_000 },
};

function eventOf(type: string, data: Record<string, unknown>): StationEvent {
  return sealEvent(GENESIS_HASH, { seq: 1, type, ts: 1_795_000_000_000, day: '2026-11-23', data });
}

function without(data: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _gone, ...rest } = data;
  return rest;
}

describe('event data schemas, one per type (SPEC §10, issue 2)', () => {
  it('has a data schema for every event type the edge writes', () => {
    expect(Object.keys(EVENT_DATA_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('keeps the SPEC §10 minimum of the events the reports read, exactly', () => {
    const required = (t: EventType) => [...(EVENT_DATA_SCHEMAS[t].required ?? [])].sort();
    expect(required('checkin')).toEqual(['riderId', 'windowFrom', 'windowTo']);
    expect(required('claim.committed')).toEqual(['claimId', 'compartment', 'dispenserId', 'riderId']);
    // zoneFeedAgeMs: optional, zone scope only (SPEC §13: how stale the feed was when it granted).
    expect(Object.keys(EVENT_DATA_SCHEMAS['claim.committed'].properties).sort()).toEqual(['claimId', 'compartment', 'dispenserId', 'riderId', 'sponsor', 'zoneFeedAgeMs']);
    expect(required('dispenser.restocked')).toEqual(['by', 'compartment', 'count', 'dispenserId']);
    expect(Object.keys(EVENT_DATA_SCHEMAS['dispenser.restocked'].properties).sort()).toEqual(['by', 'compartment', 'count', 'dispenserId', 'sponsor']);
    // The reports' subset is the same schemas, not copies.
    for (const [t, s] of Object.entries(EVENT_DATA)) expect(s).toBe(EVENT_DATA_SCHEMAS[t as EventType]);
  });

  it.each(EVENT_TYPES)('accepts %s as the edge writes it, and with keys a newer edge adds', (type) => {
    expect(eventErrors(eventOf(type, SAMPLES[type]))).toEqual([]);
    expect(eventErrors(eventOf(type, { ...SAMPLES[type], addedLater: { any: ['thing'] } }))).toEqual([]);
  });

  it.each(EVENT_TYPES)('refuses %s without any one of its required keys, naming the key', (type) => {
    const required = EVENT_DATA_SCHEMAS[type].required ?? [];
    expect(required.length).toBeGreaterThan(0);
    for (const key of required) {
      expect(SAMPLES[type]).toHaveProperty(key);
      expect(eventErrors(eventOf(type, without(SAMPLES[type], key))).join('\n')).toContain(`/data/${key}`);
    }
  });

  it.each(EVENT_TYPES)('accepts %s without the keys only some call sites write', (type) => {
    const schema = EVENT_DATA_SCHEMAS[type];
    const required = new Set<string>(schema.required ?? []);
    const bare = Object.fromEntries(Object.entries(SAMPLES[type]).filter(([k]) => required.has(k)));
    expect(eventErrors(eventOf(type, bare))).toEqual([]);
  });

  it('refuses a locker.forced_open without `by`, and one whose riderId is missing rather than null', () => {
    const forced = SAMPLES['locker.forced_open'];
    expect(eventErrors(eventOf('locker.forced_open', without(forced, 'by'))).join('\n')).toContain('/data/by');
    expect(eventErrors(eventOf('locker.forced_open', without(forced, 'riderId'))).join('\n')).toContain('/data/riderId');
    expect(eventErrors(eventOf('locker.forced_open', { ...forced, riderId: null, overdue: false }))).toEqual([]);
    expect(eventErrors(eventOf('locker.forced_open', { ...forced, overdue: 'yes' })).join('\n')).toContain('/data/overdue');
  });

  it('takes null where the edge writes null, and refuses it elsewhere', () => {
    expect(eventErrors(eventOf('locker.retrieved', { ...SAMPLES['locker.retrieved'], storedSince: null }))).toEqual([]);
    expect(eventErrors(eventOf('station.heartbeat', { ...SAMPLES['station.heartbeat'], diskFreeBytes: null }))).toEqual([]);
    expect(eventErrors(eventOf('locker.door_left_open', { ...SAMPLES['locker.door_left_open'], riderId: 'r-1', state: 'held' }))).toEqual([]);
    expect(eventErrors(eventOf('device.offline', { ...SAMPLES['device.offline'], deviceId: null })).join('\n')).toContain('/data/deviceId');
    expect(eventErrors(eventOf('station.heartbeat', { ...SAMPLES['station.heartbeat'], dbBytes: null })).join('\n')).toContain('/data/dbBytes');
  });

  it('refuses wrong types: ids as strings, timestamps and counts as integers, flags as booleans', () => {
    const cases: Array<[EventType, Record<string, unknown>, string]> = [
      ['locker.deposited', { riderId: 42 }, '/data/riderId'],
      ['locker.retrieved', { storedSince: '2026-11-23' }, '/data/storedSince'],
      ['locker.overdue', { storedSince: 1.5 }, '/data/storedSince'],
      ['locker.overdue', { limitMs: -1 }, '/data/limitMs'],
      ['locker.door_left_open', { openForMs: 12.5 }, '/data/openForMs'],
      ['device.fault', { fault: '' }, '/data/fault'],
      ['device.service', { inService: 'no' }, '/data/inService'],
      ['claim.resolved', { outcome: 'dropped' }, '/data/outcome'],
      ['claim.unknown', { dispenserId: '' }, '/data/dispenserId'],
      ['station.heartbeat', { devices: { online: 'two' } }, '/data/devices/online'],
      ['station.clock_jump', { deltaMs: 0.5 }, '/data/deltaMs'],
      ['maintenance.audit', { inService: 'false' }, '/data/inService'],
      ['dispenser.restocked', { count: -1 }, '/data/count'],
    ];
    for (const [type, patch, path] of cases) {
      expect([type, eventErrors(eventOf(type, { ...SAMPLES[type], ...patch })).join('\n')]).toEqual([type, expect.stringContaining(path)]);
    }
  });

  it('accepts a type it does not know with any object as data (a newer edge), including names of Object.prototype', () => {
    expect(eventErrors(eventOf('locker.renamed', {}))).toEqual([]);
    expect(eventErrors(eventOf('station.future_thing', { anything: [1, 2, 3] }))).toEqual([]);
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(eventErrors(eventOf(type, {}))).toEqual([]);
    // The envelope is still checked.
    expect(eventErrors({ ...eventOf('locker.renamed', {}), data: 'x' }).join('\n')).toContain('/data');
  });
});
