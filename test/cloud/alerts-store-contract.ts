/**
 * The alert and notification-outbox part of the store contract (SPEC §15), for every backend:
 * `alertStoreContract('sqlite', open)`, where `open()` called twice gives two stores on one
 * database — two cloud instances.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertFire, CloudStore } from '../../cloud/store/store.ts';

const offline = (over: Partial<AlertFire> = {}): AlertFire => ({
  fingerprint: 'dn-001/disp-1/device_offline',
  stationId: 'dn-001',
  subject: 'disp-1',
  kind: 'device_offline',
  severity: 'critical',
  since: 1000,
  detail: 'dispenser',
  seq: null,
  channels: ['ops', 'team'],
  ...over,
});

export function alertStoreContract(name: string, open: () => Promise<{ a: CloudStore; b: CloudStore; close(): Promise<void> }>): void {
  describe(`CloudStore alert contract: ${name}`, () => {
    let a: CloudStore;
    let b: CloudStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ a, b, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    it('fires an alert once per episode and owes each channel one message', async () => {
      expect((await a.fireAlert(offline(), 2000)).fired).toBe(true);
      // The other instance evaluates the same fleet: already firing, nothing owed twice.
      expect((await b.fireAlert(offline(), 2100)).fired).toBe(false);
      const firing = await b.listAlerts('firing', 10);
      expect(firing).toMatchObject([{ fingerprint: 'dn-001/disp-1/device_offline', state: 'firing', since: 1000, until: null, episode: 1, severity: 'critical', count: 1 }]);
      expect((await a.dueNotifications('ops', 3000, 10)).map((n) => [n.phase, n.alert.fingerprint])).toEqual([['firing', 'dn-001/disp-1/device_offline']]);
      expect(await a.dueNotifications('team', 3000, 10)).toHaveLength(1);
      expect(await a.dueNotifications('nobody', 3000, 10)).toHaveLength(0);
    });

    it('fires in one of two concurrent calls only', async () => {
      const results = await Promise.all([a.fireAlert(offline(), 2000), b.fireAlert(offline(), 2000), a.fireAlert(offline(), 2001), b.fireAlert(offline(), 2001)]);
      expect(results.filter((r) => r.fired)).toHaveLength(1);
      expect(await a.dueNotifications('ops', 3000, 10)).toHaveLength(1);
    });

    it('resolves once, tells the channels told of the firing, and fires a new episode after', async () => {
      await a.fireAlert(offline({ channels: ['ops'] }), 2000);
      expect(await a.resolveAlert('dn-001/disp-1/device_offline', 5000)).toBe(true);
      expect(await b.resolveAlert('dn-001/disp-1/device_offline', 5001)).toBe(false);
      expect(await a.resolveAlert('dn-001/nothing/device_offline', 5001)).toBe(false);
      expect(await a.listAlerts('firing', 10)).toEqual([]);
      expect(await a.listAlerts('resolved', 10)).toMatchObject([{ state: 'resolved', until: 5000, episode: 1 }]);
      expect((await a.dueNotifications('ops', 6000, 10)).map((n) => [n.phase, n.episode])).toEqual([['firing', 1], ['resolved', 1]]);
      const again = await b.fireAlert(offline({ since: 7000, channels: ['ops'] }), 7000);
      expect(again).toMatchObject({ fired: true, alert: { episode: 2, since: 7000, until: null, state: 'firing', count: 2 } });
      expect((await a.dueNotifications('ops', 8000, 10)).map((n) => [n.phase, n.episode])).toEqual([['firing', 1], ['resolved', 1], ['firing', 2]]);
      expect(await a.listAlerts('all', 10)).toHaveLength(1);
    });

    it('resolves a hash-chain alert when an admin acknowledges it, but not a device alert', async () => {
      await a.raiseAlert({ stationId: 'dn-001', kind: 'chain_broken', seq: 7, detail: 'hash_mismatch', at: 10, channels: ['ops'] });
      await a.fireAlert(offline(), 20);
      const [chain] = (await a.listAlerts('firing', 10)).filter((x) => x.kind === 'chain_broken');
      const [dev] = (await a.listAlerts('firing', 10)).filter((x) => x.kind === 'device_offline');
      expect(await b.acknowledgeAlert(chain!.id, 'street-office', 30)).toMatchObject({ state: 'resolved', until: 30, ackedBy: 'street-office' });
      expect(await b.acknowledgeAlert(dev!.id, 'street-office', 30)).toMatchObject({ state: 'firing', ackedAt: 30 });
      expect((await a.dueNotifications('ops', 40, 10)).map((n) => [n.alert.kind, n.phase])).toEqual([
        ['chain_broken', 'firing'],
        ['device_offline', 'firing'],
        ['chain_broken', 'resolved'],
      ]);
    });

    it('gives a channel one sender at a time, counts its messages and settles each notification', async () => {
      expect(await a.leaseChannel('ops', 'cloud-a', 1000, 30_000)).toBe(true);
      expect(await b.leaseChannel('ops', 'cloud-b', 1001, 30_000)).toBe(false);
      expect(await a.leaseChannel('ops', 'cloud-a', 2000, 30_000)).toBe(true);
      // A lease not renewed runs out and the other instance takes over.
      expect(await b.leaseChannel('ops', 'cloud-b', 40_000, 30_000)).toBe(true);
      await b.releaseChannel('ops', 'cloud-b');
      expect(await a.leaseChannel('ops', 'cloud-a', 40_001, 30_000)).toBe(true);

      await a.fireAlert(offline(), 1000);
      await a.fireAlert(offline({ fingerprint: 'dn-001/disp-2/device_offline', subject: 'disp-2' }), 1000);
      const due = await a.dueNotifications('ops', 1000, 10);
      await a.settleNotifications('ops', 1500, [{ id: due[0]!.id, outcome: { kind: 'sent' } }]);
      await a.settleNotifications('ops', 1600, [{ id: due[1]!.id, outcome: { kind: 'failed', error: 'http_500', nextAt: 9000 } }]);
      expect(await a.channelSendsSince('ops', 0)).toBe(2);
      expect(await a.channelSendsSince('ops', 1500)).toBe(1);
      expect(await a.channelSendsSince('team', 0)).toBe(0);
      expect(await a.dueNotifications('ops', 8999, 10)).toEqual([]);
      expect(await a.dueNotifications('ops', 9000, 10)).toMatchObject([{ id: due[1]!.id, attempts: 1 }]);
      await a.settleNotifications('ops', 9100, [{ id: due[1]!.id, outcome: { kind: 'failed', error: 'http_500', nextAt: null } }]);
      expect(await a.dueNotifications('ops', 99_999, 10)).toEqual([]);
      expect(await a.notificationCounts()).toMatchObject({ sent: 1, failed: 1, pending: 2 });
    });
  });
}
