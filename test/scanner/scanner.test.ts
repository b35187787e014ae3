/**
 * Scanner line handling (SPEC §7): CR, LF or CRLF; CRLF is one terminator; lines over 2048
 * bytes dropped with a warning; empty lines ignored — over the simulator's real bytes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { LineSplitter, MAX_LINE_BYTES, ScannerReader } from '../../edge/drivers/scanner.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { silentLogger } from '../../edge/log.ts';
import { systemClock } from '../../protocol/time.ts';
import { createMockLine, type MockLine } from '../../firmware-sim/lockboard/link.ts';
import { ScannerSim } from '../../firmware-sim/scanner/sim.ts';
import { tempDir } from '../helpers/tmp.ts';

function splitAll(chunks: Array<string | Buffer>, max = MAX_LINE_BYTES): { codes: string[]; oversized: number } {
  const s = new LineSplitter(max);
  const codes: string[] = [];
  let oversized = 0;
  for (const c of chunks) {
    const r = s.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    codes.push(...r.codes);
    oversized += r.oversized;
  }
  return { codes, oversized };
}

describe('scanner line splitting', () => {
  it('ends a code at CR, at LF, and once at CRLF', () => {
    expect(splitAll(['a1\rb2\nc3\r\nd4\r']).codes).toEqual(['a1', 'b2', 'c3', 'd4']);
  });

  it('treats a CRLF cut between two reads as one terminator', () => {
    expect(splitAll(['code-1\r', '\ncode-2\r', '\n']).codes).toEqual(['code-1', 'code-2']);
  });

  it('ignores empty lines', () => {
    expect(splitAll(['\r\n\r\n\n\rx\n\n']).codes).toEqual(['x']);
  });

  it('holds a partial line until its terminator comes', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('eyJhbGciOi')).codes).toEqual([]);
    expect(s.push(Buffer.from('JFZERTQSJ9\r')).codes).toEqual(['eyJhbGciOiJFZERTQSJ9']);
  });

  it('drops a line over 2048 bytes whole and counts it, keeping the lines around it', () => {
    const long = 'A'.repeat(MAX_LINE_BYTES + 1);
    const r = splitAll(['before\r', long.slice(0, 1000), long.slice(1000), '\r\nafter\n']);
    expect(r).toEqual({ codes: ['before', 'after'], oversized: 1 });
  });

  it('keeps a line of exactly 2048 bytes', () => {
    const exact = 'B'.repeat(MAX_LINE_BYTES);
    expect(splitAll([exact + '\r']).codes).toEqual([exact]);
  });

  it('gives the same codes however the byte stream is cut (property)', () => {
    const lineChar = fc.constantFrom(...'abcXYZ019-_.~ '.split(''));
    const terminator = fc.constantFrom('\r', '\n', '\r\n');
    const line = fc.record({
      text: fc.oneof(
        { weight: 8, arbitrary: fc.string({ unit: lineChar, maxLength: 12 }) },
        { weight: 1, arbitrary: fc.string({ unit: lineChar, minLength: 17, maxLength: 24 }) }, // over the test limit of 16
      ),
      term: terminator,
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (lines, cuts) => {
        const stream = Buffer.from(lines.map((l) => l.text + l.term).join(''), 'latin1');
        const whole = splitAll([stream], 16);
        const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(stream.subarray(from, p));
          from = p;
        }
        chunks.push(stream.subarray(from));
        expect(splitAll(chunks, 16)).toEqual(whole);
        // And the codes are exactly the non-empty lines within the limit, in order.
        expect(whole.codes).toEqual(lines.filter((l) => l.text.length > 0 && l.text.length <= 16).map((l) => l.text));
      }),
      { numRuns: 300 },
    );
  });
});

describe('scanner reader over the simulated scanner', () => {
  let stopAll: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stopAll.reverse()) await s();
    stopAll = [];
  });

  async function setup(opts: { faults?: string } = {}) {
    const { dir, cleanup } = tempDir('waystation-scanner-');
    const ledger = Ledger.open({ path: join(dir, 's.db'), clock: systemClock, timezone: 'Asia/Shanghai' });
    const health = new DeviceHealth({ ledger, clock: systemClock, logger: silentLogger() });
    const line: MockLine = createMockLine();
    const codes: string[] = [];
    const reader = new ScannerReader({
      path: line.path,
      binding: line.binding,
      logger: silentLogger(),
      health,
      onCode: (c) => codes.push(c),
      reopenInitialMs: 10,
      reopenMaxMs: 20,
    });
    await reader.start();
    const sim = new ScannerSim(line.device, { faults: opts.faults ?? 'none', pieceGapMs: 1 });
    stopAll.push(async () => {
      await reader.stop();
      ledger.close();
      cleanup();
    });
    return { reader, sim, codes, health, line };
  }

  const until = async (cond: () => boolean, ms = 1000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
  };

  it('reads codes ended by CR, LF and CRLF, each once', async () => {
    const { sim, codes } = await setup();
    await sim.scan('rider-code-1', 'CR');
    await sim.scan('rider-code-2', 'LF');
    await sim.scan('rider-code-3', 'CRLF');
    await until(() => codes.length >= 3);
    await new Promise((r) => setTimeout(r, 10));
    expect(codes).toEqual(['rider-code-1', 'rider-code-2', 'rider-code-3']);
  });

  it('reads partial lines, repeats and oversized junk the way the contract says', async () => {
    const { sim, codes, reader, health } = await setup({ faults: 'split,repeat,oversized' });
    await sim.scan('abc.def.ghi', 'CRLF');
    await until(() => codes.length >= 2);
    expect(codes).toEqual(['abc.def.ghi', 'abc.def.ghi']); // a double read is two reads; the core decides
    expect(reader.stats.oversizedLines).toBe(1);
    expect(health.get('scanner')!.counters.oversizedLines).toBe(1);
  });

  it('gives the same codes under a seeded random fault profile', async () => {
    const { sim, codes } = await setup({ faults: 'random:0.5@3' });
    const sent = Array.from({ length: 30 }, (_, i) => `code-${i}`);
    for (const c of sent) await sim.scan(c, 'CRLF');
    await new Promise((r) => setTimeout(r, 30));
    expect([...new Set(codes)]).toEqual(sent);
  });

  it('reopens its port after the scanner is unplugged and plugged back', async () => {
    const { sim, codes, reader, line, health } = await setup();
    line.unplug();
    await until(() => !reader.isOpen);
    expect(health.get('scanner')!.state).toBe('offline');
    line.replug();
    await until(() => reader.isOpen);
    await sim.scan('after-replug');
    await until(() => codes.length > 0);
    expect(codes).toEqual(['after-replug']);
    expect(health.get('scanner')!.state).toBe('online');
  });
});
