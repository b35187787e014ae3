/** The station's jobs (issue 4): heartbeat, clock-jump detection, pruning, locker timers, unknown claims. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JumpableClock } from '../helpers/clock.ts';
import { call } from './http.ts';
import { MAINTENANCE_TOKEN, startHarness, waitFor, type Harness } from '../helpers/station.ts';
import { heartbeat } from '../helpers/events.ts';

const clock = new JumpableClock();
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ station: { clock }, config: { lockers: { storageLimitMs: 1000, pollIntervalMs: 100, riderCooldownMs: 0 } } });
});
afterAll(async () => {
  await h?.stop();
});

describe('station jobs', () => {
  it('writes a station.heartbeat event with uptime, disk free, db size, backlog and a devices summary', () => {
    const e = h.station.jobs.heartbeat();
    expect(e?.type).toBe('station.heartbeat');
    expect(e?.data).toMatchObject({
      uptimeS: expect.any(Number),
      diskFreeBytes: expect.any(Number),
      dbBytes: expect.any(Number),
      backlog: expect.any(Number),
      devices: { online: 2, degraded: 0, offline: 0, out_of_service: 0 },
    });
  });

  it('takes a wall-clock jump of more than the threshold as a fault: station.clock_jump event, health and metrics', async () => {
    h.station.jobs.checkClock();
    clock.offsetMs += 2_000; // drift well under the threshold: nothing
    expect(h.station.jobs.checkClock()).toBeNull();
    const seq = h.station.ledger.head().seq;
    clock.offsetMs -= 3_600_000; // the RTC lost an hour
    const jump = h.station.jobs.checkClock();
    expect(jump?.deltaMs).toBeLessThan(-3_500_000);
    const ev = h.station.ledger.eventsAfter(seq, 10).find((e) => e.type === 'station.clock_jump');
    expect(ev?.data).toMatchObject({ deltaMs: expect.any(Number), fromTs: expect.any(Number), toTs: expect.any(Number) });
    const health = await call(h.station.httpUrl, 'GET', '/v1/health', undefined, { token: MAINTENANCE_TOKEN });
    const station = health.body.station as { faults: string[]; clock: { fault: boolean; jumps: unknown[] } };
    expect(station.faults).toContain('clock_jump');
    expect(station.clock.fault).toBe(true);
    expect(station.clock.jumps).toHaveLength(1);
    const metrics = await call(h.station.httpUrl, 'GET', '/metrics');
    expect(metrics.text).toMatch(/^waystation_clock_jumps_total 1$/m);
    clock.offsetMs += 3_600_000; // NTP puts it right again: a second jump, forwards
    expect(h.station.jobs.checkClock()?.deltaMs).toBeGreaterThan(3_500_000);
  });

  it('prunes only events the cloud acknowledged and that are older than the retention, keeping the chain checkable', () => {
    const ledger = h.station.ledger;
    for (let i = 0; i < 5; i++) ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    const head = ledger.head().seq;
    ledger.setAckedSeq(head - 2);
    const saved = clock.offsetMs;
    clock.offsetMs += 31 * 86_400_000; // a month later
    try {
      const pruned = h.station.jobs.prune();
      expect(pruned).toBe(head - 2);
    } finally {
      clock.offsetMs = saved;
    }
    // The two unacknowledged events stay, and the stored chain still verifies.
    expect(ledger.eventsAfter(0, 100).map((e) => e.seq)).toEqual([head - 1, head]);
    expect(ledger.verifyStoredChain()).toMatchObject({ ok: true, headSeq: head });
  });

  it('never prunes unacknowledged events, however old', () => {
    const ledger = h.station.ledger;
    ledger.append('station.heartbeat', heartbeat({ uptimeS: 999 }));
    const before = ledger.eventsAfter(0, 1000).length;
    clock.offsetMs += 365 * 86_400_000;
    try {
      expect(h.station.jobs.prune()).toBe(0);
    } finally {
      clock.offsetMs -= 365 * 86_400_000;
    }
    expect(ledger.eventsAfter(0, 1000).length).toBe(before);
  });

  it('prunes finished unlock-journal rows older than the retention, never one still in flight', async () => {
    const credential = await h.credential('rider-journal');
    expect((await call(h.station.httpUrl, 'POST', '/v1/lockers/deposit', { credential })).status).toBe(201);
    const health = await call(h.station.httpUrl, 'GET', '/v1/health', undefined, { token: MAINTENANCE_TOKEN });
    expect((health.body.lockers as { recentUnlocks: unknown[] }).recentUnlocks[0]).toMatchObject({
      purpose: 'deposit',
      by: 'rider-journal',
      outcome: 'opened',
      startedTs: expect.any(Number),
    });
    const db = h.station.ledger.db;
    db.prepare(`INSERT INTO locker_unlocks (compartment, purpose, actor, started_ts) VALUES ('1-4', 'retrieve', 'in-flight', ?)`).run(clock.now());
    const count = () => (db.prepare('SELECT count(*) AS n FROM locker_unlocks').get() as { n: number }).n;
    expect(count()).toBeGreaterThanOrEqual(2);
    clock.offsetMs += 31 * 86_400_000;
    try {
      h.station.jobs.prune();
    } finally {
      clock.offsetMs -= 31 * 86_400_000;
    }
    expect(db.prepare('SELECT actor, outcome FROM locker_unlocks').all()).toEqual([{ actor: 'in-flight', outcome: null }]);
    db.prepare(`DELETE FROM locker_unlocks WHERE actor = 'in-flight'`).run();
    expect((await call(h.station.httpUrl, 'POST', '/v1/lockers/retrieve', { credential })).status).toBe(200);
  });

  it('raises locker.overdue for a holding past the storage limit', async () => {
    const credential = await h.credential('rider-overdue');
    const d = await call(h.station.httpUrl, 'POST', '/v1/lockers/deposit', { credential });
    expect(d.status).toBe(201);
    await waitFor(() => h.station.lockers.holdingOf('rider-overdue')?.since != null, 3000, 'storage clock started');
    const seq = h.station.ledger.head().seq;
    await new Promise((r) => setTimeout(r, 1100));
    h.station.jobs.checkLockerTimers();
    await waitFor(() => h.station.ledger.eventsAfter(seq, 100).some((e) => e.type === 'locker.overdue'), 3000, 'locker.overdue');
    expect(h.station.lockers.compartments().find((c) => c.compartment === d.body.compartment)?.overdue).toBe(true);
  });

  it('resolves an unknown claim by asking the dispenser once it answers again', async () => {
    const credential = await h.credential('rider-disconnect');
    await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential });
    // The bottle drops, then the network goes before the report: the claim is unknown at first.
    h.dispenser!.failNext('disconnect');
    const c = await call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' });
    const claimId = c.body.claimId as string;
    if (c.status === 504) {
      await waitFor(() => h.station.health.usable('disp-1'), 5000, 'dispenser back');
      await h.station.jobs.resolveUnknownClaims();
      await waitFor(() => h.station.quota.getClaim(claimId)?.status === 'committed', 5000, 'claim resolved by query');
    } else {
      expect(c.status).toBe(201);
    }
    expect(h.dispenser!.droppedFor(claimId)).toBe(1);
  });

  it('starts and stops its timers and cron tasks cleanly', async () => {
    const { StationJobs } = await import('../../edge/jobs.ts');
    const jobs = new StationJobs({
      config: h.config,
      clock,
      logger: (await import('../../edge/log.ts')).silentLogger(),
      ledger: h.station.ledger,
      claims: h.station.claims,
      lockers: h.station.lockers,
      heartbeatData: () => heartbeat(),
    });
    jobs.start();
    await jobs.stop();
    jobs.start();
    await jobs.stop();
  });
});
