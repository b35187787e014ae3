/**
 * One typed event emitter (issue 10, item 4): a listener that throws is logged and counted and
 * cannot break the emitter — the other listeners still run, and a committed ledger transaction
 * (here a real claim settled by the dispenser simulator over MQTT) stays a success.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Emitter } from '../../edge/emitter.ts';
import { call } from './http.ts';
import { startHarness, type Harness } from '../helpers/station.ts';

describe('Emitter', () => {
  it('runs every listener, logs and counts the one that throws, and never throws itself', () => {
    const logged: unknown[] = [];
    const e = new Emitter<[number, string]>('test', { error: (obj: unknown) => void logged.push(obj) } as never);
    const seen: string[] = [];
    e.on((n, s) => seen.push(`a${n}${s}`));
    const off = e.on(() => {
      throw new Error('listener bug');
    });
    e.on((n, s) => seen.push(`c${n}${s}`));
    expect(() => e.emit(1, 'x')).not.toThrow();
    expect(seen).toEqual(['a1x', 'c1x']);
    expect(e.errors).toBe(1);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ emitter: 'test' });
    off();
    e.emit(2, 'y');
    expect(e.errors).toBe(1);
    expect(seen).toEqual(['a1x', 'c1x', 'a2y', 'c2y']);
  });
});

describe('ledger listeners', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('a listener that throws on claim.committed does not make the committed claim look failed', async () => {
    h = await startHarness({ locks: 0 });
    const station = h.station;
    const seenAfter: string[] = [];
    station.ledger.onEvent((e) => {
      if (e.type === 'claim.committed') throw new Error('a buggy listener');
    });
    station.ledger.onEvent((e) => seenAfter.push(e.type));
    const credential = await h.credential('rider-listener');
    expect((await call(station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    const claim = await call(station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' });
    expect(claim.status).toBe(201);
    const id = claim.body.claimId as string;
    expect(station.quota.getClaim(id)?.status).toBe('committed');
    expect(seenAfter).toContain('claim.committed');
    expect(station.ledger.listenerErrors).toBe(1);
    const metrics = await (await fetch(`${station.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^waystation_event_listener_errors_total 1$/m);
  });
});
