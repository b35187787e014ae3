/**
 * Every dispenser fault of issue 3, injected through the simulator over the real broker, with
 * the claim's expected outcome in the real ledger (SPEC §3 rule 4, §5).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.ts';
import type { DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import type { VendFault } from '../../firmware-sim/dispenser/faults.ts';
import { eventsOf, sleep, startStation, waitFor, type Station, type StationOptions } from './harness.ts';

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

async function setup(o: StationOptions = {}, simOpts: Parameters<Station['addSim']>[1] = {}): Promise<{ s: Station; sim: DispenserSimulator }> {
  station = await startStation({ dispenseTimeoutMs: 800, queryTimeoutMs: 800, ...o });
  const sim = await station.addSim('disp-1', simOpts);
  return { s: station, sim };
}

function checkedIn(s: Station, rider = 'rider-1'): string {
  s.quota.checkin(rider);
  return rider;
}

describe('a clean vend', () => {
  it('commits the claim when the dispenser reports the bottle dropped', async () => {
    const { s, sim } = await setup();
    const out = await s.claims.claim(checkedIn(s), 'hot');
    expect(out.kind).toBe('committed');
    if (out.kind !== 'committed') return;
    expect(sim.droppedFor(out.claim.id)).toBe(1);
    expect(s.quota.getClaim(out.claim.id)?.status).toBe('committed');
    expect(eventsOf(s.ledger, 'claim.committed')).toEqual([
      { claimId: out.claim.id, riderId: 'rider-1', compartment: 'hot', dispenserId: 'disp-1' },
    ]);
  });

  it('refuses a second bottle the same day without moving the motor', async () => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    expect((await s.claims.claim(rider, 'hot')).kind).toBe('committed');
    expect((await s.claims.claim(rider, 'cold')).kind).toBe('already_claimed_today');
    expect(sim.motorRuns).toBe(1);
  });
});

describe('faults where nothing dropped give the rider’s bottle back', () => {
  it.each<[VendFault, string]>([
    ['jam', 'jam'],
    ['no_drop_detected', 'no_drop_detected'],
    ['motor', 'motor'],
    ['drop_sensor', 'drop_sensor'],
    ['busy', 'busy'],
    ['door_open', 'door_open'],
    ['temperature', 'temperature'],
  ])('releases the claim when the dispenser reports %s, and the rider can claim again', async (fault, reason) => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    sim.failNext(fault);
    const out = await s.claims.claim(rider, 'hot');
    expect(out).toMatchObject({ kind: 'dispense_failed', reason });
    if (out.kind !== 'dispense_failed') return;
    expect(s.quota.getClaim(out.claim.id)?.status).toBe('released');
    expect(sim.droppedTotal).toBe(0);
    expect(eventsOf(s.ledger, 'claim.released')).toEqual([{ claimId: out.claim.id, riderId: rider, reason }]);
    const again = await s.claims.claim(rider, 'hot');
    expect(again.kind).toBe('committed');
    expect(sim.droppedTotal).toBe(1);
  });

  it('answers out_of_stock after releasing when the dispenser finds the compartment empty', async () => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    sim.failNext('out_of_stock');
    const out = await s.claims.claim(rider, 'cold');
    expect(out).toEqual({ kind: 'out_of_stock', compartment: 'cold' });
    expect(s.quota.claimsWithStatus('released')).toHaveLength(1);
    expect(s.quota.riderStatus(rider).claimedToday).toBe(false);
  });

  it('refuses out_of_stock without reserving when telemetry says the compartment is empty', async () => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    sim.setStock('hot', 0);
    await waitFor(() => s.driver.state('disp-1')?.stock?.hot === 0);
    expect(await s.claims.claim(rider, 'hot')).toEqual({ kind: 'out_of_stock', compartment: 'hot' });
    expect(s.health.get('disp-1')?.faults).toContain('out_of_stock_hot');
    expect(s.quota.countByStatus().released + s.quota.countByStatus().committed).toBe(0);
    expect((await s.claims.claim(rider, 'cold')).kind).toBe('committed');
  });

  it('refuses while the door is open, shows door_open in health, and vends once it is closed', async () => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    sim.setDoor('open');
    await waitFor(() => s.health.get('disp-1')?.faults.includes('door_open') ?? false);
    expect(s.health.get('disp-1')?.state).toBe('degraded');
    expect(await s.claims.claim(rider, 'hot')).toMatchObject({ kind: 'dispense_failed', reason: 'door_open' });
    sim.setDoor('closed');
    await waitFor(() => !(s.health.get('disp-1')?.faults.includes('door_open') ?? true));
    expect((await s.claims.claim(rider, 'hot')).kind).toBe('committed');
    expect(eventsOf(s.ledger, 'device.recovered')).toContainEqual({ deviceId: 'disp-1', kind: 'dispenser', fault: 'door_open' });
  });

  it('refuses a compartment out of its temperature range and raises the alert, while the other one serves', async () => {
    const { s, sim } = await setup();
    sim.setTemperature('hot', 52);
    await waitFor(() => s.health.get('disp-1')?.faults.includes('temp_out_of_range_hot') ?? false);
    expect(s.health.get('disp-1')?.faults).toEqual(expect.arrayContaining(['temp_low', 'temp_out_of_range_hot']));
    const a = checkedIn(s, 'rider-a');
    expect(await s.claims.claim(a, 'hot')).toMatchObject({ kind: 'dispense_failed', reason: 'temperature' });
    expect((await s.claims.claim(a, 'cold')).kind).toBe('committed');
  });

  it.each([
    ['heater', 'hot'],
    ['compressor', 'cold'],
  ] as const)('refuses the compartment whose %s failed and reports the fault', async (condition, compartment) => {
    const { s, sim } = await setup();
    sim.setCondition(condition, true);
    await waitFor(() => s.health.get('disp-1')?.faults.includes(condition) ?? false);
    const out = await s.claims.claim(checkedIn(s), compartment);
    expect(out).toMatchObject({ kind: 'dispense_failed', reason: 'temperature' });
    expect(eventsOf(s.ledger, 'device.fault')).toContainEqual({ deviceId: 'disp-1', kind: 'dispenser', fault: condition });
  });

  it('keeps failing a jammed machine until maintenance clears it, each time giving the bottle back', async () => {
    const { s, sim } = await setup();
    sim.setCondition('jam', true);
    await waitFor(() => s.health.get('disp-1')?.faults.includes('jam') ?? false);
    for (const r of ['a', 'b']) expect(await s.claims.claim(checkedIn(s, r), 'cold')).toMatchObject({ kind: 'dispense_failed', reason: 'jam' });
    sim.clearFaults();
    await waitFor(() => s.health.get('disp-1')?.state === 'online');
    expect((await s.claims.claim('a', 'cold')).kind).toBe('committed');
    expect(sim.droppedTotal).toBe(1);
  });

  it('has the dispenser refuse a command whose expiresAt has passed', async () => {
    const { s, sim } = await setup();
    const answer = await s.driver.dispense({ id: 'late-cmd', dispenserId: 'disp-1', compartment: 'hot', expiresAt: Date.now() - 1 });
    expect(answer).toEqual({ result: 'rejected', reason: 'expired' });
    expect(sim.motorRuns).toBe(0);
  });
});

describe('no final answer in time: unknown, then resolved', () => {
  it('leaves an unknown claim after a power loss mid-vend that resolves to committed when the device returns (bottle out)', async () => {
    const { s, sim } = await setup({}, { powerOffMs: 1300 });
    const rider = checkedIn(s);
    sim.failNext('power_loss_after_drop');
    const out = await s.claims.claim(rider, 'hot');
    expect(out.kind).toBe('dispense_unknown');
    if (out.kind !== 'dispense_unknown') return;
    expect(out.claim.reason).toBe('timeout');
    expect(s.quota.riderStatus(rider).claimedToday).toBe(true); // quota held while unknown
    await waitFor(() => s.quota.getClaim(out.claim.id)?.status === 'committed', 4000, 'resolved by query');
    expect(sim.droppedFor(out.claim.id)).toBe(1);
    expect(sim.boots).toBe(2);
    expect(eventsOf(s.ledger, 'claim.resolved')).toEqual([{ claimId: out.claim.id, riderId: rider, outcome: 'committed', by: 'query' }]);
  });

  it('marks a vend cut by a power loss with the motor running as indeterminate for maintenance, who decides', async () => {
    const { s, sim } = await setup({}, { powerOffMs: 1300 });
    const rider = checkedIn(s);
    sim.failNext('power_loss');
    const out = await s.claims.claim(rider, 'cold');
    expect(out.kind).toBe('dispense_unknown');
    if (out.kind !== 'dispense_unknown') return;
    // The firmware reports `indeterminate` after its restart; the claim waits for maintenance.
    await waitFor(() => s.quota.getClaim(out.claim.id)?.reason === 'indeterminate', 4000, 'indeterminate');
    expect(await s.claims.resolveUnknownClaims()).toBe(0);
    expect(s.quota.getClaim(out.claim.id)?.status).toBe('unknown');
    // Maintenance opens the machine: the bottle is still inside.
    expect(sim.droppedFor(out.claim.id)).toBe(0);
    expect(s.claims.resolveByMaintenance(out.claim.id, 'released', 'ops-wang')?.status).toBe('released');
    expect((await s.claims.claim(rider, 'cold')).kind).toBe('committed');
    expect(sim.droppedTotal).toBe(1);
  });

  it('gets the answer within the wait when the device restarts quickly, by sending the same id again', async () => {
    const { s, sim } = await setup({ dispenseTimeoutMs: 2000 }, { powerOffMs: 100 });
    const ids = new Set<string>();
    sim.on('command', (cmd: { id: string }) => ids.add(cmd.id));
    sim.failNext('power_loss_after_drop');
    const out = await s.claims.claim(checkedIn(s), 'hot');
    expect(out.kind).toBe('committed');
    expect(ids.size).toBe(1);
    expect(sim.droppedTotal).toBe(1);
  });

  it('turns a lost connection into unknown, marks the device offline, and resolves the claim by query when it is back', async () => {
    const { s, sim } = await setup({}, { offlineMs: 1300 });
    const rider = checkedIn(s);
    sim.failNext('disconnect');
    const out = await s.claims.claim(rider, 'hot');
    expect(out.kind).toBe('dispense_unknown');
    if (out.kind !== 'dispense_unknown') return;
    expect(s.health.get('disp-1')?.state).toBe('offline');
    expect(await s.claims.claim(checkedIn(s, 'rider-2'), 'hot')).toMatchObject({ kind: 'dispenser_unavailable' });
    await waitFor(() => s.quota.getClaim(out.claim.id)?.status === 'committed', 4000, 'resolved by query');
    expect(sim.droppedFor(out.claim.id)).toBe(1);
    expect(sim.motorRuns).toBe(1);
  });

  it('settles an unknown claim with the late event and counts it once', async () => {
    const { s, sim } = await setup({}, { lateEventMs: 1300 });
    const rider = checkedIn(s);
    sim.failNext('late_event');
    const out = await s.claims.claim(rider, 'hot');
    expect(out.kind).toBe('dispense_unknown');
    if (out.kind !== 'dispense_unknown') return;
    await waitFor(() => s.quota.getClaim(out.claim.id)?.status === 'committed', 3000, 'late event');
    expect(eventsOf(s.ledger, 'claim.committed')).toHaveLength(1);
    expect(eventsOf(s.ledger, 'claim.resolved')).toEqual([{ claimId: out.claim.id, riderId: rider, outcome: 'committed', by: 'late_event' }]);
  });

  it('leaves an unknown claim held when the device never saw the command', async () => {
    const { s } = await setup();
    const r = s.quota.reserve({ riderId: checkedIn(s), compartment: 'hot', dispenserId: 'disp-1', commandTtlMs: 1000 });
    if (r.kind !== 'granted') throw new Error('not granted');
    s.quota.markSent(r.claim.id);
    s.quota.settle(r.claim.id, 'unknown', { reason: 'timeout' });
    expect(await s.claims.resolveUnknownClaims()).toBe(0);
    expect(s.quota.getClaim(r.claim.id)?.status).toBe('unknown');
  });

  it('gives the quota back once a command the device never saw has long expired, but not after the device may have forgotten it', async () => {
    const clock = new ManualClock(Date.now());
    const { s, sim } = await setup({ clock });
    const reserve = (rider: string) => {
      const r = s.quota.reserve({ riderId: checkedIn(s, rider), compartment: 'hot', dispenserId: 'disp-1', commandTtlMs: 1000 });
      if (r.kind !== 'granted') throw new Error('not granted');
      s.quota.markSent(r.claim.id);
      s.quota.settle(r.claim.id, 'unknown', { reason: 'restart' }); // as after a kill between marking it sent and publishing
      return r.claim.id;
    };
    const recent = reserve('rider-recent');
    clock.advance(11 * 60_000); // past expiresAt + the 10-minute margin, well inside the device's 24 h memory
    expect(await s.claims.resolveUnknownClaims()).toBe(1);
    expect(s.quota.getClaim(recent)).toMatchObject({ status: 'released', reason: 'never_received' });
    expect(eventsOf(s.ledger, 'claim.released')).toEqual([{ claimId: recent, riderId: 'rider-recent', reason: 'never_received' }]);
    expect(sim.droppedTotal).toBe(0);
    // The rider may take today's bottle after all.
    expect((await s.claims.claim('rider-recent', 'hot')).kind).toBe('committed');

    const old = reserve('rider-old');
    clock.advance(25 * 3_600_000); // the device need not remember it any more: its "unknown" proves nothing
    expect(await s.claims.resolveUnknownClaims()).toBe(0);
    expect(s.quota.getClaim(old)?.status).toBe('unknown');
  });
});

describe('duplicates', () => {
  it('never drops two bottles for a duplicated cmd/dispense', async () => {
    const { s, sim } = await setup();
    const cmd = { id: 'claim-dup', dispenserId: 'disp-1', compartment: 'cold' as const, expiresAt: Date.now() + 10_000 };
    const [a, b] = await Promise.all([s.driver.dispense(cmd), s.driver.dispense(cmd)]);
    expect(a).toEqual({ result: 'dropped' });
    expect(b).toEqual({ result: 'dropped' });
    const raw = Buffer.from(JSON.stringify({ id: cmd.id, compartment: cmd.compartment, expiresAt: cmd.expiresAt }));
    await s.broker.publish('dispensers/disp-1/cmd/dispense', raw, { qos: 1 });
    await s.broker.publish('dispensers/disp-1/cmd/dispense', raw, { qos: 1 });
    expect(await s.driver.dispense(cmd)).toEqual({ result: 'dropped' });
    expect(sim.droppedFor(cmd.id)).toBe(1);
    expect(sim.motorRuns).toBe(1);
  });

  it('commits once when the dispenser publishes its final event twice', async () => {
    const { s, sim } = await setup();
    sim.failNext('duplicate_event', 'duplicate_event');
    const out = await s.claims.claim(checkedIn(s), 'hot');
    expect(out.kind).toBe('committed');
    sim.failNext('jam', 'duplicate_event');
    await sleep(50);
    expect(eventsOf(s.ledger, 'claim.committed')).toHaveLength(1);
    expect(eventsOf(s.ledger, 'claim.resolved')).toHaveLength(0);
  });

  it('remembers a rejected id, so a redelivered command is never vended later', async () => {
    const { s, sim } = await setup();
    sim.failNext('busy');
    const cmd = { id: 'claim-busy', dispenserId: 'disp-1', compartment: 'hot' as const, expiresAt: Date.now() + 10_000 };
    expect(await s.driver.dispense(cmd)).toEqual({ result: 'rejected', reason: 'busy' });
    expect(await s.driver.dispense(cmd)).toEqual({ result: 'rejected', reason: 'busy' });
    expect(sim.motorRuns).toBe(0);
  });
});

describe('malformed payloads', () => {
  it('drops and counts malformed payloads from an authenticated device and keeps working', async () => {
    const { s, sim } = await setup();
    await sim.publishRaw('telemetry', 'not json', 0);
    await sim.publishRaw('telemetry', JSON.stringify({ ts: 1, stock: { hot: -1, cold: 2 }, tempC: { hot: 1, cold: 2 }, door: 'ajar', faults: [] }), 0);
    await sim.publishRaw('status', JSON.stringify({ online: 'yes' }));
    await sim.publishRaw('evt/dispense', JSON.stringify({ id: 5, result: 'dropped' }));
    await sim.publishRaw('evt/dispense', Buffer.from([0xff, 0xfe, 0x00]));
    await waitFor(() => (s.health.get('disp-1')?.counters.malformed ?? 0) >= 5);
    expect(s.health.get('disp-1')?.counters.malformed).toBe(5);
    expect(s.health.usable('disp-1')).toBe(true);
    expect((await s.claims.claim(checkedIn(s), 'hot')).kind).toBe('committed');
  });

  it('answers a malformed dispense command with rejected bad_request and moves nothing', async () => {
    const { s, sim } = await setup();
    const answers: string[] = [];
    await s.broker.subscribe('dispensers/disp-1/evt/dispense', (_t, p) => answers.push(p.toString()));
    await s.broker.publish('dispensers/disp-1/cmd/dispense', Buffer.from(JSON.stringify({ id: 'bad-1', compartment: 'lukewarm', expiresAt: 1 })), { qos: 1 });
    await waitFor(() => answers.length > 0);
    expect(JSON.parse(answers[0]!)).toEqual({ id: 'bad-1', result: 'rejected', reason: 'bad_request' });
    expect(sim.motorRuns).toBe(0);
  });
});

describe('restart, restock, availability, shutdown', () => {
  it('gives the quota back at start for a claim a crash left reserved: it was never sent', async () => {
    const first = await startStation({ dispenseTimeoutMs: 600, queryTimeoutMs: 500 });
    const sim = await first.addSim('disp-1');
    const rider = 'rider-reserved';
    first.quota.checkin(rider);
    const r = first.quota.reserve({ riderId: rider, compartment: 'hot', dispenserId: 'disp-1', commandTtlMs: 60_000 });
    if (r.kind !== 'granted') throw new Error('not granted');
    // The station dies between the reservation and marking it sent: nothing was published.
    await first.stopEdge();
    station = await startStation({ dispenseTimeoutMs: 600, queryTimeoutMs: 500, port: first.port }, first.dir);
    const s = station;
    try {
      expect(s.quota.getClaim(r.claim.id)).toMatchObject({ status: 'released', reason: 'not_sent' });
      expect(eventsOf(s.ledger, 'claim.released')).toEqual([{ claimId: r.claim.id, riderId: rider, reason: 'not_sent' }]);
      expect(eventsOf(s.ledger, 'claim.unknown')).toEqual([]);
      await waitFor(() => s.health.usable('disp-1'), 5000, 'dispenser back');
      expect((await s.claims.claim(rider, 'hot')).kind).toBe('committed');
      expect(sim.motorRuns).toBe(1);
    } finally {
      await sim.stop();
    }
  });

  it('turns a claim a crash left dispensing into unknown at start and queries it, never dispensing it again', async () => {
    const first = await startStation({ dispenseTimeoutMs: 600, queryTimeoutMs: 500 });
    const sim = await first.addSim('disp-1');
    const rider = 'rider-crash';
    first.quota.checkin(rider);
    const r = first.quota.reserve({ riderId: rider, compartment: 'hot', dispenserId: 'disp-1', commandTtlMs: 60_000 });
    if (r.kind !== 'granted') throw new Error('not granted');
    // The core dies right after publishing: nobody settles the claim.
    await first.claims.stop();
    first.quota.markSent(r.claim.id);
    await first.broker.publish('dispensers/disp-1/cmd/dispense', Buffer.from(JSON.stringify({ id: r.claim.id, compartment: 'hot', expiresAt: r.claim.expiresAt })), { qos: 1 });
    await waitFor(() => sim.droppedTotal === 1);
    await first.stopEdge();
    expect(first.quota.ledger.db.open).toBe(false);

    station = await startStation({ dispenseTimeoutMs: 600, queryTimeoutMs: 500, port: first.port }, first.dir);
    const s = station;
    try {
      await waitFor(() => s.quota.getClaim(r.claim.id)?.status === 'committed', 5000, 'resolved after restart');
      expect(eventsOf(s.ledger, 'claim.unknown')).toEqual([{ claimId: r.claim.id, riderId: rider, dispenserId: 'disp-1', reason: 'restart' }]);
      expect(sim.motorRuns).toBe(1);
      expect(sim.droppedFor(r.claim.id)).toBe(1);
    } finally {
      await sim.stop();
    }
  });

  it('restocks a compartment, records who did it and for which sponsor, and credits that sponsor on the next bottles', async () => {
    const { s, sim } = await setup();
    await s.claims.restock('disp-1', 'cold', 12, 'Lujiazui Bank', 'ops-wang');
    await waitFor(() => sim.stock.cold === 52);
    await waitFor(() => s.driver.state('disp-1')?.stock?.cold === 52);
    expect(eventsOf(s.ledger, 'dispenser.restocked')).toEqual([
      { dispenserId: 'disp-1', compartment: 'cold', count: 12, sponsor: 'Lujiazui Bank', by: 'ops-wang' },
    ]);
    const out = await s.claims.claim(checkedIn(s), 'cold');
    expect(out.kind).toBe('committed');
    expect(eventsOf(s.ledger, 'claim.committed')[0]).toMatchObject({ sponsor: 'Lujiazui Bank', compartment: 'cold' });
    expect(s.claims.availability()).toEqual([{ dispenserId: 'disp-1', usable: true, stock: { hot: 40, cold: 51 } }]);
  });

  it('raises a low-stock alert at the configured threshold', async () => {
    const { s, sim } = await setup({ lowStockThreshold: 3 });
    sim.setStock('hot', 3);
    sim.publishTelemetry();
    await waitFor(() => s.health.get('disp-1')?.faults.includes('low_stock_hot') ?? false);
    expect(eventsOf(s.ledger, 'device.fault')).toContainEqual({ deviceId: 'disp-1', kind: 'dispenser', fault: 'low_stock_hot' });
  });

  it('answers dispenser_unavailable when no dispenser is reachable or in service', async () => {
    const { s, sim } = await setup();
    const rider = checkedIn(s);
    s.health.setService('disp-1', false, 'ops-wang');
    expect(await s.claims.claim(rider, 'hot')).toMatchObject({ kind: 'dispenser_unavailable' });
    s.health.setService('disp-1', true, 'ops-wang');
    await sim.stop();
    await waitFor(() => !s.health.usable('disp-1'));
    expect(await s.claims.claim(rider, 'hot')).toMatchObject({ kind: 'dispenser_unavailable' });
    expect(s.quota.countByStatus()).toMatchObject({ dispensing: 0, unknown: 0, committed: 0 });
  });

  it('drains at shutdown: claims still waiting become unknown and new ones are refused', async () => {
    const { s, sim } = await setup({ dispenseTimeoutMs: 5000 }, { motorMs: 2000 });
    const pending = s.claims.claim(checkedIn(s), 'hot');
    await waitFor(() => sim.isVending);
    await s.claims.drain(100);
    const out = await pending;
    expect(out.kind).toBe('dispense_unknown');
    expect(await s.claims.claim(checkedIn(s, 'other'), 'hot')).toMatchObject({ kind: 'dispenser_unavailable' });
    // The late drop still settles it.
    await waitFor(() => s.quota.countByStatus().committed === 1, 4000);
  });

  it('queues concurrent riders on one dispenser instead of making them busy', async () => {
    const { s, sim } = await setup({}, { motorMs: 30 });
    const riders = ['a', 'b', 'c', 'd'].map((r) => checkedIn(s, r));
    const outs = await Promise.all(riders.map((r) => s.claims.claim(r, 'cold')));
    expect(outs.map((o) => o.kind)).toEqual(['committed', 'committed', 'committed', 'committed']);
    expect(sim.droppedTotal).toBe(4);
  });
});
