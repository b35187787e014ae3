/**
 * QR scanner line reader (SPEC §7, contract): each code is ASCII text terminated by CR, LF or
 * CRLF (CRLF is one terminator, even when split across reads); lines over 2048 bytes are
 * discarded with a warning; empty lines are ignored. The port is reopened with backoff when it
 * fails or goes away (a USB scanner unplugged and plugged back).
 */
import { DEFAULT_BAUD_RATE } from '../../protocol/index.ts';
import type { DeviceHealthReporter } from '../core/device-ports.ts';
import type { Logger } from '../log.ts';
import type { BindingInterface } from './lockbus/open-port.ts';
import { ReopeningPort } from './reopening-port.ts';

export const MAX_LINE_BYTES = 2048;

const CR = 0x0d;
const LF = 0x0a;

export interface LineResult {
  codes: string[];
  /** Lines dropped for being longer than the limit (counted once each, when they end). */
  oversized: number;
}

/**
 * Splits a byte stream into codes. Pure: the same bytes give the same codes however they are
 * cut into chunks.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private length = 0;
  private overflow = false;
  private lastWasCR = false;

  constructor(private readonly maxLineBytes: number = MAX_LINE_BYTES) {}

  push(chunk: Uint8Array): LineResult {
    const codes: string[] = [];
    let oversized = 0;
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== CR && b !== LF) continue;
      const skipLF = b === LF && this.lastWasCR && i === from && this.length === 0 && !this.overflow;
      this.lastWasCR = b === CR;
      if (skipLF) {
        from = i + 1; // the LF of a CRLF
        continue;
      }
      this.append(chunk.subarray(from, i));
      from = i + 1;
      if (this.overflow) oversized++;
      else if (this.length > 0) codes.push(Buffer.concat(this.parts, this.length).toString('latin1'));
      this.parts = [];
      this.length = 0;
      this.overflow = false;
    }
    if (from < chunk.length) {
      this.lastWasCR = false;
      this.append(chunk.subarray(from));
    }
    return { codes, oversized };
  }

  /** Drop a partial line (the port closed mid-line). */
  reset(): void {
    this.parts = [];
    this.length = 0;
    this.overflow = false;
    this.lastWasCR = false;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.overflow) return;
    if (this.length + bytes.length > this.maxLineBytes) {
      // Keep nothing of an oversized line: wait for its end and drop it whole.
      this.overflow = true;
      this.parts = [];
      this.length = 0;
      return;
    }
    this.parts.push(Buffer.from(bytes));
    this.length += bytes.length;
  }
}

export interface ScannerReaderOptions {
  path: string;
  baudRate?: number;
  /** Another serialport binding (tests: the simulator's mock line). */
  binding?: BindingInterface;
  logger: Logger;
  /** Called with each code, in order. */
  onCode: (code: string) => void;
  /** When given, the scanner is a device in health (`scanner`): counters and online/offline. */
  health?: DeviceHealthReporter;
  deviceId?: string;
  maxLineBytes?: number;
  /** Reopen backoff after the port fails or closes (config `serialReopenInitialMs`, `serialReopenMaxMs`). */
  reopenInitialMs: number;
  reopenMaxMs: number;
}

export class ScannerReader {
  private readonly log: Logger;
  private readonly splitter: LineSplitter;
  private readonly deviceId: string;
  private readonly port: ReopeningPort;
  /** Codes delivered, lines dropped as oversized (also in health when given). */
  readonly stats = { codes: 0, oversizedLines: 0, reopens: 0 };

  constructor(private readonly opts: ScannerReaderOptions) {
    this.log = opts.logger.child({ module: 'scanner', port: opts.path });
    this.splitter = new LineSplitter(opts.maxLineBytes ?? MAX_LINE_BYTES);
    this.deviceId = opts.deviceId ?? 'scanner';
    this.port = new ReopeningPort({
      path: opts.path,
      baudRate: opts.baudRate ?? DEFAULT_BAUD_RATE,
      binding: opts.binding,
      name: 'scanner',
      log: this.log,
      reopenInitialMs: opts.reopenInitialMs,
      reopenMaxMs: opts.reopenMaxMs,
      onData: (chunk) => this.receive(chunk),
      onOpen: () => {
        this.splitter.reset();
        this.stats.reopens = this.port.reopens;
        this.opts.health?.seen(this.deviceId);
      },
      onLost: () => this.opts.health?.markOffline(this.deviceId, 'port_closed'),
    });
  }

  async start(): Promise<void> {
    // A scanner is silent between riders: it is offline only when its port is gone.
    this.opts.health?.register(this.deviceId, 'scanner', Number.POSITIVE_INFINITY);
    await this.port.start();
  }

  async stop(): Promise<void> {
    await this.port.stop();
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  /** Feed bytes as if read from the port (the reader's own tests and replay tools). */
  receive(chunk: Buffer): void {
    this.log.trace({ dir: 'rx', bytes: chunk.length }, 'scanner rx');
    const { codes, oversized } = this.splitter.push(chunk);
    if (oversized > 0) {
      this.stats.oversizedLines += oversized;
      if (this.opts.health) this.opts.health.count(this.deviceId, 'oversizedLines', oversized);
      this.log.warn({ lines: oversized, limitBytes: this.opts.maxLineBytes ?? MAX_LINE_BYTES }, 'scanner line too long; discarded');
    }
    for (const code of codes) {
      this.stats.codes++;
      try {
        this.opts.onCode(code);
      } catch (err) {
        this.log.error({ err }, 'scanner code handler failed');
      }
    }
  }
}
