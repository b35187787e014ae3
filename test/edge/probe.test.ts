/**
 * `waystation-edge probe` (SPEC §16) over real pseudo-terminals (socat) with the lock-board
 * simulator at unusual addresses: it finds exactly those boards with their doors, exits 1 when
 * nobody answers and 2, with what to check, when the port cannot be opened.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSocat, openPtyPair, type PtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { openSerialLink, type SerialLink } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim.ts';
import { PROFILE_8A80 } from '../../protocol/index.ts';
import { probeBus } from '../../edge/tools/probe.ts';

const root = join(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'edge/cli.ts');

let pair: PtyPair;
let link: SerialLink;
let sim: LockBoardSim;

beforeAll(async () => {
  ensureSocat();
  pair = await openPtyPair();
  link = await openSerialLink(pair.device);
  sim = new LockBoardSim({ boards: [{ address: 7, locks: 24 }, { address: 23, locks: 24 }], latencyMs: 2, closeAfterMs: null });
  sim.attach(link);
  sim.forceOpen(23, 5);
}, 120_000);

afterAll(async () => {
  sim?.stop();
  await link?.close();
  await pair?.close();
});

/** Run the CLI without blocking this process: the simulator answers from here. */
function probe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [cli, 'probe', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('waystation-edge probe', () => {
  it('finds exactly the boards at addresses 7 and 23, with their doors', async () => {
    const r = await probeBus({ path: pair.host, baudRate: 9600, profile: PROFILE_8A80, timeoutMs: 60 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.boards.map((b) => b.address)).toEqual([7, 23]);
    expect(r.boards[1]!.closed[4]).toBe(false);
    expect(r.boards[0]!.closed.every(Boolean)).toBe(true);
  });

  it('prints one line per board that answered and exits 0 (the CLI, SPEC §16)', async () => {
    const r = await probe(['--path', pair.host, '--timeout-ms', '60']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['board 7: 24 locks, all closed', 'board 23: 24 locks, open 5, the rest closed']);
    expect(r.stderr).toContain('2 boards answered: addresses 7, 23');
  });

  it('exits 1 with what to check when no board answers (wrong profile: Kerong frames get no 8A/80 answer)', async () => {
    const r = await probe(['--path', pair.host, '--timeout-ms', '20', '--profile', 'kerong-cu16']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no board answered[\s\S]*RS-485 A\/B wires/);
  });

  it('exits 2 with what to do when the port cannot be opened', async () => {
    const r = await probe(['--path', '/dev/serial/by-id/usb-nothing-here']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot open \/dev\/serial\/by-id\/usb-nothing-here: no such port\. check the USB\/RS-485 cable/);
  });

  it('refuses bad options with exit 2 and the usage', async () => {
    expect((await probe([])).code).toBe(2);
    expect((await probe(['--path', pair.host, '--profile', 'nope'])).stderr).toContain('--profile must be one of');
  });
});
