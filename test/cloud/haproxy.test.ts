// SPEC §12: two cloud processes on one PostgreSQL behind a real load balancer (Debian's haproxy),
// stations syncing through it with the edge's own Uploader while one instance is kill -9'ed and
// started again mid-backlog: every event is stored exactly once, and the weekly report equals
// the one computed from the stations' ledgers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Uploader } from '../../edge/sync/uploader.ts';
import { isoWeekOf, sha256Hex, systemClock, type StationEvent } from '../../protocol/index.ts';
import { KeyCipher, newCloudKeyText, parseCloudKey } from '../../cloud/store/keyCipher.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { generateStationLog } from '../../scripts/fleet/generate.ts';
import { MemoryLedger } from '../../scripts/fleet/memoryLedger.ts';
import { freePort } from '../helpers/postgres.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { bearer, silent, tempDir } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ADMIN = 'admin-token-haproxy';
const STATIONS = ['hp-001', 'hp-002', 'hp-003', 'hp-004', 'hp-005', 'hp-006'];
const tokenOf = (id: string) => `token-${id}`;
const START = Date.parse('2026-11-23T00:00:00+08:00');

function ensureHaproxy(): void {
  if (spawnSync('sh', ['-c', 'command -v haproxy']).status === 0) return;
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy'], { stdio: 'inherit', timeout: 600_000 });
}

async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const until = async (cond: () => boolean, timeoutMs: number, what: string) => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('two cloud instances behind haproxy', () => {
  const dir = tempDir('wc-haproxy-');
  const key = newCloudKeyText();
  let dbUrl: string;
  let drop: () => Promise<void>;
  const ports: number[] = [];
  let lbPort = 0;
  const procs = new Map<string, ChildProcess>();
  let haproxy: ChildProcess | null = null;
  const stderr: string[] = [];

  const startInstance = async (name: 'a' | 'b', port: number) => {
    const cfg = join(dir, `cloud-${name}.json`);
    writeFileSync(
      cfg,
      JSON.stringify({
        http: { host: '127.0.0.1', port },
        dataDir: join(dir, `data-${name}`),
        storage: { url: dbUrl, poolSize: 5 },
        stations: STATIONS.map((id) => ({ id, tokenSha256: sha256Hex(tokenOf(id)), zone: 'test' })),
        adminTokens: [{ name: 'ops', sha256: sha256Hex(ADMIN) }],
        logLevel: 'warn',
      }),
    );
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'waystation-cloud.js'), '--config', cfg], {
      cwd: ROOT,
      env: { ...process.env, WAYSTATION_CLOUD_KEY: key },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    p.stderr!.on('data', (b: Buffer) => stderr.push(`[${name}] ${b.toString()}`));
    procs.set(name, p);
    await waitHttp(`http://127.0.0.1:${port}/healthz`);
  };

  beforeAll(async () => {
    ensureHaproxy();
    const db = await testDatabase('haproxy');
    dbUrl = db.url;
    drop = db.drop;
    ports.push(await freePort(), await freePort());
    lbPort = await freePort();
    await Promise.all([startInstance('a', ports[0]!), startInstance('b', ports[1]!)]);
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 2000',
        'defaults',
        '  mode http',
        '  timeout connect 1s',
        '  timeout client 30s',
        '  timeout server 30s',
        '  retries 3',
        '  option redispatch',
        '  retry-on conn-failure empty-response',
        'frontend cloud',
        `  bind 127.0.0.1:${lbPort}`,
        '  default_backend instances',
        'backend instances',
        '  balance roundrobin',
        '  option httpchk GET /healthz',
        `  server a 127.0.0.1:${ports[0]} check inter 200ms fall 1 rise 2`,
        `  server b 127.0.0.1:${ports[1]} check inter 200ms fall 1 rise 2`,
        '',
      ].join('\n'),
    );
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    haproxy.stderr!.on('data', (b: Buffer) => stderr.push(`[haproxy] ${b.toString()}`));
    await waitHttp(`http://127.0.0.1:${lbPort}/healthz`);
  }, 180_000);

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    for (const p of procs.values()) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await drop?.();
  });

  it('stores every event exactly once through a kill -9 mid-backlog, and reports what the ledgers say', async () => {
    const logs = new Map(STATIONS.map((id, i) => [id, generateStationLog({ stationId: id, startMs: START, days: 2, seed: i })]));
    const total = [...logs.values()].reduce((n, l) => n + l.length, 0);
    // Half of each log exists when syncing starts; the rest "happens" during the outage.
    const ledgers = new Map([...logs].map(([id, l]) => [id, new MemoryLedger(l, Math.floor(l.length / 2))]));
    const uploaders = STATIONS.map(
      (id) =>
        new Uploader({
          stationId: id,
          cloudUrl: `http://127.0.0.1:${lbPort}`,
          token: tokenOf(id),
          ledger: ledgers.get(id)!,
          clock: systemClock,
          logger: silent,
          batchSize: 50,
          initialBackoffMs: 50,
          maxBackoffMs: 500,
          requestTimeoutMs: 10_000,
          idlePollMs: 200,
        }),
    );
    const acked = () => [...ledgers.values()].reduce((n, l) => n + l.ackedSeq(), 0);
    for (const u of uploaders) u.start();
    try {
      await until(() => acked() >= total * 0.1, 60_000, 'a tenth of the fleet synced');
      const killed = procs.get('a')!;
      killed.kill('SIGKILL');
      await new Promise((r) => killed.once('exit', r));
      expect(acked()).toBeLessThan(total);
      for (const l of ledgers.values()) l.release(l.events.length);
      await new Promise((r) => setTimeout(r, 1000));
      await startInstance('a', ports[0]!);
      await until(() => acked() === total, 120_000, 'every station acknowledged to its head');
    } finally {
      await Promise.all(uploaders.map((u) => u.stop()));
    }

    const store = await PgStore.open(dbUrl, { cipher: new KeyCipher(parseCloudKey(key, 'test')) });
    try {
      for (const [id, log] of logs) {
        expect(await store.countEvents(id)).toBe(log.length);
        expect(await store.eventsAfter(id, 0, log.length + 1)).toEqual(log);
      }
    } finally {
      await store.close();
    }

    const week = isoWeekOf('2026-11-23');
    const res = await fetch(`http://127.0.0.1:${lbPort}/v1/reports/weekly?week=${week}`, { headers: bearer(ADMIN) });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { stations: Array<{ stationId: string; checkins: number; riders: number; bottles: { hot: number; cold: number } }> };
    const fromLedgers = [...logs].map(([stationId, log]) => fromLedger(stationId, log));
    expect(report.stations.map((s) => ({ stationId: s.stationId, checkins: s.checkins, riders: s.riders, bottles: s.bottles }))).toEqual(fromLedgers);
    expect(stderr.join('')).not.toMatch(/"level":50|request failed/);
  }, 240_000);
});

/** The week's figures of one station, counted straight from its ledger (SPEC §9 definitions). */
function fromLedger(stationId: string, log: readonly StationEvent[]) {
  let checkins = 0;
  const riders = new Set<string>();
  const bottles = { hot: 0, cold: 0 };
  for (const e of log) {
    if (e.type === 'checkin') {
      checkins++;
      riders.add(e.data.riderId as string);
    } else if (e.type === 'claim.committed') {
      riders.add(e.data.riderId as string);
      bottles[e.data.compartment as 'hot' | 'cold']++;
    }
  }
  return { stationId, checkins, riders: riders.size, bottles };
}
