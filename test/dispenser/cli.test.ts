/** The simulator CLI of SPEC §11 in its own process, with the stdin fault console. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyConsoleCommand, parseDispenserArgs } from '../../firmware-sim/dispenser/cli.ts';
import { DispenserSimulator } from '../../firmware-sim/dispenser/simulator.ts';
import { password, startStation, waitFor, type Station } from './harness.ts';

let station: Station | undefined;
let child: ChildProcess | undefined;
const dirs: string[] = [];
afterEach(async () => {
  child?.kill('SIGTERM');
  child = undefined;
  await station?.stop();
  station = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('dispenser simulator CLI', () => {
  it('parses exactly the SPEC §11 options and refuses bad ones with the usage', () => {
    const o = parseDispenserArgs(['dispenser', '--url', 'mqtt://127.0.0.1:1883', '--id', 'disp-1', '--password', 's', '--stock', '12', '--faults', 'random:0.2@5']);
    expect(o).toMatchObject({ url: 'mqtt://127.0.0.1:1883', id: 'disp-1', password: 's', stock: 12, faults: 'random:0.2@5' });
    expect(() => parseDispenserArgs(['--url', 'http://x', '--id', 'disp-1', '--password', 's'])).toThrow(/--url must be like/);
    expect(() => parseDispenserArgs(['--url', 'mqtt://h:1', '--id', 'disp-1', '--password', 's', '--faults', 'gremlins'])).toThrow(/unknown fault "gremlins"/);
    expect(() => parseDispenserArgs(['--url', 'mqtt://h:1', '--id', 'disp-1'])).toThrow(/--password is required/);
  });

  it('runs as a process against the station broker and takes faults from standard input', async () => {
    station = await startStation({ dispenseTimeoutMs: 3000 });
    const s = station;
    const dir = mkdtempSync(join(tmpdir(), 'waystation-cli-'));
    dirs.push(dir);
    const entry = join(import.meta.dirname, 'fixtures', 'run-dispenser-cli.ts');
    child = spawn(
      process.execPath,
      ['--import', 'tsx', entry, 'dispenser', '--url', s.url, '--id', 'disp-1', '--password', password('disp-1'), '--stock', '5', '--faults', 'jam', '--motor-ms', '0', '--memory', join(dir, 'mem.json')],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => s.health.usable('disp-1'), 10_000, `CLI simulator online; stderr: ${stderr}`);
    expect(s.driver.state('disp-1')?.stock).toEqual({ hot: 5, cold: 5 });
    s.quota.checkin('rider-cli');
    // `--faults jam`: a jammed machine, every vend fails until the console clears it.
    expect(await s.claims.claim('rider-cli', 'hot')).toMatchObject({ kind: 'dispense_failed', reason: 'jam' });
    expect(await s.claims.claim('rider-cli', 'hot')).toMatchObject({ kind: 'dispense_failed', reason: 'jam' });
    child.stdin!.write('profile none\n');
    await waitFor(() => stderr.includes('profile none'), 3000, 'console answered');
    expect((await s.claims.claim('rider-cli', 'hot')).kind).toBe('committed');
    child.stdin!.write('door open\n');
    await waitFor(() => s.health.get('disp-1')?.faults.includes('door_open') ?? false, 3000, 'door_open from the console');
    child.stdin!.write('quit\n');
    await new Promise<void>((r) => child!.once('exit', () => r()));
    await waitFor(() => s.health.get('disp-1')?.state === 'offline', 3000, 'offline after quit');
    expect(stderr).toMatch(/vend .*: dropped/);
  }, 30_000);

  it('applies console commands to a simulator', async () => {
    station = await startStation();
    const sim = await station.addSim('disp-1');
    const out: string[] = [];
    const run = (l: string): boolean => applyConsoleCommand(sim, l, (s) => out.push(s));
    expect(run('stock cold 3')).toBe(true);
    expect(sim.stock.cold).toBe(3);
    run('heater on');
    expect(sim.faults()).toContain('heater');
    run('temp cold 30');
    expect(sim.faults()).toContain('temp_high');
    run('fault late_event');
    run('fault gremlins');
    expect(out.at(-1)).toMatch(/unknown fault/);
    run('clear');
    expect(sim.faults()).toEqual([]);
    expect(run('quit')).toBe(false);
    expect(sim).toBeInstanceOf(DispenserSimulator);
  });
});
