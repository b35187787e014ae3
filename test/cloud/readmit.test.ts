// Re-admitting the real station's log after a stolen token (issue 11 item 8; docs/security.md):
// an impostor with dn-001's token uploads seqs 5..8 of its own, the real station's 5..8 are then
// refused (replay_mismatch), an admin re-admits from 5 — a new token, the impostor's events
// dropped, the rollups rebuilt — and the real 5..8 go in; the weekly reports then equal those of a
// cloud that only ever saw the real events. On SQLite and on PostgreSQL, and through the CLI.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCloudConfig } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/server.ts';
import type { StationEvent } from '../../protocol/index.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { harness } from './appHarness.ts';
import { bearer, chain, noonOf, silent, tempDir, TOKENS, type EventSpec } from './helpers.ts';
import { pgInstance } from './pgHarness.ts';

const checkin = (riderId: string, day: string, n = 0): EventSpec => ({ type: 'checkin', ts: noonOf(day) + n, data: { riderId, windowFrom: day, windowTo: day } });
const bottle = (riderId: string, day: string, compartment: 'hot' | 'cold', sponsor?: string): EventSpec => ({
  type: 'claim.committed',
  ts: noonOf(day) + 60_000,
  data: { claimId: `c-${riderId}-${day}`, riderId, compartment, dispenserId: 'disp-1', ...(sponsor ? { sponsor } : {}) },
});

// The real log: 1..4 synced, 5..8 written while the impostor got in first.
const real = chain([
  checkin('r1', '2026-11-24'),
  bottle('r1', '2026-11-24', 'hot', 'bank-a'),
  checkin('r2', '2026-11-25'),
  bottle('r2', '2026-11-25', 'cold'),
  checkin('r1', '2026-11-30'),
  bottle('r1', '2026-11-30', 'cold', 'bank-a'),
  checkin('r3', '2026-12-01'),
  { type: 'device.online', ts: noonOf('2026-12-01') + 5, data: { deviceId: 'disp-1', kind: 'dispenser' } },
]);
// The impostor's 5..8 continue the real chain (it read the head somewhere): riders and bottles of its own.
const forged = chain(
  [checkin('r-x1', '2026-11-26'), bottle('r-x1', '2026-11-26', 'hot', 'bank-b'), checkin('r2', '2026-11-23'), { type: 'device.fault', ts: noonOf('2026-12-01'), data: { deviceId: 'disp-1', faults: ['jam'] } }],
  4,
  real[3]!.hash,
);
const WEEKS = ['2026-W48', '2026-W49'];

interface Instance {
  upload(stationId: string, events: StationEvent[], token?: string): Promise<{ statusCode: number; json(): unknown }>;
  admin(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ statusCode: number; json(): unknown }>;
  close(): Promise<void>;
}

const reports = async (h: Instance) => Promise.all(WEEKS.map(async (w) => (await h.admin('GET', `/v1/reports/weekly?week=${w}`)).json()));

async function scenario(h: Instance, reference: Instance): Promise<void> {
  expect((await h.upload('dn-001', real.slice(0, 4))).json()).toEqual({ ackedSeq: 4 });
  expect((await h.upload('dn-001', forged)).json()).toEqual({ ackedSeq: 8 }); // the impostor, first
  const refused = await h.upload('dn-001', real.slice(4));
  expect([refused.statusCode, refused.json()]).toMatchObject([422, { error: 'chain_broken', seq: 5, reason: 'replay_mismatch' }]);

  expect((await h.admin('POST', '/v1/stations/dn-001/readmit', { fromSeq: 9 })).json()).toMatchObject({ error: 'nothing_to_drop', ackedSeq: 8 });
  expect((await h.admin('POST', '/v1/stations/zz-404/readmit', { fromSeq: 1 })).statusCode).toBe(404);
  expect((await h.admin('POST', '/v1/stations/dn-001/readmit', { fromSeq: '5' })).statusCode).toBe(400);

  const r = await h.admin('POST', '/v1/stations/dn-001/readmit', { fromSeq: 5 });
  expect(r.statusCode).toBe(200);
  const { token, dropped, ackedSeq } = r.json() as { token: string; dropped: number; ackedSeq: number };
  expect([dropped, ackedSeq]).toEqual([4, 4]);
  // The stolen token is dead; the real station, with its new token, continues from 5.
  expect((await h.upload('dn-001', forged)).statusCode).toBe(401);
  expect((await h.upload('dn-001', real.slice(4), token)).json()).toEqual({ ackedSeq: 8 });

  expect((await reference.upload('dn-001', real)).json()).toEqual({ ackedSeq: 8 });
  expect(await reports(h)).toEqual(await reports(reference));
  const w49 = (await reports(h))[1] as { stations: Array<Record<string, unknown>> };
  expect(w49.stations.find((s) => s.stationId === 'dn-001')).toMatchObject({ checkins: 2, riders: 2, newRiders: 1, returningRiders: 1, bottles: { hot: 0, cold: 1 } });

  // The chain alert the impostor caused was acknowledged by the admin who re-admitted.
  const alerts = (await h.admin('GET', '/v1/alerts?state=all')).json() as { alerts: Array<{ kind: string; stationId: string; state: string; ackedBy: string | null }> };
  expect(alerts.alerts.filter((a) => a.kind === 'chain_broken')).toMatchObject([{ stationId: 'dn-001', state: 'resolved', ackedBy: 'street-office (admin)' }]);
}

describe('re-admitting a station log after a stolen token', () => {
  const dbs: Array<{ drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('on SQLite: drops the impostor\'s 5..8, accepts the real 5..8, reports as if the impostor never came', async () => {
    const [h, reference] = [await harness(), await harness()];
    try {
      await scenario(h, reference);
    } finally {
      await h.close();
      await reference.close();
    }
  });

  it('on PostgreSQL: the same', async () => {
    const [a, b] = [await testDatabase('readmit'), await testDatabase('readmit-ref')];
    dbs.push(a, b);
    const [h, reference] = [await pgInstance(a.url), await pgInstance(b.url)];
    try {
      await scenario(h, reference);
    } finally {
      await h.close();
      await reference.close();
    }
  });
});

describe('re-admitting through one instance while the impostor keeps uploading through another (PostgreSQL)', () => {
  it('stops the impostor on every instance at once and leaves nothing of its log', async () => {
    const db = await testDatabase('readmit-two');
    const ref = await testDatabase('readmit-two-ref');
    const [a, b, reference] = [await pgInstance(db.url), await pgInstance(db.url), await pgInstance(ref.url)];
    try {
      expect((await a.upload('dn-001', real.slice(0, 4))).json()).toEqual({ ackedSeq: 4 });
      // The impostor's log runs on past 8, one event per upload, through instance a.
      const more = chain(Array.from({ length: 40 }, (_, i) => checkin(`r-x${i}`, '2026-11-27', i)), 4, real[3]!.hash);
      const impostor = (async () => {
        for (const e of more) if ((await a.upload('dn-001', [e])).statusCode === 401) return;
      })();
      while ((await a.store.syncHead('dn-001'))!.seq < 8) await new Promise((r) => setTimeout(r, 5));
      const r = await b.admin('POST', '/v1/stations/dn-001/readmit', { fromSeq: 5 });
      expect(r.statusCode).toBe(200);
      const { token } = r.json() as { token: string };
      await impostor;
      // Either the impostor finished its 40 before the token changed, or it was cut off with a 401.
      const head = (await a.store.syncHead('dn-001'))!;
      expect(head.seq).toBe(4);
      expect((await a.upload('dn-001', more.slice(0, 1))).statusCode).toBe(401);
      expect((await a.upload('dn-001', real.slice(4), token)).json()).toEqual({ ackedSeq: 8 });
      expect((await reference.upload('dn-001', real)).json()).toEqual({ ackedSeq: 8 });
      expect(await reports(b)).toEqual(await reports(reference));
    } finally {
      await a.close();
      await b.close();
      await reference.close();
      await db.drop();
      await ref.drop();
    }
  });
});

describe('waystation-cloud station readmit', () => {
  it('re-admits from the command line beside a running cloud, and prints the new token', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [join(root, 'bin', 'waystation-cloud.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, WAYSTATION_CLOUD_KEY: '' } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const dir = tempDir('wc-readmit-');
    const configPath = join(dir, 'cloud.json');
    writeFileSync(configPath, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, dataDir: './data', adminTokens: [], logLevel: 'warn' }));
    const added = cli('station', 'add', 'dn-001', '--config', configPath, '--json');
    expect(added.code, added.stderr).toBe(0);
    const stolen = (JSON.parse(added.stdout) as { token: string }).token;
    const cloud = await startCloud(loadCloudConfig(configPath), { logger: silent, env: {} });
    try {
      const up = (events: StationEvent[], t: string) =>
        fetch(`${cloud.url}/v1/stations/dn-001/events`, { method: 'POST', headers: { ...bearer(t), 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect(await (await up([...real.slice(0, 4), ...forged], stolen)).json()).toEqual({ ackedSeq: 8 });
      const bad = cli('station', 'readmit', 'dn-001', '--from-seq', 'five', '--config', configPath);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--from-seq')]);
      const done = cli('station', 'readmit', 'dn-001', '--from-seq', '5', '--config', configPath, '--json');
      expect(done.code, done.stderr).toBe(0);
      const out = JSON.parse(done.stdout) as { token: string; dropped: number; ackedSeq: number };
      expect(out).toMatchObject({ id: 'dn-001', dropped: 4, ackedSeq: 4 });
      expect((await up(forged, stolen)).status).toBe(401);
      expect(await (await up(real.slice(4), out.token)).json()).toEqual({ ackedSeq: 8 });
      const human = cli('station', 'readmit', 'dn-001', '--from-seq', '9', '--config', configPath);
      expect([human.code, human.stderr]).toEqual([1, expect.stringContaining('nothing_to_drop')]);
    } finally {
      await cloud.stop();
    }
  }, 120_000);
});
