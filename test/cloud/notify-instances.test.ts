/**
 * SPEC §12 + §15: two cloud instances on one database, both evaluating the fleet on their
 * timers and both running a notifier, send each message once — the alert fires once (unique
 * fingerprint) and one instance at a time holds a channel's sender lease.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { bearer, chain, silent, tempDir, testConfig, TOKENS } from './helpers.ts';
import { receiver } from './notifyReceiver.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('two cloud instances on one database', () => {
  it('fire once and notify once per channel, and resolve once', async () => {
    const rx = await receiver('/am', {});
    closers.push(() => rx.close());
    const dir = tempDir('wc-two-');
    const config = testConfig(dir, {
      alerts: { deviceOfflineAfterMs: 1000, evaluateIntervalMs: 100, notifyPollMs: 50 },
      notify: [{ kind: 'webhook', url: rx.url }],
    });
    const apps = [];
    for (let i = 0; i < 2; i++) {
      const store = SqliteStore.open(join(dir, 'cloud.db'));
      const app = buildApp({ config, store, clock: systemClock, logger: silent });
      await app.ready();
      closers.push(async () => {
        await app.close();
        await store.close();
      });
      apps.push(app);
    }
    const events = chain([
      { type: 'device.offline', ts: Date.now() - 5000, data: { deviceId: 'disp-1', kind: 'dispenser', reason: 'will' } },
      { type: 'device.fault', ts: Date.now(), data: { deviceId: 'board-1', kind: 'lockboard', fault: 'door_stuck:1-2' } },
    ]);
    // The station's upload reaches instance 0; instance 1 sees the same fleet on its own timer.
    expect((await apps[0]!.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events } })).statusCode).toBe(200);
    await expect.poll(() => rx.received.length, { timeout: 5000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 800));
    expect(rx.received).toHaveLength(2);
    const more = chain([{ type: 'device.online', ts: Date.now(), data: { deviceId: 'disp-1', kind: 'dispenser' } }], events.at(-1)!.seq, events.at(-1)!.hash);
    expect((await apps[1]!.inject({ method: 'POST', url: '/v1/stations/dn-001/events', headers: bearer(TOKENS['dn-001']), payload: { events: more } })).statusCode).toBe(200);
    await expect.poll(() => rx.received.length, { timeout: 5000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 800));
    expect(rx.received.map((r) => r.body.status)).toEqual(['firing', 'firing', 'resolved']);
    const list = await apps[1]!.inject({ method: 'GET', url: '/v1/alerts?state=all', headers: bearer(TOKENS.admin) });
    expect((list.json() as { alerts: Array<{ fingerprint: string; state: string; episode: number }> }).alerts.map((a) => [a.fingerprint, a.state, a.episode]).sort()).toEqual([
      ['dn-001/board-1/device_fault:door_stuck:1-2', 'firing', 1],
      ['dn-001/disp-1/device_offline', 'resolved', 1],
    ]);
  });
});
