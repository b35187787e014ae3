/**
 * `waystation-cloud` subcommands (SPEC §4, §11) as an operator runs them: tokens, riders,
 * credentials, signing keys — each a real process on a real config and SQLite file. The
 * credentials it prints verify against the JWKS the cloud then serves, and the revocation and
 * key rotation show there.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex, verifyCredential } from '../../protocol/index.ts';
import { loadCloudConfig } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/server.ts';
import { silent, tempDir } from './helpers.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/waystation-cloud.js');
const dir = tempDir('wc-cli-');
const configPath = join(dir, 'cloud.json');
const example = JSON.parse(readFileSync(join(root, 'cloud/cloud.example.json'), 'utf8')) as Record<string, unknown>;
writeFileSync(configPath, JSON.stringify({ ...example, http: { host: '127.0.0.1', port: 0 }, dataDir: './data', logLevel: 'warn' }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string; json: () => Record<string, unknown> } {
  // Run from the repo root, not the config's folder: the relative dataDir follows the config file.
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('waystation-cloud CLI', () => {
  it('makes a token and its hash, and hashes a given token', () => {
    const made = cli('token', 'new', '--json');
    expect(made.code).toBe(0);
    const { token, sha256 } = made.json() as { token: string; sha256: string };
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(sha256).toBe(sha256Hex(token));
    expect(cli('token', 'hash', 'street-office-secret', '--json').json()).toEqual({ sha256: sha256Hex('street-office-secret') });
  });

  it('registers a rider, issues and rotates, revokes — and the cloud serves what the CLI wrote', async () => {
    const added = cli('rider', 'add', '--config', configPath, '--group', 'courier', '--platform', 'meituan', '--json');
    expect(added.code, added.stderr).toBe(0);
    const rider = added.json() as { riderId: string; credential: string; kid: string; group: string; platform: string };
    expect(rider).toMatchObject({ group: 'courier', platform: 'meituan' });
    expect(Object.keys(rider)).not.toContain('phone');

    const reissued = cli('credential', 'issue', rider.riderId, '--config', configPath, '--ttl-days', '30', '--json').json() as { credential: string; expiresAt: number };
    expect(reissued.expiresAt - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(reissued.expiresAt - Date.now()).toBeLessThanOrEqual(30 * 86_400_000);

    const rotated = cli('keys', 'rotate', '--config', configPath, '--json').json() as { kid: string };
    expect(rotated.kid).not.toBe(rider.kid);
    const keys = cli('keys', 'list', '--config', configPath, '--json').json() as unknown as Array<{ kid: string; retiredAt: number | null }>;
    expect(keys.map((k) => [k.kid, k.retiredAt === null])).toEqual(
      expect.arrayContaining([
        [rider.kid, false],
        [rotated.kid, true],
      ]),
    );
    const afterRotation = cli('credential', 'issue', rider.riderId, '--config', configPath, '--json').json() as { credential: string; kid: string };
    expect(afterRotation.kid).toBe(rotated.kid);

    // The server on the same file publishes both keys: old and new credentials verify.
    const cloud = await startCloud(loadCloudConfig(configPath), { logger: silent });
    try {
      const jwks = (await (await fetch(`${cloud.url}/.well-known/jwks.json`)).json()) as Parameters<typeof verifyCredential>[1]['jwks'];
      for (const c of [rider.credential, reissued.credential, afterRotation.credential]) {
        expect(await verifyCredential(c, { jwks, revokedRiders: [], nowMs: Date.now() })).toMatchObject({ ok: true, riderId: rider.riderId });
      }
    } finally {
      await cloud.stop();
    }

    const revoked = cli('rider', 'revoke', rider.riderId, '--config', configPath, '--reason', 'lost phone', '--json');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json()).toMatchObject({ riderId: rider.riderId, revokedAt: expect.any(Number) });
    expect(cli('rider', 'show', rider.riderId, '--config', configPath, '--json').json()).toMatchObject({ riderId: rider.riderId, revokedAt: expect.any(Number) });
    // Nine command runs, each a fresh process: give a loaded 2-core machine room.
  }, 120_000);

  it('says what is wrong and exits non-zero on bad use', () => {
    const noGroup = cli('rider', 'add', '--config', configPath);
    expect([noGroup.code, noGroup.stderr]).toEqual([2, expect.stringContaining('--group must be one of')]);
    const unknown = cli('rider', 'show', 'r-does-not-exist', '--config', configPath);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not_found|unknown/);
    const noConfig = cli('rider', 'add', '--group', 'courier');
    expect([noConfig.code, noConfig.stderr]).toEqual([2, expect.stringContaining('--config <file> is required')]);
    const badTtl = cli('credential', 'issue', 'r-x', '--config', configPath, '--ttl-days', '0');
    expect([badTtl.code, badTtl.stderr]).toEqual([2, expect.stringContaining('--ttl-days')]);
  });
});
