/**
 * The compiled production daemon (issue 10, item 5): `waystation-edge` runs dist/ with plain
 * node — no TypeScript loader — reaches "running", serves the kiosk page copied beside the
 * compiled code, and stops cleanly on SIGTERM. (The global setup builds dist/ when stale.)
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../helpers/station.ts';

const root = join(import.meta.dirname, '../..');
const tmp = tempDir('waystation-compiled-');
afterAll(() => tmp.cleanup());

describe('compiled daemon (dist/)', () => {
  it('bin/waystation-edge.js starts dist/edge/cli.js with plain node and reaches running', async () => {
    const file = join(tmp.dir, 'station.json');
    writeFileSync(
      file,
      JSON.stringify({
        stationId: 'dn-dist',
        timezone: 'Asia/Shanghai',
        dataDir: './data',
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { host: '127.0.0.1', port: 0 },
        credentials: { jwks: { keys: [] }, revokedRiders: [] },
        maintenanceTokens: [{ name: 'ops', sha256: sha256('dist-token') }],
        dispensers: [{ id: 'disp-1', password: 'x' }],
        lockBuses: [],
        logLevel: 'warn',
      }),
    );
    // Plain node, no --import: a .ts import anywhere in dist/ would fail here.
    const child = spawn(process.execPath, [join(root, 'bin/waystation-edge.js'), '--config', file], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    let err = '';
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`compiled daemon did not start: ${err}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /station dn-dist running: kiosk (http:\/\/[^/\s]+)\//.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      void exit.then((code) => {
        clearTimeout(t);
        reject(new Error(`compiled daemon exited ${code}: ${err}`));
      });
    });
    try {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(root, 'edge/kiosk/index.html'), 'utf8'));
      const js = await fetch(`${url}/kiosk/kiosk.js`);
      expect(await js.text()).toBe(readFileSync(join(root, 'edge/kiosk/kiosk.js'), 'utf8'));
      const info = (await (await fetch(`${url}/v1/kiosk/info`)).json()) as { stationId: string };
      expect(info.stationId).toBe('dn-dist');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
    expect(err).not.toMatch(/tsx|ERR_UNKNOWN_FILE_EXTENSION/);
  });
});
