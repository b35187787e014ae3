/**
 * The lock-board simulator itself (doors, the simulated rider, unlock-all, live commands), the
 * shared seeded fault profiles, and the driver's own polling timer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseFaultProfile, FaultProfileError } from '../../firmware-sim/faults.ts';
import { runControlCommand } from '../../firmware-sim/lockboard/control.ts';
import { parseBoards } from '../../firmware-sim/lockboard/cli.ts';
import { ALL_SIM_FAULTS, WIRE_FAULTS } from '../../firmware-sim/lockboard/faults.ts';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import { LockBus, type LockBusEvent } from '../../edge/drivers/lockbus.ts';
import { silentLogger } from '../../edge/log.ts';
import { rig, type Rig } from './harness.ts';
import { busTimeouts } from '../helpers/defaults.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let r: Rig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('simulated lock boards', () => {
  it('springs a door open on unlock and lets the simulated rider shut it after close-after', async () => {
    r = await rig({ lockers: false, sim: { closeAfterMs: 40 } });
    expect((await r.bus.unlock(1, 2)).kind).toBe('opened');
    expect(r.sim.door(1, 2)).toBe('open');
    await sleep(70);
    expect(r.sim.door(1, 2)).toBe('closed');
  });

  it('still shuts a door that was unlocked again while open (a retried unlock)', async () => {
    r = await rig({ lockers: false, sim: { closeAfterMs: 60 } });
    expect((await r.bus.unlock(1, 2)).kind).toBe('opened');
    await sleep(20);
    await r.bus.unlock(1, 2); // a second pulse on the open door, as after a lost reply
    await sleep(100);
    expect(r.sim.door(1, 2)).toBe('closed');
  });

  it('never shuts a door marked left_open', async () => {
    r = await rig({ lockers: false, sim: { closeAfterMs: 10 } });
    r.sim.setLockFault(1, 2, 'left_open');
    await r.bus.unlock(1, 2);
    await sleep(40);
    expect(r.sim.door(1, 2)).toBe('open');
  });

  it('fires unlock-all one lock after another and replies when all have fired', async () => {
    r = await rig({ lockers: false, boards: [{ address: 4, locks: 6 }], sim: { unlockAllStepMs: 5 } });
    r.sim.setLockFault(4, 6, 'jammed');
    const res = await r.bus.unlockAll(4, 5);
    expect(res).toEqual({ ok: true, value: true });
    expect(r.sim.openDoors()).toEqual(['4-1', '4-2', '4-3', '4-4', '4-5']);
  });

  it('stays silent for addresses that are not on the bus', async () => {
    r = await rig({ lockers: false, boards: [{ address: 1, locks: 24 }] });
    expect(r.sim.requestCount).toBeGreaterThan(0);
    const before = r.sim.requestCount;
    r.sim.inject(1, 'offline', { times: 2 });
    await r.bus.probe(1); // two silent attempts, then an answer
    expect(r.sim.requestCount - before).toBe(3);
    expect(r.health.get(boardDeviceId(1))!.counters.timeouts).toBe(2);
  });

  it('takes live commands: doors, faults, status, and refuses nonsense with a message', () => {
    const sim = new LockBoardSim({ boards: [{ address: 1 }, { address: 2 }], closeAfterMs: null });
    expect(runControlCommand(sim, 'open 1-5 2-3')).toBe('opened 1-5 2-3');
    expect(sim.openDoors()).toEqual(['1-5', '2-3']);
    expect(runControlCommand(sim, 'close 1-5')).toBe('closed 1-5');
    expect(runControlCommand(sim, 'fault 2 offline')).toBe('fault offline on board 2');
    expect(runControlCommand(sim, 'fault all bad_bcc 3')).toBe('fault bad_bcc on board all for 3 requests');
    expect(sim.faultsOf(2)).toEqual(['offline', 'bad_bcc']);
    expect(runControlCommand(sim, 'clear 2 offline')).toMatch(/cleared offline/);
    expect(runControlCommand(sim, 'status')).toContain('open doors: 2-3');
    expect(runControlCommand(sim, 'fault 9 offline')).toMatch(/^error: no board "9"/);
    expect(runControlCommand(sim, 'fault 1 melted')).toMatch(/^error: unknown board fault/);
    expect(runControlCommand(sim, 'open 15')).toMatch(/^error: expected a compartment/);
    expect(runControlCommand(sim, 'dance')).toMatch(/unknown command/);
    sim.stop();
  });

  it('parses --boards as address:locks', () => {
    expect(parseBoards('1:24,2:12,3')).toEqual([
      { address: 1, locks: 24 },
      { address: 2, locks: 12 },
      { address: 3, locks: 24 },
    ]);
    expect(() => parseBoards('32:24')).toThrow(/outside 1–31/);
    expect(() => parseBoards('1:25')).toThrow(/outside 1–24/);
  });
});

describe('seeded fault profiles', () => {
  it('reads none, flaky, random rates, switch lists and both together', () => {
    expect(parseFaultProfile('none', ALL_SIM_FAULTS).rate).toBe(0);
    const flaky = parseFaultProfile('flaky@7', ALL_SIM_FAULTS, WIRE_FAULTS);
    expect([flaky.rate, flaky.seed]).toEqual([0.1, 7]);
    expect(parseFaultProfile('random:0.25@3', ALL_SIM_FAULTS).rate).toBe(0.25);
    expect([...parseFaultProfile('bad_bcc,split', ALL_SIM_FAULTS).always]).toEqual(['bad_bcc', 'split']);
    const both = parseFaultProfile('flaky+offline', ALL_SIM_FAULTS);
    expect([both.rate, [...both.always]]).toEqual([0.1, ['offline']]);
    expect(() => parseFaultProfile('melted', ALL_SIM_FAULTS)).toThrow(FaultProfileError);
    expect(() => parseFaultProfile('random:2', ALL_SIM_FAULTS)).toThrow(/between 0 and 1/);
  });

  it('rolls the same faults for the same seed, about as often as the rate says', () => {
    const roll = (seed: number) => {
      const p = parseFaultProfile(`random:0.1@${seed}`, WIRE_FAULTS);
      return Array.from({ length: 5000 }, () => p.roll());
    };
    expect(roll(5)).toEqual(roll(5));
    expect(roll(5)).not.toEqual(roll(6));
    const hits = roll(5).filter(Boolean).length;
    expect(hits).toBeGreaterThan(400);
    expect(hits).toBeLessThan(600);
  });
});

describe('polling', () => {
  it('polls door states on its own timer and emits changes', async () => {
    r = await rig({ lockers: false });
    await r.bus.stop();
    // A second driver on the same line, this time with its polling timer.
    const bus = new LockBus({
      path: r.line.path,
      binding: r.line.binding,
      boards: [{ address: 1, locks: 24 }],
      logger: silentLogger(),
      health: r.health,
      clock: r.clock,
      timeouts: busTimeouts({ replyTimeoutMs: 50, pollIntervalMs: 15 }),
    });
    const changes: LockBusEvent[] = [];
    bus.on((e) => e.type === 'doors' && e.changed.length > 0 && changes.push(e));
    await bus.start();
    await sleep(40);
    r.sim.forceOpen(1, 17);
    await sleep(60);
    await bus.stop();
    const last = changes.at(-1);
    expect(last).toMatchObject({ type: 'doors', board: 1, changed: [17], source: 'poll' });
  });
});
