import { afterEach, describe, expect, it } from 'vitest';
import type { StationConfigDoc } from '../../protocol/index.ts';
import { ConfigPuller, CONFIG_ETAG_META_KEY, CONFIG_META_KEY } from '../../edge/sync/configPuller.ts';
import type { Ledger } from '../../edge/ledger/ledger.ts';
import { bearer, silent, TOKENS } from '../cloud/helpers.ts';
import { cloudConfig, cloudOn, openLedger, until } from './harness.ts';

describe('edge config puller (SPEC §9)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function puller(ledger: Ledger, url: string, seen: StationConfigDoc[], extra: Partial<ConstructorParameters<typeof ConfigPuller>[0]> = {}) {
    const p = new ConfigPuller({
      ledger,
      clock: { now: Date.now, monotonic: () => performance.now() },
      logger: silent,
      stationId: 'dn-001',
      cloudUrl: url,
      token: TOKENS['dn-001'],
      intervalMs: 60_000,
      initialBackoffMs: 10,
      maxBackoffMs: 50,
      onConfig: (doc) => void seen.push(doc),
      ...extra,
    });
    cleanup.push(() => p.stop());
    return p;
  }

  it('stores the document and its ETag in ledger meta, then gets 304 until something changes', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    const seen: StationConfigDoc[] = [];
    const p = puller(ledger, cloud.url, seen);
    expect(await p.pullOnce()).toBe('changed');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.jwks.keys).toHaveLength(1);
    expect(JSON.parse(ledger.getMeta(CONFIG_META_KEY)!)).toEqual(seen[0]);
    expect(ledger.getMeta(CONFIG_ETAG_META_KEY)).toMatch(/^"[0-9a-f]+"$/);
    expect(await p.pullOnce()).toBe('unchanged');
    expect(seen).toHaveLength(1);

    // An admin revokes a rider: the next pull brings the revocation.
    const admin = bearer(TOKENS.admin);
    const rider = await (await fetch(`${cloud.url}/v1/riders`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ group: 'courier', issueCredential: true }) })).json();
    await fetch(`${cloud.url}/v1/riders/${rider.riderId}/revoke`, { method: 'POST', headers: admin });
    expect(await p.pullOnce()).toBe('changed');
    expect(seen[1]!.revokedRiders).toEqual([rider.riderId]);
    expect(p.status()).toMatchObject({ lastError: null });
  });

  it('pulls periodically once started, and hands the stored document over at start when the cloud is away', async () => {
    const cloud = await cloudOn(cloudConfig());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    const seen: StationConfigDoc[] = [];
    const p = puller(ledger, cloud.url, seen);
    await p.start();
    await until(() => seen.length === 1, 5_000, 'the first pull');
    await p.stop();
    await cloud.stop();

    const after: StationConfigDoc[] = [];
    const q = puller(ledger, cloud.url, after);
    await q.start();
    expect(after).toEqual(seen);
    await until(() => q.status().lastError?.code === 'unreachable', 5_000, 'a failed pull');
  });

  it('reports a refused token and keeps the last good document', async () => {
    const cloud = await cloudOn(cloudConfig());
    cleanup.push(() => cloud.stop());
    const { ledger } = openLedger();
    cleanup.push(() => ledger.close());
    const seen: StationConfigDoc[] = [];
    expect(await puller(ledger, cloud.url, seen).pullOnce()).toBe('changed');
    const bad = puller(ledger, cloud.url, seen, { token: 'wrong' });
    expect(await bad.pullOnce()).toBe('failed');
    expect(bad.status().lastError?.code).toBe('unauthorized');
    expect(bad.current()).toEqual(seen[0]);
  });
});
