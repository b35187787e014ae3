/**
 * The enrolment limit across instances (issue 12, SPEC §12 "stateless instances"): two cloud
 * apps on one PostgreSQL database, as two instances behind a load balancer, share one window
 * per client address — 1,000 enrolments from one address, alternating between the instances,
 * get `riders.enrolPerAddress` accepted in total, not twice that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { ManualClock } from '../../protocol/index.ts';
import { bearer, silent, testConfig, TOKENS } from '../cloud/helpers.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { phone, START } from './enrolHarness.ts';

const clock = new ManualClock(START);
let db: { url: string; drop(): Promise<void> };
const instances: Array<{ app: ReturnType<typeof buildApp>; store: PgStore }> = [];

beforeAll(async () => {
  db = await testDatabase('enrollimit');
  for (let i = 0; i < 2; i++) {
    const config = testConfig(undefined, { storage: { url: db.url, poolSize: 4 } });
    const store = await PgStore.open(db.url, { maxConnections: 4 });
    const app = buildApp({ config, store, clock, logger: silent });
    await app.ready();
    instances.push({ app, store });
  }
});
afterAll(async () => {
  for (const i of instances) {
    await i.app.close();
    await i.store.close();
  }
  await db?.drop();
});

describe('the enrolment limit with two instances on one PostgreSQL database', () => {
  it('limits 1,000 enrolments from one address to the configured count in total, not per instance', async () => {
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    const inv = (
      await a.app.inject({ method: 'POST', url: '/v1/invites', headers: bearer(TOKENS.admin), payload: { uses: 100_000, expiresAt: START + 86_400_000 } })
    ).json() as { code: string };
    const enrol = (app: typeof a.app, address: string) =>
      app.inject({ method: 'POST', url: '/v1/enrol', remoteAddress: address, payload: { invite: inv.code, consent: true, group: 'courier', deviceKey: phone().exported } });
    const codes: number[] = [];
    // Ten at a time, half through each instance, so both count at once.
    for (let i = 0; i < 1000; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, k) => enrol(k % 2 === 0 ? a.app : b.app, '198.51.100.9')));
      codes.push(...batch.map((r) => r.statusCode));
    }
    expect(codes.filter((c) => c === 201)).toHaveLength(20);
    expect(codes.filter((c) => c === 429)).toHaveLength(980);
    expect((await a.store.invite(inv.code))!.used).toBe(20);
    // Another address, through either instance, is not held back; an IPv6 /64 counts as one address.
    expect((await enrol(b.app, '198.51.100.10')).statusCode).toBe(201);
    for (let i = 0; i < 20; i++) expect((await enrol(i % 2 ? a.app : b.app, `2001:db8:1:2::${(i + 1).toString(16)}`)).statusCode).toBe(201);
    expect((await enrol(a.app, '2001:db8:1:2:ffff::1')).statusCode).toBe(429);
    // After the window, the first address gets in again through either instance.
    clock.advance(3_600_000);
    expect((await enrol(b.app, '198.51.100.9')).statusCode).toBe(201);
  });
});
