// `waystation-cloud station add|list|token|disable` (SPEC §12) on the embedded SQLite store, and
// a running cloud honouring what the CLI wrote.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCloudConfig } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/server.ts';
import { bearer, chain, noonOf, silent, tempDir } from './helpers.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'waystation-cloud.js');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, WAYSTATION_CLOUD_KEY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('waystation-cloud station', () => {
  it('adds, lists, replaces a token and disables a station, and the cloud serves what it wrote', async () => {
    const dir = tempDir('wc-stcli-');
    const configPath = join(dir, 'cloud.json');
    writeFileSync(configPath, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, dataDir: './data', adminTokens: [], logLevel: 'warn' }));
    const added = cli('station', 'add', 'pd-040', '--zone', 'pudong', '--config', configPath, '--json');
    expect(added.code, added.stderr).toBe(0);
    const { token } = added.json() as { token: string };
    expect(added.json()).toMatchObject({ id: 'pd-040', zone: 'pudong', timezone: 'Asia/Shanghai' });
    const again = cli('station', 'add', 'pd-040', '--config', configPath);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('station_exists');
    const rotated = cli('station', 'token', 'pd-040', '--config', configPath, '--json').json() as { token: string };
    expect(rotated.token).not.toBe(token);

    const cloud = await startCloud(loadCloudConfig(configPath), { logger: silent, env: {} });
    try {
      const day = '2026-11-24';
      const events = chain([{ type: 'checkin', ts: noonOf(day), data: { riderId: 'r1', windowFrom: day, windowTo: day } }]);
      const up = (t: string) =>
        fetch(`${cloud.url}/v1/stations/pd-040/events`, { method: 'POST', headers: { ...bearer(t), 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect((await up(token)).status).toBe(401);
      expect(await (await up(rotated.token)).json()).toEqual({ ackedSeq: 1 });
      // The CLI beside the running server: the server sees the station disabled at once.
      expect(cli('station', 'disable', 'pd-040', '--config', configPath).code).toBe(0);
      const refused = await up(rotated.token);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: 'station_disabled' });
      const list = cli('station', 'list', '--config', configPath, '--json').json() as unknown as Array<Record<string, unknown>>;
      expect(list).toMatchObject([{ id: 'pd-040', enabled: false, sync: { ackedSeq: 1 } }]);
    } finally {
      await cloud.stop();
    }
  }, 120_000);
});
