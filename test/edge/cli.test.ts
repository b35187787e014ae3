/** `waystation-edge` (SPEC §11): run, clean shutdown, clear start-up errors, backup, verify, token-hash. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../helpers/station.ts';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'edge/cli.ts');
const tmp = tempDir('waystation-cli-');

function configFile(name: string, extra: Record<string, unknown> = {}): string {
  const file = join(tmp.dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      stationId: 'dn-cli',
      timezone: 'Asia/Shanghai',
      dataDir: `./data-${name}`,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      credentials: { jwks: { keys: [] }, revokedRiders: [] },
      maintenanceTokens: [{ name: 'ops', sha256: sha256('cli-token') }],
      dispensers: [{ id: 'disp-1', password: 'x' }],
      lockBuses: [],
      logLevel: 'warn',
      ...extra,
    }),
  );
  return file;
}

function runSync(args: string[]) {
  const r = spawnSync(tsx, [cli, ...args], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the daemon and resolve with its URL once it says it runs. */
function startDaemon(config: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(tsx, [cli, '--config', config], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`daemon did not start: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /kiosk (http:\/\/[^/\s]+)\//.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]!, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`daemon exited ${code}: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.on('exit', (code) => r(code)));
}

let blocker: Server;
let takenPort: number;
beforeAll(async () => {
  blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  takenPort = (blocker.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => blocker.close(() => r()));
  tmp.cleanup();
});

describe('waystation-edge', () => {
  it('prints the SHA-256 of a maintenance token read from standard input, and refuses one on the command line', () => {
    for (const input of ['cli-token', 'cli-token\n']) {
      const r = spawnSync(tsx, [cli, 'token-hash'], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000, input });
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(sha256('cli-token'));
    }
    const argv = runSync(['token-hash', 'cli-token']);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('standard input');
    expect(argv.stdout).not.toContain(sha256('cli-token'));
  });

  it('refuses an invalid config with one line per bad key and exit code 2', () => {
    const file = configFile('bad', { http: { host: '127.0.0.1', port: 99999 }, timezone: 'Nowhere/City' });
    const r = runSync(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/http/port: must be an integer 0–65535');
    expect(r.stderr).toContain('/timezone: must be an IANA time zone');
  });

  it('says clearly that the HTTP port is taken and exits 1', () => {
    const r = runSync(['--config', configFile('taken', { http: { host: '127.0.0.1', port: takenPort } })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot start: HTTP port ${takenPort} on 127.0.0.1 is in use`);
  });

  it('runs until SIGTERM, shuts down cleanly, and then backs up and verifies the database', async () => {
    const file = configFile('run');
    const d = await startDaemon(file);
    const health = await fetch(`${d.url}/healthz`);
    expect(health.status).toBe(200);
    const audited = await fetch(`${d.url}/v1/health`, { headers: { authorization: 'Bearer cli-token' } });
    expect(audited.status).toBe(200);
    const done = exited(d.child);
    d.child.kill('SIGTERM');
    expect(await done).toBe(0);
    expect(d.stderr()).toContain('station stopped');

    const out = join(tmp.dir, 'backup', 'station-backup.db');
    const b = runSync(['backup', '--config', file, '--out', out]);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/backup 100%/);
    expect(existsSync(out)).toBe(true);
    const copy = new Database(out, { readonly: true });
    const n = (copy.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'maintenance.audit'").get() as { n: number }).n;
    copy.close();
    expect(n).toBe(1);

    const v = runSync(['verify', '--config', file]);
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/chain ok: \d+ events checked/);
  }, 60_000);

  it('reports a broken chain with exit code 3', () => {
    const file = configFile('run');
    const db = new Database(join(tmp.dir, 'data-run', 'station.db'));
    db.prepare("UPDATE events SET data = '{\"tampered\":true}' WHERE seq = (SELECT MIN(seq) FROM events)").run();
    db.close();
    const v = runSync(['verify', '--config', file]);
    expect(v.code).toBe(3);
    expect(v.stderr).toMatch(/chain BROKEN at seq \d+: hash_mismatch/);
  });

  it('explains bad usage', () => {
    const r = runSync(['backup', '--config', configFile('run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('backup needs --out <file>');
  });
});
