/**
 * End to end over real pseudo-terminals: the real serialport binding in the drivers, the
 * simulators on the other end of a `socat` pty pair — in-process and as the CLI of SPEC §11.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureSocat, openPtyPair, type PtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { openSerialLink, type SerialLink } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim } from '../../firmware-sim/lockboard/sim.ts';
import { ScannerSim } from '../../firmware-sim/scanner/sim.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import { LockBus } from '../../edge/drivers/lockbus.ts';
import { ScannerReader } from '../../edge/drivers/scanner.ts';
import { LockerService } from '../../edge/core/lockers.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { silentLogger } from '../../edge/log.ts';
import { systemClock } from '../../protocol/time.ts';
import { tempDir } from '../helpers/tmp.ts';
import { busTimeouts, lockerTimings, serialReopen } from '../helpers/defaults.ts';

const logger = silentLogger();
const BOARDS = [
  { address: 1, locks: 24 },
  { address: 2, locks: 24 },
];

let tmp: { dir: string; cleanup: () => void };
let ledger: Ledger;
let health: DeviceHealth;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ensureSocat(); // also done by test/setup/system-tools.ts; repeated here so this file runs on its own
  tmp = tempDir('waystation-socat-');
  ledger = Ledger.open({ path: join(tmp.dir, 'station.db'), clock: systemClock, timezone: 'Asia/Shanghai', logger });
  health = new DeviceHealth({ ledger, clock: systemClock, logger });
}, 300_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  ledger?.close();
  tmp?.cleanup();
});

async function pair(): Promise<PtyPair> {
  const p = await openPtyPair();
  cleanups.push(() => p.close());
  return p;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

describe('over a socat pty pair', () => {
  it('drives the in-process lock-board simulator through the real serialport binding', async () => {
    const p = await pair();
    const sim = new LockBoardSim({ boards: BOARDS, latencyMs: 2, closeAfterMs: null, lateReplyMs: 400 });
    const link: SerialLink = await openSerialLink(p.device);
    sim.attach(link);
    cleanups.push(async () => {
      sim.stop();
      await link.close();
    });
    const bus = new LockBus({
      id: 'socat-bus',
      path: p.host,
      boards: BOARDS,
      logger,
      health,
      clock: systemClock,
      timeouts: busTimeouts({ replyTimeoutMs: 250 }),
      poll: false,
    });
    const lockers = new LockerService({ ledger, health, clock: systemClock, logger, buses: [bus], ...lockerTimings() });
    await bus.start();
    lockers.start();
    cleanups.push(async () => {
      lockers.stop();
      await bus.stop();
    });

    await bus.pollNow();
    expect(bus.isReachable(1) && bus.isReachable(2)).toBe(true);

    // Faults on the real tty: bad BCC, split bytes, leading garbage, a lost reply.
    sim.inject(1, 'bad_bcc', { times: 1 });
    sim.inject(2, 'split', { times: 1 });
    sim.inject(2, 'garbage', { times: 1 });
    await bus.pollNow();
    sim.inject(1, 'no_reply', { times: 1 });
    expect(await lockers.deposit('rider-a')).toEqual({ kind: 'deposited', compartment: '1-1' });
    expect(sim.door(1, 1)).toBe('open');
    expect(sim.unlockCount(1, 1)).toBe(1);
    sim.closeDoor(1, 1);
    await bus.pollNow();
    expect(lockers.holdingOf('rider-a')!.since).toEqual(expect.any(Number));
    expect(await lockers.retrieve('rider-a')).toEqual({ kind: 'retrieved', compartment: '1-1' });
    const c = health.get(boardDeviceId(1))!.counters;
    expect(c.badChecksums).toBe(1);
    expect(c.timeouts).toBe(1);
  });

  it('reads codes from the in-process scanner simulator through the real serialport binding', async () => {
    const p = await pair();
    const codes: string[] = [];
    const reader = new ScannerReader({ path: p.host, logger, onCode: (c) => codes.push(c), ...serialReopen() });
    await reader.start();
    cleanups.push(() => reader.stop());
    const link = await openSerialLink(p.device);
    cleanups.push(() => link.close());
    const sim = new ScannerSim(link, { pieceGapMs: 2 });
    await sim.scan('code-cr', 'CR');
    await sim.scan('code-lf', 'LF');
    await sim.scan('code-crlf', 'CRLF');
    await sim.oversized(3000);
    await sim.inPieces(sim.line('code-split', 'CRLF'), 4);
    await until(() => codes.length >= 4);
    expect(codes).toEqual(['code-cr', 'code-lf', 'code-crlf', 'code-split']);
    expect(reader.stats.oversizedLines).toBe(1);
  });

  it('serves the lockboard CLI on a pty and takes live fault commands on stdin', async () => {
    const p = await pair();
    const cli = spawnSim(['lockboard', '--path', p.device, '--boards', '7:24,8:24', '--latency-ms', '0', '--close-after', 'never']);
    await cli.ready(/lockboard simulator on/);
    const bus = new LockBus({
      path: p.host,
      boards: [
        { address: 7, locks: 24 },
        { address: 8, locks: 24 },
      ],
      logger,
      health,
      clock: systemClock,
      timeouts: busTimeouts({ replyTimeoutMs: 300, queryRetries: 1 }),
      poll: false,
    });
    await bus.start();
    cleanups.push(() => bus.stop());
    expect(await bus.unlock(7, 3)).toEqual({ kind: 'opened', confirmedBy: 'query' });
    cli.send('fault 8 offline');
    await cli.ready(/fault offline on board 8/);
    await bus.pollNow();
    expect(bus.isReachable(8)).toBe(false);
    cli.send('clear 8');
    cli.send('open 7-9');
    await cli.ready(/opened 7-9/);
    await bus.pollNow();
    expect(bus.isReachable(8)).toBe(true);
    expect(bus.doorState(7, 9)).toBe('open');
    expect(bus.doorState(7, 3)).toBe('open');
  });

  it('sends codes typed into the scanner CLI', async () => {
    const p = await pair();
    const codes: string[] = [];
    const reader = new ScannerReader({ path: p.host, logger, onCode: (c) => codes.push(c), ...serialReopen() });
    await reader.start();
    cleanups.push(() => reader.stop());
    const cli = spawnSim(['scanner', '--path', p.device, '--terminator', 'crlf']);
    cli.send('first-code');
    cli.send('second-code');
    await until(() => codes.length >= 2, 10_000);
    expect(codes).toEqual(['first-code', 'second-code']);
  });
});

/** Run `firmware-sim/cli.ts` as `npm run sim` does (tsx), with stdin for commands. */
function spawnSim(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'firmware-sim/cli.ts', ...args], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (t: string) => (out += t));
  child.stderr!.on('data', (t: Buffer) => (out += t.toString()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  return {
    send: (line: string) => child.stdin!.write(`${line}\n`),
    ready: async (re: RegExp) => {
      await until(() => re.test(out), 15_000);
      if (!re.test(out)) throw new Error(`simulator CLI did not print ${re}: ${out}`);
    },
  };
}
