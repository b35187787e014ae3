/**
 * The LockBus driver against the simulated bus over a mock serial line: every wire fault of
 * SPEC §6 injected by the simulator, with the driver's expected outcome.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rig, type Rig } from './harness.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import type { LockRequest } from '../../protocol/lockboard/index.ts';

let r: Rig;
afterEach(async () => {
  await r?.close();
});

const counters = (rr: Rig, board = 1) => rr.health.get(boardDeviceId(board))!.counters;

function requestsSeen(rr: Rig): LockRequest[] {
  const seen: LockRequest[] = [];
  rr.sim.on((e) => e.type === 'request' && seen.push(e.request));
  return seen;
}

describe('lock bus over the simulated boards', () => {
  it('reads every door state of a board with query-all', async () => {
    r = await rig({ lockers: false });
    r.sim.forceOpen(1, 3);
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value.map((o, i) => (o ? i + 1 : 0)).filter(Boolean)).toEqual([3]);
    expect(r.bus.doorState(1, 3)).toBe('open');
    expect(r.bus.doorState(1, 4)).toBe('closed');
    expect(r.health.get(boardDeviceId(1))!.state).toBe('online');
  });

  it('unlocks a lock and confirms the open door with a query', async () => {
    r = await rig({ lockers: false });
    const seen = requestsSeen(r);
    expect(await r.bus.unlock(1, 5)).toEqual({ kind: 'opened', confirmedBy: 'query' });
    expect(r.sim.door(1, 5)).toBe('open');
    expect(seen.map((q) => q.kind)).toEqual(['unlock', 'query']);
  });

  it('retries a query answered with a bad BCC', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'bad_bcc', { times: 2 });
    const seen = requestsSeen(r);
    const res = await r.bus.queryAll(1);
    expect(res.ok).toBe(true);
    expect(seen).toHaveLength(3);
    expect(counters(r).badChecksums).toBe(2);
  });

  it('retries a query that got no reply, and counts the timeout', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'no_reply', { times: 1 });
    const res = await r.bus.query(1, 1);
    expect(res).toEqual({ ok: true, value: false });
    expect(counters(r).timeouts).toBe(1);
  });

  it('takes a late reply as late and does not confuse it with the next one', async () => {
    r = await rig({ lockers: false, sim: { lateReplyMs: 90 } });
    r.sim.inject(1, 'late_reply', { times: 1 });
    r.sim.forceOpen(1, 2);
    const first = await r.bus.query(1, 1);
    expect(first).toEqual({ ok: true, value: false });
    await new Promise((res) => setTimeout(res, 100)); // the late reply lands while nothing is awaited
    const second = await r.bus.query(1, 2);
    expect(second).toEqual({ ok: true, value: true });
    expect(counters(r).timeouts).toBe(1);
  });

  it('retries after a truncated frame and counts the leftover bytes as garbage', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'truncated', { times: 1 });
    expect((await r.bus.queryAll(1)).ok).toBe(true);
    expect(counters(r).timeouts).toBe(1);
    expect(counters(r).garbageBytes).toBe(5); // 7-byte query-all reply cut to 5
  });

  it('finds a reply behind leading garbage and counts the garbage', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'garbage');
    const seen = requestsSeen(r);
    expect((await r.bus.queryAll(1)).ok).toBe(true);
    expect(seen).toHaveLength(1);
    expect(counters(r).garbageBytes).toBe(4);
  });

  it('reassembles a reply split into single bytes', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'split');
    r.sim.forceOpen(1, 24);
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value[23]).toBe(true);
    expect(counters(r).timeouts ?? 0).toBe(0);
  });

  it('picks its reply out of joined frames and ignores the stray one', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'joined');
    const seen = requestsSeen(r);
    expect(await r.bus.query(1, 7)).toEqual({ ok: true, value: false });
    expect(seen).toHaveLength(1);
    expect(counters(r).unexpectedFrames).toBe(1);
  });

  it('ignores a duplicated reply', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'duplicate');
    r.sim.forceOpen(1, 1);
    expect(await r.bus.query(1, 1)).toEqual({ ok: true, value: true });
    expect(await r.bus.query(1, 2)).toEqual({ ok: true, value: false });
    expect(counters(r).unexpectedFrames).toBeGreaterThanOrEqual(1);
  });

  it('ignores and counts a reply from the wrong address, then retries', async () => {
    r = await rig({ lockers: false, boards: [{ address: 1, locks: 24 }, { address: 2, locks: 24 }] });
    r.sim.inject(1, 'wrong_address', { times: 1 });
    r.sim.forceOpen(2, 1); // board 2's doors must not be taken for board 1's
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value.some(Boolean)).toBe(false);
    expect(counters(r).wrongAddress).toBe(1);
  });

  it('marks a board that stops answering offline and online again when it is back', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'offline');
    const res = await r.bus.queryAll(1);
    expect(res).toEqual({ ok: false, error: 'timeout' });
    expect(r.bus.isReachable(1)).toBe(false);
    expect(r.bus.doorState(1, 1)).toBe('unknown');
    expect(r.health.get(boardDeviceId(1))!.state).toBe('offline');
    r.sim.clear(1, 'offline');
    await r.bus.pollNow();
    expect(r.bus.isReachable(1)).toBe(true);
    expect(r.health.get(boardDeviceId(1))!.state).toBe('online');
    const types = r.ledger.eventsAfter(0, 100).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['device.offline', 'device.online']));
  });

  it('never sends an unlock twice when its reply is lost, and confirms by query', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'no_reply', { times: 1 });
    const seen = requestsSeen(r);
    expect(await r.bus.unlock(1, 9)).toEqual({ kind: 'opened', confirmedBy: 'query' });
    expect(r.sim.unlockCount(1, 9)).toBe(1);
    expect(seen.map((q) => q.kind)).toEqual(['unlock', 'query']);
  });

  it('reports a jammed latch as stayed shut', async () => {
    r = await rig({ lockers: false });
    r.sim.setLockFault(1, 4, 'jammed');
    expect(await r.bus.unlock(1, 4)).toEqual({ kind: 'stayed_shut', unlockReplied: true });
  });

  it('does not believe an unlock reply when the query shows the door shut', async () => {
    r = await rig({ lockers: false });
    r.sim.setLockFault(1, 4, 'jammed_reports_open');
    expect(await r.bus.unlock(1, 4)).toEqual({ kind: 'stayed_shut', unlockReplied: true });
    expect(r.bus.doorState(1, 4)).toBe('closed');
  });

  it('answers no_answer for an unlock on a board that is gone, without retrying the unlock', async () => {
    r = await rig({ lockers: false });
    r.sim.inject(1, 'offline');
    const seen = requestsSeen(r);
    expect(await r.bus.unlock(1, 1)).toEqual({ kind: 'no_answer', error: 'timeout' });
    expect(seen.filter((q) => q.kind === 'unlock')).toHaveLength(1);
  });

  it('reopens the port after the adapter is unplugged and plugged back', async () => {
    r = await rig({ lockers: false, timeouts: { reopenInitialMs: 10, reopenMaxMs: 20 } });
    r.line.unplug();
    await new Promise((res) => setTimeout(res, 20));
    expect(r.bus.isReachable(1)).toBe(false);
    expect(await r.bus.query(1, 1)).toEqual({ ok: false, error: 'port_closed' });
    r.line.replug();
    for (let i = 0; i < 50 && !r.line.hostOpen; i++) await new Promise((res) => setTimeout(res, 10));
    expect(await r.bus.query(1, 1)).toEqual({ ok: true, value: false });
    expect(r.bus.isReachable(1)).toBe(true);
  });

  it('survives a seeded 30 % random fault profile: every query answered right', async () => {
    r = await rig({ lockers: false, sim: { faults: 'random:0.3@42', lateReplyMs: 80 }, timeouts: { queryRetries: 5 } });
    r.sim.forceOpen(1, 11);
    let ok = 0;
    for (let i = 0; i < 60; i++) {
      const res = await r.bus.queryAll(1);
      if (res.ok) {
        expect(res.value.map((o, j) => (o ? j + 1 : 0)).filter(Boolean)).toEqual([11]);
        ok++;
      }
    }
    expect(ok).toBeGreaterThanOrEqual(58);
  });
});
