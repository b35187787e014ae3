/**
 * Faults (issue 6): a 24-hour simulated day with a random fault profile on every device — the
 * dispenser `random:0.1@seed` (jams, lost drops, power losses mid-vend, lost and late reports,
 * duplicates …), both lock boards `flaky@seed` (lost, late, split, corrupted, misaddressed
 * replies), the scanner `flaky@seed` (split, repeated, oversized lines) — plus hard faults at
 * set hours: board 2 dead 03–06, the dispenser jammed 08–10, the dispenser powered off 12–13,
 * the cold compartment empty 15–16, a jammed lock 20–21.
 *
 * Acceleration, honestly: the station's WALL clock runs ×N (service day, timestamps, credential
 * expiry, heartbeats every simulated 10 minutes), while its MONOTONIC clock and every device run
 * in real time. The durations the station measures (reply timeouts, silence → offline, door
 * grace) are real device latencies, and speeding those up without speeding up the simulators'
 * own timers would invent faults that the devices did not have.
 *
 * Checked: no 500s; the station keeps serving what works (claims commit while the dispenser is
 * usable, deposits go to boards that answer, failed vends give the quota back so the rider's
 * retry succeeds later), GET /v1/health shows what does not (board 2 offline, dispenser
 * degraded with `jam`, offline while powered off, degraded with `out_of_stock_cold`), and the
 * bottle accounting holds at the end of the day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcceleratedClock } from '../../protocol/index.ts';
import { getJson, MAINTENANCE_TOKEN, post, rng, sleep, startRig, waitFor, type Rig } from './rig.ts';
import { scaled, summary } from './scale.ts';

const START_MS = Date.parse('2026-11-24T16:00:00Z'); // 00:00 Wednesday in Shanghai
const HOUR_MS = 3_600_000;
const SPEEDUP = scaled(288, 1440); // full: the day in 5 real minutes; short: in 60 s
const SEED = 20261127;


type Phase = 'normal' | 'board2_dead' | 'disp_jammed' | 'disp_off' | 'cold_empty' | 'lock_jammed';
function phaseAt(h: number): Phase {
  if (h >= 3 && h < 6) return 'board2_dead';
  if (h >= 8 && h < 10) return 'disp_jammed';
  if (h >= 12 && h < 13) return 'disp_off';
  if (h >= 15 && h < 16) return 'cold_empty';
  if (h >= 20 && h < 21) return 'lock_jammed';
  return 'normal';
}

let rig: Rig;
let clock: AcceleratedClock;
const hourOf = (c: AcceleratedClock) => c.elapsedMs() / HOUR_MS;
beforeAll(async () => {
  clock = new AcceleratedClock(START_MS, SPEEDUP);
  rig = await startRig({
    clock,
    boards: 2,
    locks: 12,
    // The simulated rider shuts each door 200 ms after it sprang open.
    board: { faults: `flaky@${SEED}`, closeAfterMs: 200 },
    dispenser: { faults: `random:0.1@${SEED}`, stock: 5_000, telemetryIntervalMs: 300, motorMs: 20 },
    scanner: { faults: `flaky@${SEED}` },
    config: { lockers: { pollIntervalMs: 100, doorLeftOpenMs: 3_600_000, riderCooldownMs: 0 }, heartbeatIntervalMs: 1000 },
  });
});
afterAll(async () => {
  await rig?.stop();
});

describe('a day of random device faults', () => {
  it('keeps serving what works and shows in health what does not', async () => {
    const r = rng(SEED);
    const base = rig.station.httpUrl;
    const disp = rig.dispenser!;
    const boards = rig.boards!;
    const health = rig.station.health;
    const riders = scaled(400, 120);
    const creds = await Promise.all(Array.from({ length: riders }, (_, i) => rig.credential(`rider-day-${i}`, { ttlSeconds: 3 * 86_400 })));

    // The kiosk screen's event stream: every code the scanner reads arrives here (SPEC §7).
    const kiosk = new AbortController();
    const scansSeen = new Set<string>();
    const stream = await fetch(`${base}/v1/kiosk/events`, { signal: kiosk.signal });
    void (async () => {
      const dec = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
          buf += dec.decode(chunk, { stream: true });
          for (const m of buf.matchAll(/"code":"(scan-\d+)"/g)) scansSeen.add(m[1]!);
          buf = buf.slice(Math.max(0, buf.length - 200));
        }
      } catch {
        /* aborted */
      }
    })();

    const byPhase: Record<Phase, Record<string, number>> = { normal: {}, board2_dead: {}, disp_jammed: {}, disp_off: {}, cold_empty: {}, lock_jammed: {} };
    const bump = (p: Phase, k: string) => void (byPhase[p][k] = (byPhase[p][k] ?? 0) + 1);
    const seenHealth: Record<string, Set<string>> = {};
    const problems: string[] = [];
    const holding = new Map<number, string>();
    const failedThenRetry = new Set<number>();
    let retriesCommitted = 0;
    let scans = 0;
    let heartbeats = 0;
    let phase: Phase = 'normal';

    const enter = async (next: Phase) => {
      // Leave the old phase's hard fault, enter the new one's.
      if (phase === 'board2_dead') boards.clear(2, 'offline');
      if (phase === 'disp_jammed') disp.setCondition('jam', false);
      if (phase === 'disp_off') await disp.start();
      if (phase === 'cold_empty') disp.setStock('cold', 5_000);
      if (phase === 'lock_jammed') boards.setLockFault(1, 3, undefined);
      if (next === 'board2_dead') boards.inject(2, 'offline');
      if (next === 'disp_jammed') disp.setCondition('jam', true);
      if (next === 'disp_off') await disp.stop();
      if (next === 'cold_empty') disp.setStock('cold', 0);
      if (next === 'lock_jammed') boards.setLockFault(1, 3, 'jammed');
      phase = next;
    };

    const noteHealth = async () => {
      const h = await getJson(base, '/v1/health', MAINTENANCE_TOKEN);
      if (h.status !== 200) return void problems.push(`health answered ${h.status}`);
      for (const d of h.body.devices as Array<{ id: string; state: string; faults: string[] }>) {
        (seenHealth[`${phase}:${d.id}`] ??= new Set()).add(d.state);
        for (const f of d.faults) if (['jam', 'out_of_stock_cold'].includes(f)) (seenHealth[`${phase}:${d.id}`] ??= new Set()).add(f);
      }
    };

    const visit = async () => {
      // Riders arrive through the day (rider i from hour 24·i/riders on), so every phase sees fresh claims.
      const arrived = Math.min(riders, Math.max(1, Math.ceil((riders * (hourOf(clock) + 0.25)) / 24)));
      const i = Math.floor(r() * arrived);
      const credential = creds[i]!;
      const p = phase;
      const usable = health.usable('disp-1');
      const c = await post(base, '/v1/checkins', { credential });
      if (c.status >= 500) problems.push(`checkin ${c.status} ${String(c.body.error)}`);
      const compartment = r() < 0.5 ? 'hot' : 'cold';
      const k = await post(base, '/v1/claims', { credential, compartment });
      const code = k.status === 201 ? 'committed' : String(k.body.error);
      bump(p, `claim:${code}`);
      if (usable && p === 'normal') bump(p, `claimWhileUsable:${code}`);
      if (k.status === 500) problems.push(`claim 500 ${JSON.stringify(k.body)}`);
      if (code === 'dispense_failed') failedThenRetry.add(i);
      else if (code === 'committed' && failedThenRetry.delete(i)) retriesCommitted++;
      if (r() < 0.5) {
        const held = holding.get(i);
        const l = await post(base, held ? '/v1/lockers/retrieve' : '/v1/lockers/deposit', { credential });
        if (l.status === 201) {
          holding.set(i, String(l.body.compartment));
          bump(p, 'deposit:ok');
          if (p === 'board2_dead' && String(l.body.compartment).startsWith('2-')) problems.push(`deposit on dead board 2: ${String(l.body.compartment)}`);
          if (p === 'lock_jammed' && l.body.compartment === '1-3') problems.push('deposit given the jammed lock 1-3');
        } else if (l.status === 200) {
          holding.delete(i);
          bump(p, 'retrieve:ok');
        } else {
          bump(p, `${held ? 'retrieve' : 'deposit'}:${String(l.body.error)}`);
          if (l.status === 500) problems.push(`locker 500 ${JSON.stringify(l.body)}`);
          if (l.body.error === 'locker_already_held') holding.set(i, String(l.body.compartment));
        }
      }
    };

    let lastHeartbeatSlot = -1;
    let lastHealthSlot = -1;
    while (hourOf(clock) < 24) {
      const h = hourOf(clock);
      const want = phaseAt(h);
      if (want !== phase) await enter(want);
      const slot10 = Math.floor(h * 6); // every simulated 10 minutes
      if (slot10 !== lastHeartbeatSlot) {
        lastHeartbeatSlot = slot10;
        rig.station.jobs.heartbeat();
        rig.station.lockers.checkTimers();
        heartbeats++;
        await rig.scanner!.scan(`scan-${scans++}`);
      }
      const slotHealth = Math.floor(h * 4);
      if (slotHealth !== lastHealthSlot) {
        lastHealthSlot = slotHealth;
        // Give health a moment to see a phase change before sampling it.
        await sleep(150);
        await noteHealth();
      }
      await Promise.all([visit(), visit(), visit()]);
    }
    await enter('normal');

    // End of day: let unknown claims resolve (the device answers cmd/query), then account.
    await waitFor(() => health.usable('disp-1'), 10_000, 'dispenser back');
    await rig.station.jobs.resolveUnknownClaims();
    await sleep(1000);
    await rig.station.jobs.resolveUnknownClaims();
    kiosk.abort();
    const q = rig.station.quota;
    const committed = q.claimsWithStatus('committed');
    const unknown = q.claimsWithStatus('unknown');
    const released = q.claimsWithStatus('released');
    const wrongCommitted = committed.filter((c) => disp.droppedFor(c.id) !== 1).length;
    const wrongReleased = released.filter((c) => disp.droppedFor(c.id) !== 0).length;
    const droppedUnknown = unknown.reduce((a, c) => a + disp.droppedFor(c.id), 0);
    const scannerHealth = health.get('scanner')!;

    const ph = (p: Phase) => Object.entries(byPhase[p]).map(([k, n]) => `${k}=${n}`).join(' ');
    // Quota refusals (already claimed today) say nothing about the devices: left out.
    const normalUsable = Object.entries(byPhase.normal).filter(([k]) => k.startsWith('claimWhileUsable:') && !k.endsWith(':already_claimed_today'));
    const usableTotal = normalUsable.reduce((a, [, n]) => a + n, 0);
    const usableCommitted = byPhase.normal['claimWhileUsable:committed'] ?? 0;
    const answeredByDevice = normalUsable.filter(([k]) => !k.endsWith(':dispenser_unavailable')).reduce((a, [, n]) => a + n, 0);
    const states = (k: string) => [...(seenHealth[k] ?? [])].sort().join('/');

    summary('faults day', {
      simulatedHours: 24,
      speedup: `x${SPEEDUP} wall, real-time devices`,
      riders,
      committed: committed.length,
      released: released.length,
      unknown: unknown.length,
      bottlesDropped: disp.droppedTotal,
      claimsWhileUsable: `${usableCommitted}/${usableTotal} committed`,
      retriesAfterFailedVend: retriesCommitted,
      deposits: Object.values(byPhase).reduce((a, p) => a + (p['deposit:ok'] ?? 0), 0),
      board2Dead: `deposits ok ${byPhase.board2_dead['deposit:ok'] ?? 0}, lockboard-2 ${states('board2_dead:lockboard-2')}`,
      dispJammed: `disp-1 ${states('disp_jammed:disp-1')}`,
      dispOff: `disp-1 ${states('disp_off:disp-1')}, refusals ${byPhase.disp_off['claim:dispenser_unavailable'] ?? 0}`,
      coldEmpty: `disp-1 ${states('cold_empty:disp-1')}`,
      scans: `${scansSeen.size}/${scans} on the kiosk, oversized lines ${scannerHealth.counters.oversizedLines ?? 0}`,
      heartbeats,
      seed: String(SEED),
    });
    process.stdout.write(`  normal: ${ph('normal')}\n  board2_dead: ${ph('board2_dead')}\n  disp_jammed: ${ph('disp_jammed')}\n  disp_off: ${ph('disp_off')}\n  cold_empty: ${ph('cold_empty')}\n  lock_jammed: ${ph('lock_jammed')}\n`);

    expect(problems.slice(0, 10)).toEqual([]);
    // Serving what works.
    expect(usableCommitted / usableTotal).toBeGreaterThan(0.7);
    expect(answeredByDevice / usableTotal).toBeGreaterThan(0.9);
    expect(byPhase.board2_dead['deposit:ok'] ?? 0).toBeGreaterThan(0);
    expect(byPhase.lock_jammed['deposit:ok'] ?? 0).toBeGreaterThan(0);
    expect(byPhase.cold_empty['claim:committed'] ?? 0).toBeGreaterThan(0); // hot still served
    expect(byPhase.disp_jammed['claim:dispense_failed'] ?? 0).toBeGreaterThan(0);
    expect(byPhase.disp_jammed['claim:committed'] ?? 0).toBe(0);
    expect(byPhase.disp_off['claim:committed'] ?? 0).toBe(0);
    expect(retriesCommitted).toBeGreaterThan(0);
    // Health shows what does not.
    expect(seenHealth['board2_dead:lockboard-2']).toContain('offline');
    expect(seenHealth['disp_jammed:disp-1']).toContain('jam');
    expect(seenHealth['disp_jammed:disp-1']).toContain('degraded');
    expect(seenHealth['disp_off:disp-1']).toContain('offline');
    expect(seenHealth['cold_empty:disp-1']).toContain('out_of_stock_cold');
    expect(seenHealth['normal:lockboard-2']).toContain('online');
    // Scanner: every code reached the kiosk despite split / repeated / oversized lines.
    expect(scansSeen.size).toBe(scans);
    // Bottle accounting: one drop per committed claim, none for a released one.
    expect(wrongCommitted).toBe(0);
    expect(wrongReleased).toBe(0);
    expect(disp.droppedTotal).toBe(committed.length + droppedUnknown);
    expect(rig.station.ledger.verifyStoredChain().ok).toBe(true);
  });
});
