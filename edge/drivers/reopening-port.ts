/**
 * A serial port that stays open: opened at start, watched, and reopened with backoff when it
 * fails or goes away (a USB adapter pulled and put back). Shared by the lock-bus wire and the
 * scanner reader, which only say what the bytes mean.
 */
import type { SerialPort } from 'serialport';
import type { Logger } from '../log.ts';
import { backoffMs, openSerialPort, type BindingInterface } from './lockbus/open-port.ts';

/**
 * What an installer should check when a serial port cannot be opened (docs/install.md): the
 * serialport bindings give no errno code, only the OS message, so this reads the message.
 */
export function serialOpenHint(path: string, err: unknown): { reason: string; hint: string } {
  const msg = err instanceof Error ? err.message : String(err);
  if (/No such file|ENOENT/i.test(msg))
    return { reason: 'no such port', hint: `check the USB/RS-485 cable and that ${path} exists; stable names are in /dev/serial/by-id/ (ls -l /dev/serial/by-id/)` };
  if (/Permission denied|EACCES|EPERM/i.test(msg))
    return { reason: 'permission denied', hint: `the station's user may not open ${path}: add it to the dialout group (usermod -aG dialout <user>) and restart it` };
  if (/lock|busy|EBUSY|temporarily unavailable/i.test(msg))
    return { reason: 'port in use', hint: `another program holds ${path} (is the station already running? systemctl stop waystation-edge first)` };
  if (/ioctl|baud/i.test(msg)) return { reason: 'not a serial port', hint: `${path} is not a serial device; check the path in the config (/dev/serial/by-id/…)` };
  return { reason: msg, hint: `check the cable, the path ${path} (/dev/serial/by-id/…) and that the user is in the dialout group` };
}

export interface ReopeningPortOptions {
  path: string;
  baudRate: number;
  binding?: BindingInterface | undefined;
  /** What the port is, for log lines ("lock bus", "scanner"). */
  name: string;
  log: Logger;
  reopenInitialMs: number;
  reopenMaxMs: number;
  onData: (chunk: Buffer) => void;
  /** The port is (again) open. */
  onOpen?: () => void;
  /** The port failed or went away; it is being reopened. */
  onLost?: (err: Error) => void;
}

export class ReopeningPort {
  private port: SerialPort | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempt = 0;
  private running = false;
  /** Times the port was reopened after a failure. */
  reopens = 0;

  constructor(private readonly opts: ReopeningPortOptions) {}

  /** Open the port; when that fails, keep retrying in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port) {
      port.removeAllListeners('data');
      port.removeAllListeners('close');
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      port.removeAllListeners();
    }
  }

  get isOpen(): boolean {
    return !!this.port?.isOpen;
  }

  /** Write bytes; false when the port is not open. */
  write(bytes: Buffer): boolean {
    const port = this.port;
    if (!port?.isOpen) return false;
    port.write(bytes);
    return true;
  }

  private async open(): Promise<void> {
    try {
      const port = await openSerialPort({ path: this.opts.path, baudRate: this.opts.baudRate, binding: this.opts.binding });
      if (!this.running) {
        port.close();
        return;
      }
      this.port = port;
      this.reopenAttempt = 0;
      port.on('data', (chunk: Buffer) => this.opts.onData(chunk));
      port.on('error', (err) => this.opts.log.warn({ err }, `${this.opts.name} port error`));
      port.on('close', (err: Error | null) => this.lost(err ?? new Error('port closed')));
      this.opts.log.info(`${this.opts.name} port open`);
      this.opts.onOpen?.();
    } catch (err) {
      this.opts.log.error({ err }, `cannot open ${this.opts.name} port; retrying`);
      this.scheduleReopen();
    }
  }

  private lost(err: Error): void {
    if (!this.running) return;
    this.opts.log.error({ err }, `${this.opts.name} port lost; reopening`);
    this.port?.removeAllListeners();
    this.port = undefined;
    this.opts.onLost?.(err);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running || this.reopenTimer) return;
    const ms = backoffMs(this.reopenAttempt++, this.opts.reopenInitialMs, this.opts.reopenMaxMs);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.reopens++;
      void this.open();
    }, ms);
    this.reopenTimer.unref?.();
  }
}
