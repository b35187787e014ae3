/**
 * Many riders through the lockers while the simulated bus misbehaves at random (the seeded
 * `flaky` profile: 10 % of replies hit by a wire fault): nothing is lost, nobody holds two
 * compartments, no compartment has two riders, and no false "forced door" alarm is raised.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, rig, type Rig } from './harness.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import { busTimeouts } from '../helpers/defaults.ts';

let r: Rig;
afterEach(async () => {
  await r?.close();
});

describe('lockers under a seeded 10 % random wire-fault profile', () => {
  it.each([7, 1234])('serves 60 deposit/retrieve cycles without losing or doubling a holding (seed %i)', async (seed) => {
    r = await rig({
      boards: [
        { address: 1, locks: 24 },
        { address: 2, locks: 24 },
      ],
      sim: { faults: `flaky@${seed}`, lateReplyMs: 45 },
      timeouts: busTimeouts({ replyTimeoutMs: 30 }),
    });
    const lockers = r.lockers!;
    const holding = new Map<string, string>();
    const closeAll = async () => {
      for (const name of r.sim.openDoors()) {
        const [b, l] = name.split('-').map(Number) as [number, number];
        r.sim.closeDoor(b, l);
      }
      await r.bus.pollNow();
    };
    for (let i = 0; i < 60; i++) {
      const rider = `rider-${i % 15}`;
      if (holding.has(rider)) {
        const out = await lockers.retrieve(rider);
        if (out.kind === 'retrieved') {
          expect(out.compartment).toBe(holding.get(rider));
          holding.delete(rider);
        } else expect(out.kind).toBe('locker_unavailable'); // a board briefly unreachable: retried later
      } else {
        const out = await lockers.deposit(rider);
        if (out.kind === 'deposited') {
          expect([...holding.values()]).not.toContain(out.compartment);
          const [b, l] = out.compartment.split('-').map(Number) as [number, number];
          expect(r.sim.door(b, l)).toBe('open'); // never handed out without the door open
          holding.set(rider, out.compartment);
        } else expect(out.kind).toBe('locker_unavailable');
      }
      await closeAll();
    }
    for (const [rider, compartment] of holding) expect(lockers.holdingOf(rider)?.compartment).toBe(compartment);
    const falseAlarms = [1, 2].flatMap((b) => r.health.get(boardDeviceId(b))!.faults).filter((f) => f.startsWith('door_forced'));
    expect(falseAlarms).toEqual([]);
    expect(eventsOf(r.ledger, 'locker.deposited').length - eventsOf(r.ledger, 'locker.retrieved').length).toBe(holding.size);
    expect(r.ledger.verifyStoredChain().ok).toBe(true);
  });
});
