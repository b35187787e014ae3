/**
 * A throwaway PostgreSQL 15 cluster for tests and benches (Debian's `postgresql` package, no
 * emulation): `initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL refuses to run as
 * root) on a data directory in a fresh temporary folder, listening on 127.0.0.1 at a free port
 * and on a unix socket in that folder. `stop()` stops it and removes the folder.
 *
 * One cluster serves a whole vitest run (test/setup/postgres.ts provides its admin URL); each
 * test file takes its own database with `testDatabase()`.
 */
import { execFileSync, execSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  /** Connection URL of the `postgres` database (superuser, trust auth on 127.0.0.1). */
  adminUrl: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** Install Debian's postgresql when its binaries are missing (as root, or with sudo -n). */
export function ensurePostgres(): void {
  if (existsSync(join(PG_BIN, 'initdb'))) return;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo -n ';
  process.stderr.write('installing Debian postgresql for the PostgreSQL suites (apt-get) …\n');
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql`, {
    stdio: ['ignore', 'ignore', 'inherit'],
    shell: '/bin/sh',
    timeout: 900_000,
  });
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`postgresql is still missing after apt-get install (no ${PG_BIN}/initdb)`);
}

/** A port that was free a moment ago (listen on 0, read it back, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Run a PostgreSQL binary as the postgres user when we are root, else as ourselves. */
function runPg(bin: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

export interface ClusterOptions {
  /** Durability off (fsync, synchronous_commit) for fast tests; benches keep the defaults. */
  fast?: boolean;
  maxConnections?: number;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<PgCluster> {
  ensurePostgres();
  const dir = mkdtempSync(join(tmpdir(), 'ws-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  runPg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      `-c listen_addresses=127.0.0.1`,
      `-c max_connections=${opts.maxConnections ?? 200}`,
      ...(opts.fast ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
    ].join(' ');
    try {
      runPg('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', settings, 'start']);
      return {
        adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
        port,
        dir,
        async stop() {
          try {
            runPg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    } catch (e) {
      // The port may have been taken between freePort and start: try another.
      lastErr = e;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`PostgreSQL did not start: ${(lastErr as Error).message}`);
}

let dbCounter = 0;

/** A fresh, empty database on the cluster at `adminUrl`; returns its URL and a dropper. */
export async function createDatabase(adminUrl: string, prefix = 'ws'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${dbCounter++}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
