/**
 * A missing or unplugged serial port (issue 13): one clear line with what to check, then quiet
 * retries with backoff — not a raw error every second — and a start-up summary naming the
 * devices that did not answer. A path that does not exist, and a socat pty that goes away.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSocat, openPtyPair } from '../../firmware-sim/lockboard/pty.ts';
import { ReopeningPort } from '../../edge/drivers/reopening-port.ts';
import { createLogger } from '../../edge/log.ts';
import type { StartupSummary } from '../../edge/tools/startup-summary.ts';
import { startHarness, waitFor } from '../helpers/station.ts';

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug' }, sink), lines };
}

const errorsAndWarnings = (lines: Line[]) => lines.filter((l) => l.level >= 40);
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('a serial port that is missing or goes away', () => {
  it('says once what to check for a path that does not exist, retries quietly with backoff, and names the board in the start-up summary', async () => {
    const { logger, lines } = capture();
    let summary: StartupSummary | undefined;
    const h = await startHarness({
      dispenser: true,
      locks: 0,
      config: { lockBuses: [{ path: '/dev/serial/by-id/usb-FTDI_nothing-if00-port0', boards: [{ address: 2 }] }] },
      station: {
        logger,
        lockBusTimeouts: { reopenInitialMs: 20, reopenMaxMs: 60 },
        startupSummaryMs: 600,
        onStartupSummary: (s) => (summary = s),
      },
    });
    cleanups.push(() => h.stop());
    await waitFor(() => summary !== undefined, 5000, 'start-up summary');
    await new Promise((r) => setTimeout(r, 400));
    const portLines = errorsAndWarnings(lines).filter((l) => /port/.test(l.msg) && l.module !== 'health');
    expect(portLines.map((l) => l.msg)).toEqual([
      'cannot open lock bus port /dev/serial/by-id/usb-FTDI_nothing-if00-port0: no such port; check the USB/RS-485 cable and that /dev/serial/by-id/usb-FTDI_nothing-if00-port0 exists; stable names are in /dev/serial/by-id/ (ls -l /dev/serial/by-id/). Retrying with backoff.',
    ]);
    // It kept trying (quietly, at debug) all along.
    expect(lines.filter((l) => l.msg === 'lock bus port still cannot be opened').length).toBeGreaterThanOrEqual(5);
    expect(summary).toMatchObject({ answered: ['disp-1'], silent: ['lockboard-2'] });
    const s = lines.find((l) => l.msg.startsWith('start-up:'))!;
    expect(s.msg).toBe('start-up: 1 of 2 devices answered (disp-1); not answering: lockboard-2 — check their power and cables; `waystation-edge doctor --config <file>` checks each');
    expect(s.level).toBe(40);
  });

  it('says once that a pty went away, then reopens quietly with backoff', async () => {
    ensureSocat();
    const pair = await openPtyPair();
    const { logger, lines } = capture();
    let opened = 0;
    const port = new ReopeningPort({ path: pair.host, baudRate: 9600, name: 'scanner', log: logger, reopenInitialMs: 20, reopenMaxMs: 60, onData: () => undefined, onOpen: () => opened++ });
    cleanups.push(() => port.stop());
    await port.start();
    expect(port.isOpen).toBe(true);
    await pair.close();
    // A pty's hang-up shows on the next write (EIO), as a lock bus's next poll would see it.
    port.write(Buffer.from([0x80, 0x01, 0x00, 0x33, 0xb2]));
    await waitFor(() => !port.isOpen, 5000, 'port lost');
    await waitFor(() => port.reopens >= 5, 5000, 'reopen attempts');
    const loud = errorsAndWarnings(lines).map((l) => l.msg);
    expect(loud.filter((m) => /went away/.test(m))).toHaveLength(1);
    expect(loud.filter((m) => /cannot open/.test(m))).toHaveLength(0);
    expect(loud[0]).toMatch(/^scanner port \/dev\/pts\/\d+ went away \(.*\); check the cable and \/dev\/serial\/by-id\/\. Reopening with backoff\.$/);
    expect(port.problem?.reason).toBe('no such port');
    expect(opened).toBe(1);
  });
});
