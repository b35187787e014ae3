// The edge keeps the cloud's one-event cap (SPEC §9: at most 16 KiB of JSON, else 413
// event_too_large): an event that would be bigger is never written — the append throws a coded
// error inside the transaction, so the state change it came with is rolled back, the refusal is
// counted, and the log goes on (an event the cloud refuses would stop the upload at its seq for good).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oversizedEvent } from '../../cloud/routes/syncRoutes.ts';
import { EventTooLargeError, eventJsonBytes, Ledger } from '../../edge/ledger/ledger.ts';
import { StationMetrics } from '../../edge/metrics.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { QuotaLedger } from '../../edge/ledger/quota-ledger.ts';
import { silentLogger } from '../../edge/log.ts';
import { canonicalJson, ManualClock, MAX_EVENT_JSON_BYTES, verifyChain } from '../../protocol/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { bigHeartbeat, heartbeat } from '../helpers/events.ts';

const T0 = Date.parse('2026-11-23T02:00:00.000Z');
let tmp: ReturnType<typeof tempDir>;
let ledger: Ledger;

beforeEach(() => {
  tmp = tempDir();
  ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock: new ManualClock(T0), timezone: 'Asia/Shanghai' });
});
afterEach(() => {
  ledger.close();
  tmp.cleanup();
});

/** A heartbeat whose event is exactly `bytes` of JSON as uploaded (padding one device name). */
function heartbeatOf(bytes: number, seq: number) {
  const probe = heartbeat({ devices: { p: 1 } });
  const base = eventJsonBytes({ seq, type: 'station.heartbeat', ts: T0, day: '2026-11-23', hash: 'x'.repeat(64) }, canonicalJson(probe));
  return heartbeat({ devices: { ['p'.repeat(1 + bytes - base)]: 1 } });
}

describe('the 16 KiB event cap at the edge', () => {
  it('measures an event exactly as the uploader sends it (UTF-8 bytes of its JSON)', () => {
    const e = ledger.append('station.heartbeat', heartbeat({ devices: { 'disp-1': 1, 'é水"\\\n': 2, '𝄞': 3 } }));
    const [stored] = ledger.eventsAfter(0, 1);
    expect(eventJsonBytes(e, canonicalJson(e.data))).toBe(Buffer.byteLength(JSON.stringify(stored), 'utf8'));
  });

  it('writes an event of exactly 16 KiB, which the cloud takes, and refuses one byte more, which it would not', () => {
    const edge = ledger.append('station.heartbeat', heartbeatOf(MAX_EVENT_JSON_BYTES, 1));
    expect(Buffer.byteLength(JSON.stringify(ledger.eventsAfter(0, 1)[0]))).toBe(MAX_EVENT_JSON_BYTES);
    expect(oversizedEvent(ledger.eventsAfter(0, 1))).toBeNull();
    const big = heartbeatOf(MAX_EVENT_JSON_BYTES + 1, 2);
    expect(() => ledger.append('station.heartbeat', big)).toThrow(EventTooLargeError);
    // What the cloud would have said to it, had it been written.
    expect(oversizedEvent([{ seq: 2, type: 'station.heartbeat', ts: T0, day: '2026-11-23', data: big as unknown as Record<string, unknown>, hash: 'x'.repeat(64) }])).toEqual({ seq: 2, bytes: MAX_EVENT_JSON_BYTES + 1 });
    expect(ledger.head()).toEqual({ seq: 1, hash: edge.hash });
  });

  it('rolls the whole change back with a coded error, counts it, and the log goes on', () => {
    const quota = new QuotaLedger(ledger);
    const metrics = new StationMetrics({ ledger, quota, health: new DeviceHealth({ ledger, clock: ledger.clock, logger: silentLogger() }), uptimeS: () => 1 });
    ledger.append('station.heartbeat', heartbeat({ uptimeS: 1 }));
    let caught: unknown;
    try {
      ledger.tx((t) => {
        t.db.prepare(`INSERT INTO meta (key, value) VALUES ('hostile.change', 'made')`).run();
        t.append('station.heartbeat', heartbeat({ uptimeS: 2 }));
        t.append('station.heartbeat', bigHeartbeat(40_000)); // a device map padded by a hostile party
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EventTooLargeError);
    expect(caught).toMatchObject({ code: 'event_too_large', type: 'station.heartbeat' });
    expect((caught as EventTooLargeError).message).toMatch(/more than the 16384 the cloud takes; nothing was changed/);
    // Nothing of the transaction stayed: not the state change, not the small event before the big one.
    expect(ledger.getMeta('hostile.change')).toBeUndefined();
    expect(ledger.head().seq).toBe(1);
    expect(ledger.refusedOversized()).toEqual([{ type: 'station.heartbeat', count: 1 }]);
    ledger.append('station.heartbeat', heartbeat({ uptimeS: 3 }));
    const events = ledger.eventsAfter(0, 10);
    expect(events.map((e) => [e.seq, e.data.uptimeS])).toEqual([[1, 1], [2, 3]]);
    expect(verifyChain(events, 0, '0'.repeat(64))).toMatchObject({ ok: true });
    expect(metrics.registry.render()).toContain('waystation_events_refused_total{type="station.heartbeat",reason="too_large"} 1');
  });
});
