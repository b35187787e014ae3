/** The heartbeat second (protocol/time.ts): a fleet's heartbeats spread over the minute (issue 14). */
import { describe, expect, it } from 'vitest';
import { heartbeatSecondOf } from '../../protocol/index.ts';

describe('heartbeatSecondOf', () => {
  it('gives each station the same second every time, within 0..59', () => {
    for (const id of ['dn-001', 'dn-002', 'a', 'fl-09999']) {
      const s = heartbeatSecondOf(id);
      expect(Number.isInteger(s) && s >= 0 && s < 60).toBe(true);
      expect(heartbeatSecondOf(id)).toBe(s);
    }
  });

  it('spreads 10,000 stations over the minute: no second holds more than twice its share', () => {
    const perSecond = new Array<number>(60).fill(0);
    for (let i = 1; i <= 10_000; i++) perSecond[heartbeatSecondOf(`fl-${String(i).padStart(5, '0')}`)]!++;
    expect(Math.max(...perSecond)).toBeLessThan((2 * 10_000) / 60);
    expect(Math.min(...perSecond)).toBeGreaterThan(10_000 / 60 / 2);
  });
});
