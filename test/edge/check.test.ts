/**
 * `waystation-edge check` warnings (SPEC §16): the example's secrets, a config or data folder
 * others can read, no keys to check rider codes, no cloud; `--strict` refuses them (exit 2).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../edge/config.ts';
import { checkWarnings } from '../../edge/tools/check.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../helpers/station.ts';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'edge/cli.ts');
const tmp = tempDir('waystation-check-');
afterAll(() => tmp.cleanup());

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

function write(name: string, doc: Record<string, unknown>, mode: number): string {
  const file = join(tmp.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(doc));
  chmodSync(file, mode);
  return file;
}

const safe = {
  stationId: 'dn-check',
  timezone: 'Asia/Shanghai',
  dataDir: './data-safe',
  http: { host: '127.0.0.1', port: 0 },
  mqtt: { host: '127.0.0.1', port: 0 },
  credentials: { jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' }] }, revokedRiders: [] },
  maintenanceTokens: [{ name: 'ops', sha256: sha256('a-real-token') }],
  dispensers: [{ id: 'disp-1', password: 'a-long-random-device-secret' }],
  lockBuses: [],
  cloud: { url: 'https://cloud.example', token: 'a-real-station-token' },
};

describe('waystation-edge check', () => {
  it('warns about the example config as shipped: its secrets, no keys and no cloud', () => {
    const example = JSON.parse(readFileSync(join(root, 'edge/station.example.json'), 'utf8')) as Record<string, unknown>;
    const file = write('example', example, 0o600);
    const codes = checkWarnings(resolveConfig(example, tmp.dir), file).map((w) => [w.code, w.message.split(' ')[0]]);
    expect(codes).toEqual([
      ['example_secret', '/dispensers/disp-1/password'],
      ['example_secret', '/maintenanceTokens/ops-wang'],
      ['no_signing_keys', '/credentials/jwks/keys'],
      ['no_cloud', 'no'],
    ]);
  });

  it('warns when others can read the config or the data folder, and says the chmod', () => {
    const file = write('open', { ...safe, dataDir: './data-open' }, 0o644);
    mkdirSync(join(tmp.dir, 'data-open'), { mode: 0o755 });
    chmodSync(join(tmp.dir, 'data-open'), 0o755);
    const w = checkWarnings(resolveConfig({ ...safe, dataDir: './data-open' }, tmp.dir), file);
    expect(w.map((x) => x.code)).toEqual(['readable_by_others', 'readable_by_others']);
    expect(w[0]!.message).toContain(`chmod o-rwx ${file}`);
    expect(w[1]!.message).toContain('the data folder');
  });

  it('passes a safe config with no warnings, and --strict refuses a config with warnings (exit 2)', async () => {
    const good = write('safe', safe, 0o600);
    const bad = write('example-strict', { ...safe, dispensers: [{ id: 'disp-1', password: 'change-me-disp-1' }] }, 0o600);
    const alone = write('alone', { ...safe, cloud: undefined }, 0o600);
    const [g, warned, strict, a] = await Promise.all([
      run(['check', '--config', good, '--strict']),
      run(['check', '--config', bad]),
      run(['check', '--config', bad, '--strict']),
      run(['check', '--config', alone, '--strict']),
    ]);
    // Running alone (no cloud) is allowed (SPEC §11): advice, not a refusal.
    expect(a.code).toBe(0);
    expect(a.stderr).toContain('warning [no_cloud]');
    expect([g.code, g.stderr.trim()]).toEqual([0, `config ok: station dn-check, data in ${join(tmp.dir, 'data-safe')}`]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning [example_secret]: /dispensers/disp-1/password is still the example');
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('refused (--strict): 1 warning above');
  });
});
