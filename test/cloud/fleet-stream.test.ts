/**
 * The fleet's streamed station logs (issue 14, scripts/fleet): the stream makes the same log as
 * the whole-log generator, and a StreamLedger holds only what happened and is not yet acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { generateStationLog, streamStationLog } from '../../scripts/fleet/generate.ts';
import { StreamLedger } from '../../scripts/fleet/streamLedger.ts';
import { FLEET_START } from '../../scripts/fleet/runFleet.ts';
import { heartbeatSecondOf, verifyChain } from '../../protocol/index.ts';

const opts = { stationId: 'fl-00042', startMs: FLEET_START, days: 2, seed: 42 };

describe('the fleet streams its logs', () => {
  it('streams the same hash chain as the whole log, with heartbeats at the station’s own second', () => {
    const whole = generateStationLog(opts);
    expect([...streamStationLog(opts)]).toEqual(whole);
    expect(verifyChain(whole)).toMatchObject({ ok: true });
    const beats = whole.filter((e) => e.type === 'station.heartbeat');
    expect(beats).toHaveLength(2 * 1440);
    expect(new Set(beats.map((e) => new Date(e.ts).getUTCSeconds()))).toEqual(new Set([heartbeatSecondOf(opts.stationId)]));
  });

  it('releases events as time passes and keeps only the unacknowledged ones', () => {
    const whole = generateStationLog(opts);
    const ledger = new StreamLedger(streamStationLog(opts));
    const woken: number[] = [];
    ledger.onEvent((e) => woken.push(e.seq));
    expect(ledger.head().seq).toBe(0);
    expect(ledger.release(whole[9]!.ts)).toBe(10);
    expect(woken).toEqual([10]);
    expect(ledger.head()).toEqual({ seq: 10, hash: whole[9]!.hash });
    expect(ledger.eventsAfter(0, 5).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    ledger.setAckedSeq(5);
    expect(ledger.backlog()).toBe(5);
    expect(ledger.eventsAfter(5, 100).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    // What the cloud holds is dropped here: asking for it again gives what follows, as a pruned ledger would.
    expect(ledger.eventsAfter(2, 1)[0]!.seq).toBe(6);
    ledger.setAckedSeq(3);
    expect(ledger.ackedSeq()).toBe(5);
    ledger.release(Number.MAX_SAFE_INTEGER);
    expect(ledger.exhausted()).toBe(true);
    expect(ledger.head().seq).toBe(whole.length);
  });
});
