import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadCloudConfig, parseCloudConfig } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/server.ts';
import { silent, tempDir, testConfig } from './helpers.ts';

describe('cloud config (SPEC §11)', () => {
  it('fills defaults and freezes the result', () => {
    const c = parseCloudConfig({ dataDir: './data/cloud', stations: [{ id: 'dn-001', tokenSha256: 'a'.repeat(64) }] });
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8090 });
    expect(c.stations[0]).toMatchObject({ timezone: 'Asia/Shanghai', zone: 'default', maintenanceTokens: [] });
    expect(c.quota).toEqual({ windowDays: 7, claimsPerDay: 1, scope: 'station', zones: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.stations[0])).toBe(true);
  });

  it('refuses an invalid config with one message per bad key, each with its path', () => {
    let err: unknown;
    try {
      parseCloudConfig({
        http: { port: 99999 },
        stations: [{ id: 'DN 1', tokenSha256: 'xyz', timezone: 'Asia/Shanghai' }],
        adminTokens: [{ name: 'x', sha256: 'short' }],
        surprise: true,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    const paths = problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(expect.arrayContaining(['/http/port', '/dataDir', '/stations/0/id', '/stations/0/tokenSha256', '/adminTokens/0/sha256']));
    expect(new Set(paths).size).toBe(paths.length);
    expect((err as Error).message).toContain('/stations/0/tokenSha256');
  });

  it('refuses duplicate stations and unknown time zones', () => {
    const st = { id: 'dn-001', tokenSha256: 'a'.repeat(64) };
    expect(() => parseCloudConfig({ dataDir: 'x', stations: [st, { ...st, tokenSha256: 'b'.repeat(64) }] })).toThrow(/duplicate station id/);
    expect(() => parseCloudConfig({ dataDir: 'x', stations: [{ ...st, timezone: 'Mars/Olympus' }] })).toThrow(/\/stations\/0\/timezone/);
  });

  it('keeps zone feed rows at least as long as the longest quota window plus two days', () => {
    expect(parseCloudConfig({ dataDir: 'x' }).zoneFeed.keepDays).toBe(14);
    expect(() => parseCloudConfig({ dataDir: 'x', zoneFeed: { keepDays: 8 } })).toThrow(/\/zoneFeed\/keepDays: 8 days is less than the longest quota window \(7 days\) plus 2; raise it to at least 9/);
    expect(() => parseCloudConfig({ dataDir: 'x', zoneFeed: { keepDays: 14 }, quota: { zones: { far: { windowDays: 30 } } } })).toThrow(/at least 32/);
    expect(parseCloudConfig({ dataDir: 'x', zoneFeed: { keepDays: 9 } }).zoneFeed.keepDays).toBe(9);
  });

  it('loads the example config shipped in cloud/', () => {
    const c = loadCloudConfig('cloud/cloud.example.json');
    expect(c.stations.map((s) => s.id)).toEqual(['dn-001']);
    // A relative dataDir is the config file's neighbour, wherever the command runs from.
    expect(c.dataDir).toBe(join(import.meta.dirname, '../../data/cloud'));
  });

  it('will not open a new database beside one a working-directory-relative dataDir used to find', () => {
    const root = tempDir('wc-datadir-');
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'srv', 'data'), { recursive: true });
    writeFileSync(join(root, 'srv', 'data', 'cloud.db'), '');
    const file = join(root, 'etc', 'cloud.json');
    writeFileSync(file, JSON.stringify({ dataDir: './data', stations: [] }));
    const cwd = process.cwd();
    process.chdir(join(root, 'srv'));
    try {
      expect(() => loadCloudConfig(file)).toThrow(/now taken from the config file's folder .* the database is at .*srv\/data/);
      // Once the database is where the config says (or dataDir is absolute), it loads.
      mkdirSync(join(root, 'etc', 'data'));
      writeFileSync(join(root, 'etc', 'data', 'cloud.db'), '');
      expect(loadCloudConfig(file).dataDir).toBe(join(root, 'etc', 'data'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('says which port is taken and how to fix it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const config = testConfig(tempDir(), { http: { host: '127.0.0.1', port } });
    await expect(startCloud(config, { logger: silent })).rejects.toThrow(`port ${port} is in use; set http.port in the config or free it`);
    blocker.close();
  });

  it('starts in-process on port 0 and stops', async () => {
    const cloud = await startCloud(testConfig(), { logger: silent });
    const res = await fetch(`${cloud.url}/healthz`);
    expect(await res.json()).toEqual({ ok: true });
    await cloud.stop();
  });
});
