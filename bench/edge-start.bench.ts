/**
 * The compiled daemon at rest (issue 10, item 5), as a station runs it: `waystation-edge`
 * (dist/, plain node) with two lock boards polled every second on a socat pseudo-terminal and
 * one dispenser simulator sending telemetry every 10 s.
 *
 * - Start → "running" (median of 3 starts) and resident memory right after start, each against
 *   the same daemon run the old way (TypeScript through the tsx loader) in the same run.
 * - Idle CPU over 45 s, once start-up has settled, as a share of one core (target ≤ 0.5 %),
 *   against a bare node process doing the same serial polls (bench/serial-poll-baseline.js)
 *   over the same seconds, so the neighbours' load weighs on both.
 * The resident memory after 100,000 claims is edge.bench.ts's (the same compiled daemon).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../protocol/index.ts';
import { DispenserSimulator } from '../firmware-sim/dispenser/simulator.ts';
import { openSerialLink } from '../firmware-sim/lockboard/link.ts';
import { ensureSocat, openPtyPair } from '../firmware-sim/lockboard/pty.ts';
import { LockBoardSim } from '../firmware-sim/lockboard/sim.ts';
import { binEnv, binNodeFlags, cpuSecondsOf, ensureBuilt, residentOf, residentSplit, root, startDaemon, type Daemon, type Runtime } from './edge-daemon.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';

const TOKEN = 'bench-maintenance-token';
/** The idle sample: /proc counts CPU in 10 ms ticks, so 45 s resolves 0.02 % of a core. */
const IDLE_MS = 45_000;
/**
 * Start-up's tail is not rest: V8's memory reducer runs two or three full collections
 * (~50–150 ms of CPU) some 8–10 s after start-up allocation stops, inside a sample that
 * begins sooner; a 20 s sample from 3 s after start read ~0.5 % for a daemon using ~0.2 % at rest.
 */
const SETTLE_MS = 12_000;
const POLL_MS = 1_000;
const STARTS = 3;
const BOARDS = [
  { address: 1, locks: 24 },
  { address: 2, locks: 24 },
];

interface Run {
  daemon: Daemon;
  rss: number;
  /** What the resident memory is: anonymous, file-backed. */
  split: string;
  close(): Promise<void>;
}

/** One daemon with its devices, up until both boards and the dispenser are online. */
async function run(runtime: Runtime): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'waystation-edge-start-'));
  const pty = await openPtyPair();
  const link = await openSerialLink(pty.device);
  const boards = new LockBoardSim({ boards: BOARDS, latencyMs: 5, closeAfterMs: null });
  boards.attach(link);
  const daemon = await startDaemon(
    dir,
    {
      stationId: 'dn-bench',
      timezone: 'Asia/Shanghai',
      dataDir: './data',
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      credentials: { jwks: { keys: [] }, revokedRiders: [] },
      maintenanceTokens: [{ name: 'bench', sha256: sha256Hex(TOKEN) }],
      dispensers: [{ id: 'disp-1', password: 'secret-1' }],
      lockBuses: [{ path: pty.host, baudRate: 9600, boards: BOARDS }],
      lockers: { pollIntervalMs: POLL_MS },
      logLevel: 'warn',
    },
    runtime,
  );
  const disp = new DispenserSimulator({ url: `mqtt://127.0.0.1:${daemon.mqttPort}`, id: 'disp-1', password: 'secret-1', motorMs: 0, telemetryIntervalMs: 10_000, stock: 40 });
  await disp.start();
  for (let i = 0; ; i++) {
    const h = (await (await fetch(`${daemon.url}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { devices: Array<{ state: string }> };
    if (h.devices.filter((d) => d.state === 'online').length >= 3) break;
    if (i > 200) throw new Error(`devices did not come online: ${JSON.stringify(h.devices)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const resident = residentOf(daemon.child.pid!);
  return {
    daemon,
    rss: resident.rss,
    split: residentSplit(resident),
    close: async () => {
      await disp.stop().catch(() => undefined);
      await daemon.stop();
      boards.stop();
      await link.close();
      pty.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * bench/serial-poll-baseline.js on its own pty and simulated boards (the same as the daemon's),
 * run with the daemon's environment and node flags; `close()` stops it and answers how many replies it got.
 */
async function serialBaseline(): Promise<{ pid: number; close(): Promise<number> }> {
  const pty = await openPtyPair();
  const link = await openSerialLink(pty.device);
  const boards = new LockBoardSim({ boards: BOARDS, latencyMs: 5, closeAfterMs: null });
  boards.attach(link);
  const script = join(root, 'bench/serial-poll-baseline.js');
  const child = spawn(process.execPath, [...binNodeFlags(), script, pty.host, String(POLL_MS), ...BOARDS.map((b) => String(b.address))], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: binEnv(),
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('polling')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`serial baseline exited ${code}: ${err}`)));
  });
  return {
    pid: child.pid!,
    close: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      boards.stop();
      await link.close();
      await pty.close();
      return Number(/replies (\d+)/.exec(out)?.[1] ?? 0);
    },
  };
}

export default async function edgeStartBench(ctx: BenchContext): Promise<BenchRow[]> {
  ensureSocat();
  ensureBuilt();
  const mib = (b: number) => `${fmt(b / 1048576, 1)} MiB`;
  const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;

  const old = await run('tsx');
  await old.close();
  ctx.progress(`tsx: running after ${s(old.daemon.startMs)}, ${mib(old.rss)}`);

  const starts: number[] = [];
  const runs: Run[] = [];
  let last: Run | undefined;
  for (let i = 0; i < STARTS; i++) {
    last = await run('compiled');
    starts.push(last.daemon.startMs);
    runs.push(last);
    ctx.progress(`start ${i + 1}: running after ${s(last.daemon.startMs)}, ${mib(last.rss)} (${last.split})`);
    if (i < STARTS - 1) await last.close();
  }
  const startMs = percentile(starts, 50);
  const median = runs.find((r) => r.rss === percentile(runs.map((x) => x.rss), 50))!;
  const rssStart = median.rss;
  ctx.progress(`compiled: running after ${s(startMs)}, ${mib(rssStart)}; idle for ${IDLE_MS / 1000} s`);

  // Idle: let start-up work settle, then count the CPU the daemon and the bare serial poller
  // use over the same seconds while nothing happens.
  const pid = last!.daemon.child.pid!;
  const base = await serialBaseline();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const cpu0 = cpuSecondsOf(pid);
  const baseCpu0 = cpuSecondsOf(base.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const seconds = (performance.now() - t0) / 1000;
  const idle = (cpuSecondsOf(pid) - cpu0) / seconds;
  const baseIdle = (cpuSecondsOf(base.pid) - baseCpu0) / seconds;
  const rssIdle = residentOf(pid).rss;
  await last!.close();
  const replies = await base.close();
  // Two boards a second since it started: a baseline that did not talk to its boards measures nothing.
  if (replies < BOARDS.length * ((SETTLE_MS + IDLE_MS) / POLL_MS) * 0.9) throw new Error(`the serial baseline got only ${replies} replies`);

  return [
    {
      name: 'daemon start → "running" (compiled, 2 boards + 1 dispenser, median of 3)',
      value: s(startMs),
      ratio: `${fmt(startMs / old.daemon.startMs, 2)}× the same daemon through tsx (${s(old.daemon.startMs)}); target ≤ 1.5 s`,
    },
    {
      name: 'daemon resident memory right after start (compiled, 2 boards + 1 dispenser)',
      value: mib(rssStart),
      ratio: `${fmt(rssStart / old.rss, 2)}× through tsx (${mib(old.rss)}); target ≤ 80 MiB; ${median.split}; the 3 starts ${runs.map((r) => fmt(r.rss / 1048576, 1)).join(', ')} MiB`,
    },
    {
      name: `daemon idle CPU (boards polled every 1 s, telemetry every 10 s; ${IDLE_MS / 1000} s from ${SETTLE_MS / 1000} s after start)`,
      value: `${fmt(idle * 100, 2)} % of a core`,
      ratio: `${fmt(idle / baseIdle, 2)}× a bare serialport process doing the same polls (${fmt(baseIdle * 100, 2)} %); target ≤ 0.5 %; resident memory after the idle spell ${mib(rssIdle)}`,
    },
  ];
}
