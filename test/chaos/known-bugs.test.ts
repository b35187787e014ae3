/**
 * Known bugs the chaos suite ran into, outside the files the suite owns. Each is a minimal
 * reproduction marked `it.fails`: it passes while the bug is there and turns red once it is
 * fixed — then delete the `.fails` (and the work-around named in the comment).
 */
import { describe, expect, it } from 'vitest';
import { createMockLine } from '../../firmware-sim/lockboard/link';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim';
import { encodeRequest } from '../../protocol/index';
import { sleep } from './rig';

describe('known bugs', () => {
  // firmware-sim/lockboard/sim.ts `setDoor`: `cancelClose(l)` runs before the `doorOpen === open`
  // early return, so an unlock of a door that is already open cancels the pending close and
  // schedules none: the simulated rider never shuts that door. The station unlocks an open door
  // again whenever an unlock reply was lost (SPEC §6a "unlocked once more"), so under `flaky`
  // every board ends up with all doors open. Work-around: faults.test.ts shuts doors itself.
  it.fails('the simulated rider shuts a door that was unlocked twice', async () => {
    const line = createMockLine();
    const sim = new LockBoardSim({ boards: [{ address: 1, locks: 4 }], latencyMs: 1, closeAfterMs: 100 });
    sim.attach(line.device);
    const port = (await line.binding.open({ path: line.path, baudRate: 9600 })) as { write(b: Buffer): Promise<void> };
    const unlock = Buffer.from(encodeRequest({ kind: 'unlock', board: 1, lock: 1 }));
    await port.write(unlock);
    await sleep(30);
    await port.write(unlock); // the door is open: a second pulse, as after a lost reply
    await sleep(300);
    sim.stop();
    expect(sim.door(1, 1)).toBe('closed');
  });
});
