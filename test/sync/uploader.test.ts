import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../protocol/index.ts';
import { Uploader } from '../../edge/sync/uploader.ts';
import type { Ledger } from '../../edge/ledger/ledger.ts';
import type { RunningCloud } from '../../cloud/server.ts';
import { bearer, silent, tempDir, TOKENS } from '../cloud/helpers.ts';
import { cloudConfig, cloudOn, openLedger, until } from './harness.ts';
import { heartbeat } from '../helpers/events.ts';

const FAST = { initialBackoffMs: 10, maxBackoffMs: 100, idlePollMs: 60_000, requestTimeoutMs: 5_000 };

describe('edge uploader against the real ledger and cloud (SPEC §9)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function uploader(ledger: Ledger, cloud: { url: string }, extra: Partial<ConstructorParameters<typeof Uploader>[0]> = {}) {
    const u = new Uploader({ ledger, clock: { now: Date.now, monotonic: () => performance.now() }, logger: silent, stationId: 'dn-001', cloudUrl: cloud.url, token: TOKENS['dn-001'], ...FAST, ...extra });
    cleanup.push(() => u.stop());
    return u;
  }

  it('a station offline for 7 simulated days with ~10,000 events syncs all of them, in order, with no duplicates, across a cloud restart', async () => {
    const config = cloudConfig();
    // Learn a free port, then take the cloud away: the station starts offline.
    const probe = await cloudOn(config);
    const port = probe.port;
    const url = probe.url;
    await probe.stop();

    const { ledger, clock } = openLedger();
    cleanup.push(() => ledger.close());
    // The cloud goes down for a restart just before the 8th upload that reaches it.
    let cloud: RunningCloud | null = null;
    let reached = 0;
    let restart: Promise<void> | null = null;
    const gatedFetch: typeof fetch = async (input, init) => {
      if (cloud && ++reached === 8) {
        restart = cloud.stop();
        await restart;
      }
      return fetch(input, init);
    };
    const up = uploader(ledger, { url }, { fetch: gatedFetch });
    up.start();

    // 7 days, one transaction per simulated 10 minutes, ~10 events each: check-ins, claims, heartbeats.
    let n = 0;
    for (let slot = 0; slot < 7 * 24 * 6; slot++) {
      clock.advance(10 * 60_000);
      ledger.tx((t) => {
        t.append('station.heartbeat', heartbeat({ uptimeS: slot * 600, backlog: ledger.backlog() }));
        for (let k = 0; k < 9; k++) {
          const riderId = `r${(slot * 9 + k) % 300}`;
          if (k === 0) t.append('checkin', { riderId, windowFrom: t.day, windowTo: t.day });
          else t.append('claim.committed', { claimId: `c${n}`, riderId, compartment: k % 2 ? 'hot' : 'cold', dispenserId: 'disp-1', sponsor: 'bank-a' });
          n++;
        }
      });
      // Let the uploader run (and fail) while the days pass.
      if (slot % 36 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const total = ledger.head().seq;
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(up.status()).toMatchObject({ ackedSeq: 0, backlog: total });
    await until(() => up.status().lastError?.code === 'unreachable', 5_000, 'a failed attempt');
    expect(up.status().consecutiveFailures).toBeGreaterThan(1);

    // The cloud comes back; halfway through the backlog it restarts on the same data directory.
    cloud = await cloudOn(config, port);
    await until(() => restart !== null, 30_000, 'the restart');
    await restart;
    const ackedBeforeRestart = ledger.ackedSeq();
    expect(ackedBeforeRestart).toBeGreaterThan(0);
    expect(ackedBeforeRestart).toBeLessThan(total);
    const second = await cloudOn(config, port);
    cloud = second;
    cleanup.push(() => second.stop());
    await until(() => ledger.ackedSeq() === total, 60_000, 'the whole backlog');

    const stored = await second.store.eventsAfter('dn-001', 0, total + 10);
    expect(stored.length).toBe(total);
    expect(await second.store.countEvents('dn-001')).toBe(total);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(stored).toEqual(ledger.eventsAfter(0, total + 10));
    expect(verifyChain(stored)).toMatchObject({ ok: true, lastSeq: total });
    expect(up.status()).toMatchObject({ backlog: 0, lastError: null });
    // Nothing was deleted at the edge.
    expect(ledger.eventsAfter(0, total + 10).length).toBe(total);
    const report = await (await fetch(`${second.url}/v1/reports/weekly?week=2026-W48`, { headers: bearer(TOKENS.admin) })).json();
    const checkins = stored.filter((e) => e.type === 'checkin' && e.day >= '2026-11-23' && e.day <= '2026-11-29').length;
    expect(report.stations.find((s: { stationId: string }) => s.stationId === 'dn-001').checkins).toBe(checkins);
  }, 120_000);

  it('an edge restart in the middle of the backlog resumes from what the cloud acknowledged: every event once, in order', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const dir = tempDir('ws-edge-restart-');
    const first = openLedger(undefined, dir);
    for (let i = 0; i < 600; i++) first.ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    // The daemon stops (SIGTERM) while its third upload is on the wire.
    let posts = 0;
    let stopping: Promise<void> | null = null;
    const up1 = uploader(first.ledger, cloud, {
      batchSize: 50,
      fetch: async (input, init) => {
        if (++posts === 3) stopping = up1.stop();
        return fetch(input, init);
      },
    });
    up1.start();
    await until(() => stopping !== null, 10_000, 'the third upload');
    await stopping;
    const ackedAtStop = first.ledger.ackedSeq();
    expect(ackedAtStop).toBeGreaterThanOrEqual(100);
    expect(ackedAtStop).toBeLessThan(600);
    first.ledger.close();

    // The new process opens the same file and carries on; more riders came meanwhile.
    const second = openLedger(first.clock, dir);
    cleanup.push(() => second.ledger.close());
    expect(second.ledger.ackedSeq()).toBe(ackedAtStop);
    for (let i = 0; i < 50; i++) second.ledger.append('checkin', { riderId: `r${i}`, windowFrom: '2026-11-23', windowTo: '2026-11-29' });
    const up2 = uploader(second.ledger, cloud, { batchSize: 50 });
    up2.start();
    await until(() => second.ledger.ackedSeq() === 650, 20_000, 'the rest of the backlog');
    const stored = await cloud.store.eventsAfter('dn-001', 0, 1000);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 650 }, (_, i) => i + 1));
    expect(stored).toEqual(second.ledger.eventsAfter(0, 1000));
    expect(verifyChain(stored)).toMatchObject({ ok: true, lastSeq: 650 });
  });

  it('wakes promptly when a new event is committed', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    const up = uploader(ledger, cloud, { idlePollMs: 600_000 });
    up.start();
    await until(() => up.status().lastSuccessAt !== null || up.status().lastError === null, 2_000);
    const t0 = Date.now();
    ledger.append('checkin', { riderId: 'r1', windowFrom: '2026-11-23', windowTo: '2026-11-29' });
    await until(() => ledger.ackedSeq() === 1, 2_000, 'the nudged upload');
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it('resends from expectedSeq when the cloud answers with a gap', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    for (let i = 0; i < 30; i++) ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    // The station believes seq 20 was acknowledged, but this cloud holds nothing (restored from an old backup).
    ledger.setAckedSeq(20);
    const up = uploader(ledger, cloud, { batchSize: 7 });
    up.start();
    // The ledger records the acknowledgement after the cloud committed, so wait for the ledger.
    await until(() => up.status().ackedSeq === 30 && up.status().lastSuccessAt !== null, 10_000, 'the resend');
    expect(await cloud.store.countEvents('dn-001')).toBe(30);
    expect((await cloud.store.eventsAfter('dn-001', 0, 100)).map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('keeps a backlog that breaks the chain, reports chain_broken and deletes nothing', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    for (let i = 0; i < 10; i++) ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    ledger.db.prepare('UPDATE events SET data = ? WHERE seq = 4').run(JSON.stringify({ uptimeS: 999 }));
    const up = uploader(ledger, cloud);
    up.start();
    await until(() => up.status().lastError?.code === 'chain_broken', 5_000, 'the refusal');
    expect(up.status()).toMatchObject({ ackedSeq: 0, backlog: 10 });
    expect(ledger.eventsAfter(0, 100).length).toBe(10);
    const health = await (await fetch(`${cloud.url}/v1/fleet/health`, { headers: bearer(TOKENS.admin) })).json();
    expect(health.chainAlerts[0]).toMatchObject({ stationId: 'dn-001', seq: 4, detail: 'hash_mismatch' });
  });

  it('reports forbidden when its token belongs to another station', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    ledger.append('station.heartbeat', heartbeat({ uptimeS: 1 }));
    const up = uploader(ledger, cloud, { token: TOKENS['dn-002'] });
    up.start();
    await until(() => up.status().lastError?.code === 'forbidden', 5_000, 'the refusal');
    expect(await cloud.store.countEvents('dn-001')).toBe(0);
  });

  it('stops promptly in the middle of a long backoff', async () => {
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    ledger.append('station.heartbeat', heartbeat({ uptimeS: 1 }));
    const up = uploader(ledger, { url: 'http://127.0.0.1:9' }, { initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
    up.start();
    await until(() => up.status().consecutiveFailures >= 1, 5_000);
    const t0 = Date.now();
    await up.stop();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(up.status().running).toBe(false);
  });
});
