/**
 * What every CloudStore backend must do for invites and enrolment (SPEC §14), run on SQLite
 * and PostgreSQL: uses counted once each and never past the limit, even when enrolments race;
 * a replay of a device key finds its rider; a withdrawal erases what identifies the rider.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudStore, EnrolInput } from '../../cloud/store/store.ts';

const T = Date.parse('2026-11-25T04:00:00Z');
let n = 0;
const x = () => `${String(++n).padStart(42, 'A')}A`;
const rid = () => `r-${(++n).toString(16).padStart(16, '0')}`;

export function enrolStoreContract(name: string, open: () => Promise<CloudStore>): void {
  describe(`enrolment store contract (${name})`, () => {
    let store: CloudStore;
    beforeEach(async () => {
      store = await open();
      await store.createInvite({ code: 'inv-two', uses: 2, expiresAt: T + 60_000, zone: 'daning', note: null, createdAt: T, createdBy: 'office (admin)' });
    });
    afterEach(async () => store.close());

    const enrol = (over: Partial<EnrolInput> = {}) =>
      store.enrolRider({ invite: 'inv-two', riderId: rid(), group: 'courier', platform: 'sf', deviceX: x(), contact: null, at: T + 1, ...over });

    it('creates a rider with the invite’s zone and counts one use', async () => {
      const r = await enrol({ contact: 'wx-1' });
      expect(r).toMatchObject({ kind: 'enrolled', rider: { group: 'courier', platform: 'sf', zone: 'daning', revokedAt: null, withdrawnAt: null } });
      expect((await store.invite('inv-two'))!.used).toBe(1);
      if (r.kind === 'enrolled') expect(await store.riderContact(r.rider.riderId)).toBe('wx-1');
    });

    it('answers a device key seen before with its rider and counts nothing', async () => {
      const deviceX = x();
      const first = await enrol({ deviceX });
      const again = await enrol({ deviceX });
      expect(again.kind).toBe('replayed');
      if (first.kind === 'enrolled' && again.kind === 'replayed') expect(again.rider.riderId).toBe(first.rider.riderId);
      expect((await store.invite('inv-two'))!.used).toBe(1);
      expect((await store.riderByDevice(deviceX))?.riderId).toBe(first.kind === 'enrolled' ? first.rider.riderId : '');
    });

    it('says why an invite is not valid: unknown, expired, used up', async () => {
      expect(await enrol({ invite: 'nope' })).toEqual({ kind: 'invite_invalid', reason: 'unknown' });
      expect(await enrol({ at: T + 60_000 })).toEqual({ kind: 'invite_invalid', reason: 'expired' });
      await enrol();
      await enrol();
      expect(await enrol()).toEqual({ kind: 'invite_invalid', reason: 'used_up' });
    });

    it('never gives more uses than the invite has when enrolments race, and one rider per raced device key', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => enrol()));
      expect(results.filter((r) => r.kind === 'enrolled')).toHaveLength(2);
      expect((await store.invite('inv-two'))!.used).toBe(2);
      await store.createInvite({ code: 'inv-many', uses: 100, expiresAt: T + 60_000, zone: null, note: null, createdAt: T, createdBy: 'a' });
      const deviceX = x();
      const same = await Promise.all(Array.from({ length: 6 }, () => enrol({ invite: 'inv-many', deviceX })));
      expect(same.filter((r) => r.kind === 'enrolled')).toHaveLength(1);
      expect((await store.invite('inv-many'))!.used).toBe(1);
    });

    it('withdraws: revoked, group, platform, zone, device key and contact erased', async () => {
      const r = await enrol({ contact: 'wx-2' });
      if (r.kind !== 'enrolled') throw new Error('not enrolled');
      const w = await store.withdrawRider(r.rider.riderId, T + 5);
      expect(w).toMatchObject({ group: '', platform: null, zone: null, withdrawnAt: T + 5, revokedAt: T + 5, revokeReason: 'withdrawn' });
      expect(await store.riderContact(r.rider.riderId)).toBeNull();
      expect(await store.revokedRiders(T + 10)).toContain(r.rider.riderId);
      expect(await store.withdrawRider('r-ffffffffffffffff', T)).toBeNull();
    });
  });
}
