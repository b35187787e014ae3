/**
 * LockerService (SPEC §6a) through the real LockBus and the simulated boards, with a real
 * Ledger on a temp dir and a ManualClock for the long durations.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, manualClock, rig, type Rig } from './harness.ts';
import { boardDeviceId } from '../../protocol/index.ts';

let r: Rig;
afterEach(async () => {
  await r?.close();
});

const TWO_BOARDS = [
  { address: 1, locks: 24 },
  { address: 2, locks: 24 },
];

const view = (rr: Rig, name: string) => rr.lockers!.compartments().find((c) => c.compartment === name)!;
const faults = (rr: Rig, board = 1) => rr.health.get(boardDeviceId(board))!.faults;

/** The rider shuts the door and the next poll sees it. */
async function riderCloses(rr: Rig, name: string): Promise<void> {
  const [board, lock] = name.split('-').map(Number) as [number, number];
  rr.sim.closeDoor(board, lock);
  await rr.bus.pollNow();
}

describe('lockers', () => {
  it('deposits into a free compartment, unlocks it, and starts the storage clock when the door is seen closed', async () => {
    r = await rig();
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-1' });
    expect(r.sim.door(1, 1)).toBe('open');
    expect(r.lockers!.holdingOf('rider-a')).toEqual({ compartment: '1-1', since: null });
    expect(view(r, '1-1')).toMatchObject({ state: 'depositing', door: 'open', riderId: 'rider-a' });
    await riderCloses(r, '1-1');
    expect(view(r, '1-1')).toMatchObject({ state: 'held', door: 'closed' });
    expect(r.lockers!.holdingOf('rider-a')!.since).toEqual(expect.any(Number));
    expect(eventsOf(r.ledger, 'locker.deposited').map((e) => e.data)).toEqual([
      // With the door's label (its name when none is configured) and the storage limit, for the rider page's deadline.
      expect.objectContaining({ riderId: 'rider-a', compartment: '1-1', label: '1-1', limitMs: 86_400_000 }),
    ]);
  });

  it('refuses a second deposit of the same rider with locker_already_held', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'locker_already_held', compartment: '1-1' });
    expect(r.sim.unlockCount(1, 2)).toBe(0);
  });

  it('gives two riders depositing at once two compartments, and one rider only one', async () => {
    r = await rig();
    const [a, b, a2] = await Promise.all([r.lockers!.deposit('a'), r.lockers!.deposit('b'), r.lockers!.deposit('a')]);
    expect(a).toEqual({ kind: 'deposited', compartment: '1-1' });
    expect(b).toEqual({ kind: 'deposited', compartment: '1-2' });
    expect(a2).toEqual({ kind: 'locker_already_held', compartment: '1-1' });
  });

  it('retrieves: unlocks, ends the holding, and frees the compartment once its door is seen closed', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '1-1' });
    expect(r.sim.door(1, 1)).toBe('open');
    expect(r.lockers!.holdingOf('rider-a')).toBeNull();
    expect(view(r, '1-1').state).toBe('retrieving');
    expect(await r.lockers!.deposit('rider-b')).toEqual({ kind: 'deposited', compartment: '1-2' });
    await riderCloses(r, '1-1');
    expect(view(r, '1-1').state).toBe('free');
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'no_locker_held' });
    expect(eventsOf(r.ledger, 'locker.retrieved')).toHaveLength(1);
    expect(faults(r)).toEqual([]);
  });

  it('moves a rider to another compartment when the door never opens', async () => {
    r = await rig();
    r.sim.setLockFault(1, 1, 'jammed');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-2' });
    expect(r.sim.unlockCount(1, 1)).toBe(2); // tried once more, then given up
    expect(view(r, '1-1')).toMatchObject({ state: 'out_of_service', inService: false });
    expect(faults(r)).toContain('door_stuck:1-1');
    expect(eventsOf(r.ledger, 'device.service').map((e) => e.data)).toEqual([
      expect.objectContaining({ compartment: '1-1', inService: false, reason: 'door_never_opened' }),
    ]);
    // Out of service stays out: the next rider does not get it either.
    expect(await r.lockers!.deposit('rider-b')).toEqual({ kind: 'deposited', compartment: '1-3' });
  });

  it('pulses a stuck door exactly lockers.unlockAttempts times, the one retry layer (the bus sends each pulse once)', async () => {
    r = await rig({ lockers: { unlockAttempts: 3 } });
    r.sim.setLockFault(1, 1, 'jammed');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-2' });
    expect(r.sim.unlockCount(1, 1)).toBe(3);
    expect(r.sim.unlockCount(1, 2)).toBe(1);
    // One journal row per intent, however many pulses it took.
    expect(r.lockers!.unlockJournal().filter((u) => u.compartment === '1-1')).toEqual([expect.objectContaining({ purpose: 'deposit', outcome: 'stayed_shut' })]);
  });

  it('moves a rider on when the latch reports open but the door stays shut', async () => {
    r = await rig();
    r.sim.setLockFault(1, 1, 'jammed_reports_open');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-2' });
    expect(view(r, '1-1').inService).toBe(false);
  });

  it('gives the rider the compartment when the unlock reply is lost but the query shows the door open', async () => {
    r = await rig();
    r.sim.inject(1, 'no_reply', { times: 1 });
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-1' });
    expect(r.sim.unlockCount(1, 1)).toBe(1);
  });

  it('raises door_left_open once for a door left open past the limit', async () => {
    const clock = manualClock();
    r = await rig({ clock, lockers: { doorLeftOpenMs: 120_000 } });
    await r.lockers!.deposit('rider-a');
    await r.bus.pollNow();
    clock.advance(119_000);
    r.lockers!.checkTimers();
    expect(eventsOf(r.ledger, 'locker.door_left_open')).toHaveLength(0);
    clock.advance(2_000);
    r.lockers!.checkTimers();
    await r.bus.pollNow(); // polls run the timers too; still one event
    expect(eventsOf(r.ledger, 'locker.door_left_open').map((e) => e.data)).toEqual([
      expect.objectContaining({ compartment: '1-1', riderId: 'rider-a' }),
    ]);
  });

  it('raises locker.overdue after the storage limit, counted from the door closing', async () => {
    const clock = manualClock();
    r = await rig({ clock, lockers: { storageLimitMs: 86_400_000 } });
    await r.lockers!.deposit('rider-a');
    clock.advance(60_000); // the door stood open a minute: not storage time
    await riderCloses(r, '1-1');
    clock.advance(86_400_000 - 1);
    r.lockers!.checkTimers();
    expect(eventsOf(r.ledger, 'locker.overdue')).toHaveLength(0);
    clock.advance(1);
    r.lockers!.checkTimers();
    r.lockers!.checkTimers();
    expect(eventsOf(r.ledger, 'locker.overdue').map((e) => e.data)).toEqual([
      expect.objectContaining({ compartment: '1-1', riderId: 'rider-a' }),
    ]);
    expect(view(r, '1-1').overdue).toBe(true);
  });

  it('lets maintenance open an overdue compartment, with reason and who, ending the holding', async () => {
    const clock = manualClock();
    r = await rig({ clock, lockers: { storageLimitMs: 3_600_000 } });
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    clock.advance(3_600_000);
    r.lockers!.checkTimers();
    expect(await r.lockers!.forceOpen('1-1', 'overdue: items moved to the office', 'ops-wang')).toEqual({ ok: true });
    expect(r.sim.door(1, 1)).toBe('open');
    expect(eventsOf(r.ledger, 'locker.forced_open').map((e) => e.data)).toEqual([
      { compartment: '1-1', reason: 'overdue: items moved to the office', by: 'ops-wang', riderId: 'rider-a', overdue: true },
    ]);
    expect(r.lockers!.holdingOf('rider-a')).toBeNull();
    expect(faults(r)).toEqual([]); // an unlock of ours is not a forced door
    await riderCloses(r, '1-1');
    expect(view(r, '1-1').state).toBe('free');
    expect(await r.lockers!.forceOpen('9-9', 'x', 'ops-wang')).toMatchObject({ ok: false, error: 'unknown_compartment' });
  });

  it('raises a fault for a door forced open, does not hand it out, and clears it when shut', async () => {
    r = await rig();
    r.sim.forceOpen(1, 1);
    await r.bus.pollNow();
    expect(faults(r)).toEqual(['door_forced:1-1']);
    expect(r.health.get(boardDeviceId(1))!.state).toBe('degraded');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-2' });
    await riderCloses(r, '1-1');
    expect(faults(r)).toEqual([]);
    expect(eventsOf(r.ledger, 'device.fault', 'device.recovered').map((e) => [e.type, e.data.fault])).toEqual([
      ['device.fault', 'door_forced:1-1'],
      ['device.recovered', 'door_forced:1-1'],
    ]);
  });

  it('raises a fault for a held compartment forced open', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    r.sim.forceOpen(1, 1);
    await r.bus.pollNow();
    expect(faults(r)).toEqual(['door_forced:1-1']);
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('1-1');
  });

  it('marks a vanished board\'s compartments unavailable and brings them back', async () => {
    r = await rig({ boards: TWO_BOARDS });
    r.sim.forceOpen(1, 1); // keep board 1's first compartment out of the pick
    r.sim.closeDoor(1, 1);
    for (let lock = 1; lock <= 24; lock++) await r.lockers!.deposit(`filler-${lock}`); // board 1 full
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '2-1' });
    await riderCloses(r, '2-1');
    r.sim.inject(2, 'offline');
    await r.bus.pollNow();
    expect(view(r, '2-1').state).toBe('unavailable');
    expect(view(r, '2-5').state).toBe('unavailable');
    expect(await r.lockers!.retrieve('rider-a')).toMatchObject({ kind: 'locker_unavailable', compartment: '2-1' });
    expect(await r.lockers!.deposit('rider-b')).toMatchObject({ kind: 'locker_unavailable' });
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('2-1');
    r.sim.clear(2, 'offline');
    await r.bus.pollNow();
    expect(view(r, '2-1').state).toBe('held');
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '2-1' });
  });

  it('gives the rider a compartment on another board when the first board stops answering mid-deposit', async () => {
    r = await rig({ boards: TWO_BOARDS });
    r.sim.inject(1, 'offline');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '2-1' });
    expect(r.sim.unlockCount(1, 1)).toBe(0);
    expect(view(r, '1-1')).toMatchObject({ state: 'unavailable', inService: true }); // not blamed on the compartment
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('2-1');
  });

  it('answers no_free_compartment when every compartment is taken', async () => {
    r = await rig({ boards: [{ address: 3, locks: 4 }] });
    for (const rider of ['a', 'b', 'c', 'd']) expect((await r.lockers!.deposit(rider)).kind).toBe('deposited');
    expect(await r.lockers!.deposit('e')).toEqual({ kind: 'no_free_compartment' });
  });

  it('keeps holdings across a restart of the station: same compartment, same storage clock', async () => {
    const clock = manualClock();
    r = await rig({ clock });
    await r.lockers!.deposit('rider-a');
    await r.lockers!.deposit('rider-b');
    await riderCloses(r, '1-1');
    const since = r.lockers!.holdingOf('rider-a')!.since;
    await r.stopStation();
    clock.advance(5_000);
    await r.restartStation();
    expect(r.lockers!.holdingOf('rider-a')).toEqual({ compartment: '1-1', since });
    expect(r.lockers!.holdingOf('rider-b')).toEqual({ compartment: '1-2', since: null });
    expect(view(r, '1-1').state).toBe('held');
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'locker_already_held', compartment: '1-1' });
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '1-1' });
    await riderCloses(r, '1-2');
    expect(view(r, '1-2').state).toBe('held');
    expect(r.ledger.verifyStoredChain().ok).toBe(true);
  });

  it('keeps a rider\'s holding when the door will not open for the retrieve, and alerts maintenance', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    r.sim.setLockFault(1, 1, 'jammed');
    expect(await r.lockers!.retrieve('rider-a')).toMatchObject({ kind: 'locker_unavailable', compartment: '1-1' });
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('1-1');
    expect(faults(r)).toContain('door_stuck:1-1');
  });

  it('suspects inverted feedback when every door reads open, and hands out nothing on that board', async () => {
    r = await rig();
    r.sim.inject(1, 'inverted');
    await r.bus.pollNow();
    expect(faults(r)).toEqual(['feedback_suspect']);
    expect(await r.lockers!.deposit('rider-a')).toMatchObject({ kind: 'locker_unavailable' });
    r.sim.clear(1, 'inverted');
    await r.bus.pollNow();
    expect(faults(r)).toEqual([]);
    expect(await r.lockers!.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-1' });
  });

  it('journals every unlock with its purpose and who asked, and its outcome', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    await r.lockers!.retrieve('rider-a');
    r.sim.setLockFault(1, 3, 'jammed');
    await r.lockers!.forceOpen('1-3', 'check the latch', 'ops-wang');
    const journal = r.lockers!.unlockJournal().map((u) => [u.compartment, u.purpose, u.actor, u.outcome]);
    expect(journal.reverse()).toEqual([
      ['1-1', 'deposit', 'rider-a', 'opened'],
      ['1-1', 'retrieve', 'rider-a', 'opened'],
      ['1-3', 'forced_open', 'ops-wang', 'stayed_shut'],
    ]);
  });

  it('unlocks nothing when the ledger cannot write the unlock journal first', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    r.ledger.db.exec(`CREATE TEMP TRIGGER refuse_unlock BEFORE INSERT ON locker_unlocks BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const before = [r.sim.unlockCount(1, 1), r.sim.unlockCount(1, 2)];
    await expect(r.lockers!.retrieve('rider-a')).rejects.toThrow(/disk full/);
    await expect(r.lockers!.forceOpen('1-2', 'inspection', 'ops-wang')).rejects.toThrow(/disk full/);
    // A deposit neither unlocks nor leaves a holding behind.
    await expect(r.lockers!.deposit('rider-b')).rejects.toThrow(/disk full/);
    expect(r.lockers!.holdingOf('rider-b')).toBeNull();
    expect(view(r, '1-2').state).toBe('free');
    expect([r.sim.unlockCount(1, 1), r.sim.unlockCount(1, 2)]).toEqual(before);
    expect(r.sim.door(1, 1)).toBe('closed');
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('1-1');
    r.ledger.db.exec('DROP TRIGGER refuse_unlock');
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '1-1' });
    expect(await r.lockers!.deposit('rider-b')).toEqual({ kind: 'deposited', compartment: '1-2' });
  });

  it('marks an unlock the station stopped in the middle of as interrupted, and keeps the holding', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    await r.stopStation();
    // As a kill -9 between writing the journal and hearing the board leaves it.
    const db = new Database(join(r.dir, 'station.db'));
    db.prepare(`INSERT INTO locker_unlocks (compartment, purpose, actor, started_ts) VALUES ('1-1', 'retrieve', 'rider-a', ?)`).run(Date.now());
    db.close();
    await r.restartStation();
    expect(r.lockers!.unlockJournal(1)[0]).toMatchObject({ compartment: '1-1', purpose: 'retrieve', outcome: 'interrupted' });
    expect(r.lockers!.holdingOf('rider-a')!.compartment).toBe('1-1');
    expect(await r.lockers!.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '1-1' });
  });

  it('writes each holding change with its event in the ledger, chain intact', async () => {
    r = await rig();
    await r.lockers!.deposit('rider-a');
    await riderCloses(r, '1-1');
    await r.lockers!.retrieve('rider-a');
    const rows = r.ledger.db.prepare('SELECT rider_id, compartment, status, end_reason FROM locker_holdings').all();
    expect(rows).toEqual([{ rider_id: 'rider-a', compartment: '1-1', status: 'ended', end_reason: 'retrieved' }]);
    expect(r.ledger.verifyStoredChain().ok).toBe(true);
  });
});

