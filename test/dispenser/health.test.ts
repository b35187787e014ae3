/** Dispenser health from status, last will and telemetry silence (SPEC §6b). */
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceHealth, DEVICE_STATE_HOLD_MS } from '../../edge/core/health.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { silentLogger } from '../../edge/log.ts';
import { ManualClock } from '../../protocol/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { eventsOf, sleep, startStation, waitFor, type Station } from './harness.ts';

let station: Station | undefined;
afterEach(async () => {
  await station?.stop();
  station = undefined;
});

describe('dispenser health', () => {
  it('goes offline within two telemetry intervals of silence, and online again with the next telemetry', async () => {
    const intervalMs = 200;
    station = await startStation({ telemetryIntervalMs: intervalMs, healthCheckIntervalMs: 20 });
    const s = station;
    // The simulator stays connected (no last will) but publishes telemetry only when told.
    const sim = await s.addSim('disp-1', { telemetryIntervalMs: 0 });
    sim.publishTelemetry();
    await sleep(intervalMs);
    sim.publishTelemetry();
    await waitFor(() => s.health.get('disp-1')?.detail.telemetryTs !== undefined);
    const silentSince = Date.now();
    await waitFor(() => s.health.get('disp-1')?.state === 'offline', 2000, 'offline');
    const took = Date.now() - silentSince;
    expect(took).toBeGreaterThanOrEqual(2 * intervalMs - 20);
    expect(took).toBeLessThan(2 * intervalMs + 300);
    expect(eventsOf(s.ledger, 'device.offline')).toEqual([{ deviceId: 'disp-1', kind: 'dispenser', reason: 'silent' }]);
    sim.publishTelemetry();
    await waitFor(() => s.health.get('disp-1')?.state === 'online');
    expect(eventsOf(s.ledger, 'device.online')).toHaveLength(2);
  });

  it('goes offline at once on the last will when the device loses power, and online when it boots', async () => {
    station = await startStation({ healthCheckIntervalMs: 1000 });
    const s = station;
    const sim = await s.addSim('disp-1', { telemetryIntervalMs: 0 });
    const t0 = Date.now();
    sim.powerLoss(1000);
    await waitFor(() => s.health.get('disp-1')?.state === 'offline', 1000, 'offline by last will');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(eventsOf(s.ledger, 'device.offline')).toEqual([{ deviceId: 'disp-1', kind: 'dispenser', reason: 'status_offline' }]);
    await waitFor(() => s.health.get('disp-1')?.state === 'online', 3000, 'online after boot');
  });

  it('goes offline on a clean stop (online:false status) and keeps fw, stock, temperatures and door in the detail', async () => {
    station = await startStation();
    const s = station;
    const sim = await s.addSim('disp-1', { fw: '1.4.2', stock: { hot: 7, cold: 9 } });
    await waitFor(() => s.health.get('disp-1')?.detail.stock !== undefined);
    const d = s.health.get('disp-1')!.detail as { fw: string; stock: unknown; door: string; tempC: { hot: number; cold: number } };
    expect(d.fw).toBe('1.4.2');
    expect(d.stock).toEqual({ hot: 7, cold: 9 });
    expect(d.door).toBe('closed');
    expect(d.tempC.hot).toBeGreaterThan(80);
    await sim.stop();
    await waitFor(() => s.health.get('disp-1')?.state === 'offline');
  });

  it('keeps a fault the station raised itself when the device reports its own faults, until the station clears it', async () => {
    station = await startStation();
    const s = station;
    const sim = await s.addSim('disp-1', { telemetryIntervalMs: 0 });
    s.health.addFault('disp-1', 'client_id_conflict');
    sim.setCondition('jam', true);
    await waitFor(() => s.health.get('disp-1')?.faults.includes('jam') ?? false, 2000, 'jam reported');
    expect(s.health.get('disp-1')?.faults).toEqual(['client_id_conflict', 'jam']);
    sim.clearFaults();
    sim.publishTelemetry();
    await waitFor(() => !(s.health.get('disp-1')?.faults.includes('jam') ?? true), 2000, 'jam cleared');
    expect(s.health.get('disp-1')?.faults).toEqual(['client_id_conflict']);
    s.health.clearFault('disp-1', 'client_id_conflict');
    expect(s.health.get('disp-1')?.faults).toEqual([]);
    expect(eventsOf(s.ledger, 'device.fault').map((d) => d.fault)).toEqual(['client_id_conflict', 'jam']);
  });

  it('bounds what a flapping device writes: one `flapping` fault past the budget, then one event when it is calm again', async () => {
    station = await startStation({ eventBudget: { events: 10, windowMs: 1500 } });
    const s = station;
    const sim = await s.addSim('disp-1', { telemetryIntervalMs: 0 });
    const seq0 = s.ledger.head().seq;
    // 41 telemetry messages with alternating faults: unbounded, two events each.
    for (let i = 0; i < 41; i++) {
      sim.setCondition('jam', i % 2 === 0);
      sim.setCondition('heater', i % 2 === 1);
      sim.publishTelemetry();
      await sleep(5);
    }
    await waitFor(() => (s.health.get('disp-1')?.counters.suppressedEvents ?? 0) > 0, 3000, 'changes suppressed');
    const during = s.ledger.eventsAfter(seq0, 10_000).filter((e) => e.type.startsWith('device.'));
    expect(during.length).toBeLessThanOrEqual(11);
    expect(during.at(-1)).toMatchObject({ type: 'device.fault', data: { deviceId: 'disp-1', fault: 'flapping' } });
    expect(s.health.get('disp-1')?.faults).toContain('flapping');
    // Calm for a whole window: one event ends it with the state as it is now.
    sim.clearFaults();
    sim.publishTelemetry();
    await waitFor(() => !(s.health.get('disp-1')?.faults.includes('flapping') ?? true), 6000, 'flapping over');
    const after = s.ledger.eventsAfter(seq0, 10_000).filter((e) => e.type.startsWith('device.'));
    expect(after.at(-1)).toMatchObject({ type: 'device.recovered', data: { fault: 'flapping', state: 'online', faults: [] } });
    expect(after.length).toBe(during.length + 1);
  });

  it('counts ACL refusals against the device that tried', async () => {
    station = await startStation({ dispensers: ['disp-1', 'disp-2'] });
    const s = station;
    const sim = await s.addSim('disp-1');
    await sim.publishRaw('../disp-2/telemetry', '{}', 0);
    await waitFor(() => (s.health.get('disp-1')?.counters.acl_refused ?? 0) === 1);
    await waitFor(() => s.health.usable('disp-1'), 3000, 'reconnected after the refusal');
  });
});

describe('device health hysteresis (deviceStateHoldMs)', () => {
  it('reports one outage and its end at once, then holds a flapping device in its state until the new one has held', () => {
    const clock = new ManualClock(Date.parse('2026-12-04T02:00:00Z'));
    const tmp = tempDir();
    const ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai' });
    try {
      // Not started: the test drives the silence check on its injected clock.
      const health = new DeviceHealth({ ledger, clock, logger: silentLogger(), stateHoldMs: 5_000 });
      health.register('disp-1', 'dispenser', 10_000);
      const events = () => eventsOf(ledger, 'device.online').length + eventsOf(ledger, 'device.offline').length;
      const state = () => health.get('disp-1')!.state;
      health.seen('disp-1');
      expect([state(), events()]).toEqual(['online', 1]);
      clock.advance(60_000);
      health.seen('disp-1');
      // One outage and its end: both at once (SPEC §6b timing stays).
      health.markOffline('disp-1', 'status_offline');
      expect([state(), events(), health.usable('disp-1')]).toEqual(['offline', 2, false]);
      clock.advance(200);
      health.seen('disp-1');
      expect([state(), events()]).toEqual(['online', 3]);
      // Then twenty drops and reconnects, 200 ms apart: the third change within 5 s is held, and all after it.
      for (let i = 0; i < 20; i++) {
        clock.advance(200);
        if (i % 2 === 0) health.markOffline('disp-1', 'status_offline');
        else health.seen('disp-1');
        health.checkSilence();
        expect(state()).toBe('online');
        // Whether a rider may use it follows the real state at once.
        expect(health.usable('disp-1')).toBe(i % 2 === 1);
      }
      expect(events()).toBe(3);
      expect(health.get('disp-1')!.counters.heldFlaps).toBe(10);
      // It ends offline: reported once offline has held 5 s.
      health.markOffline('disp-1', 'status_offline');
      clock.advance(4_900);
      health.checkSilence();
      expect(state()).toBe('online');
      clock.advance(100);
      health.checkSilence();
      expect([state(), events()]).toEqual(['offline', 4]);
      expect(eventsOf(ledger, 'device.offline').at(-1)).toEqual({ deviceId: 'disp-1', kind: 'dispenser', reason: 'status_offline' });
      // Calm for 5 s: its return is one change again, reported at once.
      clock.advance(5_000);
      health.seen('disp-1');
      expect([state(), events()]).toEqual(['online', 5]);
    } finally {
      ledger.close();
      tmp.cleanup();
    }
  });

  it('reports every change with deviceStateHoldMs 0 (the event budget still bounds them)', () => {
    const clock = new ManualClock(Date.parse('2026-12-04T02:00:00Z'));
    const tmp = tempDir();
    const ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai' });
    try {
      const health = new DeviceHealth({ ledger, clock, logger: silentLogger(), stateHoldMs: 0, eventBudget: { events: 6, windowMs: 600_000 } });
      health.register('disp-1', 'dispenser', 10_000);
      for (let i = 0; i < 10; i++) {
        clock.advance(200);
        if (i % 2 === 0) health.seen('disp-1');
        else health.markOffline('disp-1', 'status_offline');
      }
      const written = ledger.eventsAfter(0, 100).map((e) => e.type);
      expect(written).toEqual(['device.online', 'device.offline', 'device.online', 'device.offline', 'device.online', 'device.offline', 'device.fault']);
      expect(health.get('disp-1')!.faults).toContain('flapping');
    } finally {
      ledger.close();
      tmp.cleanup();
    }
  });

  it('a real dispenser losing power five times in a few seconds writes one offline and one online', async () => {
    station = await startStation({ healthCheckIntervalMs: 20 });
    const s = station;
    const sim = await s.addSim('disp-1', { telemetryIntervalMs: 100 });
    await waitFor(() => s.health.get('disp-1')?.state === 'online', 3000, 'online');
    const seq0 = s.ledger.head().seq;
    for (let i = 0; i < 5; i++) {
      sim.powerLoss(100);
      await waitFor(() => !s.health.usable('disp-1'), 2000, 'power lost');
      await waitFor(() => s.health.usable('disp-1'), 3000, 'booted');
    }
    await waitFor(() => s.health.get('disp-1')?.state === 'online', DEVICE_STATE_HOLD_MS + 3000, 'online reported');
    const written = s.ledger.eventsAfter(seq0, 1000).filter((e) => e.type === 'device.online' || e.type === 'device.offline');
    expect(written.map((e) => e.type)).toEqual(['device.offline', 'device.online']);
    // Each drop after the first went back to the reported offline before anything was reported.
    expect(s.health.get('disp-1')!.counters.heldFlaps).toBe(4);
  }, 30_000);
});
