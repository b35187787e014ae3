/**
 * Soak (issue 6): one hour of accelerated operation — check-ins, claims, locker deposits and
 * retrieves from four kiosks at once, dispenser telemetry, a `station.heartbeat` and the locker
 * timers every simulated minute, unknown-claim resolution — then: resident memory at the end
 * within 10 % of after warm-up, open file descriptors flat.
 *
 * Acceleration: the station's wall clock runs ×12 (the simulated hour takes 5 real minutes;
 * short: 5 simulated minutes); its monotonic clock and the devices run in real time (see
 * faults.test.ts for why). The service day changes a third of the way in (the hour starts
 * at 23:40, the short run at 23:58:20), so riders claim again. Memory is the RSS of this
 * process, which holds the station and the simulators, read in a settled state (two full
 * garbage collections a second apart) after warm-up — the first fifth — and at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcceleratedClock } from '../../protocol/index.ts';
import { openFds, post, rng, rssMb, settledMemory, sleep, startRig, type Rig } from './rig.ts';
import { scaled, summary } from './scale.ts';

const SPEEDUP = 12;
const SIM_MS = scaled(3_600_000, 300_000);
/** A third of the way in, midnight in Shanghai starts a new service day. */
const START_MS = Date.parse('2026-11-25T16:00:00Z') - SIM_MS / 3;
const WARMUP_FRACTION = 0.2;


let rig: Rig;
const clock = new AcceleratedClock(START_MS, SPEEDUP);
beforeAll(async () => {
  rig = await startRig({ clock, boards: 2, locks: 24, dispenser: { telemetryIntervalMs: 200, motorMs: 5 } });
});
afterAll(async () => {
  await rig?.stop();
});

describe('soak', () => {
  it('keeps resident memory and open files flat over an hour of operation', async () => {
    const seed = 20261128;
    const r = rng(seed);
    const base = rig.station.httpUrl;
    const riders = 600;
    const creds = await Promise.all(Array.from({ length: riders }, (_, i) => rig.credential(`rider-soak-${i}`, { ttlSeconds: 7 * 86_400 })));
    const holding = new Set<number>();
    const tally: Record<string, number> = {};
    const bump = (k: string) => void (tally[k] = (tally[k] ?? 0) + 1);
    let errors5xx = 0;
    const end = START_MS + SIM_MS;
    const warmupEnd = START_MS + SIM_MS * WARMUP_FRACTION;
    let warm: { rssMb: number; fds: number; heapMb: number } | undefined;
    let peakRssMb = 0;
    let minute = -1;
    let heartbeats = 0;

    const worker = async () => {
      while (clock.now() < end) {
        const i = Math.floor(r() * riders);
        const credential = creds[i]!;
        const c = await post(base, '/v1/checkins', { credential });
        bump(`checkin:${c.status}`);
        const k = await post(base, '/v1/claims', { credential, compartment: r() < 0.5 ? 'hot' : 'cold' });
        bump(k.status === 201 ? 'claim:committed' : `claim:${String(k.body.error)}`);
        if (k.status >= 500) errors5xx++;
        const l = await post(base, holding.has(i) ? '/v1/lockers/retrieve' : '/v1/lockers/deposit', { credential });
        if (l.status === 201) holding.add(i);
        else if (l.status === 200 || l.body.error === 'no_locker_held') holding.delete(i);
        else if (l.body.error === 'locker_already_held') holding.add(i);
        bump(`locker:${l.status}`);
        if (l.status >= 500 && l.body.error !== 'no_free_compartment') errors5xx++;
        await sleep(5);
      }
    };
    const ticker = async () => {
      while (clock.now() < end) {
        const m = Math.floor((clock.now() - START_MS) / 60_000);
        if (m !== minute) {
          minute = m;
          rig.station.jobs.heartbeat();
          rig.station.lockers.checkTimers();
          await rig.station.jobs.resolveUnknownClaims();
          heartbeats++;
        }
        if (!warm && clock.now() >= warmupEnd) {
          warm = { ...(await settledMemory()), fds: openFds() };
        }
        peakRssMb = Math.max(peakRssMb, rssMb());
        await sleep(100);
      }
    };
    await Promise.all([ticker(), worker(), worker(), worker(), worker()]);
    // Let in-flight doors close and polls settle before the last reading.
    await sleep(1500);
    const final = { ...(await settledMemory()), fds: openFds() };
    const rssChangePct = ((final.rssMb - warm!.rssMb) / warm!.rssMb) * 100;
    const q = rig.station.quota.countByStatus();

    summary('soak', {
      simulatedMinutes: SIM_MS / 60_000,
      speedup: `x${SPEEDUP} wall, real-time devices`,
      requests: Object.values(tally).reduce((a, n) => a + n, 0),
      claimsCommitted: q.committed ?? 0,
      lockerOps: (tally['locker:201'] ?? 0) + (tally['locker:200'] ?? 0),
      heartbeats,
      events: rig.station.ledger.head().seq,
      rssWarmMb: warm!.rssMb.toFixed(1),
      rssEndMb: final.rssMb.toFixed(1),
      rssChangePct: rssChangePct.toFixed(1),
      peakRssMb: peakRssMb.toFixed(1),
      heapWarmToEndMb: `${warm!.heapMb.toFixed(1)}→${final.heapMb.toFixed(1)}`,
      fdsWarmToEnd: `${warm!.fds}→${final.fds}`,
      outcomes: Object.entries(tally).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' '),
      seed: String(seed),
    });
    expect(errors5xx).toBe(0);
    expect(q.committed ?? 0).toBeGreaterThan(riders); // the day changed and riders claimed again
    expect(rssChangePct).toBeLessThan(10);
    expect(final.fds - warm!.fds).toBeLessThanOrEqual(3);
    expect(rig.station.ledger.verifyStoredChain().ok).toBe(true);
  });
});
