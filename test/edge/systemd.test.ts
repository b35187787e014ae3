/**
 * The systemd units in deploy/systemd (SPEC §16, docs/install.md): the station restarts on
 * failure, a health check restarts it when /healthz stops answering, its data lives in a
 * StateDirectory, it runs as a dedicated user with the dialout group, and a timer backs it up
 * nightly. `systemd-analyze verify` checks them when installed (Debian's `systemd`), with the
 * install paths pointed at this checkout so the executables it looks for exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

const root = join(import.meta.dirname, '../..');
const dir = join(root, 'deploy/systemd');
const tmp = tempDir('waystation-units-');
afterAll(() => tmp.cleanup());

/** `Key=value` lines of a unit, by key (a key may repeat). */
function keys(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

function verify(files: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(analyze!, ['verify', ...files], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe('deploy/systemd', () => {
  it('runs the station as a dedicated user in dialout, restarts it on failure, keeps its data in a StateDirectory', () => {
    const k = keys('waystation-edge.service');
    expect(k.get('User')).toEqual(['waystation']);
    expect(k.get('SupplementaryGroups')).toEqual(['dialout']);
    expect(k.get('Restart')).toEqual(['on-failure']);
    expect(k.get('StateDirectory')).toEqual(['waystation']);
    expect(k.get('StateDirectoryMode')).toEqual(['0700']);
    expect(k.get('ExecStartPre')![0]).toContain('check --strict');
    // Longer than the default drain (shutdownDrainMs 25 s), so claims in flight can finish.
    expect(k.get('TimeoutStopSec')).toEqual(['40s']);
    // The daemon runs with the environment and node flags of bin/waystation-edge.js's shebang (its
    // memory figure, docs/performance.md, is measured with them), which `node <script>` would not read.
    const shebang = readFileSync(join(root, 'bin/waystation-edge.js'), 'utf8').split('\n', 1)[0]!;
    // Kernels before 5.1 read only the first 127 characters of a `#!` line.
    expect(shebang.length).toBeLessThanOrEqual(127);
    const m = /^#!\/usr\/bin\/env -S ((?:[A-Za-z_][A-Za-z0-9_]*=\S* )*)node(.*)$/.exec(shebang)!;
    const assignments = m[1]!.trim().split(/\s+/).filter(Boolean);
    const flags = m[2]!.trim();
    expect(flags).not.toBe('');
    // Any NAME=value the line sets for node (env -S takes them before the command) is in the unit too.
    for (const a of assignments) expect(k.get('Environment')).toContain(a);
    expect(k.get('ExecStart')![0]).toBe(`/usr/bin/node ${flags} /opt/waystation/bin/waystation-edge.js --config /etc/waystation/station.json`);
    const health = keys('waystation-edge-health.service');
    expect(health.get('Environment')![0]).toMatch(/^WAYSTATION_HEALTH_URL=http:\/\/127\.0\.0\.1:\d+\/healthz$/);
    expect(health.get('ExecStart')![0]).toMatch(/curl[\s\S]*WAYSTATION_HEALTH_URL[\s\S]*systemctl restart waystation-edge\.service/);
    expect(keys('waystation-edge-health.timer').get('OnUnitActiveSec')).toEqual(['1min']);
    expect(keys('waystation-backup.service').get('ExecStart')![0]).toContain('backup --config');
    expect(keys('waystation-backup.timer').get('OnCalendar')).toEqual(['*-*-* 03:30:00']);
  });

  it.skipIf(!analyze)('passes systemd-analyze verify with no warnings (and a misspelt key would not)', () => {
    const units = readdirSync(dir).filter((f) => /\.(service|timer)$/.test(f));
    expect(units.sort()).toEqual(['waystation-backup.service', 'waystation-backup.timer', 'waystation-edge-health.service', 'waystation-edge-health.timer', 'waystation-edge.service']);
    const config = join(tmp.dir, 'station.json');
    writeFileSync(config, '{}');
    const copies = units.map((f) => {
      const out = join(tmp.dir, f);
      writeFileSync(out, readFileSync(join(dir, f), 'utf8').replaceAll('/opt/waystation', root).replaceAll('/etc/waystation/station.json', config));
      return out;
    });
    const ok = verify(copies);
    expect(ok.stderr.trim()).toBe('');
    expect(ok.code).toBe(0);
    const bad = join(tmp.dir, 'misspelt.service');
    writeFileSync(bad, readFileSync(copies.find((c) => c.endsWith('waystation-edge.service'))!, 'utf8').replace('Restart=on-failure', 'Restartt=on-failure'));
    expect(verify([bad]).stderr).toContain("Unknown key 'Restartt'");
  });
});
