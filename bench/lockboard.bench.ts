/**
 * Lock-board round trip: a query-all request (5 bytes) and its reply (7 bytes) through the
 * LockBus driver and the real serialport binding, over a socat pty pair to the simulator at
 * 0 ms board latency. Baselines in the same run: the wire time of the same 12 bytes at 9600
 * baud 8N1 (10 bits a byte), and a raw pty round trip of the same bytes without the driver.
 * A pty does not enforce a baud rate, so the measured time is software (driver, serialport,
 * kernel tty, simulator), not line time.
 */
import { join } from 'node:path';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';
import { ensureSocat, openPtyPair } from '../firmware-sim/lockboard/pty.ts';
import { openSerialLink } from '../firmware-sim/lockboard/link.ts';
import { LockBoardSim } from '../firmware-sim/lockboard/sim.ts';
import { LockBus } from '../edge/drivers/lockbus.ts';
import { DeviceHealth } from '../edge/core/health.ts';
import { Ledger } from '../edge/ledger/ledger.ts';
import { silentLogger } from '../edge/log.ts';
import { systemClock } from '../protocol/time.ts';
import { encodeReply, encodeRequest } from '../protocol/lockboard/index.ts';
import { openSerialPort } from '../edge/drivers/lockbus/open-port.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { busTimeouts } from '../test/helpers/defaults.ts';

const WIRE_MS = ((5 + 7) * 10 * 1000) / 9600; // 12.5 ms at 9600 baud 8N1
const WARMUP = 100;
const SAMPLES = 2000;
const BUDGET_MS = 10_000;

export default async function lockboardBench(ctx: BenchContext): Promise<BenchRow[]> {
  ensureSocat();
  const logger = silentLogger();
  const dir = mkdtempSync(join(tmpdir(), 'waystation-bench-lockboard-'));
  const ledger = Ledger.open({ path: join(dir, 'bench.db'), clock: systemClock, timezone: 'Asia/Shanghai', logger });
  const health = new DeviceHealth({ ledger, clock: systemClock, logger });

  // Through the driver.
  ctx.progress('query-all round trips through LockBus over a socat pty');
  const pair = await openPtyPair();
  const sim = new LockBoardSim({ boards: [{ address: 1, locks: 24 }], latencyMs: 0, closeAfterMs: null });
  const link = await openSerialLink(pair.device);
  sim.attach(link);
  const bus = new LockBus({ path: pair.host, boards: [{ address: 1, locks: 24 }], logger, health, clock: systemClock, poll: false, timeouts: busTimeouts() });
  await bus.start();
  const driver = await sample(async () => {
    const r = await bus.queryAll(1);
    if (!r.ok) throw new Error(`query-all failed: ${r.error}`);
  });
  await bus.stop();
  sim.stop();
  await link.close();
  await pair.close();

  // Raw: the same bytes over a pty, the device end answering directly, no parser, no queue.
  ctx.progress('raw pty round trips of the same bytes');
  const rawPair = await openPtyPair();
  const request = encodeRequest({ kind: 'queryAll', board: 1 });
  const reply = encodeReply({ kind: 'queryAll', board: 1, closed: new Array<boolean>(24).fill(true) });
  const dev = await openSerialLink(rawPair.device);
  dev.onData(() => dev.write(reply));
  const host = await openSerialPort({ path: rawPair.host, baudRate: 9600 });
  let wake: (() => void) | undefined;
  let got = 0;
  host.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (got >= reply.length) {
      got = 0;
      wake?.();
    }
  });
  const raw = await sample(
    () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        host.write(request);
      }),
  );
  await new Promise<void>((r) => host.close(() => r()));
  await dev.close();
  await rawPair.close();
  ledger.close();
  rmSync(dir, { recursive: true, force: true });

  const p50 = percentile(driver, 50);
  const p99 = percentile(driver, 99);
  const rawP50 = percentile(raw, 50);
  return [
    {
      name: 'query-all round trip via LockBus, socat pty (no baud limit), p50',
      value: `${fmt(p50, 3)} ms`,
      ratio: `${fmt(p50 / WIRE_MS, 3)}× wire time at 9600 baud (${fmt(WIRE_MS, 1)} ms); ${fmt(p50 / rawP50, 2)}× raw pty`,
    },
    {
      name: 'query-all round trip via LockBus, socat pty (no baud limit), p99',
      value: `${fmt(p99, 3)} ms`,
      ratio: `${fmt(p99 / WIRE_MS, 3)}× wire time at 9600 baud`,
    },
    {
      name: 'same 12 bytes, raw pty round trip without the driver, p50',
      value: `${fmt(rawP50, 3)} ms`,
      ratio: `${fmt(rawP50 / WIRE_MS, 3)}× wire time at 9600 baud`,
    },
  ];
}

/** Time `fn` WARMUP + up to SAMPLES times (stopping at the time budget); returns ms per call. */
async function sample(fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (out.length < SAMPLES && performance.now() < end) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
